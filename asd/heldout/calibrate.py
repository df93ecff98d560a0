"""Calibrate the held-out family with a simple reference detector (never a neural model).

Reference detector: per clip the log-mel of asd.features (128 bands), its per-band mean and std
over time (256 numbers); standardised with the training clips' mean and std; score = squared
residual after projecting on the first 20 principal components fitted on the training clips.
AUC per domain as asd.metrics (that domain's normals against all anomalies), pAUC at FPR <= 0.1.

    python -m asd.heldout.calibrate --data-root data-heldout         # score a written set
    python -m asd.heldout.calibrate --sweep -6,-3,0,3 [--machines ..] [--train 200]
        [--target-train 10] [--test 50] [--seconds 10] [--seed 0] [--jobs 2]

--sweep renders in memory (the same int16 samples the writer stores) and scores the same
normal clips against anomalies rendered at each severity offset (dB, added to SEVERITY_DB).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from asd import cli
from asd.features import FEATURES, logmel
from asd.heldout import MODELS, SEVERITY_DB, SR, fault_of, render
from asd.heldout.write import Counts, plan
from asd.metrics import section_metrics

COMPONENTS = 20


def clip_stats(lm: np.ndarray) -> np.ndarray:
    """(frames, 128) log-mel -> 256 numbers: per-band mean and std over time."""
    return np.concatenate([lm.mean(axis=0), lm.std(axis=0)]).astype(np.float64)


def reference_scores(train: np.ndarray, test: np.ndarray, k: int = COMPONENTS) -> np.ndarray:
    mu, sd = train.mean(axis=0), train.std(axis=0)
    sd = np.where(sd > 1e-9, sd, 1.0)
    z, zt = (train - mu) / sd, (test - mu) / sd
    pca = PCA(n_components=min(k, len(train) - 1), svd_solver="full").fit(z)
    rec = pca.inverse_transform(pca.transform(zt))
    return np.sum((zt - rec) ** 2, axis=1)


def metrics(scores, labels, domains, kinds=None) -> dict:
    y = np.asarray(labels) == "anomaly"
    m = section_metrics(scores, y, domains).as_dict()
    if kinds is not None:
        s = np.asarray(scores)
        for kind in sorted({k for k in kinds if k}):
            keep = ~y | (np.asarray(kinds) == kind)
            m[kind] = float(roc_auc_score(y[keep], s[keep]))
    return m


def _stats_of(args) -> np.ndarray:
    clip, seed, n, offset = args
    y = render(clip, seed, n, offset).astype(np.float32) / 32768.0
    return clip_stats(logmel(y, FEATURES))


def sweep(machine: str, counts: Counts, seconds: float, seed: int, offsets, pool) -> list:
    n = int(round(seconds * SR))
    clips = plan(MODELS[machine], counts, seed)
    train = [c for c in clips if c.split == "train"]
    normal = [c for c in clips if c.split == "test" and c.label == "normal"]
    anomal = [c for c in clips if c.split == "test" and c.label == "anomaly"]
    mapper = pool.map if pool is not None else map
    x_train = np.array(list(mapper(_stats_of, [(c, seed, n, 0.0) for c in train])))
    x_norm = np.array(list(mapper(_stats_of, [(c, seed, n, 0.0) for c in normal])))
    kinds = [None] * len(normal) + [fault_of(c, seed) for c in anomal]
    out = []
    for off in offsets:
        x_anom = np.array(list(mapper(_stats_of, [(c, seed, n, off) for c in anomal])))
        test = normal + anomal
        s = reference_scores(x_train, np.concatenate([x_norm, x_anom]))
        m = metrics(s, [c.label for c in test], [c.domain for c in test], kinds)
        out.append((off, m))
    return out


def score_root(root: Path, machine: str) -> dict:
    from asd.dataset import list_clips
    from asd.features import extract
    train = list_clips(root, machine, "train")
    test = list_clips(root, machine, "test")
    x_train = np.array([clip_stats(x) for x in extract([c.path for c in train], progress=False)])
    x_test = np.array([clip_stats(x) for x in extract([c.path for c in test], progress=False)])
    kinds = None
    meta = Path(root) / "heldout.json"
    if meta.exists():
        info = json.loads(meta.read_text())["machines"].get(machine)
        if info:
            counts = Counts(info["train"], info["target_train"], info["test"],
                            info["supplemental"])
            by_name = {c.name: fault_of(c, info["seed"])
                       for c in plan(MODELS[machine], counts, info["seed"]) if c.split == "test"}
            kinds = [by_name.get(c.name) for c in test]
    s = reference_scores(x_train, x_test)
    return metrics(s, [c.label for c in test], [c.domain for c in test], kinds)


def _row(machine, off, m) -> str:
    kinds = "  ".join(f"{k} {v:.2f}" for k, v in m.items()
                      if k not in ("auc_source", "auc_target", "pauc"))
    sev = SEVERITY_DB[machine] + (off or 0.0)
    return (f"{machine:<15} {sev:+6.1f} {m['auc_source']:7.3f} {m['auc_target']:7.3f} "
            f"{m['pauc']:6.3f}   {kinds}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m asd.heldout.calibrate",
                                 description=__doc__.split("\n\n")[1])
    ap.add_argument("--data-root", type=Path, help="score this written held-out set")
    ap.add_argument("--sweep", help="comma-separated severity offsets in dB (in-memory)")
    ap.add_argument("--machines", help=f"comma-separated (default all: {','.join(MODELS)})")
    cli.add_clip_args(ap)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    machines = args.machines.split(",") if args.machines else list(MODELS)
    print(f"{'type':<15} {'sev dB':>6} {'AUC src':>7} {'AUC tgt':>7} {'pAUC':>6}   "
          f"AUC per fault kind (all normals vs that kind)")
    if args.data_root is not None:
        for m in machines:
            print(_row(m, None, score_root(args.data_root, m)), flush=True)
        return 0
    if not args.sweep:
        ap.error("give --data-root or --sweep")
    offsets = [float(x) for x in args.sweep.split(",")]
    counts = Counts(args.train, args.target_train, args.test, 0)
    pool = mp.get_context("fork").Pool(args.jobs) if args.jobs > 1 else None
    try:
        for m in machines:
            for off, res in sweep(m, counts, args.seconds, args.seed, offsets, pool):
                print(_row(m, off, res), flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
