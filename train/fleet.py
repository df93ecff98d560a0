"""`python -m train.fleet --data-root DIR --out RUNS [--machines all|M1,M2,..] [--models ..]`

Many `python -m train` runs at once on Ray: one Ray task per (machine, model, seed), each on one
core, with the memory it needs declared (the autoencoder's) so Ray never runs more than fit. A
task runs `python -m train --machine M --model X --seed K --out RUNS/M/X` (its `main`, in the
Ray worker; with --seeds N > 1 RUNS/M/X/seed_K/ and seeds.json), then optionally exports
(--export: the firmware's model files in RUNS/M/X/firmware/, python -m export's work files in
RUNS/M/X/export/) and checks the export on the emulator (--bench emu: RUNS/M/X/bench/). A new run is trained in RUNS/M/.X.partial/ and renamed into place when it is
complete, so a killed task never leaves a half-written run; its retry resumes from there.
Finished runs are reused as `python -m train` reuses them, so an interrupted fleet resumes.

Default models: only the first-shot default (train/config.py DEFAULT_MODEL); `--models all` is
every model (what `make train-all` runs). Local by default: Ray starts inside this process on
--workers cores (default: all); --address ADDR or RAY_ADDRESS joins a running cluster
(docs/fleet.md). A task that fails is reported with its machine, model and seed; the others go
on; the exit status is 1 when any failed. At the end the result table (train.report) of RUNS.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from collections import defaultdict
from pathlib import Path

import numpy as np

from asd import cli
from asd.dataset import DataError, available_machines
from train.config import DEFAULT_MODEL, MODELS, NETWORKS, make_config

ROOT = Path(__file__).resolve().parents[1]
GB = 1024 ** 3
# Memory a task may need, declared to Ray so it schedules no more tasks than fit (the autoencoder
# took 2.3 GB on a full-size type; the others far less). --export adds EXPORT_MEMORY
# (TensorFlow's converter in a child process).
MEMORY = {"ae": 2.5 * GB, "ae-maha": 2.5 * GB, "cls": 1.0 * GB, "stats": 0.5 * GB}
EXPORT_MEMORY = 1.5 * GB
RETRIES = 3              # Ray re-runs a task whose worker process or node died this many times
PARTIAL = ".partial"     # RUNS/M/.X.partial/: a run being trained, renamed to RUNS/M/X/ when done
FIRMWARE = "firmware"    # RUNS/M/X/firmware/: the exported model (python -m export --out; its own
                         # work folder is RUNS/M/X/export/), the emulator's MODEL_DIR
# TEST HOOKS (tests/train/test_fleet.py only). When CRASH_ONCE_ENV names a folder, every task's
# worker process kills itself (os._exit(1)) the first time it reaches CRASH_AT_ENV's point
# (`start`: before anything; `checkpoint`: after the first training checkpoint, a half-written
# run), leaving a marker file in that folder, so Ray's retry is exercised. Never set otherwise.
CRASH_ONCE_ENV = "FIRSTSHOT_FLEET_CRASH_ONCE"
CRASH_AT_ENV = "FIRSTSHOT_FLEET_CRASH_AT"


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
    ap.add_argument("--retries", type=int, default=RETRIES,
                    help=f"times Ray re-runs a task whose worker or node died (default {RETRIES})")
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


def check_args(a: argparse.Namespace) -> None:
    if a.seeds < 1 or (a.epochs is not None and a.epochs < 1):
        raise cli.UsageError("--seeds and --epochs must be >= 1")
    if a.retries < 0 or (a.workers is not None and a.workers < 1):
        raise cli.UsageError("--retries must be >= 0 and --workers >= 1")
    if a.bench and not a.export:
        raise cli.UsageError("--bench emu needs --export (it checks the export)")


def plan(a: argparse.Namespace) -> list[dict]:
    """One task spec per (machine, model, seed); bad arguments fail here, before Ray starts."""
    check_args(a)
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
                base = a.out.resolve() / machine / model
                specs.append({"machine": machine, "model": model, "seed": k, "epochs": epochs,
                              "data_root": str(a.data_root.resolve()),
                              "cache_dir": str(a.cache_dir.resolve()),
                              "run_dir": str(base if a.seeds == 1 else base / f"seed_{k}"),
                              "export": a.export, "bench": a.bench})
    return specs


def label(spec: dict) -> str:
    return f"{spec['machine']} {spec['model']} seed {spec['seed']}"


# ---- one task (runs in a Ray worker process) ------------------------------------------------

def run_task(spec: dict, hooks: dict | None = None, after: dict | None = None) -> dict:
    """Train (or reuse) one run exactly as `python -m train` does, then the optional export and
    bench; a failure comes back as text naming the step. `after`: the result of the task this
    one waited for (Ray passes it once that task is done; unused)."""
    _install_crash_hook(spec, hooks or {})
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


def train_argv(spec: dict, out: Path) -> list[str]:
    """The `python -m train` arguments of this task."""
    epochs = ["--epochs", str(spec["epochs"])] if spec["epochs"] is not None else []
    return ["--data-root", spec["data_root"], "--machine", spec["machine"], "--model",
            spec["model"], *epochs, "--seed", str(spec["seed"]), "--out", str(out),
            "--cache-dir", spec["cache_dir"], "--no-progress"]


def partial_dir(run_dir: Path) -> Path:
    return run_dir.parent / f".{run_dir.name}{PARTIAL}"


def is_partial(path: Path) -> bool:
    return any(p.startswith(".") and p.endswith(PARTIAL) for p in path.parts)


def train_one(spec: dict) -> dict | None:
    """`python -m train`'s main on the run. An existing run directory is used in place, as
    `python -m train` would (reused when finished, resumed from its checkpoint otherwise); a new
    run is trained in its partial directory (a retry after a kill resumes there) and renamed
    into place once trained and scored."""
    from train.__main__ import main as train_main
    run_dir = Path(spec["run_dir"])
    out = run_dir if run_dir.exists() else partial_dir(run_dir)
    with contextlib.redirect_stdout(io.StringIO()):    # its "reusing ..." notes: not the table's
        train_main(train_argv(spec, out))
    if out != run_dir:
        out.rename(run_dir)        # atomic on one filesystem; fails if another fleet made it
    metrics = run_dir / "metrics.json"
    return json.loads(metrics.read_text()) if metrics.exists() else None


def _tool(args: list[str], what: str) -> None:
    """Run a toolchain CLI (one thread each); its `error: ...` line becomes the task's error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    r = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                       text=True)
    if r.returncode:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()] or ["(no message)"]
        errors = [ln for ln in lines if ln.startswith("error:")]
        raise cli.UsageError(f"{what} failed (exit {r.returncode}): "
                             f"{(errors or lines)[-1].removeprefix('error: ')}")


