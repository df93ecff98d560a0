"""Model construction from a run's config alone (export rebuilds networks this way); each kind's
network is its `build` in train/kinds/."""
from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from train.models.ae import AutoEncoder
from train.models.cls import ArcFace, Embedder
from train.models.stats import StatsWhitener

if TYPE_CHECKING:
    from train.config import TrainConfig


def build(config: TrainConfig) -> nn.Module:
    """The exported network of a run: AutoEncoder for ae/ae-maha, Embedder for cls,
    StatsWhitener for stats."""
    return _kind(config).build(config)


def example_input(config: TrainConfig, n: int = 1):
    """A zero input of the network's shape (thop, ONNX export)."""
    return _kind(config).example_input(config, n)


def _kind(config: TrainConfig):
    from train.kinds import KINDS   # train/kinds builds its networks from this package's modules
    if config.model not in KINDS:
        raise ValueError(f"unknown model {config.model!r}")
    return KINDS[config.model]


__all__ = ["build", "example_input", "AutoEncoder", "Embedder", "ArcFace", "StatsWhitener"]
