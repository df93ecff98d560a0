"""The stats model: clip statistics against hand-computed cases, the device's integer arithmetic
against the float definition, the whitening against an independent Mahalanobis distance, and
the held-out threshold keeping its false-alarm rate on fresh normal clips of both domains."""
import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from asd.features import dequantize, quantize
from train.models.stats import clip_stats, device_stats, frame_quantization, standardise
from train.stats import Gaussian, fit_stats
from train.threshold import fit_threshold


def test_clip_stats_by_hand():
    # 3 frames x 4 mels: pooled bands are (m0+m1)/2 and (m2+m3)/2
    lm = np.array([[0.0, 2.0, 10.0, 10.0],
                   [2.0, 4.0, 10.0, 12.0],
                   [4.0, 6.0, 10.0, 14.0]])
    # pooled: band 0 = 1, 3, 5 (mean 3, population std sqrt(8/3)); band 1 = 10, 11, 12
    want = [3.0, 11.0, np.sqrt(8.0 / 3.0), np.sqrt(2.0 / 3.0)]
    np.testing.assert_allclose(clip_stats(lm), want, rtol=1e-12)


def test_device_stats_by_hand_and_against_the_float_definition():
    q = np.array([[-128, 127, 0, 1], [10, 20, 0, 3]], np.int8)
    scale, zero = 0.5, -3
    # u = pair sums: band 0 = -1, 30; band 1 = 1, 3.  mean = 0.5 * (mean(u)/2 + 3)
    want_mean = [0.5 * (14.5 / 2 + 3), 0.5 * (2.0 / 2 + 3)]
    want_std = [0.5 / 2 * 15.5, 0.5 / 2 * 1.0]
    np.testing.assert_allclose(device_stats(q, scale, zero), want_mean + want_std, rtol=1e-12)
    rng = np.random.default_rng(0)
    frames = rng.integers(-128, 128, size=(313, 128)).astype(np.int8)
    np.testing.assert_allclose(device_stats(frames, scale, zero),
                               clip_stats(dequantize(frames, scale, zero)), rtol=1e-9, atol=1e-9)


def test_frame_quantization_covers_the_training_range_with_margin():
    lms = [np.array([[-100.0, 20.0]]), np.array([[-50.0, -60.0]])]
    scale, zero = frame_quantization(lms)
    q = quantize(np.array([-110.0, -100.0, 20.0, 30.0]), scale, zero)
    assert q.min() >= -128 and q.max() <= 127 and len(set(q.tolist())) == 4
    np.testing.assert_allclose(dequantize(q, scale, zero), [-110, -100, 20, 30], atol=scale)
    assert scale == pytest.approx(140.0 / 255.0, rel=1e-6)


def test_whitening_is_the_ledoit_wolf_mahalanobis_distance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8)) @ rng.normal(size=(8, 8)) + 5.0
    g = Gaussian(x)
    y = rng.normal(size=(5, 8)) * 3.0 + 5.0
    z = (y - x.mean(0)) / x.std(0)
    cov = LedoitWolf().fit((x - x.mean(0)) / x.std(0)).covariance_
    want = np.einsum("ij,ij->i", z, np.linalg.solve(cov, z.T).T)
    np.testing.assert_allclose(np.sum(g.whiten(y) ** 2, axis=1), want, rtol=1e-6)  # float32 mean/std
    np.testing.assert_allclose(standardise(y[0], g.mean, g.std), z[0], rtol=1e-5)


def _clips(rng, n, shift, frames=20, mels=8):
    """Fake log-mels: a clip-level random spectrum (3 latent factors) plus frame noise; shift
    moves the whole domain (another operating condition)."""
    basis = np.linspace(-1, 1, mels)[None, :] ** np.arange(3)[:, None]
    out = []
    for _ in range(n):
        level = rng.normal(size=3) @ basis + shift
        noise = rng.normal(size=(frames, mels)) * (1.0 + 0.2 * rng.normal())
        out.append(level + noise - 60.0)
    return out


def _score(g, constants, lms):
    z = g.whiten(np.stack([clip_stats(lm) for lm in lms]))
    d = np.sum((z[:, None, :] - constants["centres"][None]) ** 2, axis=2) / constants["scales"]
    return d.min(axis=1)


