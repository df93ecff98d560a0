"""Decision threshold: the 90th percentile of a gamma distribution fitted to training-clip scores
(as the DCASE baseline does)."""
from __future__ import annotations

import numpy as np
import scipy.stats

PERCENTILE = 0.9


def fit_threshold(train_scores: np.ndarray, percentile: float = PERCENTILE) -> dict:
    """Gamma fit (shape, loc, scale) and its `percentile` quantile as the threshold."""
    s = np.asarray(train_scores, dtype=np.float64)
    if s.size < 2 or np.ptp(s) <= 0:
        # degenerate (a single or constant score): no distribution to fit
        value = float(s.max()) if s.size else 0.0
        return {"method": "degenerate", "percentile": percentile, "threshold": value}
    shape, loc, scale = scipy.stats.gamma.fit(s)
    value = float(scipy.stats.gamma.ppf(percentile, shape, loc=loc, scale=scale))
    if not np.isfinite(value):
        # a failed fit must not silently flag everything: fall back to the empirical quantile
        return {"method": "empirical", "percentile": percentile,
                "threshold": float(np.quantile(s, percentile))}
    return {"method": "gamma", "percentile": percentile, "shape": float(shape), "loc": float(loc),
            "scale": float(scale), "threshold": value}
