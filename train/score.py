"""Anomaly scores, as functions of the network outputs, and fitting of their constants.

Scores are defined on what the network produces for one clip, so that export can feed dequantized
int8 outputs through exactly the same code as the float model:

* ae:      mean over the clip's vectors of the mean squared error between input and output.
* ae-maha: per vector, the Mahalanobis distance of the residual (input - output) under the
           source and under the target residual covariance; each averaged over the clip; the
           score is the smaller of the two clip averages. (The official baseline instead averages
           the residual vectors over the clip first and takes one distance of that mean.)
* cls:     the network's last layer whitens the embedding (fit_whitening); the clip embedding
           is the mean of its patch embeddings; the score is min over centres k of
           |clip embedding - centre_k|^2 / scale_k. Centres are k-means centres of source
           training clip embeddings plus every target training clip embedding; scale_k is the
           median held-out nearest-centre distance of the training clips of centre k's domain,
           so that normal clips of both domains score about 1 and one threshold serves (see
           fit_centres).

Why whitening: the margin loss shapes the few embedding directions that tell the training
classes apart and leaves the others with little variance among normal clips; an anomaly moves
the embedding mostly along those, and a plain (cosine) distance hardly sees it. Measuring the
distance in units of the normal clips' spread (a Mahalanobis distance, with a ridge for the 200
clips of a 128-dim covariance) lifted the official score on the development types from 0.66
to 0.77 (docs/results.md). Folded into the network as a Linear layer, it costs the chip no
extra constants and 16 k MACs per patch.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from train.models.stats import pca_residual
from train.stats import is_target_like

MAHA_EPS = 1e-12


# ---------------------------------------------------------------------------------------------
# scores from network outputs (float64 for stable sums; inputs may be dequantized int8)

def ae_score(inputs: np.ndarray, outputs: np.ndarray) -> float:
    x = np.asarray(inputs, np.float64)
    y = np.asarray(outputs, np.float64)
    return float(np.mean((x - y) ** 2))


def maha_distances(residuals: np.ndarray, mean: np.ndarray, inv_cov: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of every residual row under one domain's (mean, inverse covariance)."""
    d = np.asarray(residuals, np.float64) - mean
    sq = np.sum((d @ inv_cov) * d, axis=1)   # one BLAS product, not a naive 3-operand einsum
    return np.sqrt(np.maximum(sq, 0.0))


def maha_score(inputs: np.ndarray, outputs: np.ndarray, constants: dict) -> float:
    r = np.asarray(inputs, np.float64) - np.asarray(outputs, np.float64)
    return float(min(maha_distances(r, constants["mean_source"],
                                    constants["inv_cov_source"]).mean(),
                     maha_distances(r, constants["mean_target"],
                                    constants["inv_cov_target"]).mean()))


def clip_embedding(patch_embeddings: np.ndarray) -> np.ndarray:
    """Mean of the clip's (whitened) patch embeddings (what the MCU accumulates patch by patch)."""
    return np.asarray(patch_embeddings, np.float64).mean(axis=0)


