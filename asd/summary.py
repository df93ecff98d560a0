"""`python -m asd.summary --data-root DIR [--check] [--has MACHINE]`: what a data root holds, per
machine. Any folder under dev_data/raw/ or eval_data/raw/ is a machine.

`--has MACHINE` only checks that the root holds MACHINE (`make ensure-data`): exit 0 if it does;
exit 3 if it does not but the synthetic demo set (`make data`) writes that machine; otherwise the
one-line error listing the machines the root holds (exit 2).
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import soundfile as sf

from asd import cli
from asd.dataset import (SPLITS, Clip, DataError, available_machines, check_machine_name,
                         list_clips, load_wav, machine_dir)

NOT_YET_SYNTHESIZED = 3  # --has: missing, but `make data` writes it


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


def has_machine(root: Path, machine: str) -> int:
    """0 when the root holds the machine; NOT_YET_SYNTHESIZED when it does not but the synthetic
    demo preset writes it; else the DataError of asd.dataset.machine_dir (it lists what is there)."""
    check_machine_name(machine)
    try:
        machine_dir(root, machine)
        return 0
    except DataError:
        from asd.synth.__main__ import PRESETS  # the synthetic demo's machine types
        if machine in PRESETS["demo"]["machines"]:
            return NOT_YET_SYNTHESIZED
        raise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--check", action="store_true", help="read every wav and validate its format")
    ap.add_argument("--has", metavar="MACHINE",
                    help="only check that the root holds MACHINE (exit 3: `make data` writes it)")
    args = ap.parse_args(argv)
    if args.has is not None:
        return has_machine(args.data_root, args.has)
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
