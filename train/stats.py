"""Fitting the `stats` model on training clips only: the Gaussian of the source clips' statistics,
the centres and domain scales of its scoring, and held-out (cross-fitted) training scores for
the decision threshold.

Every training score returned here is one the model was not fitted on: a source clip is scored
by the model fitted on the other folds (FOLDS-fold cross-fitting), a target clip against the
other target clips (leave-one-out). In-sample scores are biased low (by a different amount per
domain), and a threshold fitted on them flags far more than the design rate of normal clips.
"""
from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA

from train.models.stats import band_stats, clip_stats, frame_quantization, pca_residual

FOLDS = 5
STD_FLOOR = 1e-2   # dB: a statistic constant over the training clips still gets a finite scale


class Gaussian:
    """Standardisation (mean, std) and whitening W with |z W|^2 = z C^-1 z (C Ledoit-Wolf)."""

    def __init__(self, stats: np.ndarray):
        s = np.asarray(stats, np.float64)
        self.mean = s.mean(axis=0).astype(np.float32)
        self.std = np.maximum(s.std(axis=0), STD_FLOOR).astype(np.float32)
        z = self.standardise(s)
        cov = LedoitWolf().fit(z).covariance_ if len(z) > 1 else np.eye(z.shape[1])
        self.matrix = np.linalg.cholesky(np.linalg.inv(cov))  # lower triangular

    def standardise(self, stats: np.ndarray) -> np.ndarray:
        return (np.asarray(stats, np.float64) - self.mean.astype(np.float64)) / \
            self.std.astype(np.float64)

    def whiten(self, stats: np.ndarray) -> np.ndarray:
        return self.standardise(stats) @ self.matrix


def _sq_norm(x: np.ndarray) -> np.ndarray:
    return np.sum(np.asarray(x, np.float64) ** 2, axis=-1)


def _nearest_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For every row of a, the squared distance to the nearest row of b (inf when b is empty)."""
    if len(b) == 0:
        return np.full(len(a), np.inf)
    return np.min(_sq_norm(a[:, None, :] - b[None, :, :]), axis=1)


def _folds(n: int, seed: int) -> np.ndarray:
    k = min(FOLDS, n)
    return np.random.default_rng(seed).permutation(n) % k


def _median(d: np.ndarray) -> float:
    return float(max(np.median(d), 1e-6)) if len(d) else 1.0


def fit_stats(logmels: list[np.ndarray], is_target: np.ndarray, seed: int,
              false_alarm_rate: float = 0.1, pca_components: int = 0):
    """Returns (gaussian, constants, held-out training scores in the order of logmels).

    constants: centres (the source mean, 0, then every target clip, in whitened coordinates),
    scales (per centre, from its domain's held-out scores: see below), centre_domain, and what
    the device needs to compute the network input: stats_mean, stats_std, frame_scale,
    frame_zero.

    Scales, in two steps: the median held-out distance of each domain puts both domains on one
    scale (the score a clip gets is the smaller of the two); then each domain's scale is
    multiplied by the (1 - false_alarm_rate) quantile of its own held-out scores, so that each
    domain's held-out scores cross 1 at the design rate. One threshold (about 1) then keeps the
    rate in both domains, although the target's 10 clips spread far more than the source's
    Gaussian (a chi-square-like distance is tight around its median, a nearest-neighbour one
    is not).
    """
    is_target = np.asarray(is_target, bool)
    stats = np.stack([clip_stats(lm) for lm in logmels])
    src, tgt = stats[~is_target], stats[is_target]
    g = Gaussian(src)
    t = g.whiten(tgt)

    # held-out raw distances to the own domain's centres
    src_own, src_to_tgt = np.empty(len(src)), np.empty(len(src))
    fold = _folds(len(src), seed)
    for f in np.unique(fold):
        gf = Gaussian(src[fold != f]) if np.sum(fold != f) >= 2 else g
        zf = gf.whiten(src[fold == f])
        src_own[fold == f] = _sq_norm(zf)
        src_to_tgt[fold == f] = _nearest_sq(zf, gf.whiten(tgt))
    tgt_own = np.array([_nearest_sq(t[i:i + 1], np.delete(t, i, axis=0))[0]
                        for i in range(len(t))])
    scale_src = _median(src_own)
    scale_tgt = _median(tgt_own[np.isfinite(tgt_own)]) if len(t) > 1 else scale_src

    def held_out_scores(s_src: float, s_tgt: float, winner: bool = False) -> np.ndarray:
        """Held-out scores (or, winner=True, the domain of the centre that gave them)."""
        pairs = np.empty((len(stats), 2))
        pairs[~is_target] = np.stack([src_own / s_src, src_to_tgt / s_tgt], axis=1)
        pairs[is_target] = np.stack([_sq_norm(t) / s_src, tgt_own / s_tgt], axis=1)
        return np.argmin(pairs, axis=1) if winner else np.min(pairs, axis=1)

    first = held_out_scores(scale_src, scale_tgt)
    q = 1.0 - false_alarm_rate
    scale_src *= float(np.quantile(first[~is_target], q))
    scale_tgt = scale_tgt * float(np.quantile(first[is_target], q)) if len(t) > 1 else scale_src
    held_out = held_out_scores(scale_src, scale_tgt)
    winner = held_out_scores(scale_src, scale_tgt, winner=True)

    frame_scale, frame_zero = frame_quantization(logmels)
    dim = stats.shape[1]
    constants = {
        "centres": np.concatenate([np.zeros((1, dim)), t]),
        "scales": np.array([scale_src] + [scale_tgt] * len(t)),
        "centre_domain": np.array([0] + [1] * len(t), np.int8),
        "stats_mean": g.mean, "stats_std": g.std,
        "frame_scale": np.float32(frame_scale), "frame_zero": np.int32(frame_zero)}
    if pca_components:
        held_out = _fit_residual(logmels, winner, held_out, pca_components, seed, constants)
    return g, constants, held_out


def _fit_residual(logmels, winner: np.ndarray, held_out: np.ndarray, k: int, seed: int,
                  constants: dict) -> np.ndarray:
    """Join the residual scorer: the energy of a clip's 256 band statistics outside the first k
    principal components of the training clips' (all of them), FOLDS-fold cross-fitted. The
    clip score becomes (Gaussian score) x (residual) x inv_scale[domain of the winning centre],
    inv_scale being 1 / the median held-out residual of the clips that domain's centres won
    (target clips lie further from the mostly-source components; without it the target's
    false alarms doubled on the development types). Adds pca_mean (256), pca_components
    (k, 256) and pca_inv_scale (2,) to constants; returns the held-out ensemble scores, on
    which the threshold is fitted (the product of two held-out scores is a held-out score)."""
    bands = np.stack([band_stats(lm) for lm in logmels])
    k = max(1, min(k, len(bands) - 1))
    pca = PCA(n_components=k).fit(bands)
    residual = np.empty(len(bands))
    fold = _folds(len(bands), seed)
    for f in np.unique(fold):
        rest = bands[fold != f]
        if len(rest) <= k:
            rest = bands                               # too few clips to hold any out
        pf = PCA(n_components=min(k, len(rest) - 1)).fit(rest)
        residual[fold == f] = [pca_residual(b, pf.mean_, pf.components_) for b in bands[fold == f]]
    scale = np.array([_median(residual[winner == d]) if np.any(winner == d)
                      else _median(residual) for d in (0, 1)])
    constants.update(pca_mean=pca.mean_.astype(np.float32),
                     pca_components=pca.components_.astype(np.float32),
                     pca_inv_scale=(1.0 / scale).astype(np.float32))
    return held_out * residual / scale[winner]
