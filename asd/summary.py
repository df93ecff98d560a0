"""`python -m asd.summary --data-root DIR [--check]`: what a data root holds, per machine."""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import soundfile as sf

from asd import cli
from asd.dataset import SPLITS, Clip, DataError, available_machines, list_clips, load_wav


def machine_summary(root: Path, machine: str, check: bool) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for split in SPLITS:
        clips = list_clips(root, machine, split)
        counts[split] = Counter(_bucket(c) for c in clips)
        if check:
            for c in clips:
                load_wav(c.path)  # raises DataError naming the file
    return counts


def _bucket(c: Clip) -> str:
    if c.split == "supplemental":
        return c.kind or "?"
    return f"{c.domain or '?'}/{c.label or '?'}"


def seconds_of(clip: Clip) -> float:
    info = sf.info(str(clip.path))
    return info.frames / info.samplerate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--check", action="store_true", help="read every wav and validate its format")
    args = ap.parse_args()
    machines = available_machines(args.data_root)
    if not machines:
        raise DataError(f"{args.data_root}: no machines under dev_data/raw/ or eval_data/raw/; "
                        f"run `make data` or `make download`")
    print(f"data root {args.data_root}")
    for m in machines:
        counts = machine_summary(args.data_root, m, args.check)
        first = list_clips(args.data_root, m, "train")[0]
        parts = [f"{split}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                 for split, c in counts.items() if c]
        print(f"  {m:14s} {seconds_of(first):4.1f} s clips | " + " | ".join(parts))
    return 0


if __name__ == "__main__":
    cli.run(main)