def centre_distances(embedding: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of one embedding to every centre."""
    return _sq_dist(np.asarray(embedding, np.float64)[None], np.asarray(centres, np.float64))[0]


def cls_score(outputs: np.ndarray, constants: dict) -> float:
    d = centre_distances(clip_embedding(outputs), constants["centres"])
    return float(np.min(d / constants["scales"]))


def stats_score(outputs: np.ndarray, constants: dict, band: np.ndarray | None = None) -> float:
    """stats: the Gaussian score (cls_score's formula on the whitened statistics), times, when
    the run has the residual scorer, the clip's PCA residual of its band statistics scaled for
    the domain the discriminant gives the clip (train/stats.py `domain_axis`)."""
    e = clip_embedding(outputs)
    d = centre_distances(e, constants["centres"]) / constants["scales"]
    k = int(np.argmin(d))
    if "pca_components" not in constants:
        return float(d[k])
    if band is None:
        raise ValueError("the stats score needs the clip's band statistics (pass its log-mel)")
    r = pca_residual(band, constants["pca_mean"], constants["pca_components"])
    return float(d[k] * r * float(constants["pca_inv_scale"][stats_domain(outputs, constants)]))


def stats_domain(outputs: np.ndarray, constants: dict) -> int:
    """The clip's domain by the discriminant of the stats model (1 target-like), 0 for a run
    without one (pca_components = 0)."""
    if "domain_axis" not in constants:
        return 0
    return int(is_target_like(clip_embedding(outputs), constants["domain_axis"]))


def score_outputs(model: str, inputs: np.ndarray, outputs: np.ndarray, constants: dict,
                  band: np.ndarray | None = None) -> float:
    """A clip's anomaly score from its network inputs and outputs (inputs unused by cls; stats
    also needs the clip's band statistics): the `score` of the model's kind (train/kinds/)."""
    from train.kinds import KINDS   # the kinds score with this module's functions
    if model not in KINDS:
        raise ValueError(f"unknown model {model!r}")
    return KINDS[model].score(inputs, outputs, constants, band)


def clip_score(run, logmel: np.ndarray) -> float:
    """A clip's anomaly score from its log-mel (n_frames, 128), with the run's float model."""
    return run.score(logmel)


# ---------------------------------------------------------------------------------------------
# fitting the scoring constants on training data only

def fit_maha(res_source: np.ndarray, res_target: np.ndarray, ridge: float) -> dict:
    """Mean and ridge-regularised inverse covariance of residuals, per domain.

    A domain with too few vectors (e.g. one short target clip) borrows the other's covariance
    shape via the ridge; the ridge is relative to the mean variance so it is scale-free.
    """
    out = {}
    for name, r in (("source", res_source), ("target", res_target)):
        r = np.asarray(r, np.float64)
        if r.shape[0] < 2:
            r = np.asarray(res_source, np.float64)  # no target residuals: use the source ones
        mean = r.mean(axis=0)
        cov = np.cov(r, rowvar=False)
        cov += ridge * max(np.trace(cov) / cov.shape[0], MAHA_EPS) * np.eye(cov.shape[0])
        out[f"mean_{name}"] = mean
        out[f"inv_cov_{name}"] = np.linalg.inv(cov)
    return out


def fit_whitening(emb_source: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, bias) of the affine map z = matrix @ e + bias that whitens the source clip
    embeddings: zero mean, and unit variance along every principal direction once `ridge` (times
    the mean variance) is added to each, so that directions of almost no normal variance are not
    blown up to noise."""
    e = np.asarray(emb_source, np.float64)
    mean = e.mean(axis=0)
    cov = np.cov(e, rowvar=False) if len(e) > 1 else np.zeros((e.shape[1], e.shape[1]))
    if np.trace(cov) <= MAHA_EPS:
        return np.eye(e.shape[1]), -mean     # no spread to measure: only centre the embeddings
    var, vec = np.linalg.eigh(cov)
    var = np.maximum(var, 0.0) + ridge * np.trace(cov) / len(cov)
    matrix = (vec / np.sqrt(var)).T          # rows: principal directions scaled to unit variance
    return matrix, -matrix @ mean


def fit_centres(emb_source: np.ndarray, emb_target: np.ndarray, n_source_centres: int,
                seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Centres with per-centre scales, and the training clips' own scores.

    Returns (constants, train_scores_source, train_scores_target). Every training distance is
    held out, because in-sample distances are biased low and, worse, by a different amount per
    domain: a source clip is scored against k-means centres fitted without it (2-fold), a target
    clip against the centres without itself (leave-one-out).
    """
    src, tgt = np.asarray(emb_source, np.float64), np.asarray(emb_target, np.float64)
    src_centres = _kmeans(src, n_source_centres, seed)
    centres = np.concatenate([src_centres, tgt]) if len(tgt) else src_centres
    n_src = len(src_centres)

    raw_src = _held_out_source(src, n_source_centres, seed)
    d_tgt = _sq_dist(tgt, centres)                      # (n_target, K)
    if len(tgt):
        d_tgt[np.arange(len(tgt)), n_src + np.arange(len(tgt))] = np.inf  # leave-one-out
    raw_tgt = d_tgt.min(axis=1) if len(tgt) else np.zeros(0)
    scale_src = _typical(raw_src)
    scale_tgt = _typical(raw_tgt) if len(raw_tgt) else scale_src
    scales = np.concatenate([np.full(n_src, scale_src), np.full(len(tgt), scale_tgt)])
    constants = {"centres": centres, "scales": scales,
                 "centre_domain": np.array([0] * n_src + [1] * len(tgt), np.int8)}
    # training scores as a test clip of the same domain would see them
    s_src = raw_src / scale_src
    s_tgt = (d_tgt / scales).min(axis=1) if len(tgt) else np.zeros(0)
    return constants, s_src, s_tgt


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances."""
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2)


def _kmeans(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    k = max(1, min(k, len(x)))
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x).cluster_centers_


def _held_out_source(src: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Each source clip's distance to the nearest k-means centre fitted on the other fold."""
    if len(src) < 4:   # too few to split: in-sample distances
        return _sq_dist(src, _kmeans(src, k, seed)).min(axis=1)
    fold = np.random.default_rng(seed).permutation(len(src)) % 2
    out = np.empty(len(src))
    for f in (0, 1):
        centres = _kmeans(src[fold != f], k, seed)
        out[fold == f] = _sq_dist(src[fold == f], centres).min(axis=1)
    return out


def _typical(d: np.ndarray) -> float:
    """Median distance, floored so a scale is never zero."""
    return float(max(np.median(d), 1e-6)) if len(d) else 1.0
