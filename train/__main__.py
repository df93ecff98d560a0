"""`python -m train --data-root DIR --machine X [--model stats|ae|ae-maha|cls] --out RUN_DIR`

Trains one model on the machine's train/ (and supplemental/) clips with the one first-shot
configuration (train/config.py), then scores test/. With --seeds N > 1, seeds K..K+N-1 go to
RUN_DIR/seed_<k>/ and their mean +- std to RUN_DIR/seeds.json.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from asd import cli
from asd.dataset import machine_dir
from train.config import DEFAULT_MODEL, MODELS, SUPPLEMENTAL_MODES, make_config
from train.fit import THREADS
from train.pipeline import evaluate, fit_run
from train.run import write_json


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--machine", required=True)
    ap.add_argument("--model", default=DEFAULT_MODEL, choices=MODELS,
                    help=f"default {DEFAULT_MODEL} (docs/results.md says why)")
    ap.add_argument("--out", type=Path, required=True, help="RUN_DIR")
    ap.add_argument("--epochs", type=int, default=None,
                    help="default: train/config.py DEFAULT_EPOCHS (the official AE uses 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=1, help="train seeds K..K+N-1")
    ap.add_argument("--supplemental", choices=SUPPLEMENTAL_MODES, default=None,
                    help="cls only; default from train/config.py (experiments, not tuning)")
    ap.add_argument("--pca-components", type=int, default=None,
                    help="stats only; default from train/config.py, 0 = the Gaussian scorer "
                         "alone (experiments, not tuning)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/features"))
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


@contextmanager
def pinned_threads():
    """numpy's BLAS, OpenMP and torch on THREADS (1) threads for the whole run. The log-mel
    features (numpy's BLAS), stats' covariances and the networks round differently with another
    thread count, so without this a run's scores would depend on the cores and on
    OMP_NUM_THREADS / OPENBLAS_NUM_THREADS (a Ray worker starts with 1): with it, `python -m
    train` and a fleet task give byte-identical runs anywhere. Restored on exit (in-process
    callers such as the tests keep their own settings)."""
    import torch
    from threadpoolctl import threadpool_limits
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with threadpool_limits(limits=THREADS):
            yield
    finally:
        torch.set_num_threads(before)


def main(argv=None) -> int:
    with pinned_threads():
        return _main(argv)


def _main(argv=None) -> int:
    a = parse_args(argv)
    if a.seeds < 1 or (a.epochs is not None and a.epochs < 1):
        raise cli.UsageError("--seeds and --epochs must be >= 1")
    machine_dir(a.data_root, a.machine)  # DataError for a bad name, a missing root or machine
    extra = {"supplemental": a.supplemental} if a.supplemental else {}
    if a.pca_components is not None:
        extra["pca_components"] = a.pca_components
    results = []
    for k in range(a.seed, a.seed + a.seeds):
        try:
            cfg = make_config(a.machine, a.model, a.epochs, k, **extra)
        except ValueError as e:
            raise cli.UsageError(f"{e} (--model {a.model})") from None
        out = a.out if a.seeds == 1 else a.out / f"seed_{k}"
        run = fit_run(cfg, a.data_root, out, a.cache_dir, progress=not a.no_progress)
        metrics = evaluate(run, a.data_root, a.cache_dir, progress=not a.no_progress)
        print(f"{a.machine} {a.model} seed {k}: " + (
            ", ".join(f"{key} {metrics[key]:.4f}" for key in ("auc_source", "auc_target", "pauc"))
            if metrics else "scored") + f" -> {out}", file=sys.stderr)
        if metrics:
            results.append(metrics)
    if a.seeds > 1 and results:
        summary = {key: {"mean": float(np.mean([r[key] for r in results])),
                         "std": float(np.std([r[key] for r in results]))}
                   for key in ("auc_source", "auc_target", "pauc")}
        write_json(a.out / "seeds.json", {"seeds": [r["seed"] for r in results], **summary})
    return 0


if __name__ == "__main__":
    cli.run(main)
