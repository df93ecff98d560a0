"""Structured pruning to a MAC budget, then fine-tuning on training data.

Whole neurons (AE) and channels (CNN) are removed with `torch-pruning`, so the layers physically
shrink and the int8 model really computes fewer MACs. The pruning ratio per layer is found by
bisection so that the pruned network keeps at most `keep` of the original MACs (thop-counted,
BatchNorm folded). Fine-tuning: the autoencoder on its own reconstruction loss; the classifier by
distillation (mean squared error) towards the unpruned network's whitened embeddings, which
needs no labels and no margin head; the whitening layer itself stays fixed.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch_pruning as tp
from torch import nn
from tqdm import tqdm

from train.complexity import complexity
from train.config import TrainConfig
from train.fit import seed_everything
from train.kinds import kind_of

FINE_TUNE_EPOCHS = 15
FINE_TUNE_LR = 1e-3
BATCH = 256


def _pruned(cfg: TrainConfig, model: nn.Module, ratio: float) -> nn.Module:
    m = copy.deepcopy(model).eval()
    if ratio > 0:
        kind = kind_of(cfg)   # its protected_layers keep the size of the outputs scoring uses
        pruner = tp.pruner.MetaPruner(m, kind.example_input(cfg),
                                      importance=tp.importance.MagnitudeImportance(p=2),
                                      pruning_ratio=ratio,
                                      ignored_layers=kind.protected_layers(cfg, m))
        pruner.step()
    return m


def macs(cfg: TrainConfig, model: nn.Module) -> int:
    return complexity(cfg, model)["macs_per_inference"]


def prune_to(cfg: TrainConfig, model: nn.Module, keep: float) -> nn.Module:
    """The most lightly pruned copy whose MACs are at most `keep` times the model's."""
    if not 0 < keep <= 1:
        raise ValueError(f"--prune must be in (0, 1] (fraction of MACs kept), not {keep}")
    budget = keep * macs(cfg, model)
    lo, hi = 0.0, 0.95
    best = _pruned(cfg, model, hi)
    if macs(cfg, best) > budget:
        return best  # cannot prune further without removing protected layers
    for _ in range(12):
        mid = (lo + hi) / 2
        cand = _pruned(cfg, model, mid)
        if macs(cfg, cand) <= budget:
            best, hi = cand, mid
        else:
            lo = mid
    return best


def fine_tune(cfg: TrainConfig, student: nn.Module, teacher: nn.Module, inputs: np.ndarray,
              epochs: int = FINE_TUNE_EPOCHS, progress: bool = True) -> nn.Module:
    """A few epochs on training inputs only; deterministic with the run's seed."""
    kind = kind_of(cfg)
    gen = seed_everything(cfg.seed)
    x_all = torch.from_numpy(np.ascontiguousarray(inputs, np.float32))
    opt = torch.optim.Adam(student.parameters(), lr=FINE_TUNE_LR)
    teacher.eval()
    for epoch in tqdm(range(epochs), desc="fine-tune", disable=not progress, leave=False):
        student.train()
        order = torch.randperm(len(x_all), generator=gen)
        for b in range(0, len(order), BATCH):
            x = x_all[order[b:b + BATCH]]
            if len(x) < 2:
                continue  # BatchNorm needs two samples
            y = student(x)
            loss = nn.functional.mse_loss(y, kind.distillation_target(teacher, x))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return student.eval()
