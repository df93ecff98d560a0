"""Model construction from a run's config alone (export rebuilds networks this way)."""
from __future__ import annotations

from torch import nn

from asd.features import FEATURES
from train.config import TrainConfig
from train.models.ae import AutoEncoder
from train.models.cls import ArcFace, Embedder
from train.models.stats import StatsWhitener, n_stats


def build(config: TrainConfig) -> nn.Module:
    """The exported network of a run: AutoEncoder for ae/ae-maha, Embedder for cls,
    StatsWhitener for stats."""
    if config.model == "stats":
        return StatsWhitener(n_stats(FEATURES.n_mels))
    if config.model in ("ae", "ae-maha"):
        return AutoEncoder(FEATURES.dim, momentum=config.bn_momentum, eps=config.bn_eps)
    if config.model == "cls":
        return Embedder(config.emb_dim, config.patch_frames, FEATURES.n_mels,
                        spectrum=config.spectrum_branch)
    raise ValueError(f"unknown model {config.model!r}")


def example_input(config: TrainConfig, n: int = 1):
    """A zero input of the network's shape (thop, ONNX export)."""
    import torch
    if config.model == "cls":
        return torch.zeros(n, 1, config.patch_frames, FEATURES.n_mels)
    if config.model == "stats":
        return torch.zeros(n, n_stats(FEATURES.n_mels))
    return torch.zeros(n, FEATURES.dim)


__all__ = ["build", "example_input", "AutoEncoder", "Embedder", "ArcFace", "StatsWhitener"]
