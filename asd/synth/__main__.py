"""python -m asd.synth --out DIR [--machines M1,M2] [--train N] [--target-train N] [--test N]
[--supplemental N] [--seconds S] [--seed K] [--preset demo|full|tiny] [--jobs J]

Synthetic machine sounds in the exact DCASE 2025 Task 2 layout (see docs/data.md ("Synthetic data")).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from asd import cli
from asd.cli import UsageError
from asd.machines import ALL_MACHINES, dataset_of
from asd.synth.generate import cpu_count, generate
from asd.synth.layout import Counts

# Explicit flags override the preset's values.
PRESETS = {
    "full": dict(machines=ALL_MACHINES, train=990, target_train=10, test=50, supplemental=100,
                 seconds=10.0),
    "demo": dict(machines=("ToyCar", "fan", "Polisher"), train=200, target_train=10, test=20,
                 supplemental=20, seconds=10.0),
    "tiny": dict(machines=ALL_MACHINES, train=8, target_train=2, test=3, supplemental=2,
                 seconds=2.0),
}


def parse_machines(text: str) -> list[str]:
    return cli.parse_names(text, ALL_MACHINES, "machine type")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m asd.synth", description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="output data root")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="full",
                    help="base sizes (default full: the real task's counts)")
    ap.add_argument("--machines", help="comma-separated machine types (default: preset's)")
    ap.add_argument("--train", type=int, help="source-domain training clips (full: 990)")
    ap.add_argument("--target-train", type=int, help="target-domain training clips (full: 10)")
    ap.add_argument("--test", type=int, help="test clips per domain and label (full: 50)")
    ap.add_argument("--supplemental", type=int, help="supplemental clips, 0 for none (full: 100)")
    ap.add_argument("--seconds", type=float, help="clip length in seconds (full: 10)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    return ap


def resolve(args) -> dict:
    cfg = dict(PRESETS[args.preset])
    cfg["machines"] = parse_machines(args.machines) if args.machines else list(cfg["machines"])
    for key in ("train", "target_train", "test", "supplemental", "seconds"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    for key in ("train", "target_train", "test"):
        if cfg[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be a positive count, not {cfg[key]}")
    if cfg["supplemental"] < 0:
        raise UsageError(f"--supplemental must be 0 or more, not {cfg['supplemental']}")
    if not 0.5 <= cfg["seconds"] <= 600:
        raise UsageError(f"--seconds must be between 0.5 and 600, not {cfg['seconds']}")
    if args.seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {args.seed}")
    jobs = cpu_count() if args.jobs is None else args.jobs
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    cfg["jobs"] = jobs
    return cfg


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".asd-synth-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write there ({e.strerror or e}); "
                         f"choose a writable folder") from None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg = resolve(args)
    out = args.out
    check_writable(out)
    counts = Counts(cfg["train"], cfg["target_train"], cfg["test"], cfg["supplemental"])
    print(f"asd.synth: {len(cfg['machines'])} machine type(s), seed {args.seed}, "
          f"{cfg['seconds']:g}-s clips, {cfg['jobs']} job(s) -> {out}")
    t0 = time.perf_counter()
    try:
        reports = generate(out, cfg["machines"], counts, cfg["seconds"], args.seed, cfg["jobs"])
    except FileExistsError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"--out {out}: {e}") from None
    elapsed = time.perf_counter() - t0
    print_summary(reports, counts, cfg, elapsed)
    return 0


def print_summary(reports, counts: Counts, cfg: dict, elapsed: float) -> None:
    print()
    print(f"{'machine':<14} {'set':<4} {'train s/t':>10} {'test src n/a':>13} "
          f"{'test tgt n/a':>13} {'supplemental':>16} {'time':>7}  path")
    total = 0
    scaled = 0
    for r in reports:
        c = r.counts
        g = lambda k: c.get(k, 0)  # noqa: E731
        kind = next((k.split("/")[2] for k in c if k.startswith("supplemental/")), "-")
        supp = f"{g(f'supplemental/source/{kind}') + g(f'supplemental/target/{kind}')} {kind}"
        print(f"{r.machine:<14} {dataset_of(r.machine):<4} "
              f"{g('train/source/normal'):>5}/{g('train/target/normal'):<4} "
              f"{g('test/source/normal'):>6}/{g('test/source/anomaly'):<6} "
              f"{g('test/target/normal'):>6}/{g('test/target/anomaly'):<6} "
              f"{supp:>16} {r.elapsed:6.1f}s  {r.path}")
        total += r.clips
        scaled += r.scaled
    secs = cfg["seconds"]
    rate = total / elapsed if elapsed > 0 else float("inf")
    print(f"\n{total} clips of {secs:g} s ({total * secs / 3600:.2f} h of audio) in {elapsed:.1f} s: "
          f"{rate:.1f} clips/s with {cfg['jobs']} job(s), "
          f"{rate * secs / 10 / cfg['jobs']:.1f} ten-second clips/s per job")
    if scaled:
        print(f"{scaled} clip(s) had transients softly limited above -6 dBFS")


if __name__ == "__main__":
    cli.run(lambda: main(sys.argv[1:]))
