"""`python -m train.fleet --data-root DIR --out RUNS [--machines all|M1,M2,..] [--models ..]`

Many `python -m train` runs at once on Ray: one Ray task per (machine, model, seed), each on one
core, with the memory it needs declared (the autoencoder's) so Ray never runs more than fit. A
task trains exactly as `python -m train --machine M --model X --seed K --out RUNS/M/X` does (the
same make_config, fit_run and evaluate; with --seeds N > 1 RUNS/M/X/seed_K/ and seeds.json), then
optionally exports (--export: RUNS/M/X/export/) and checks the export on the emulator
(--bench emu: RUNS/M/X/bench/). Finished runs are reused, so an interrupted fleet resumes.

Default models: only the first-shot default (train/config.py DEFAULT_MODEL); `--models all` is
every model (what `make train-all` runs). Local by default: Ray starts inside this process on
--workers cores (default: all); --address ADDR or RAY_ADDRESS joins a running cluster
(docs/fleet.md). A task that fails is reported with its machine, model and seed; the others go
on; the exit status is 1 when any failed. At the end the result table (train.report) of RUNS.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import traceback
from collections import defaultdict
from pathlib import Path

import numpy as np

from asd import cli
from asd.dataset import DataError, available_machines, machine_dir
from train.config import DEFAULT_MODEL, MODELS, NETWORKS, make_config

ROOT = Path(__file__).resolve().parents[1]
GB = 1024 ** 3
# Memory a task may need, declared to Ray so it schedules no more tasks than fit (the autoencoder
# took 2.3 GB on a full-size type; the others far less).
MEMORY = {"ae": 2.5 * GB, "ae-maha": 2.5 * GB, "cls": 1.0 * GB, "stats": 0.5 * GB}
MAX_RETRIES = 3          # Ray re-runs a task whose worker process or node died this many times
# TEST HOOK (tests/train/test_fleet.py only): when this environment variable names a folder, every
# task's worker process kills itself (os._exit(1)) on the task's first attempt, leaving a marker
# file there, so the retry by Ray is exercised. Never set it otherwise.
CRASH_ONCE_ENV = "FIRSTSHOT_FLEET_CRASH_ONCE"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m train.fleet", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--machines", default="all", help="all (default) or M1,M2,...")
    ap.add_argument("--models", default=DEFAULT_MODEL,
                    help=f"comma-separated from {','.join(MODELS)}, or all; default "
                         f"{DEFAULT_MODEL}")
    ap.add_argument("--out", type=Path, required=True, help="RUNS: RUNS/<machine>/<model>/")
    ap.add_argument("--epochs", type=int, default=None,
                    help="as python -m train --epochs, for the trained models (ae, ae-maha, cls) "
                         "only; stats takes none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1, help="train seeds K..K+N-1")
    ap.add_argument("--export", action="store_true", help="also python -m export each run")
    ap.add_argument("--bench", choices=("emu",), help="also bench each export on the emulator")
    ap.add_argument("--address", default=None,
                    help="a running Ray cluster (default: RAY_ADDRESS, else local Ray)")
    ap.add_argument("--workers", type=int, default=None,
                    help="local Ray only: cores to use (default: all)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/features"))
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


# ---- what to run ---------------------------------------------------------------------------

def pick(value: str, known: list[str] | tuple[str, ...], what: str) -> list[str]:
    """`all` or a comma-separated subset of `known`, in the order given; UsageError otherwise."""
    if value == "all":
        return list(known)
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise cli.UsageError(f"--{what} {value!r}: unknown {', '.join(unknown) or '(empty)'}; "
                             f"choose from {', '.join(known)} or all")
    return list(dict.fromkeys(names))


def plan(a: argparse.Namespace) -> list[dict]:
    """One task spec per (machine, model, seed); bad arguments fail here, before Ray starts."""
    if a.seeds < 1 or (a.epochs is not None and a.epochs < 1):
        raise cli.UsageError("--seeds and --epochs must be >= 1")
    if a.bench and not a.export:
        raise cli.UsageError("--bench emu needs --export (it checks the export)")
    machines = pick(a.machines, available_machines(a.data_root), "machines")
    if not machines:
        raise DataError(f"{a.data_root}: no machine folders under dev_data/raw/ or "
                        f"eval_data/raw/")
    models = pick(a.models, MODELS, "models")
    if a.bench and len(models) * a.seeds > 1:
        raise cli.UsageError("--bench emu builds one emulator per machine "
                             "(firmware/build/emu/<machine>): use one model and one seed")
    specs = []
    for machine in machines:
        for model in models:
            epochs = a.epochs if model in NETWORKS else None
            for k in range(a.seed, a.seed + a.seeds):
                try:
                    make_config(machine, model, epochs, k)
                except ValueError as e:
                    raise cli.UsageError(f"{e} (--models {model})") from None
                base = a.out / machine / model
                specs.append({"machine": machine, "model": model, "seed": k, "epochs": epochs,
                              "data_root": str(a.data_root), "cache_dir": str(a.cache_dir),
                              "run_dir": str(base if a.seeds == 1 else base / f"seed_{k}"),
                              "export": a.export, "bench": a.bench,
                              "blas_threads": blas_threads() if model == "stats" else 1,
                              "crash_once": os.environ.get(CRASH_ONCE_ENV)})
    return specs


def blas_threads() -> int:
    """The BLAS threads a `python -m train` started like this process would use. Its clip
    statistics (numpy/scipy linear algebra) round differently with another thread count, and a
    Ray worker is started with one thread (OMP_NUM_THREADS=1), so each task sets this count back
    for its short BLAS calls: a fleet run is byte-identical to the `python -m train` run.
    Only stats needs it (its 256-band covariances); the networks' runs were byte-identical with
    one thread, and spinning BLAS threads in every task made a 2-core fleet no faster than
    sequential runs (docs/fleet.md), so the other models keep Ray's one thread."""
    from threadpoolctl import threadpool_info
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts, default=1)


