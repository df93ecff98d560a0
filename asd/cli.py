"""Shared command-line plumbing: user errors become one clear line, never a traceback."""
from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

from asd.dataset import DataError


class UsageError(Exception):
    """A bad argument or state the user can fix; the message says how."""


def run(main: Callable[[], int | None]) -> None:
    """Run a CLI entry point: DataError/UsageError -> `error: ...` and exit 2; Ctrl-C -> exit 130."""
    try:
        code = main()
    except (DataError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


def parse_names(text: str, valid: Sequence[str], what: str) -> list[str]:
    """A comma-separated list of names from `valid` (any case, duplicates dropped, in the order
    given) spelled as in `valid`; `what` names them in the error ("machine type")."""
    canon = {m.lower(): m for m in valid}
    out = []
    for name in (t.strip() for t in text.split(",")):
        if not name:
            continue
        if name.lower() not in canon:
            raise UsageError(f"unknown {what} {name!r}; valid: {', '.join(valid)}")
        if canon[name.lower()] not in out:
            out.append(canon[name.lower()])
    if not out:
        raise UsageError(f"--machines is empty; valid: {', '.join(valid)}")
    return out


def cpu_count() -> int:
    """The cores this process may run on (its affinity, where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def add_clip_args(ap, train: int = 200) -> None:
    """--train, --target-train, --test, --seconds and --seed of the tools that generate a
    synthetic set in memory to measure it (asd.synth.difficulty, asd.heldout.calibrate)."""
    ap.add_argument("--train", type=int, default=train)
    ap.add_argument("--target-train", type=int, default=10)
    ap.add_argument("--test", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