def test_held_out_threshold_keeps_the_false_alarm_rate_in_both_domains():
    rng = np.random.default_rng(2)
    src, tgt = _clips(rng, 200, 0.0), _clips(rng, 10, 3.0)
    is_target = np.array([False] * 200 + [True] * 10)
    g, constants, held_out, _ = fit_stats(src + tgt, is_target, seed=0)
    threshold = fit_threshold(held_out, 0.9, held_out=True)["threshold"]
    far_src = np.mean(_score(g, constants, _clips(rng, 1000, 0.0)) > threshold)
    far_tgt = np.mean(_score(g, constants, _clips(rng, 1000, 3.0)) > threshold)
    assert 0.06 <= far_src <= 0.14, far_src
    assert 0.04 <= far_tgt <= 0.20, far_tgt
    # in-sample scores would have put the threshold lower: more false alarms
    in_sample = _score(g, constants, src + tgt)
    assert np.quantile(in_sample, 0.9) < threshold


def test_residual_is_the_pca_reconstruction_error():
    from sklearn.decomposition import PCA

    from train.models.stats import pca_residual
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 12)) @ rng.normal(size=(12, 12))
    pca = PCA(n_components=4).fit(x)
    y = rng.normal(size=(3, 12)) * 2.0
    want = np.sum((y - pca.inverse_transform(pca.transform(y))) ** 2, axis=1)
    got = [pca_residual(v, pca.mean_, pca.components_) for v in y]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_the_ensemble_score_and_its_threshold():
    """stats_score = Gaussian score x residual x the scale of the clip's domain (target when the
    clip is nearer the target clips' mean than the source mean, in whitened coordinates), and
    the held-out threshold still keeps the design rate on fresh normal clips of both domains."""
    from train.models.stats import band_stats, pca_residual
    from train.score import stats_score
    rng = np.random.default_rng(4)
    src, tgt = _clips(rng, 200, 0.0), _clips(rng, 10, 3.0)
    is_target = np.array([False] * 200 + [True] * 10)
    g, c, held_out, _ = fit_stats(src + tgt, is_target, seed=0, pca_components=3)
    assert c["pca_components"].shape == (3, 16) and c["pca_inv_scale"].shape == (2,)
    lm = _clips(rng, 1, 3.0)[0]
    z = g.whiten(clip_stats(lm))
    d = np.sum((z[None] - c["centres"]) ** 2, axis=1) / c["scales"]
    k = int(np.argmin(d))
    t_mean = c["centres"][1:].mean(axis=0)         # the source mean is 0 there
    target_like = np.sum((z - t_mean) ** 2) < np.sum(z ** 2)
    assert target_like                              # a clip of the target's shift
    want = d[k] * pca_residual(band_stats(lm), c["pca_mean"], c["pca_components"]) * \
        c["pca_inv_scale"][int(target_like)]
    assert stats_score(z[None], c, band_stats(lm)) == pytest.approx(want, rel=1e-9)
    threshold = fit_threshold(held_out, 0.9, held_out=True)["threshold"]
    for shift, lo, hi in ((0.0, 0.05, 0.15), (3.0, 0.03, 0.22)):
        fresh = _clips(rng, 600, shift)
        s = np.array([stats_score(g.whiten(clip_stats(x))[None], c, band_stats(x)) for x in fresh])
        assert lo <= np.mean(s > threshold) <= hi, (shift, np.mean(s > threshold))



def test_domain_axis_is_the_perpendicular_bisector_of_the_two_means():
    from train.stats import domain_axis, is_target_like
    axis = domain_axis(np.array([[1.0, 0.0], [3.0, 0.0]]))     # target mean (2, 0); source 0
    np.testing.assert_array_equal(axis, [0.5, 0.0])
    assert is_target_like([1.1, 0.0], axis) and not is_target_like([0.9, 5.0], axis)
    assert not is_target_like([1.0, -3.0], axis)                # on the bisector: source
    assert not np.any(domain_axis(np.zeros((0, 2))))            # no target clips: all source


def test_the_discriminant_tells_fresh_clips_domains_apart():
    """From ten target clips (its direction is estimated in 16 whitened dimensions, so it is
    noisy): most fresh clips of each domain land on their side."""
    from train.stats import is_target_like
    rng = np.random.default_rng(5)
    src, tgt = _clips(rng, 200, 0.0), _clips(rng, 10, 3.0)
    g, c, _, _ = fit_stats(src + tgt, np.array([False] * 200 + [True] * 10), seed=0,
                           pca_components=3)
    for shift, want in ((0.0, False), (3.0, True)):
        z = g.whiten(np.stack([clip_stats(x) for x in _clips(rng, 300, shift)]))
        assert np.mean([is_target_like(e, c["domain_axis"]) == want for e in z]) >= 0.8