def label(spec: dict) -> str:
    return f"{spec['machine']} {spec['model']} seed {spec['seed']}"


# ---- one task (runs in a Ray worker process) ------------------------------------------------

def run_task(spec: dict) -> dict:
    """Train and score one run exactly as `python -m train` does; errors come back as text."""
    _maybe_crash(spec)
    try:
        metrics = train_one(spec)
        if spec["export"]:
            export_one(spec)
        if spec["bench"]:
            bench_one(spec)
        return {**spec, "ok": True, "metrics": metrics}
    except (DataError, cli.UsageError) as e:           # the user's to fix: the message only
        return {**spec, "ok": False, "error": str(e)}
    except Exception as e:                              # a bug: the message, and the traceback
        return {**spec, "ok": False, "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc()}


def train_one(spec: dict) -> dict | None:
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=spec.get("blas_threads") or 1, user_api="blas"):
        return _train_one(spec)


def _train_one(spec: dict) -> dict | None:
    from train.pipeline import evaluate, fit_run
    data_root, cache = Path(spec["data_root"]), Path(spec["cache_dir"])
    machine_dir(data_root, spec["machine"])   # then as python -m train: list_clips names a
                                              # machine without training clips (DataError)
    cfg = make_config(spec["machine"], spec["model"], spec["epochs"], spec["seed"])
    run = fit_run(cfg, data_root, Path(spec["run_dir"]), cache, progress=False)
    return evaluate(run, data_root, cache, progress=False)


