import numpy as np
import scipy.stats

import pytest

from train.threshold import (conformal_quantile, domain_thresholds, fit_threshold,
                             joint_domain_thresholds)


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


def test_joint_thresholds_with_a_discriminant_that_never_errs_are_the_domains_quantiles():
    # 200 source scores 1..200, 10 target scores 1001..1010, each clip in its true domain:
    # the conformal share (k + 1) / (n + 1) nearest 10 % flags 19 of 200 (20/201) and none of
    # the 10 (1/11, against 2/11 for one), i.e. the thresholds are the 181st source score and
    # the largest target score
    src, tgt = np.arange(1.0, 201.0), np.arange(1001.0, 1011.0)
    true = np.r_[np.zeros(200), np.ones(10)].astype(bool)
    t = joint_domain_thresholds(np.r_[src, tgt], true.astype(int), true, 0.9)
    assert t["method"] == "conformal-joint"
    assert (t["threshold"], t["threshold_target"]) == (181.0, 1010.0)
    assert t["held_out_false_alarm"] == [0.095, 0.0]


def test_target_clips_the_discriminant_puts_in_the_source_domain_raise_its_threshold():
    # source scores 1..200; 10 target clips scoring 301..310, which the discriminant puts in
    # the SOURCE domain (its target domain holds five source clips, scores 1..5). The
    # per-assigned-domain quantile (about 182) flags all ten target clips. The joint fit keeps
    # the target domain's conformal rate nearest 10 % (source threshold 310: none flagged,
    # 1/11), which flags no source clip of the source domain; the lowest target threshold (1)
    # then flags four of the five source clips there, (4 + 1) / 201, nearer 10 % than none
    src, tgt = np.arange(1.0, 201.0), np.arange(301.0, 311.0)
    scores = np.r_[src, tgt]
    true = np.r_[np.zeros(200), np.ones(10)].astype(bool)
    assigned = np.zeros(210, int)
    assigned[:5] = 1
    per = domain_thresholds(scores, assigned, 0.9)
    assert np.sum(tgt > per["threshold"]) == 10
    t = joint_domain_thresholds(scores, assigned, true, 0.9)
    assert (t["threshold"], t["threshold_target"]) == (310.0, 1.0)
    assert t["held_out_false_alarm"] == [0.02, 0.0]
    assert t["per_domain_thresholds"] == [per["threshold"], per["threshold_target"]]


def test_joint_thresholds_fall_back_without_enough_target_clips():
    src, tgt = np.arange(1.0, 201.0), np.array([500.0, 600.0, 700.0])
    true = np.r_[np.zeros(200), np.ones(3)].astype(bool)
    t = joint_domain_thresholds(np.r_[src, tgt], true.astype(int), true, 0.9)
    assert t == domain_thresholds(np.r_[src, tgt], true.astype(int), 0.9)
