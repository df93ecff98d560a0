"""The cls scoring constants against hand-computed cases: whitening, centres, held-out scales."""
import numpy as np
import pytest

from train import score


def test_whitening_of_a_known_covariance():
    # points on two axes with variances 4 and 1 (mean (1, 2)): with no ridge the map gives unit
    # variance in both; with ridge r the variances become v / (v + r * mean variance)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4000, 2))
    z = (z - z.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    x = z * [2.0, 1.0] + [1.0, 2.0]                 # exact covariance diag(4, 1)
    for ridge, want in ((0.0, [1.0, 1.0]), (0.4, [4 / 5, 1 / 2])):  # mean variance 2.5
        m, b = score.fit_whitening(x, ridge)
        w = x @ m.T + b
        assert np.allclose(w.mean(0), 0.0, atol=1e-12)
        assert np.allclose(np.sort(np.linalg.eigvalsh(np.cov(w, rowvar=False))), sorted(want))


@pytest.mark.parametrize("clips", [np.ones((1, 3)), np.ones((5, 3))])
def test_whitening_without_spread_only_centres(clips):
    m, b = score.fit_whitening(clips, 0.1)
    assert np.array_equal(m, np.eye(3)) and np.allclose(clips @ m.T + b, 0.0)


def test_cls_score_is_the_normalised_squared_distance_to_the_nearest_centre():
    constants = {"centres": np.array([[0.0, 0.0], [3.0, 4.0]]), "scales": np.array([2.0, 0.5])}
    # mean of the two patch embeddings is (3, 3): distances 18 and 1 -> 9 and 2
    assert score.cls_score(np.array([[2.0, 3.0], [4.0, 3.0]]), constants) == pytest.approx(2.0)


def test_centres_and_held_out_scales():
    # 8 source clips in two tight pairs of clusters, 2 target clips
    src = np.array([[0, 0], [0, 1], [10, 0], [10, 1], [0, 0.5], [0, 1.5], [10, 0.5], [10, 1.5]],
                   float)
    tgt = np.array([[5.0, 5.0], [5.0, 7.0]])
    constants, s_src, s_tgt = score.fit_centres(src, tgt, n_source_centres=2, seed=0)
    c = constants["centres"]
    assert c.shape == (4, 2) and np.allclose(c[2:], tgt)
    assert sorted(map(tuple, np.round(c[:2], 6))) == [(0.0, 0.75), (10.0, 0.75)]
    assert list(constants["centre_domain"]) == [0, 0, 1, 1]
    # each target clip's nearest other centre is the other target clip, 2 apart: squared 4
    assert constants["scales"][2] == pytest.approx(4.0)
    assert np.allclose(s_tgt, 1.0)
    # normal training clips of both domains score about 1: the scale is their held-out median
    assert np.median(s_src) == pytest.approx(1.0)
