"""Decision threshold: flags `TrainConfig.false_alarm_rate` (10 %) of normal clips.

* held-out training scores (the stats model: cross-fitted, train/stats.py): their empirical
  (1 - rate) quantile — they are distributed as a normal test clip's score, so the quantile is
  the threshold that keeps the design rate;
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


def threshold_for(cfg, train_scores: np.ndarray) -> dict:
    """The run's threshold at its design false-alarm rate (a quantile of held-out scores for the kinds whose fit gives them)."""
    return fit_threshold(train_scores, 1.0 - cfg.false_alarm_rate,
                         held_out=kind_of(cfg).held_out_train_scores)
