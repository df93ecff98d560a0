"""Decision threshold: flags `TrainConfig.false_alarm_rate` (10 %) of normal clips.

* held-out training scores (the stats model: cross-fitted, train/stats.py): their empirical
  (1 - rate) quantile — they are distributed as a normal test clip's score, so the quantile is
  the threshold that keeps the design rate; one per domain when the kind tells each clip's
  domain as the device will (the stats discriminant). The discriminant errs (on the
  development types it puts about half of the target test normals in the source domain), so
  the two thresholds are fitted jointly on the clips' TRUE domains (`joint_domain_thresholds`):
  each true domain's held-out rate, whichever threshold its clips get, is kept near the design
  rate;
* in-sample training scores (ae, ae-maha, cls): the (1 - rate) quantile of a gamma distribution
  fitted to them, as the DCASE baseline does (in-sample scores are biased low, so these models'
  measured false-alarm rates exceed the design rate: docs/results.md).
"""
from __future__ import annotations

import numpy as np
import scipy.stats

from train.kinds import kind_of

PERCENTILE = 0.9


def fit_threshold(train_scores: np.ndarray, percentile: float = PERCENTILE,
                  held_out: bool = False) -> dict:
    """The threshold and how it was found (`method`: quantile | gamma | empirical | degenerate)."""
    s = np.asarray(train_scores, dtype=np.float64)
    if s.size < 2 or np.ptp(s) <= 0:
        # degenerate (a single or constant score): no distribution to fit
        value = float(s.max()) if s.size else 0.0
        return {"method": "degenerate", "percentile": percentile, "threshold": value}
    if held_out:
        return {"method": "quantile", "percentile": percentile,
                "threshold": float(np.quantile(s, percentile))}
    shape, loc, scale = scipy.stats.gamma.fit(s)
    value = float(scipy.stats.gamma.ppf(percentile, shape, loc=loc, scale=scale))
    if not np.isfinite(value):
        # a failed fit must not silently flag everything: fall back to the empirical quantile
        return {"method": "empirical", "percentile": percentile,
                "threshold": float(np.quantile(s, percentile))}
    return {"method": "gamma", "percentile": percentile, "shape": float(shape), "loc": float(loc),
            "scale": float(scale), "threshold": value}


def conformal_quantile(scores: np.ndarray, level: float) -> float | None:
    """The split-conformal `level` quantile of n exchangeable held-out scores: the
    ceil((n + 1) level)-th smallest, so that a new score from the same distribution exceeds it
    with probability at most 1 - level. None when n is too small for that rank to exist
    (n < level / (1 - level): fewer than 9 clips at 90 %)."""
    s = np.sort(np.asarray(scores, np.float64))
    k = int(np.ceil((len(s) + 1) * level - 1e-9))
    return float(s[k - 1]) if 1 <= k <= len(s) else None


def domain_thresholds(train_scores: np.ndarray, domains: np.ndarray, level: float) -> dict:
    """One threshold per domain (0 source, 1 target: the domain the device gives each clip,
    held out like the scores), each the conformal `level` quantile of that domain's held-out
    scores. Ten target clips are the fewest for which that quantile exists at 90 % (it is
    then their largest score); a domain with too few clips falls back to the larger of its
    largest score and the pooled threshold (none: the pooled threshold alone)."""
    s, d = np.asarray(train_scores, np.float64), np.asarray(domains, int)
    pooled = fit_threshold(s, level, held_out=True)
    out, counts = [], []
    for dom in (0, 1):
        own = s[d == dom]
        value = conformal_quantile(own, level)
        if value is None:
            value = max([pooled["threshold"]] + ([float(own.max())] if own.size else []))
        out.append(value)
        counts.append(int(own.size))
    return {"method": "conformal-per-domain", "percentile": level, "threshold": out[0],
            "threshold_target": out[1], "clips_per_domain": counts,
            "pooled_threshold": pooled["threshold"]}


def joint_domain_thresholds(train_scores: np.ndarray, domains: np.ndarray,
                            is_target: np.ndarray, level: float) -> dict:
    """The two thresholds (for the clips the device puts in the source / target domain) that
    keep the false-alarm rate of each TRUE domain nearest the design rate 1 - level: the pair
    minimising the sum over true domains of (held-out rate - design rate)^2, each rate that
    domain's share of held-out clips flagged, whichever threshold the discriminant gives them.
    With a discriminant that never errs, each threshold is its domain's conformal quantile;
    when it errs, the target clips it puts in the source domain count against the source
    threshold too. Ties go to the pair nearest `domain_thresholds`.

    Each rate is the conformal share (k + 1) / (n + 1) of k flagged among n held-out clips,
    the chance that a new exchangeable clip scores above the threshold: for ten target clips
    and a discriminant that never errs, the threshold flags none of them (a new clip's chance
    1/11 = 9.1 %), not one (2/11, which flagged 19 % of the evaluation types' target normals).
    Adopted with FOLDS = 20 in train/stats.py, which brings held-out scores nearer a test
    clip's; docs/results.md ("Conformal shares and 20 folds") has the measurements and which
    data they were taken on. Falls back to `domain_thresholds` when a true
    domain has too few clips for its conformal quantile (fewer than 9 at 90 %)."""
    s, d = np.asarray(train_scores, np.float64), np.asarray(domains, int)
    t = np.asarray(is_target, bool)
    base = domain_thresholds(s, d, level)
    if any(conformal_quantile(s[t == side], level) is None for side in (False, True)):
        return base
    rate = 1.0 - level
    b = np.array([base["threshold"], base["threshold_target"]])
    cand = [np.unique(np.r_[s[d == dom], b[dom]]) for dom in (0, 1)]
    best = None
    for t0 in cand[0]:
        # flags of every clip for each candidate target threshold: (clips, candidates)
        flags = np.where((d == 1)[:, None], s[:, None] > cand[1][None, :], (s > t0)[:, None])
        cost = sum(((flags[t == side].sum(axis=0) + 1) / (np.sum(t == side) + 1) - rate) ** 2
                   for side in (False, True))
        near = np.abs(np.log(np.maximum(t0, 1e-30) / max(b[0], 1e-30))) + \
            np.abs(np.log(np.maximum(cand[1], 1e-30) / max(b[1], 1e-30)))
        i = int(np.lexsort((near, np.round(cost, 12)))[0])
        key = (round(float(cost[i]), 12), float(near[i]))
        if best is None or key < best[0]:
            best = (key, float(t0), float(cand[1][i]))
    out = dict(base, method="conformal-joint", threshold=best[1], threshold_target=best[2],
               per_domain_thresholds=[float(v) for v in b])
    final = np.where(d == 1, s > best[2], s > best[1])
    out["held_out_false_alarm"] = [float(final[t == side].mean()) for side in (False, True)]
    return out


def threshold_for(cfg, train_scores: np.ndarray, domains: np.ndarray | None = None,
                  is_target: np.ndarray | None = None) -> dict:
    """The run's decision threshold(s) at its design false-alarm rate: per domain when the kind
    gives the training clips' held-out domains (fitted jointly on the clips' true domains
    `is_target` when given), else one (a quantile of held-out scores for the kinds whose fit
    gives them, a gamma fit otherwise). `threshold` is the source domain's (and the only one);
    `threshold_target`, when present, the target domain's."""
    level = 1.0 - cfg.false_alarm_rate
    if domains is not None and is_target is not None:
        return joint_domain_thresholds(train_scores, domains, is_target, level)
    if domains is not None:
        return domain_thresholds(train_scores, domains, level)
    return fit_threshold(train_scores, level, held_out=kind_of(cfg).held_out_train_scores)