def _tool(args: list[str], what: str) -> None:
    """Run a toolchain CLI (one thread each); its `error: ...` line becomes the task's error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1"}
    r = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                       text=True)
    if r.returncode:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()] or ["(no message)"]
        errors = [ln for ln in lines if ln.startswith("error:")]
        raise cli.UsageError(f"{what} failed (exit {r.returncode}): "
                             f"{(errors or lines)[-1].removeprefix('error: ')}")


def export_one(spec: dict) -> None:
    run_dir = Path(spec["run_dir"]).resolve()
    _tool(["-m", "export", "--run", str(run_dir), "--machine", spec["machine"],
           "--data-root", str(Path(spec["data_root"]).resolve()),
           "--out", str(run_dir / "export")], "export")


def bench_one(spec: dict) -> None:
    run_dir = Path(spec["run_dir"]).resolve()
    _tool(["host/bench.py", "--port", spec["bench"], "--machine", spec["machine"],
           "--data-root", str(Path(spec["data_root"]).resolve()),
           "--model-dir", str(run_dir / "export"), "--out", str(run_dir / "bench")], "bench")


def _maybe_crash(spec: dict) -> None:
    """The test hook (CRASH_ONCE_ENV): die on the first attempt, as a killed worker would."""
    if not spec.get("crash_once"):
        return
    marker = Path(spec["crash_once"]) / "_".join(map(str, (spec["machine"], spec["model"],
                                                            spec["seed"])))
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("crashed once\n")
        os._exit(1)


# ---- Ray ------------------------------------------------------------------------------------

def connect(address: str | None, workers: int | None) -> bool:
    """Join the cluster at `address` / RAY_ADDRESS, or start Ray locally; True if we started it
    (then we stop it). An already initialised Ray (the tests share one) is used as it is."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # no usage report over the network
    import ray
    if ray.is_initialized():
        return False
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
    else:
        if workers is not None and workers < 1:
            raise cli.UsageError("--workers must be >= 1")
        os.environ["PYTHONPATH"] = env["PYTHONPATH"]   # the local workers inherit it
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
                 _node_ip_address="127.0.0.1", object_store_memory=200 * 1024 ** 2,
                 log_to_driver=False, configure_logging=False)
    return True


def submit(specs: list[dict]) -> dict:
    """One Ray task per spec -> {object ref: spec}."""
    import ray
    remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(run_task)
    return {remote.options(memory=int(MEMORY.get(s["model"], 0))).remote(s): s for s in specs}


def gather(refs: dict, progress: bool) -> list[dict]:
    """Wait for every task with a progress bar; a task lost for good becomes a failed result."""
    import ray
    from tqdm import tqdm
    results, pending = [], list(refs)
    with tqdm(total=len(pending), desc="fleet", unit="task", disable=not progress,
              file=sys.stderr) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    result = ray.get(ref)
                except Exception as e:          # worker or node died MAX_RETRIES + 1 times
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    result = {**refs[ref], "ok": False, "error": f"{type(e).__name__}: {msg}"}
                results.append(result)
                if not result["ok"]:
                    bar.write(f"FAILED {label(result)}: {result['error']}", file=sys.stderr)
                    if result.get("traceback"):
                        bar.write(result["traceback"], file=sys.stderr)
                bar.update(1)
    return results


# ---- after the tasks -----------------------------------------------------------------------

def write_seed_summaries(results: list[dict], seeds: int) -> None:
    """RUNS/<machine>/<model>/seeds.json, as `python -m train --seeds N` writes it."""
    from train.run import write_json
    if seeds < 2:
        return
    groups = defaultdict(list)
    for r in sorted(results, key=lambda r: r["seed"]):
        if r["ok"] and r.get("metrics"):
            groups[Path(r["run_dir"]).parent].append(r["metrics"])
    for base, rows in groups.items():
        summary = {k: {"mean": float(np.mean([m[k] for m in rows])),
                       "std": float(np.std([m[k] for m in rows]))}
                   for k in ("auc_source", "auc_target", "pauc")}
        write_json(base / "seeds.json", {"seeds": [m["seed"] for m in rows], **summary})


def print_table(out: Path) -> None:
    from train.report import collect, markdown
    try:
        print(markdown(collect([out])), end="")
    except cli.UsageError as e:
        print(f"no result table: {e}", file=sys.stderr)


def report_failures(results: list[dict], total: int) -> int:
    failed = sorted((r for r in results if not r["ok"]), key=label)
    print(f"fleet: {total - len(failed)} of {total} tasks done", file=sys.stderr)
    for r in failed:
        print(f"  failed: {label(r)}: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def main(argv=None) -> int:
    a = parse_args(argv)
    specs = plan(a)
    started = connect(a.address, a.workers)
    try:
        results = gather(submit(specs), progress=not a.no_progress)
    finally:
        if started:
            import ray
            ray.shutdown()
    write_seed_summaries(results, a.seeds)
    print_table(a.out)
    return report_failures(results, len(specs))


if __name__ == "__main__":
    cli.run(main)
