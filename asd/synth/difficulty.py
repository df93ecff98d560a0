"""How hard is the synthetic set? Train the official baseline autoencoder briefly and print AUCs.

python -m asd.synth.difficulty [--machines M1,M2] [--train 200] [--target-train 10] [--test 50]
    [--seconds 10] [--epochs 20] [--seed 0] [--jobs J] [--keep DIR] [--severity-db X]
    [--sweep X1,X2,...]

Per machine type: generate a modest set into a temporary folder (or --keep DIR), list it with the
project's reader (asd.dataset), compute log-mel context vectors (asd.features), train the DCASE
baseline autoencoder (640-128-128-128-128-8-128-128-128-128-640, BatchNorm + ReLU, MSE, Adam 1e-3,
batch 512) on the training clips, score each test clip by its mean squared reconstruction error,
and print AUC(source), AUC(target), pAUC (asd.metrics) and, per anomaly kind, the AUC of
the source-domain clips (how detectable the kind is without the domain shift).
Used to calibrate asd.synth.generate.SEVERITY_DB; the aim is AUC roughly 0.55-0.85 per type.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from asd import cli
from asd.cli import UsageError
from asd.machines import ALL_MACHINES


def build_ae(dim: int = 640, hidden: int = 128, bottleneck: int = 8):
    import torch.nn as nn

    def block(i, o):
        return [nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU()]

    layers = block(dim, hidden) + block(hidden, hidden) + block(hidden, hidden) + \
        block(hidden, hidden) + block(hidden, bottleneck) + block(bottleneck, hidden) + \
        block(hidden, hidden) + block(hidden, hidden) + block(hidden, hidden) + \
        [nn.Linear(hidden, dim)]
    return nn.Sequential(*layers)


def train_ae(x: np.ndarray, epochs: int, seed: int, batch: int = 512, lr: float = 1e-3):
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = build_ae(x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = torch.from_numpy(x)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=gen)
        for i in range(0, len(data), batch):
            xb = data[perm[i:i + batch]]
            if len(xb) < 2:
                continue
            opt.zero_grad()
            loss = torch.mean((model(xb) - xb) ** 2)
            loss.backward()
            opt.step()
    model.eval()
    return model


def clip_scores(model, vectors: list[np.ndarray]) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for v in vectors:
            x = torch.from_numpy(v)
            out.append(float(torch.mean((model(x) - x) ** 2)))
    return np.asarray(out)


def evaluate(root: Path, machine: str, seed: int, epochs: int, counts,
             sweep: dict[float, Path] | None = None) -> list[dict]:
    """Train on root's clips, score its test clips, and (sweep) the test clips of the same set
    generated at other severities: normal clips do not depend on the severity, so one trained
    model serves the whole sweep. One result per test set, root's first (severity_db None)."""
    from asd.dataset import list_clips
    from asd.features import context_vectors, extract

    train = list_clips(root, machine, "train")
    x = np.concatenate([context_vectors(lm) for lm in extract([c.path for c in train])])
    model = train_ae(x, epochs, seed)
    rows = []
    for sev, r in ({None: root} | (sweep or {})).items():
        test = list_clips(r, machine, "test")
        scores = clip_scores(model, [context_vectors(lm) for lm in extract([c.path for c in test])])
        rows.append(dict(machine=machine, severity_db=sev,
                         **_metrics(machine, test, scores, seed, counts)))
    return rows


def _metrics(machine, test, scores, seed, counts) -> dict:
    from sklearn.metrics import roc_auc_score

    from asd.metrics import section_metrics
    from asd.synth.generate import anomaly_of
    from asd.synth.layout import plan_machine

    y = np.array([c.label == "anomaly" for c in test])
    dom = np.array([c.domain for c in test])
    m = section_metrics(scores, y, dom)
    specs = {s.name: s for s in plan_machine(machine, counts, seed) if s.split == "test"}
    kinds = np.array([(anomaly_of(specs[c.name], seed) or ("normal", 0))[0] for c in test])
    per_kind = {}
    for k in sorted(set(kinds) - {"normal"}):  # source normals vs source anomalies of kind k
        keep = ((kinds == k) | ~y) & (dom == "source")
        if 0 < y[keep].sum() < keep.sum():  # both classes present (tiny sets may lack one)
            per_kind[k] = roc_auc_score(y[keep], scores[keep])
    return dict(auc_source=m.auc_source, auc_target=m.auc_target, pauc=m.pauc, kinds=per_kind)


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