def export_one(spec: dict) -> None:
    run_dir = Path(spec["run_dir"])
    _tool(["-m", "export", "--run", str(run_dir), "--machine", spec["machine"],
           "--data-root", spec["data_root"], "--out", str(run_dir / FIRMWARE)], "export")


def bench_one(spec: dict) -> None:
    run_dir = Path(spec["run_dir"])
    _tool(["host/bench.py", "--port", spec["bench"], "--machine", spec["machine"],
           "--data-root", spec["data_root"], "--model-dir", str(run_dir / FIRMWARE),
           "--out", str(run_dir / "bench")], "bench")


def _install_crash_hook(spec: dict, hooks: dict) -> None:
    """The test hooks (CRASH_ONCE_ENV, CRASH_AT_ENV): die the first time the point is reached,
    as a worker killed there would."""
    if not hooks.get("crash_once"):
        return
    marker = Path(hooks["crash_once"]) / "_".join(map(str, (spec["machine"], spec["model"],
                                                            spec["seed"])))
    if marker.exists():
        return

    def crash():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("crashed once\n")
        os._exit(1)

    if hooks.get("crash_at", "start") == "start":
        crash()
    import train.fit
    save = train.fit._save_checkpoint

    def save_then_crash(*args, **kwargs):
        save(*args, **kwargs)
        crash()
    train.fit._save_checkpoint = save_then_crash


def crash_hooks() -> dict:
    return {"crash_once": os.environ.get(CRASH_ONCE_ENV),
            "crash_at": os.environ.get(CRASH_AT_ENV, "start")}


# ---- Ray ------------------------------------------------------------------------------------

