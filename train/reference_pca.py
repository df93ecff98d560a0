"""`python -m train.reference_pca --data-root DIR [--machines M1,M2] --out RUNS`: the
clip-statistics reference detector of docs/results.md, scored like every model.

Per clip: the time mean and standard deviation of each of the 128 log-mel bands (256 numbers),
minus their mean over the normal training clips; score = squared residual after projecting on
the first 20 principal components of the training clips. Nothing is fitted per domain and no
threshold is fitted (its decisions are not reported). It is the yardstick the default model must
beat on machine types where no decision was taken; it writes RUNS/<machine>/reference-pca/
metrics.json (model `reference-pca`) so that `python -m train.report` lists it beside the models.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from asd import cli
from asd.dataset import available_machines, machine_dir
from asd.metrics import section_metrics, write_scores
from train.data import load_split
from train.models.stats import band_stats
from train.run import METRICS, RUN_INFO, write_json

COMPONENTS = 20
NAME = "reference-pca"


def fit_scores(train: list[np.ndarray], test: list[np.ndarray]) -> np.ndarray:
    """Residual energy of the test clips' statistics outside the training clips' top PCs."""
    x = np.stack([band_stats(lm) for lm in train])
    y = np.stack([band_stats(lm) for lm in test])
    pca = PCA(n_components=min(COMPONENTS, len(x) - 1)).fit(x)
    z = y - pca.mean_
    return np.sum(z ** 2, axis=1) - np.sum((z @ pca.components_.T) ** 2, axis=1)


def run_machine(data_root: Path, machine: str, out: Path, cache_dir: Path | None) -> dict | None:
    train = load_split(data_root, machine, "train", cache_dir)
    test = load_split(data_root, machine, "test", cache_dir)
    scores = fit_scores(train.logmels, test.logmels)
    out.mkdir(parents=True, exist_ok=True)
    write_scores(out, machine, [c.name for c in test.clips], scores)
    write_json(out / RUN_INFO, {"data_root": str(data_root)})
    if any(c.label is None or c.domain is None for c in test.clips):
        return None
    m = section_metrics(scores, [c.label == "anomaly" for c in test.clips],
                        [c.domain for c in test.clips])
    metrics = {"machine": machine, "model": NAME, "seed": 0, "epochs": 0, **m.as_dict()}
    write_json(out / METRICS, metrics)
    return metrics


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.reference_pca", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--machines", help="comma-separated (default: every machine of the root)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/features"))
    a = ap.parse_args(argv)
    machines = a.machines.split(",") if a.machines else available_machines(a.data_root)
    for machine in machines:
        machine_dir(a.data_root, machine)  # a clear error for a missing machine
        m = run_machine(a.data_root, machine, a.out / machine / NAME, a.cache_dir)
        print(f"{machine} {NAME}: " + (", ".join(f"{k} {m[k]:.4f}" for k in
              ("auc_source", "auc_target", "pauc")) if m else "scored"))
    return 0


if __name__ == "__main__":
    cli.run(main)
