"""A trained run on disk: what RUN_DIR holds, and the object export and bench load from it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from train.config import TrainConfig
from train.fit import network_outputs
from train.kinds import ModelKind, kind_of
from train.models.stats import band_stats

CONFIG = "config.json"
MODEL = "model.pt"
SCORING = "scoring.npz"
THRESHOLD = "threshold.json"
TRAIN_SCORES = "train_scores.npy"
COMPLEXITY = "complexity.json"
METRICS = "metrics.json"
RUN_INFO = "run.json"
HISTORY = "history.json"
CLASSES = "classes.json"


@dataclass
class Run:
    """A trained model with its scoring constants and threshold (float, eval mode).
    `threshold` decides the source domain's clips (and every clip of a kind with one
    threshold), `threshold_target` the clips its kind puts in the target domain."""
    config: TrainConfig
    model: torch.nn.Module
    constants: dict
    threshold: float
    run_dir: Path | None = None
    threshold_target: float | None = None

    @property
    def kind(self) -> ModelKind:
        return kind_of(self.config)

    def inputs(self, logmel: np.ndarray) -> np.ndarray:
        """Network inputs of one clip: ae (N, 640) vectors; cls (P, 1, 32, 128) patches;
        stats (1, 128) standardised clip statistics."""
        return self.kind.inputs(self.config, logmel, self.constants)

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        """Float network outputs for a batch of inputs (ae (N, 640); cls (P, emb_dim))."""
        return network_outputs(self.model, inputs)

    def score_outputs(self, inputs: np.ndarray, outputs: np.ndarray,
                      logmel: np.ndarray | None = None) -> float:
        """Clip score from the network's inputs and outputs (e.g. dequantized int8 ones)."""
        band = band_stats(logmel) if logmel is not None and self.kind.uses_band_stats else None
        return self.kind.score(inputs, outputs, self.constants, band)

    def score(self, logmel: np.ndarray) -> float:
        return self.score_and_domain(logmel)[0]

    def score_and_domain(self, logmel: np.ndarray) -> tuple[float, int]:
        """The clip's score and the domain whose threshold decides it (`decide`)."""
        x = self.inputs(logmel)
        y = self.outputs(x)
        return self.score_outputs(x, y, logmel), self.kind.clip_domain(y, self.constants)

    def threshold_of(self, domain: int) -> float:
        target = domain == 1 and self.threshold_target is not None
        return float(self.threshold_target if target else self.threshold)

    def decide(self, score: float, domain: int = 0) -> bool:
        """True = anomaly: the score above the threshold of the clip's domain."""
        return bool(score > self.threshold_of(domain))


def save_run(run_dir: Path, run: Run, train_scores: np.ndarray, threshold: dict) -> None:
    torch.save(run.model.state_dict(), run_dir / MODEL)
    np.savez(run_dir / SCORING, **{k: np.asarray(v) for k, v in run.constants.items()})
    np.save(run_dir / TRAIN_SCORES, np.asarray(train_scores, np.float64))
    write_json(run_dir / THRESHOLD, threshold)


def is_trained(run_dir: Path) -> bool:
    return all((run_dir / f).exists() for f in (MODEL, SCORING, THRESHOLD, TRAIN_SCORES))


def load_run(run_dir: Path | str) -> Run:
    """Rebuild a run from RUN_DIR: config -> network, weights, scoring constants, threshold."""
    run_dir = Path(run_dir)
    if not is_trained(run_dir):
        from asd.cli import UsageError
        raise UsageError(f"{run_dir}: not a trained run (needs {CONFIG}, {MODEL}, {SCORING}, "
                         f"{THRESHOLD}); train it with `python -m train ... --out {run_dir}`")
    cfg = TrainConfig.load(run_dir / CONFIG)
    model = kind_of(cfg).build(cfg)
    try:
        model.load_state_dict(torch.load(run_dir / MODEL, weights_only=True))
    except RuntimeError as e:   # e.g. a cls run from before the whitening layer existed
        from asd.cli import UsageError
        first = str(e).strip().splitlines()[-1].strip()
        raise UsageError(f"{run_dir / MODEL} does not fit this version's {cfg.model} network "
                         f"({first}); an older version trained it: delete {run_dir} and train "
                         f"again") from None
    model.eval()
    with np.load(run_dir / SCORING) as z:
        constants = {k: z[k] for k in z.files}
    threshold = json.loads((run_dir / THRESHOLD).read_text())
    target = threshold.get("threshold_target")
    return Run(cfg, model, constants, float(threshold["threshold"]), run_dir,
               None if target is None else float(target))


def write_json(path: Path, obj) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
