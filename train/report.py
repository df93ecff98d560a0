"""`python -m train.report RUNS... [--out FILE]`: the result table of many runs.

Shape of the seed paper's Table 1: one row per machine type, per model the columns AUC (source),
AUC (target) and pAUC (mean ± std over seeds when there are several), then the official score per
model (harmonic mean over all machine types' three figures, computed per seed, then mean ± std),
the time it took, and the model's MACs and parameters. RUNS are run directories or folders
searched recursively for them (anything holding metrics.json). Rows list the development
machines first, then the evaluation ones (where the machine's folder is in the run's data root,
asd.dataset.machine_part), then any whose data root is gone; by name within each group.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from asd import cli
from asd.dataset import PARTS, DataError, machine_part
from asd.metrics import KEYS, SectionScores, official_score
from train.config import MODELS
from train.run import COMPLEXITY, METRICS, RUN_INFO

RATES = ("false_alarm_source", "false_alarm_target", "detection_source", "detection_target")


def collect(paths: list[Path]) -> list[dict]:
    """Every run's metrics.json, with its complexity, found under the given paths."""
    found = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise cli.UsageError(f"{p}: no such run directory")
        files = [p / METRICS] if (p / METRICS).exists() else sorted(p.rglob(METRICS))
        for f in files:
            row = json.loads(f.read_text())
            comp = f.parent / COMPLEXITY
            row["complexity"] = json.loads(comp.read_text()) if comp.exists() else {}
            info = f.parent / RUN_INFO
            row.setdefault("data_root", json.loads(info.read_text()).get("data_root")
                           if info.exists() else None)
            row["run_dir"] = str(f.parent)
            found.append(row)
    if not found:
        raise cli.UsageError(f"no metrics.json under {', '.join(map(str, paths))}; train with "
                             f"ground truth available first")
    return found


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def _models_in(rows):
    present = {r["model"] for r in rows}
    return [m for m in MODELS if m in present] + sorted(present - set(MODELS))


def _part(row: dict) -> str | None:
    """'dev' or 'eval' from the run's data root; None when it is not there any more."""
    try:
        return machine_part(row["data_root"], row["machine"]) if row.get("data_root") else None
    except DataError:
        return None


def machine_order(rows: list[dict]) -> list[str]:
    """Development machines, then evaluation machines, then unknown ones; by name within each."""
    part: dict[str, str | None] = {}
    for r in rows:
        if part.get(r["machine"]) is None:
            part[r["machine"]] = _part(r)
    rank = {p: i for i, p in enumerate(PARTS)}
    return sorted(part, key=lambda m: (rank.get(part[m], len(PARTS)), m))


def build_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-machine table, plus summary rows."""
    by = defaultdict(list)                          # (model, machine) -> runs
    for r in rows:
        by[(r["model"], r["machine"])].append(r)
    models = _models_in(rows)
    machines = machine_order(rows)
    head = ["machine"] + [f"{m} {k}" for m in models for k in ("AUC-S", "AUC-T", "pAUC")]
    body = []
    for machine in machines:
        line = [machine]
        for model in models:
            runs = by.get((model, machine), [])
            line += [_fmt([r[k] for r in runs]) if runs else "—" for k in KEYS]
        body.append(line)
    return head, body


def summary(rows: list[dict]) -> list[dict]:
    """Per model: official score (mean ± std over seeds), seconds, MACs, params, machines."""
    out = []
    for model in _models_in(rows):
        mine = [r for r in rows if r["model"] == model]
        seeds = sorted({r["seed"] for r in mine})
        per_seed = []
        for s in seeds:
            table = {r["machine"]: SectionScores(*(r[k] for k in KEYS))
                     for r in mine if r["seed"] == s}
            per_seed.append(official_score(table))
        seconds = [(r.get("fit_seconds") or 0) + (r.get("score_seconds") or 0) for r in mine]
        comp = mine[0]["complexity"]
        rates = {k: [r[k] for r in mine if r.get(k) is not None and np.isfinite(r[k])]
                 for k in RATES}
        out.append({**{k: (float(np.mean(v)) if v else None) for k, v in rates.items()},
                    **{f"{k}_range": ((float(np.min(v)), float(np.max(v))) if v else None)
                       for k, v in rates.items()},"model": model, "official": per_seed, "seeds": seeds,
                    "machines": len({r["machine"] for r in mine}),
                    "seconds_total": float(np.sum(seconds)),
                    "seconds_per_run": float(np.mean(seconds)),
                    "epochs": sorted({r.get("epochs") for r in mine}),
                    "macs_per_inference": comp.get("macs_per_inference"),
                    "macs_per_10s_clip": comp.get("macs_per_10s_clip"),
                    "params": comp.get("params")})
    return out


def markdown(rows: list[dict]) -> str:
    head, body = build_table(rows)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(b) + " |" for b in body]
    lines += ["", "| model | official score | machines | seeds | epochs | time per run (s) | "
              "total time (s) | MACs / inference | MACs / 10-s clip | params |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary(rows):
        lines.append(f"| {s['model']} | {_fmt(s['official'])} | {s['machines']} | "
                     f"{len(s['seeds'])} | {','.join(map(str, s['epochs']))} | "
                     f"{s['seconds_per_run']:.0f} | {s['seconds_total']:.0f} | "
                     f"{_count(s['macs_per_inference'])} | {_count(s['macs_per_10s_clip'])} | "
                     f"{_count(s['params'])} |")
    lines += ["", "Decisions at the threshold (design false-alarm rate in train/config.py), mean "
              "over runs [lowest - highest run]:", "",
              "| model | false alarms source | false alarms target | detections source | "
              "detections target |", "|---|---|---|---|---|"]
    for s in summary(rows):
        lines.append(f"| {s['model']} | " + " | ".join(_rate(s, k) for k in RATES) + " |")
    return "\n".join(lines) + "\n"


def _count(n) -> str:
    return "—" if n is None else f"{n:,}"


def _rate(s: dict, key: str) -> str:
    if s.get(key) is None:
        return "—"
    lo, hi = s[f"{key}_range"]
    return f"{100 * s[key]:.1f} % [{100 * lo:.0f}-{100 * hi:.0f}]"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="also write the markdown table here")
    a = ap.parse_args(argv)
    text = markdown(collect(a.runs))
    print(text, end="")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    cli.run(main)
