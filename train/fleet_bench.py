"""`python -m train.fleet_bench [--data-root DIR] [--models stats] [--repeat N]` (`make fleet-bench`)

The measurement of docs/fleet.md: the same tasks (every machine under DIR x --models x --seeds)
run one after another with `python -m train` (one process per task, as `make train-all` ran them
before the fleet), then with `python -m train.fleet --workers W`, each from an empty feature
cache; wall times, the speedup, the CSVs compared byte for byte, and what else the machine did
meanwhile (load average; CPU-seconds of other processes against the runs' own, sampled with
psutil), so a disturbed measurement shows itself. With no DIR the set is
generated first (asd.synth --preset demo: 200 + 10 training clips and 80 test clips of 10 s for
each of 8 machine types; deterministic, not timed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from asd import cli
from asd.dataset import available_machines
from asd.metrics import decision_csv_name, score_csv_name
from train.config import NETWORKS

ROOT = Path(__file__).resolve().parents[1]
BENCH_MACHINES = "ToyCar,ToyTrain,bearing,fan,gearbox,slider,valve,Polisher"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m train.fleet_bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=None,
                    help="default: WORK/data, generated (8 machine types, demo sizes)")
    ap.add_argument("--models", default="stats")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/fleet-bench"))
    return ap.parse_args(argv)


def py(*args: str) -> None:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise cli.UsageError(f"{' '.join(args[:2])} failed: {r.stderr.strip()[-500:]}")


class CpuSampler:
    """CPU-seconds spent during a step by this process's descendants (the runs, and Ray's
    daemons and workers while they live) and by every other process on the machine (other
    users' jobs: the disturbance), from psutil samples every PERIOD s; a process that ends
    between two samples loses at most its last PERIOD."""
    PERIOD = 0.5

    def __init__(self):
        self.ours = self.others = 0.0
        self.seen: dict[tuple[int, float], float] = {}
        self.t0 = time.time()
        self.stop = threading.Event()
        self._sample(first=True)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(self.PERIOD):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        procs, parent = {}, {}
        for p in psutil.process_iter(["pid", "ppid", "create_time", "cpu_times"]):
            if p.info["cpu_times"] is None:
                continue
            procs[p.info["pid"]] = p.info
            parent[p.info["pid"]] = p.info["ppid"]
        me = os.getpid()
        for pid, info in procs.items():
            key, cpu = (pid, info["create_time"]), info["cpu_times"].user + info["cpu_times"].system
            before = self.seen.get(key, 0.0 if info["create_time"] >= self.t0 else None)
            self.seen[key] = cpu
            if first or before is None:
                continue                                # a baseline, not counted
            if _descends(pid, me, parent):
                self.ours += cpu - before
            else:
                self.others += cpu - before

    def finish(self) -> tuple[float, float]:
        self.stop.set()
        self.thread.join()
        self._sample()
        return self.ours, self.others


def _descends(pid: int, ancestor: int, parent: dict) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        pid = parent.get(pid, 0)
        if pid <= 1:
            return False
    return False


def timed(step) -> dict:
    """Wall time of step(), the load average before and after, and the CPU-seconds of our own
    processes and of everybody else's meanwhile."""
    load0, t0, sampler = os.getloadavg()[0], time.monotonic(), CpuSampler()
    step()
    wall = time.monotonic() - t0
    ours, others = sampler.finish()
    return {"wall": wall, "load": (load0, os.getloadavg()[0]), "own": ours, "others": others}


def tasks(data_root: Path, models: list[str], a) -> list[tuple[str, str, int]]:
    return [(m, x, k) for m in available_machines(data_root) for x in models
            for k in range(a.seeds)]


def sequential(data_root: Path, todo, out: Path, a) -> None:
    epochs = ["--epochs", str(a.epochs)] if a.epochs else []
    for machine, model, seed in todo:
        py("-m", "train", "--data-root", str(data_root), "--machine", machine, "--model", model,
           *(epochs if model in NETWORKS else []), "--seed", str(seed),
           "--out", str(run_dir(out, machine, model, seed, a.seeds)),
           "--cache-dir", str(out / "cache"), "--no-progress")


def fleet(data_root: Path, out: Path, a) -> None:
    epochs = ["--epochs", str(a.epochs)] if a.epochs else []
    py("-m", "train.fleet", "--data-root", str(data_root), "--machines", "all", "--models",
       a.models, *epochs, "--seeds", str(a.seeds), "--workers", str(a.workers),
       "--out", str(out), "--cache-dir", str(out / "cache"), "--no-progress")


def run_dir(out: Path, machine: str, model: str, seed: int, seeds: int) -> Path:
    return out / machine / model / (f"seed_{seed}" if seeds > 1 else "")


def identical(todo, seq: Path, par: Path, seeds: int) -> int:
    same = 0
    for machine, model, seed in todo:
        a, b = run_dir(seq, machine, model, seed, seeds), run_dir(par, machine, model, seed, seeds)
        same += all((a / n).read_bytes() == (b / n).read_bytes()
                    for n in (score_csv_name(machine), decision_csv_name(machine)))
    return same


def task_seconds(todo, out: Path, seeds: int) -> list[float]:
    """fit + score seconds of every task (run.json), without process start-up."""
    secs = []
    for machine, model, seed in todo:
        info = json.loads((run_dir(out, machine, model, seed, seeds) / "run.json").read_text())
        secs.append(info["fit_seconds"] + info["score_seconds"])
    return secs


def ensure_data(a) -> Path:
    if a.data_root:
        return a.data_root
    root = a.work / "data"
    if not (root / ".done").exists():
        py("-m", "asd.synth", "--out", str(root), "--preset", "demo", "--machines",
           BENCH_MACHINES, "--jobs", "2")
        (root / ".done").write_text("")
    return root


def row(i: int, what: str, t: dict, cores: int) -> str:
    others = t["others"]
    return (f"| {i} | {what} | {t['wall']:.1f} | {t['load'][0]:.2f} -> {t['load'][1]:.2f} | "
            f"{t['own']:.0f} | {others:.0f} ({100 * others / (cores * t['wall']):.0f} % of "
            f"the cores) |")


def main(argv=None) -> int:
    a = parse_args(argv)
    data_root = ensure_data(a)
    models = a.models.split(",")
    todo = tasks(data_root, models, a)
    cores = os.cpu_count() or 1
    print(f"{len(todo)} tasks ({a.models} x {len(todo) // len(models) // a.seeds} machines x "
          f"{a.seeds} seed(s)) on {data_root}, {cores} cores, fleet --workers {a.workers}")
    print("\n| rep | run | wall (s) | load avg before -> after | own CPU-s | others' CPU-s |")
    print("|---|---|---|---|---|---|")
    speedups = []
    for i in range(1, a.repeat + 1):
        seq, par = a.work / f"seq{i}", a.work / f"fleet{i}"
        for d in (seq, par):
            shutil.rmtree(d, ignore_errors=True)
        ts = timed(lambda: sequential(data_root, todo, seq, a))
        print(row(i, "sequential python -m train", ts, cores), flush=True)
        tf = timed(lambda: fleet(data_root, par, a))
        print(row(i, f"fleet, {a.workers} workers", tf, cores), flush=True)
        same = identical(todo, seq, par, a.seeds)
        speedups.append(ts["wall"] / tf["wall"])
        per_seq, per_par = task_seconds(todo, seq, a.seeds), task_seconds(todo, par, a.seeds)
        print(f"|   | speedup {speedups[-1]:.2f}x; CSVs identical {same} of {len(todo)}; "
              f"fit+score per task: sequential {sum(per_seq) / len(todo):.1f} s, fleet "
              f"{sum(per_par) / len(todo):.1f} s (max {max(per_par):.1f}) | | | | |", flush=True)
    print(f"\nspeedup: {', '.join(f'{s:.2f}x' for s in speedups)}")
    return 0


if __name__ == "__main__":
    cli.run(main)
