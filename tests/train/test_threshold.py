import numpy as np
import scipy.stats

from train.threshold import fit_threshold


def test_gamma_90th_percentile():
    s = scipy.stats.gamma.rvs(3.0, loc=0.0, scale=2.0, size=4000, random_state=0)
    t = fit_threshold(s)
    assert t["method"] == "gamma" and t["percentile"] == 0.9
    assert abs(t["threshold"] - scipy.stats.gamma.ppf(0.9, 3.0, scale=2.0)) < 0.3
    assert abs(np.mean(s > t["threshold"]) - 0.1) < 0.02


def test_degenerate_scores_do_not_crash():
    assert fit_threshold(np.array([1.0, 1.0]))["threshold"] == 1.0
    assert fit_threshold(np.array([2.0]))["method"] == "degenerate"
