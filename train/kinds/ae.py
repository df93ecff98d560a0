"""The autoencoder kinds: `ae` (the official DCASE baseline) and `ae-maha` (the same network,
scored by the Mahalanobis distance of its residuals).

Network: AutoEncoder (train/models/ae.py) on context vectors of FEATURES.frames log-mel frames.
Training (train/fit.py's loop): whole training clips are held out for a validation loss
(val_fraction); every epoch shuffles the other clips' vectors and minimises the reconstruction
MSE in batches of ae_batch with Adam at ae_lr. Both kinds train the identical network
(network_name "ae"), so one machine's ae and ae-maha runs share one trained network.
Scoring (train/score.py): ae, the clip's mean reconstruction MSE; ae-maha, the smaller of the
source and target clip-mean Mahalanobis distances of the residuals.
Export: ae runs on the chip (window of FEATURES.frames frames, hop 1, MSE scoring); ae-maha does
not.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asd.features import FEATURES
from train import score as scoring
from train.data import TrainData, vectors
from train.kinds.base import NetworkKind, outputs_of
from train.models.ae import AutoEncoder

if TYPE_CHECKING:
    from train.config import TrainConfig


class AutoEncoderKind(NetworkKind):
    name = "ae"
    network_name = "ae"

    # --- network ---
    def build(self, cfg: TrainConfig) -> nn.Module:
        return AutoEncoder(FEATURES.dim, momentum=cfg.bn_momentum, eps=cfg.bn_eps)

    def example_input(self, cfg: TrainConfig, n: int = 1) -> torch.Tensor:
        return torch.zeros(n, FEATURES.dim)

    def inputs(self, cfg: TrainConfig, lm: np.ndarray, constants: dict | None = None) -> np.ndarray:
        return vectors(lm)

    def inferences_per_clip(self, cfg: TrainConfig, frames: int) -> int:
        return frames - FEATURES.frames + 1

    # --- training ---
    def lr(self, cfg: TrainConfig) -> float:
        return cfg.ae_lr

    def batch_size(self, cfg: TrainConfig) -> int:
        return cfg.ae_batch

    def training_set(self, cfg: TrainConfig, data: TrainData, gen: torch.Generator):
        """(training vectors, validation vectors or None)."""
        lms = data.train.logmels
        fit_idx, val_idx = split_clips(len(lms), cfg.val_fraction, gen)
        x = torch.from_numpy(np.concatenate([vectors(lms[i]) for i in fit_idx]))
        xv = torch.from_numpy(np.concatenate([vectors(lms[i]) for i in val_idx])) if val_idx \
            else None
        return x, xv

    def epoch_examples(self, cfg: TrainConfig, ts, gen: torch.Generator):
        return ts[0], None

    def batch_loss(self, cfg: TrainConfig, model: nn.Module, heads: dict, x: torch.Tensor,
                   y: torch.Tensor | None, ts, gen: torch.Generator) -> torch.Tensor:
        return F.mse_loss(model(x), x)

    def validation(self, model: nn.Module, ts) -> dict:
        xv = ts[1]
        return {} if xv is None else {"val_loss": eval_mse(model, xv)}

    # --- scoring ---
    def fit_scoring(self, cfg: TrainConfig, model: nn.Module,
                    data: TrainData) -> tuple[dict, np.ndarray, None]:
        ins = [self.inputs(cfg, lm) for lm in data.train.logmels]
        outs = outputs_of(model, ins)
        return {}, np.array([scoring.ae_score(x, y) for x, y in zip(ins, outs)]), None

    def score(self, inputs: np.ndarray, outputs: np.ndarray, constants: dict,
              band: np.ndarray | None = None) -> float:
        return scoring.ae_score(inputs, outputs)

    # --- export ---
    def device_fields(self, cfg: TrainConfig, constants: dict) -> dict:
        return dict(model_kind="ae", score_kind="mse", window_frames=FEATURES.frames,
                    window_hop=1)

    def protected_layers(self, cfg: TrainConfig, model: nn.Module) -> list[nn.Module]:
        """The reconstruction and the bottleneck."""
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        narrowest = min(m.out_features for m in linears)
        return [linears[-1]] + [m for m in linears if m.out_features == narrowest]

    def distillation_target(self, teacher: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x   # a pruned autoencoder is fine-tuned on its own reconstruction loss


class MahalanobisAutoEncoderKind(AutoEncoderKind):
    name = "ae-maha"
    export_refusal = ("ae-maha's two 640x640 inverse covariances, 3.3 MB in float32, do not fit "
                      "an STM32")

    def fit_scoring(self, cfg: TrainConfig, model: nn.Module,
                    data: TrainData) -> tuple[dict, np.ndarray, None]:
        is_target = data.train.is_target
        ins = [self.inputs(cfg, lm) for lm in data.train.logmels]
        outs = outputs_of(model, ins)
        res = [x - y for x, y in zip(ins, outs)]
        pick = lambda want: np.concatenate([r for r, t in zip(res, is_target) if t == want]
                                           or [np.zeros((0, res[0].shape[1]))])
        constants = scoring.fit_maha(pick(False), pick(True), cfg.maha_ridge)
        return constants, np.array([scoring.maha_score(x, y, constants)
                                    for x, y in zip(ins, outs)]), None

    def score(self, inputs: np.ndarray, outputs: np.ndarray, constants: dict,
              band: np.ndarray | None = None) -> float:
        return scoring.maha_score(inputs, outputs, constants)

    def device_fields(self, cfg: TrainConfig, constants: dict) -> dict:
        raise ValueError(self.export_refusal)


def split_clips(n: int, fraction: float, gen: torch.Generator) -> tuple[list[int], list[int]]:
    """Hold out `fraction` of the training clips (whole clips, so frames of one clip never
    straddle train and validation); none when too few clips."""
    order = torch.randperm(n, generator=gen).tolist()
    n_val = int(round(n * fraction)) if n >= 10 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


@torch.no_grad()
def eval_mse(model: nn.Module, x: torch.Tensor) -> float:
    model.eval()
    return float(F.mse_loss(model(x), x))