def connect(address: str | None, workers: int | None) -> None:
    """Join the cluster at `address` / RAY_ADDRESS, or start Ray locally on `workers` cores."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # no usage report over the network
    import ray
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
        return
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]   # the local workers inherit it
    ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
             _node_ip_address="127.0.0.1", object_store_memory=100 * 1024 ** 2,
             log_to_driver=False, configure_logging=False)


# Relative run time of a task, to start the longest first: with tasks of several lengths on few
# workers, a long task started last would leave the other workers idle at the end.
COST = {"ae": 4, "ae-maha": 4, "cls": 2, "stats": 1}
# The kind whose trained network a kind reuses (train/kinds/ae.py: ae-maha trains ae's network,
# network_name "ae"); its task waits for that kind's task of the same machine and seed.
REUSES_NETWORK_OF = {"ae-maha": "ae"}


def schedule(specs: list[dict]) -> list[tuple[int, int | None]]:
    """(index of a spec, index of the spec it waits for or None), longest tasks first. ae-maha
    waits for the ae task of its machine and seed (REUSES_NETWORK_OF), so it reuses that network
    (the network cache of train/pipeline.py) instead of training the same one at the same time,
    as `python -m train` runs one after another do."""
    model = lambda i: specs[i]["model"]
    order = sorted(range(len(specs)), key=lambda i: (-COST.get(model(i), 1),
                                                     model(i) in REUSES_NETWORK_OF))
    task = {(specs[i]["machine"], specs[i]["seed"], model(i)): i for i in order}
    return [(i, task.get((specs[i]["machine"], specs[i]["seed"], REUSES_NETWORK_OF[model(i)]))
             if model(i) in REUSES_NETWORK_OF else None) for i in order]


def submit(specs: list[dict], retries: int) -> dict:
    """One Ray task per spec, in schedule() order -> {object ref: spec}."""
    import ray
    from train import fleet          # by reference: `python -m train.fleet` runs as __main__
    remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(fleet.run_task)
    hooks, refs = crash_hooks(), {}
    for i, after in schedule(specs):
        spec = specs[i]
        memory = int(MEMORY.get(spec["model"], 0) + (EXPORT_MEMORY if spec["export"] else 0))
        refs[i] = remote.options(memory=memory).remote(spec, hooks,
                                                       None if after is None else refs[after])
    return {ref: specs[i] for i, ref in refs.items()}


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
                result = _result(ref, refs[ref])
                results.append(result)
                if not result["ok"]:
                    bar.write(f"FAILED {label(result)}: {result['error']}", file=sys.stderr)
                    if result.get("traceback"):
                        bar.write(result["traceback"], file=sys.stderr)
                bar.update(1)
    return results


def _result(ref, spec: dict) -> dict:
    import ray
    try:
        return ray.get(ref)
    except Exception as e:          # its worker or node died retries + 1 times
        first = next((ln for ln in str(e).strip().splitlines() if ln.strip()), "")
        return {**spec, "ok": False, "error": f"{type(e).__name__}: {first} (worker died; "
                                              f"rerun the fleet to resume it)"}


# ---- after the tasks -----------------------------------------------------------------------

def write_seed_summaries(results: list[dict], seeds: int) -> None:
    """RUNS/<machine>/<model>/seeds.json, as `python -m train --seeds N` writes it (only when
    every seed of that machine and model succeeded, as `python -m train` would)."""
    from train.run import write_json
    if seeds < 2:
        return
    groups = defaultdict(list)
    for r in sorted(results, key=lambda r: r["seed"]):
        groups[Path(r["run_dir"]).parent].append(r)
    for base, group in groups.items():
        rows = [r["metrics"] for r in group if r["ok"] and r.get("metrics")]
        if len(rows) < len(group):
            continue
        summary = {k: {"mean": float(np.mean([m[k] for m in rows])),
                       "std": float(np.std([m[k] for m in rows]))}
                   for k in ("auc_source", "auc_target", "pauc")}
        write_json(base / "seeds.json", {"seeds": [m["seed"] for m in rows], **summary})


def print_table(out: Path) -> None:
    from train.report import collect, markdown
    try:
        rows = [r for r in collect([out]) if not is_partial(Path(r["run_dir"]))]
        print(markdown(rows), end="")
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
    connect(a.address, a.workers)
    import ray
    try:
        results = gather(submit(specs, a.retries), progress=not a.no_progress)
    finally:
        ray.shutdown()
    write_seed_summaries(results, a.seeds)
    print_table(a.out)
    return report_failures(results, len(specs))


if __name__ == "__main__":
    cli.run(main)
