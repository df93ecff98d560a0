"""MACs and parameters with thop, per inference and per 10-s clip.

BatchNorm is counted as zero MACs because export folds it into the preceding Linear/Conv: the
figures are what the chip computes (the AE gives the known 264,192 MACs per inference).
"""
from __future__ import annotations

import warnings

from torch import nn

with warnings.catch_warnings():  # thop 0.1.1 imports distutils' deprecated LooseVersion
    warnings.simplefilter("ignore", DeprecationWarning)
    import thop

from asd.features import FEATURES
from train.config import TrainConfig
from train.kinds import kind_of

CLIP_SECONDS = 10.0


def _zero(module, inputs, output):
    module.total_ops += 0


def inferences_per_clip(cfg: TrainConfig, seconds: float = CLIP_SECONDS) -> int:
    frames = FEATURES.n_frames(int(seconds * FEATURES.sample_rate))
    return kind_of(cfg).inferences_per_clip(cfg, frames)


def complexity(cfg: TrainConfig, model: nn.Module) -> dict:
    zero = {nn.BatchNorm1d: _zero, nn.BatchNorm2d: _zero}
    was_training = model.training
    macs, params = thop.profile(model.eval(), (kind_of(cfg).example_input(cfg),), custom_ops=zero,
                                verbose=False)
    # thop leaves bookkeeping buffers on the modules; remove them so state_dicts stay clean
    for m in model.modules():
        for name in ("total_ops", "total_params"):
            if name in m._buffers:
                del m._buffers[name]
    model.train(was_training)
    n = inferences_per_clip(cfg)
    return {"macs_per_inference": int(macs), "params": int(params),
            "inferences_per_10s_clip": n, "macs_per_10s_clip": int(macs) * n,
            "note": "BatchNorm folded (0 MACs); params include BatchNorm scale/shift"}
