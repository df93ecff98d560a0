"""Clip statistics, the Gaussian model of them and a residual scorer (`stats`, the default).

Two scorers of the same clip statistics, multiplied (an ensemble of a whitened and an
unwhitened view; train/stats.py fits both, train/score.py `stats_score` combines them):
* the Gaussian (below): pooled 64-band means and stds, Ledoit-Wolf whitened, distance to the
  source mean and to the target clips;
* the residual: the 256 unpooled band means and stds, raw dB, energy outside their first 20
  principal components (`band_stats`, `pca_residual`; the issue's clip-statistics detector).
On the development types the product beat either alone (docs/results.md).

A clip is summarised by 128 numbers: the time mean and the time standard deviation of its log-mel
in 64 bands (adjacent pairs of the 128 mel bands averaged). Standardised with the source
training clips' mean and spread, they are whitened with the inverse of a Ledoit-Wolf shrunk
covariance of the source training clips; the exported network is that whitening, one Linear
layer (128 x 128, 16 k MACs per clip). Scoring is the cls scoring (train/score.py): squared
distance of the whitened statistics to centres (the source mean, 0, and every target training
clip), each normalised by its domain's held-out distances.

Why clip statistics: machine sounds are stationary on the scale of a clip, so the spectrum
envelope (mean) and how much each band fluctuates (std) describe a clip's normal operation
for any kind of machine, without learning anything that depends on the machine's physics;
on types nobody tuned on they beat the networks (docs/results.md). Why a shrunk covariance:
200 clips of 128 dims give a singular sample covariance; Ledoit-Wolf picks the shrinkage from
the data itself, so nothing is tuned per machine. Why 64 bands: the same information in half
the dimensions is estimated better from few clips (docs/results.md, development types).

On the device the sums behind the statistics are accumulated exactly in integers from the int8
log-mel frames (`device_stats` is that arithmetic, in the firmware's order of operations).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

POOL = 2           # adjacent mel bands averaged: 128 -> 64 bands
FRAME_MARGIN_DB = 10.0  # head-room of the int8 frame range beyond the training clips' log-mels


def n_stats(n_mels: int) -> int:
    return 2 * (n_mels // POOL)


def clip_stats(logmel: np.ndarray) -> np.ndarray:
    """(n_frames, n_mels) float dB -> (2 * n_mels / 2,) float64: band means, then band stds."""
    x = np.asarray(logmel, np.float64)
    pooled = x.reshape(x.shape[0], -1, POOL).mean(axis=2)
    return np.concatenate([pooled.mean(axis=0), pooled.std(axis=0)])


def device_stats(frames: np.ndarray, frame_scale: float, frame_zero: int) -> np.ndarray:
    """The same statistics from int8 frames, computed as the firmware does (firmware/app/
    stats.c): integer sums of the pooled pair u = q[2b] + q[2b+1] and of u^2, then in double
    mean = scale * (S1/N / 2 - zero), std = scale / 2 * sqrt(max(S2/N - (S1/N)^2, 0))."""
    q = np.asarray(frames, np.int64)
    u = q.reshape(q.shape[0], -1, POOL).sum(axis=2)
    n = float(q.shape[0])
    m = u.sum(axis=0).astype(np.float64) / n
    var = (u * u).sum(axis=0).astype(np.float64) / n - m * m
    scale = float(np.float32(frame_scale))
    mean = scale * (m / POOL - float(frame_zero))
    std = scale / POOL * np.sqrt(np.maximum(var, 0.0))
    return np.concatenate([mean, std])


def band_stats(logmel: np.ndarray) -> np.ndarray:
    """(n_frames, n_mels) float dB -> (2 * n_mels,) float64: every band's time mean, then its
    time std (the residual scorer's input: all 128 bands, not standardised)."""
    x = np.asarray(logmel, np.float64)
    return np.concatenate([x.mean(axis=0), x.std(axis=0)])


def device_band_stats(frames: np.ndarray, frame_scale: float, frame_zero: int) -> np.ndarray:
    """band_stats from int8 frames as the firmware computes them: integer sums S1 = sum q and
    S2 = sum q^2 per band, then in double m = S1/N, mean = scale * (m - zero),
    std = scale * sqrt(max(S2/N - m^2, 0))."""
    q = np.asarray(frames, np.int64)
    n = float(q.shape[0])
    m = q.sum(axis=0).astype(np.float64) / n
    var = (q * q).sum(axis=0).astype(np.float64) / n - m * m
    scale = float(np.float32(frame_scale))
    return np.concatenate([scale * (m - float(frame_zero)), scale * np.sqrt(np.maximum(var, 0.0))])


def pca_residual(band: np.ndarray, mean: np.ndarray, components: np.ndarray) -> float:
    """Energy of (band - mean) outside the span of the (orthonormal) principal components."""
    z = np.asarray(band, np.float64) - np.asarray(mean, np.float32).astype(np.float64)
    p = np.asarray(components, np.float32).astype(np.float64) @ z
    return float(z @ z - p @ p)


def standardise(stats: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(stats - mean) / std in double with the float32 constants the device holds, as float32."""
    m = np.asarray(mean, np.float32).astype(np.float64)
    s = np.asarray(std, np.float32).astype(np.float64)
    return ((np.asarray(stats, np.float64) - m) / s).astype(np.float32)


def frame_quantization(logmels: list[np.ndarray]) -> tuple[float, int]:
    """int8 (scale, zero point) of the device's log-mel frames: the training clips' range plus
    FRAME_MARGIN_DB on both sides over the 256 levels (about 0.5 dB a step)."""
    lo = min(float(np.min(lm)) for lm in logmels) - FRAME_MARGIN_DB
    hi = max(float(np.max(lm)) for lm in logmels) + FRAME_MARGIN_DB
    scale = float(np.float32((hi - lo) / 255.0))
    zero = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zero


class StatsWhitener(nn.Module):
    """[N, 128] standardised clip statistics -> [N, 128] whitened statistics (one Linear)."""

    def __init__(self, dim: int):
        super().__init__()
        self.whiten = nn.Linear(dim, dim)
        self.set_whitening(np.eye(dim), np.zeros(dim))

    @torch.no_grad()
    def set_whitening(self, matrix: np.ndarray, bias: np.ndarray) -> None:
        """y = x @ matrix + bias."""
        self.whiten.weight.copy_(torch.as_tensor(np.asarray(matrix).T, dtype=torch.float32))
        self.whiten.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.whiten(x)