def _sweep_sets(tmp: Path, machine: str, args) -> dict[float, Path]:
    """The machine's test clips generated at each --sweep severity (one training clip per domain
    only: the sweep reuses the model trained on the main set)."""
    from asd.synth.generate import SEVERITY_DB, cpu_count, generate
    from asd.synth.layout import Counts

    own, out = SEVERITY_DB[machine], {}
    try:
        for sev in args.sweep:
            SEVERITY_DB[machine] = sev  # read by the (forked) workers that render the clips
            out[sev] = tmp / f"sweep-{machine}-{sev:g}"
            generate(out[sev], [machine], Counts(1, 1, args.test, 0), args.seconds, args.seed,
                     args.jobs or cpu_count(), log=lambda *_: None)
    finally:
        SEVERITY_DB[machine] = own
    return out


def main(argv=None) -> int:
    from asd.synth.__main__ import parse_machines
    from asd.synth.generate import SEVERITY_DB, cpu_count, generate
    from asd.synth.layout import Counts

    ap = argparse.ArgumentParser(prog="python -m asd.synth.difficulty",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--machines", default=",".join(ALL_MACHINES))
    cli.add_clip_args(ap)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--keep", type=Path, help="write the data here instead of a temp folder")
    ap.add_argument("--severity-db", type=float, help="override every type's severity offset")
    ap.add_argument("--sweep", type=_floats, default=[],
                    help="also score test sets generated at these severities (dB, comma-separated) "
                         "with the same trained model")
    args = ap.parse_args(argv)
    machines = parse_machines(args.machines)
    if min(args.train, args.target_train, args.test, args.epochs) < 1 or args.seconds <= 0:
        raise UsageError("counts, --epochs and --seconds must be positive")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(1)  # numpy's BLAS: one thread, the machine is shared
    if args.severity_db is not None:
        for m in machines:
            SEVERITY_DB[m] = args.severity_db
    counts = Counts(args.train, args.target_train, args.test, 0)
    jobs = args.jobs or cpu_count()
    rows = []
    with tempfile.TemporaryDirectory(prefix="asd-difficulty-") as tmp:
        root = args.keep or Path(tmp)
        for m in machines:
            t0 = time.perf_counter()
            generate(root, [m], counts, args.seconds, args.seed, jobs, log=lambda *_: None)
            sweep = _sweep_sets(Path(tmp), m, args)
            for r in evaluate(root, m, args.seed, args.epochs, counts, sweep=sweep):
                r["own"] = r["severity_db"] is None
                r["severity_db"] = SEVERITY_DB[m] if r["own"] else r["severity_db"]
                rows.append(r)
                kinds = "  ".join(f"{k} {v:.2f}" for k, v in r["kinds"].items())
                print(f"{m:<14} {r['severity_db']:5.1f} dB  AUC src {r['auc_source']:.3f}  "
                      f"tgt {r['auc_target']:.3f}  pAUC {r['pauc']:.3f}  "
                      f"({time.perf_counter() - t0:.0f} s)  kinds: {kinds}", flush=True)
    print()
    print("| machine | severity (dB) | AUC (source) | AUC (target) | pAUC |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['machine']} | {r['severity_db']:g} | {r['auc_source']:.3f} | "
              f"{r['auc_target']:.3f} | {r['pauc']:.3f} |")
    own = [r for r in rows if r["own"]]
    src, tgt, pauc = (np.mean([r[k] for r in own]) for k in ("auc_source", "auc_target", "pauc"))
    print(f"| mean (set's own severity) | | {src:.3f} | {tgt:.3f} | {pauc:.3f} |")
    return 0


if __name__ == "__main__":
    cli.run(lambda: main(sys.argv[1:]))
