"""What a model kind is: the one place that knows how a kind of model differs from the others.

A kind (train/kinds/__init__.py lists them, one class per kind in this package) holds
* its network: `build`, `example_input`, `inputs` (a clip's network inputs), `inferences_per_clip`;
* its training: `fit` (ModelKind: nothing to train; NetworkKind: the one training loop,
  train/fit.py's `train_network`, driven by the kind's training steps);
* its scoring: `fit_scoring` (constants and training-clip scores, training data only), `score`,
  `clip_domain` (whose threshold decides a clip);
* its export facts: `device_fields` (the firmware's DeviceConfig), calibration, refusals, pruning.
Code that depends on the kind asks `kind_of(cfg)`; no code compares a model name.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from train.data import TrainData
from train.fit import Fitted, network_outputs, train_network

if TYPE_CHECKING:
    from train.config import TrainConfig


class ModelKind(ABC):
    """A kind whose network has nothing to learn by gradient descent (`fit_scoring` sets it)."""
    name: str = ""
    network_name: str | None = None      # kinds that train the same network share this name and
                                         # a trained network (train/pipeline.py's network cache)
    uses_band_stats: bool = False        # `score` needs the clip's band statistics
    held_out_train_scores: bool = False  # fit_scoring's training scores are held out (the
                                         # threshold is their quantile, not a gamma fit)
    export_refusal: str | None = None    # why this kind does not export to the chip
    prune_refusal: str | None = None     # why --prune makes no sense for it
    calibration_scales: tuple[float, ...] = ()  # int8 calibration rows also given scaled by
                                                # these; () = the rows as drawn

    # --- network ---
    @abstractmethod
    def build(self, cfg: TrainConfig) -> nn.Module:
        ...

    @abstractmethod
    def example_input(self, cfg: TrainConfig, n: int = 1) -> torch.Tensor:
        """A zero input of the network's shape (thop, ONNX export, pruning)."""
        ...

    @abstractmethod
    def inputs(self, cfg: TrainConfig, lm: np.ndarray, constants: dict | None = None) -> np.ndarray:
        """A clip's network inputs from its (n_frames, n_mels) log-mel."""
        ...

    @abstractmethod
    def inferences_per_clip(self, cfg: TrainConfig, frames: int) -> int:
        ...

    # --- training ---
    def fit(self, cfg: TrainConfig, data: TrainData, run_dir: Path,
            progress: bool = True) -> Fitted:
        return Fitted(self.build(cfg).eval())

    # --- scoring ---
    @abstractmethod
    def fit_scoring(self, cfg: TrainConfig, model: nn.Module,
                    data: TrainData) -> tuple[dict, np.ndarray, np.ndarray | None]:
        """Scoring constants, the training clips' scores (order of data.train.clips) and, for a
        kind that decides each domain with its own threshold, the training clips' domains as
        `clip_domain` gives them (held out like the scores); None: one threshold."""
        ...

    @abstractmethod
    def score(self, inputs: np.ndarray, outputs: np.ndarray, constants: dict,
              band: np.ndarray | None = None) -> float:
        """A clip's anomaly score from its network inputs and outputs (and band statistics)."""
        ...

    def clip_domain(self, outputs: np.ndarray, constants: dict) -> int:
        """The domain whose threshold decides the clip (0 source, 1 target), from its network
        outputs, as the device tells it; kinds with one threshold: 0."""
        return 0

    # --- export ---
    @abstractmethod
    def device_fields(self, cfg: TrainConfig, constants: dict) -> dict:
        """export.carray.DeviceConfig's fields that depend on the kind."""
        ...

    def protected_layers(self, cfg: TrainConfig, model: nn.Module) -> list[nn.Module]:
        """Layers pruning must leave at their size (kinds that prune override this)."""
        raise ValueError(self.prune_refusal or f"{self.name}: pruning is not supported")

    def distillation_target(self, teacher: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What a pruned copy is fine-tuned to output for the training inputs x (kinds that
        prune override this)."""
        raise ValueError(self.prune_refusal or f"{self.name}: pruning is not supported")


class NetworkKind(ModelKind):
    """A kind whose network is trained by gradient descent: train/fit.py's `train_network` runs
    the epochs, the kind supplies the steps below."""
    def fit(self, cfg: TrainConfig, data: TrainData, run_dir: Path,
            progress: bool = True) -> Fitted:
        return train_network(self, cfg, data, run_dir, progress)

    @abstractmethod
    def lr(self, cfg: TrainConfig) -> float:
        ...

    @abstractmethod
    def batch_size(self, cfg: TrainConfig) -> int:
        ...

    @abstractmethod
    def training_set(self, cfg: TrainConfig, data: TrainData, gen: torch.Generator):
        """What the epochs draw their examples from (built once, before the network)."""
        ...

    def heads(self, cfg: TrainConfig, ts, gen: torch.Generator) -> dict[str, nn.Module]:
        """Modules trained with the network but not exported (built after it)."""
        return {}

    @abstractmethod
    def epoch_examples(self, cfg: TrainConfig, ts, gen: torch.Generator):
        """One epoch's (inputs, labels or None)."""
        ...

    @abstractmethod
    def batch_loss(self, cfg: TrainConfig, model: nn.Module, heads: dict, x: torch.Tensor,
                   y: torch.Tensor | None, ts, gen: torch.Generator) -> torch.Tensor:
        ...

    def validation(self, model: nn.Module, ts) -> dict:
        """Extra figures of an epoch's history row."""
        return {}

    def classes(self, ts) -> list[str]:
        """The training classes (written to classes.json), none for a kind without labels."""
        return []


def outputs_of(model: nn.Module, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The network's outputs for each clip's inputs."""
    return [network_outputs(model, x) for x in inputs]


def centre_fields(c: dict) -> dict:
    """The embedding scoring's constants for the chip (cls and stats score alike)."""
    return dict(centres=np.asarray(c["centres"], np.float32),
                centre_offset=np.zeros(len(c["scales"]), np.float32),
                centre_inv_scale=(1.0 / np.asarray(c["scales"])).astype(np.float32))
