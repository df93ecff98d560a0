"""The live terminal view of host/monitor.py (rich): the score trace against the threshold, the
current state, the load and the overruns. Without a terminal (a log, `make demo`) the same events
are printed as lines: state changes, gaps, resets, overruns."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

TRACE_WIDTH = 60     # decisions shown in the trace
TRACE_HEIGHT = 10    # rows of the trace
STATES = ("normal", "ANOMALOUS")


@dataclass
class Figures:
    """What the view and the summary show; host/monitor.py keeps it up to date."""
    title: str = ""
    threshold: float = 0.0
    hop_s: float = 0.0
    window_s: float = 0.0
    scores: list[float] = field(default_factory=list)   # every decision's score (trace: the tail)
    decisions: int = 0
    anomalous: int = 0
    state: int | None = None       # last decision
    end_s: float = 0.0
    load: float = 0.0
    max_load: float = 0.0
    overruns: int = 0              # overrun events, all sessions
    overrun_samples: int = 0
    resets: int = 0
    reconnects: int = 0
    recovered: int = 0             # decisions fetched again with GET_DECISION
    gaps: list[str] = field(default_factory=list)
    flips: list[tuple[float, int, float]] = field(default_factory=list)  # (end_s, state, score)
    ref_mismatches: int = 0        # --check: decisions that differ from the reference's
    history: list[tuple[float, float, int]] = field(default_factory=list)  # (start_s, end_s, dec)


def trace(scores: list[float], threshold: float, width: int = TRACE_WIDTH,
          height: int = TRACE_HEIGHT) -> Text:
    """The last `width` scores as columns of a `height`-row chart with the threshold's row
    marked; columns above the threshold in red. Scores that span more than a decade (distances
    of anomalous sound often do) are drawn on a log scale, so the threshold stays visible."""
    tail = scores[-width:]
    if not tail:
        return Text("(no decision yet)", style="dim")
    lo, hi = min(min(tail), threshold), max(max(tail), threshold)
    log = lo > 0 and hi / lo > 10
    f = np.log10 if log else (lambda v: v)
    span = (f(hi) - f(lo)) or 1.0

    def row_of(v: float) -> int:
        return round((f(v) - f(lo)) / span * (height - 1))

    level, t_row = [row_of(s) for s in tail], row_of(threshold)
    out = Text()
    for row in range(height - 1, -1, -1):
        v = f(lo) + span * row / (height - 1)
        v = threshold if row == t_row else 10 ** v if log else v
        out.append(f"{v:>9.3g} ", style="yellow" if row == t_row else "dim")
        for s, lv in zip(tail, level):
            if lv >= row:
                out.append("█", style="red" if s > threshold else "green")
            else:
                out.append("┄" if row == t_row else " ", style="yellow")
        out.append(" ◀ threshold" if row == t_row else "", style="yellow")
        out.append("\n")
    out.append(" " * 10 + "(log scale)" if log else "", style="dim")
    return out


def render(fig: Figures):
    state = Text("waiting for the first window", style="dim") if fig.state is None else \
        Text(f" {STATES[fig.state]} ", style="bold white on red" if fig.state else
             "bold black on green")
    share = fig.anomalous / fig.decisions if fig.decisions else 0.0
    t = Table.grid(padding=(0, 2))
    t.add_row("state", state, "stream", f"{fig.end_s:8.1f} s")
    t.add_row("last score", f"{fig.scores[-1]:.4g}" if fig.scores else "-",
              "threshold", f"{fig.threshold:.4g}")
    t.add_row("decisions", f"{fig.decisions} ({share:.0%} anomalous)",
              "hop / window", f"{fig.hop_s:.3f} s / {fig.window_s:.2f} s")
    t.add_row("load", f"{fig.load:.3f} (max {fig.max_load:.3f})",
              "overruns", Text(f"{fig.overruns} ({fig.overrun_samples} samples dropped)",
                               style="red" if fig.overruns else ""))
    t.add_row("resets", str(fig.resets), "reconnects", str(fig.reconnects))
    parts = [t, Text(""), trace(fig.scores, fig.threshold)]
    if fig.gaps:
        parts.append(Text("gaps: " + "; ".join(fig.gaps[-3:]), style="yellow"))
    return Panel(Group(*parts), title=fig.title, border_style="blue")


class View:
    """Live view on a terminal, event lines otherwise; `screen` records the last frame as text."""

    def __init__(self, fig: Figures, live: bool | None = None):
        self.fig = fig
        self.err = Console(stderr=True, highlight=False)
        self.out = Console(highlight=False)
        self.live_on = self.out.is_terminal if live is None else live
        self._live = Live(render(fig), console=self.out, refresh_per_second=8,
                          transient=False) if self.live_on else None

    def __enter__(self):
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live:
            self._live.update(render(self.fig))
            self._live.__exit__(*exc)

    def update(self) -> None:
        if self._live:
            self._live.update(render(self.fig))

    def event(self, text: str) -> None:
        """Gaps, resets, reconnects, overruns: on stderr (above the live view on a terminal)."""
        if self._live:
            self._live.console.print(Text(text, style="yellow"))
        else:
            print(text, file=sys.stderr, flush=True)

    def flip(self, end_s: float, state: int, score: float) -> None:
        line = f"{end_s:8.2f} s  decision -> {STATES[state]} (score {score:.4g})"
        if self._live:
            self._live.console.print(Text(line, style="red" if state else "green"))
        else:
            print(line, flush=True)


def screen_text(fig: Figures, width: int = 100) -> str:
    """The view as plain text (docs/monitor.md's captured screen)."""
    con = Console(record=True, width=width, file=open("/dev/null", "w"), color_system=None)
    con.print(render(fig))
    return con.export_text()


def switch_lines(fig: Figures, switch_s: float) -> list[str]:
    """For a stream that turns anomalous at switch_s: how the windows before, across and after
    the switch were decided, and the first anomalous decision after it."""
    groups = {"normal sound": [d for a, e, d in fig.history if e <= switch_s],
              "both sounds": [d for a, e, d in fig.history if a < switch_s < e],
              "anomalous sound": [d for a, e, d in fig.history if a >= switch_s]}
    lines = [f"windows of {k}: {sum(v)} of {len(v)} anomalous" for k, v in groups.items() if v]
    after = [e for a, e, d in fig.history if e > switch_s and d]
    if after:
        lines.append(f"the sound turns anomalous at {switch_s:.2f} s; first anomalous decision "
                     f"after it at {after[0]:.2f} s (+{after[0] - switch_s:.2f} s)")
    return lines


def summary_lines(fig: Figures) -> list[str]:
    share = fig.anomalous / fig.decisions if fig.decisions else 0.0
    lines = [f"decisions {fig.decisions}   anomalous {fig.anomalous} ({share:.1%})   "
             f"max load {fig.max_load:.3f}   overruns {fig.overruns} "
             f"({fig.overrun_samples} samples)   resets {fig.resets}   "
             f"reconnects {fig.reconnects}   refetched {fig.recovered}"]
    for end_s, state, score in fig.flips:
        lines.append(f"flipped to {STATES[state]} at {end_s:.2f} s (score {score:.4g})")
    for g in fig.gaps:
        lines.append(f"gap: {g}")
    return lines
