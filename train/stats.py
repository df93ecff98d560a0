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

FOLDS = 20  # each fold fits 95 % of the clips: held-out scores nearly a test clip's (thresholds)
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
    """Returns (gaussian, constants, held-out training scores in the order of logmels, and with
    the residual scorer their held-out discriminant domains (0/1), else None).

    constants: centres (the source mean, 0, then every target clip, in whitened coordinates),
    scales (per centre, from its domain's held-out scores: see below), what the device needs
    to compute the network input: stats_mean, stats_std, frame_scale, frame_zero; with the
    residual scorer (pca_components > 0) also domain_axis and the residual's constants.

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

    def held_out_scores(s_src: float, s_tgt: float) -> np.ndarray:
        pairs = np.empty((len(stats), 2))
        pairs[~is_target] = np.stack([src_own / s_src, src_to_tgt / s_tgt], axis=1)
        pairs[is_target] = np.stack([_sq_norm(t) / s_src, tgt_own / s_tgt], axis=1)
        return np.min(pairs, axis=1)

    first = held_out_scores(scale_src, scale_tgt)
    q = 1.0 - false_alarm_rate
    scale_src *= float(np.quantile(first[~is_target], q))
    scale_tgt = scale_tgt * float(np.quantile(first[is_target], q)) if len(t) > 1 else scale_src
    held_out = held_out_scores(scale_src, scale_tgt)

    frame_scale, frame_zero = frame_quantization(logmels)
    dim = stats.shape[1]
    constants = {
        "centres": np.concatenate([np.zeros((1, dim)), t]),
        "scales": np.array([scale_src] + [scale_tgt] * len(t)),
        "stats_mean": g.mean, "stats_std": g.std,
        "frame_scale": np.float32(frame_scale), "frame_zero": np.int32(frame_zero)}
    if not pca_components:
        return g, constants, held_out, None
    constants["domain_axis"] = domain_axis(t)
    domain = _held_out_domain(src, tgt, t, is_target, fold)
    held_out = _fit_residual(logmels, is_target, domain, held_out, pca_components, seed,
                             constants)
    return g, constants, held_out, domain


def domain_axis(t: np.ndarray) -> np.ndarray:
    """The linear discriminant of the domains in whitened coordinates: a clip e is target-like
    when e . axis > 0.5, i.e. nearer (along the line between them) to the target clips' mean
    than to the source mean, which is 0 there (whitening makes the source covariance the
    identity, so this is Fisher's discriminant with the source covariance). Zero (every clip
    source-like) without target clips."""
    if len(t) == 0:
        return np.zeros(0 if t.ndim < 2 else t.shape[1], np.float32)
    w = np.asarray(t, np.float64).mean(axis=0)
    ww = float(w @ w)
    return (w / ww if ww > 0 else np.zeros_like(w)).astype(np.float32)


def is_target_like(e: np.ndarray, axis: np.ndarray) -> bool:
    return float(np.asarray(e, np.float64) @ np.asarray(axis, np.float64)) > 0.5


def _held_out_domain(src: np.ndarray, tgt: np.ndarray, t: np.ndarray, is_target: np.ndarray,
                     fold: np.ndarray) -> np.ndarray:
    """The discriminant's domain (0/1) for every training clip, held out: a source clip by the
    whitening and target mean fitted without its fold, a target clip by the other target
    clips' mean (its own domain when it is the only one)."""
    domain = np.empty(len(is_target), int)
    src_idx, tgt_idx = np.flatnonzero(~is_target), np.flatnonzero(is_target)
    for f in np.unique(fold):
        gf = Gaussian(src[fold != f]) if np.sum(fold != f) >= 2 else Gaussian(src)
        axis = domain_axis(gf.whiten(tgt))
        domain[src_idx[fold == f]] = [is_target_like(z, axis) for z in gf.whiten(src[fold == f])]
    for i, j in enumerate(tgt_idx):
        others = np.delete(t, i, axis=0)
        domain[j] = is_target_like(t[i], domain_axis(others)) if len(others) else 1
    return domain


def _fit_residual(logmels, is_target: np.ndarray, domain: np.ndarray, held_out: np.ndarray,
                  k: int, seed: int, constants: dict) -> np.ndarray:
    """Join the residual scorer: the energy of a clip's 256 band statistics outside the first k
    principal components of the training clips' (all of them), FOLDS-fold cross-fitted. The
    clip score becomes (Gaussian score) x (residual) x inv_scale[domain], the domain the
    discriminant gives the clip (`domain_axis`) and inv_scale[d] 1 / the median held-out
    residual of domain d's training clips (target clips lie further from the mostly-source
    components). The domain is not the winning centre's: the target centres, spread far apart,
    win most source clips of some types, and their scale then mixed both domains (the target
    domain's false alarms on those types: docs/results.md). Adds pca_mean (256),
    pca_components (k, 256) and pca_inv_scale (2,) to constants; returns the held-out ensemble
    scores, on which the threshold is fitted (every factor is held out)."""
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
    own = is_target.astype(int)
    scale = np.array([_median(residual[own == d]) if np.any(own == d) else _median(residual)
                      for d in (0, 1)])
    constants.update(pca_mean=pca.mean_.astype(np.float32),
                     pca_components=pca.components_.astype(np.float32),
                     pca_inv_scale=(1.0 / scale).astype(np.float32))
    return held_out * residual / scale[domain]
