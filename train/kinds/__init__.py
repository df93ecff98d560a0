"""The model kinds, by the name train/config.py's MODELS gives them: `KINDS[cfg.model]`.

One class per kind, one file per family: stats.py (stats, the default), ae.py (ae, ae-maha),
cls.py (cls); base.py says what a kind provides. To answer "how is the cls model trained", read
cls.py (its steps) and train/fit.py's `train_network` (the loop every network kind shares).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from train.config import MODELS, NETWORKS
from train.kinds.ae import AutoEncoderKind, MahalanobisAutoEncoderKind
from train.kinds.base import ModelKind, NetworkKind
from train.kinds.cls import ClassifierKind
from train.kinds.stats import StatsKind

if TYPE_CHECKING:
    from train.config import TrainConfig

KINDS: dict[str, ModelKind] = {k.name: k for k in (
    StatsKind(), AutoEncoderKind(), MahalanobisAutoEncoderKind(), ClassifierKind())}
if tuple(KINDS) != MODELS:
    raise ImportError(f"train/kinds defines {tuple(KINDS)}, train/config.py MODELS {MODELS}")
if tuple(n for n, k in KINDS.items() if isinstance(k, NetworkKind)) != NETWORKS:
    raise ImportError(f"train/config.py DEFAULT_EPOCHS gives epochs to {NETWORKS} only")


def kind_of(cfg: TrainConfig) -> ModelKind:
    """The run's model kind."""
    return KINDS[cfg.model]


__all__ = ["KINDS", "kind_of", "ModelKind", "NetworkKind"]
