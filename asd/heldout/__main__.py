"""python -m asd.heldout --out DIR [--machines M1,M2] [--train 200] [--target-train 10]
[--test 50] [--supplemental 20] [--seconds 10] [--seed 0] [--jobs N]

The held-out machine family (docs/heldout.md) in the DCASE 2025 Task 2 evaluation layout.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import soundfile as sf

from asd import cli, family_layout
from asd.cli import UsageError
from asd.heldout import MODELS, SR, render
from asd.heldout.write import Counts, machine_root, plan, write_csvs

MARKER = "heldout.json"


def parse_machines(text: str) -> list[str]:
    return cli.parse_names(text, list(MODELS), "held-out machine type")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m asd.heldout",
                                 description=__doc__.split("\n\n")[1])
    ap.add_argument("--out", type=Path, required=True, help="output data root")
    ap.add_argument("--machines", help=f"comma-separated types (default all: {','.join(MODELS)})")
    ap.add_argument("--train", type=int, default=200, help="source training clips (200)")
    ap.add_argument("--target-train", type=int, default=10, help="target training clips (10)")
    ap.add_argument("--test", type=int, default=50, help="test clips per domain and label (50)")
    ap.add_argument("--supplemental", type=int, default=20, help="supplemental clips (20)")
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length (10)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (0)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    return ap


def _work(args) -> None:
    clip, seed, n, path = args
    sf.write(path, render(clip, seed, n), SR, subtype="PCM_16", format="WAV")


def prepare(out: Path, machines: list[str]) -> None:
    """Create --out; replace the machines' folders, but only in a tree this generator wrote."""
    family_layout.clear_machines(out, [machine_root(out, m) for m in machines],
                                 "asd.heldout", MARKER, UsageError)


def generate(out: Path, machines: list[str], counts: Counts, seconds: float, seed: int,
             jobs: int, log=print) -> dict[str, int]:
    out = Path(out)
    n = int(round(seconds * SR))
    prepare(out, machines)
    meta_path = out / MARKER
    meta = family_layout.read_marker(meta_path, generator="asd.heldout", sample_rate=SR)
    written = {}
    with family_layout.worker_pool(jobs) as pool:
        for m in machines:
            t0 = time.perf_counter()
            clips = plan(MODELS[m], counts, seed)
            root = machine_root(out, m)
            family_layout.render_all(root, clips, _work, seed, n, pool, chunksize=4)
            write_csvs(out, MODELS[m], clips)
            meta["machines"][m] = dict(seed=seed, seconds=seconds, train=counts.train,
                                       target_train=counts.target_train, test=counts.test,
                                       supplemental=counts.supplemental)
            written[m] = len(clips)
            log(f"  {m:<15} {len(clips):5d} clips in {time.perf_counter() - t0:6.1f} s  {root}")
    family_layout.write_marker(meta_path, meta)
    return written


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    machines = parse_machines(args.machines) if args.machines else list(MODELS)
    for key in ("train", "target_train", "test"):
        if getattr(args, key) < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be a positive count")
    if args.supplemental < 0:
        raise UsageError("--supplemental must be 0 or more")
    if not 0.5 <= args.seconds <= 600:
        raise UsageError("--seconds must be between 0.5 and 600")
    if args.seed < 0:
        raise UsageError("--seed must be 0 or more")
    jobs = cli.cpu_count() if args.jobs is None else args.jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    counts = Counts(args.train, args.target_train, args.test, args.supplemental)
    print(f"asd.heldout: {len(machines)} type(s), seed {args.seed}, {args.seconds:g}-s clips, "
          f"{jobs} job(s) -> {args.out}")
    t0 = time.perf_counter()
    try:
        written = generate(args.out, machines, counts, args.seconds, args.seed, jobs)
    except OSError as e:
        raise UsageError(f"--out {args.out}: {e}") from None
    total = sum(written.values())
    print(f"{total} clips in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    cli.run(lambda: main(sys.argv[1:]))
