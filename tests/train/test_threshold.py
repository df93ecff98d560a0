import numpy as np
import scipy.stats

import pytest

from train.threshold import conformal_quantile, domain_thresholds, fit_threshold


def test_gamma_90th_percentile():
    s = scipy.stats.gamma.rvs(3.0, loc=0.0, scale=2.0, size=4000, random_state=0)
    t = fit_threshold(s)
    assert t["method"] == "gamma" and t["percentile"] == 0.9
    assert abs(t["threshold"] - scipy.stats.gamma.ppf(0.9, 3.0, scale=2.0)) < 0.3
    assert abs(np.mean(s > t["threshold"]) - 0.1) < 0.02


def test_degenerate_scores_do_not_crash():
    assert fit_threshold(np.array([1.0, 1.0]))["threshold"] == 1.0
    assert fit_threshold(np.array([2.0]))["method"] == "degenerate"


def test_conformal_quantile_is_the_ceil_n_plus_1_rank():
    # ceil((n + 1) 0.9): 10 of 10 (the largest), 19 of 20, 181 of 200; below 9 clips none
    assert conformal_quantile(np.arange(10.0, 0.0, -1.0), 0.9) == 10.0
    assert conformal_quantile(np.arange(1.0, 21.0), 0.9) == 19.0
    assert conformal_quantile(np.arange(1.0, 201.0), 0.9) == 181.0
    assert conformal_quantile(np.arange(1.0, 9.0), 0.9) is None
    assert conformal_quantile(np.arange(1.0, 10.0), 0.9) == 9.0
    assert conformal_quantile(np.zeros(0), 0.9) is None


def test_one_threshold_per_domain_from_its_own_held_out_scores():
    rng = np.random.default_rng(0)
    src, tgt = rng.uniform(0, 1, 200), rng.uniform(5, 6, 10)
    t = domain_thresholds(np.concatenate([src, tgt]), np.r_[np.zeros(200), np.ones(10)], 0.9)
    assert t["method"] == "conformal-per-domain" and t["clips_per_domain"] == [200, 10]
    assert t["threshold"] == np.sort(src)[180]
    assert t["threshold_target"] == tgt.max()
    # the pooled quantile would flag every target clip
    assert t["pooled_threshold"] < tgt.min()


@pytest.mark.parametrize("n_target", [0, 3])
def test_a_domain_with_too_few_clips_gets_at_least_the_pooled_threshold(n_target):
    src = np.arange(1.0, 101.0)
    tgt = np.full(n_target, 0.5)          # low scores: their own maximum would flag too much
    t = domain_thresholds(np.concatenate([src, tgt]),
                          np.r_[np.zeros(100), np.ones(n_target)], 0.9)
    assert t["threshold_target"] == t["pooled_threshold"] == pytest.approx(
        np.quantile(np.concatenate([src, tgt]), 0.9))
    tgt_high = np.full(3, 500.0)
    t = domain_thresholds(np.concatenate([src, tgt_high]), np.r_[np.zeros(100), np.ones(3)], 0.9)
    assert t["threshold_target"] == 500.0
