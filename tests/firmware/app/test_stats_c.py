"""The stats input's accumulator (firmware/app/stats.c) against train.models.stats: a small C
driver feeds int8 frames to fs_stats_add and prints fs_stats_finish's z; every float32 must be
bit-identical to device_stats + standardise (the host's int8 reference), on a case computed by
hand (3 frames x 4 mels), on random and extreme frames at the real size (128 mels), and with
no frame at all (an error, no output). The residual scorer's input likewise: fs_stats_bands and
fs_stats_residual against device_band_stats and export.reference.residual_in_device_order (bit
for bit, and close to pca_residual), by hand (2 components in 4 dims) and on random frames; the
pooled sums derived from the per-band sums and pair cross products equal the direct ones.
Plain and ASan+UBSan builds."""
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from asd.features import dequantize
from train.models.stats import (clip_stats, device_band_stats, device_stats, pca_residual,
                                standardise)

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "firmware/app"

# What both drivers share: reading stdin, and the frames, added twice around a reset (so a
# reset must forget everything).
PRELUDE = r"""
#include <stdio.h>
#include <stdlib.h>
#include "stats.h"

static void get(void *p, size_t n) {
    if (n && fread(p, 1, n, stdin) != n) exit(3);
}

static int8_t *add_frames(fs_stats *s, uint32_t n) {
    int8_t *frames = malloc((size_t)n * FS_FEAT_N_MELS + 1);
    get(frames, (size_t)n * FS_FEAT_N_MELS);
    for (int pass = 0; pass < 2; pass++) {
        fs_stats_reset(s);
        for (uint32_t t = 0; t < n; t++) fs_stats_add(s, frames + (size_t)t * FS_FEAT_N_MELS);
    }
    return frames;
}
"""

DRIVER = PRELUDE + r"""

/* stdin: u32 n_frames | f32 scale | i32 zero | f32 mean[S] | f32 std[S] | int8 frames[n][N]
 * stdout: i32 status, then (status 0) S float32 z. */

int main(void) {
    uint32_t n;
    float scale, mean[FS_STATS_SIZE], std[FS_STATS_SIZE], z[FS_STATS_SIZE];
    int32_t zero;
    get(&n, 4);
    get(&scale, 4);
    get(&zero, 4);
    get(mean, sizeof mean);
    get(std, sizeof std);
    static fs_stats s;
    int8_t *frames = add_frames(&s, n);
    int32_t st = fs_stats_finish(&s, scale, zero, mean, std, z);
    fwrite(&st, 4, 1, stdout);
    if (st == 0) fwrite(z, sizeof z, 1, stdout);
    free(frames);
    return 0;
}
"""

FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion",
         "-Wfloat-conversion", "-Wshadow"]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def _build(d: Path, source: str, n_mels: int, sanitize: bool) -> Path:
    """A driver program over app/stats.c, for n_mels bands (its own feature_config.h)."""
    (d / "feature_config.h").write_text(f"#define FS_FEAT_N_MELS {n_mels}\n")
    (d / "driver.c").write_text(source)
    exe = d / "driver"
    subprocess.run(["gcc", *FLAGS, *(SAN if sanitize else []), f"-I{d}", f"-I{APP}",
                    str(d / "driver.c"), str(APP / "stats.c"), "-o", str(exe), "-lm"],
                   check=True)
    return exe


def _exchange(exe: Path, header: bytes, floats, frames) -> tuple[int, bytes]:
    """Send header, the float32 arrays and the int8 frames; (status, the rest of the reply)."""
    body = header + b"".join(np.asarray(a, "<f4").tobytes() for a in floats) + \
        np.ascontiguousarray(frames, np.int8).tobytes()
    r = subprocess.run([str(exe)], input=body, capture_output=True, check=True)
    return struct.unpack("<i", r.stdout[:4])[0], r.stdout[4:]


@pytest.fixture(scope="module", params=[(4, False), (128, False), (128, True)],
                ids=["4mels", "128mels", "128mels-asan-ubsan"])
def driver(request, tmp_path_factory):
    n_mels, sanitize = request.param
    return n_mels, _build(tmp_path_factory.mktemp(f"stats-c-{n_mels}"), DRIVER, n_mels, sanitize)


def _run(exe: Path, frames: np.ndarray, scale: float, zero: int, mean, std):
    status, out = _exchange(exe, struct.pack("<Ifi", len(frames), scale, zero), (mean, std),
                            frames)
    return status, np.frombuffer(out, "<f4")


def _python(frames, scale, zero, mean, std) -> np.ndarray:
    return standardise(device_stats(frames, scale, zero), mean, std)


def _assert_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    bad = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0]
    assert not len(bad), f"{len(bad)} values differ, e.g. z[{bad[0]}] C {got[bad[0]]!r} " \
                         f"Python {want[bad[0]]!r}"


def test_hand_computed_case():
    # 3 frames x 4 mels, scale 0.5, zero -1: pair sums u are 4, 12, 20 (band 0) and -2, 0, 2
    # (band 1); S1 = 36, 0; S2 = 560, 8; so m = 12, 0 and var = 560/3 - 144 = 128/3, 8/3.
    q = np.array([[1, 3, -2, 0], [5, 7, -2, 2], [9, 11, -2, 4]], np.int8)
    scale, zero = 0.5, -1
    # mean_b = 0.5 * (m / 2 + 1); std_b = 0.5 / 2 * sqrt(var)
    want = [3.5, 0.5, 0.25 * np.sqrt(128 / 3), 0.25 * np.sqrt(8 / 3)]
    np.testing.assert_allclose(device_stats(q, scale, zero), want, rtol=1e-15)
    # the float definition on the dequantized frames: pooled band 0 = 1.5, 3.5, 5.5 (mean 3.5,
    # std sqrt(8/3)); band 1 = 0, 0.5, 1 (mean 0.5, std sqrt(1/6))
    lm = dequantize(q, scale, zero)
    np.testing.assert_allclose(clip_stats(lm), [3.5, 0.5, np.sqrt(8 / 3), np.sqrt(1 / 6)],
                               rtol=1e-12)
    np.testing.assert_allclose(device_stats(q, scale, zero), clip_stats(lm), rtol=1e-12)


def test_c_matches_python_bit_for_bit_by_hand(driver):
    n_mels, exe = driver
    if n_mels != 4:
        pytest.skip("the hand case has 4 mels")
    q = np.array([[1, 3, -2, 0], [5, 7, -2, 2], [9, 11, -2, 4]], np.int8)
    mean, std = np.float32([1, 0, 1, 0]), np.float32([2, 1, 0.5, 1])
    status, z = _run(exe, q, 0.5, -1, mean, std)
    assert status == 0
    want = np.float32([(3.5 - 1) / 2, 0.5, (np.sqrt(8 / 3) - 1) / 0.5, np.sqrt(1 / 6)])
    np.testing.assert_allclose(z, want, rtol=1e-6)
    _assert_bits(z, _python(q, 0.5, -1, mean, std))


CASES = ["random", "extremes", "one-frame", "long", "constant"]


def _case_frames(case: str, rng, n_mels: int):
    """(frames, scale, zero) of one of CASES, drawn from rng."""
    n = {"one-frame": 1, "long": 20000}.get(case, 313)
    if case == "extremes":    # u = -256 or 254: the largest sums and squares
        frames = rng.choice(np.int8([-128, 127]), size=(n, n_mels))
    elif case == "constant":  # zero variance in every band
        frames = np.full((n, n_mels), -77, np.int8)
    else:
        frames = rng.integers(-128, 128, size=(n, n_mels)).astype(np.int8)
    return frames, float(np.float32(rng.uniform(0.05, 1.0))), int(rng.integers(-128, 128))


@pytest.mark.parametrize("case", CASES)
def test_c_matches_python_bit_for_bit(driver, case):
    n_mels, exe = driver
    rng = np.random.default_rng(CASES.index(case))
    frames, scale, zero = _case_frames(case, rng, n_mels)
    s = device_stats(frames, scale, zero)
    mean = (s + rng.normal(0, 3, s.shape)).astype(np.float32)
    std = rng.uniform(0.01, 5.0, s.shape).astype(np.float32)
    status, z = _run(exe, frames, scale, zero, mean, std)
    assert status == 0
    _assert_bits(z, _python(frames, scale, zero, mean, std))


def test_no_frames_is_an_error(driver):
    n_mels, exe = driver
    n = 2 * (n_mels // 2)
    status, z = _run(exe, np.zeros((0, n_mels), np.int8), 0.5, 0, np.zeros(n), np.ones(n))
    assert status == -1 and len(z) == 0


# ---- the residual scorer's input: band statistics and PCA residual ---------------------------

RESIDUAL_DRIVER = PRELUDE + r"""

/* stdin: u32 n_frames | f32 scale | i32 zero | u32 k | f32 mean[B] | f32 components[k][B] |
 * int8 frames[n][N]   stdout: i32 status, then (status 0) f64 band[B], f64 r, and the pooled
 * sums as the accumulator derives them: i64 sum_u[N/2], i64 sum_u2[N/2]. */

int main(void) {
    uint32_t n, k;
    float scale, mean[FS_STATS_BAND_SIZE];
    int32_t zero;
    double band[FS_STATS_BAND_SIZE];
    get(&n, 4);
    get(&scale, 4);
    get(&zero, 4);
    get(&k, 4);
    get(mean, sizeof mean);
    float *comp = malloc((size_t)k * FS_STATS_BAND_SIZE * sizeof(float) + 1);
    get(comp, (size_t)k * FS_STATS_BAND_SIZE * sizeof(float));
    static fs_stats s;
    int8_t *frames = add_frames(&s, n);
    int32_t st = fs_stats_bands(&s, scale, zero, band);
    fwrite(&st, 4, 1, stdout);
    if (st == 0) {
        fwrite(band, sizeof band, 1, stdout);
        double r = fs_stats_residual(band, mean, comp, k);
        fwrite(&r, 8, 1, stdout);
        for (size_t b = 0; b < FS_STATS_BANDS; b++) {
            int64_t u = s.sum[2 * b] + s.sum[2 * b + 1];
            fwrite(&u, 8, 1, stdout);
        }
        for (size_t b = 0; b < FS_STATS_BANDS; b++) {
            int64_t u2 = s.sum_sq[2 * b] + s.sum_sq[2 * b + 1] + 2 * s.cross[b];
            fwrite(&u2, 8, 1, stdout);
        }
    }
    free(comp);
    free(frames);
    return 0;
}
"""


@pytest.fixture(scope="module", params=[(2, False), (128, False), (128, True)],
                ids=["2mels", "128mels", "128mels-asan-ubsan"])
def residual_driver(request, tmp_path_factory):
    n_mels, sanitize = request.param
    d = tmp_path_factory.mktemp(f"stats-residual-{n_mels}")
    return n_mels, _build(d, RESIDUAL_DRIVER, n_mels, sanitize)


def _run_residual(exe: Path, frames, scale: float, zero: int, mean, comps):
    comps = np.asarray(comps, "<f4").reshape(-1, len(mean))
    status, out = _exchange(exe, struct.pack("<IfiI", len(frames), scale, zero, len(comps)),
                            (mean, comps), frames)
    if status:
        return status, None, None, None
    nb = len(mean)
    band = np.frombuffer(out[:8 * nb], "<f8")
    res = struct.unpack("<d", out[8 * nb:8 + 8 * nb])[0]
    pooled = np.frombuffer(out[8 + 8 * nb:], "<i8").reshape(2, -1)
    return status, band, res, pooled


def _cfg(mean, comps):
    from types import SimpleNamespace
    return SimpleNamespace(pca_mean=np.float32(mean), pca_components=np.float32(comps))


def test_residual_by_hand(residual_driver):
    from export.reference import residual_in_device_order
    n_mels, exe = residual_driver
    if n_mels != 2:
        pytest.skip("the hand case has 2 mels (4 band statistics)")
    # frames (0, 2), (2, 6): band means 1, 4, stds 1, 2; mean (1, 0, 0, 0): z = (0, 4, 1, 2),
    # |z|^2 = 21; components e2 and (0, 0, .6, .8): projections 4 and 2.2, r = 21 - 20.84 = .16
    # (up to the float32 rounding of .6 and .8)
    q = np.array([[0, 2], [2, 6]], np.int8)
    mean = np.float32([1, 0, 0, 0])
    comps = np.float32([[0, 1, 0, 0], [0, 0, 0.6, 0.8]])
    band = device_band_stats(q, 1.0, 0)
    np.testing.assert_array_equal(band, [1, 4, 1, 2])
    assert pca_residual(band, mean, comps) == pytest.approx(0.16, rel=1e-5)
    want = residual_in_device_order(band, _cfg(mean, comps))
    assert want == pytest.approx(0.16, rel=1e-5)
    status, got_band, got_r, pooled = _run_residual(exe, q, 1.0, 0, mean, comps)
    assert status == 0
    np.testing.assert_array_equal(got_band, band)
    assert got_r == want                                    # bit for bit
    np.testing.assert_array_equal(pooled, [[10], [2 ** 2 + 8 ** 2]])  # u = 2, 8


@pytest.mark.parametrize("case", CASES)
def test_residual_c_matches_python_bit_for_bit(residual_driver, case):
    from export.reference import residual_in_device_order
    n_mels, exe = residual_driver
    rng = np.random.default_rng(100 + CASES.index(case))
    frames, scale, zero = _case_frames(case, rng, n_mels)
    band = device_band_stats(frames, scale, zero)
    nb = 2 * n_mels
    mean = (band + rng.normal(0, 3, nb)).astype(np.float32)
    k = min(20, nb - 1)
    comps = np.linalg.qr(rng.normal(size=(nb, k)))[0].T.astype(np.float32)  # orthonormal rows
    status, got_band, got_r, pooled = _run_residual(exe, frames, scale, zero, mean, comps)
    assert status == 0
    assert got_band.tobytes() == band.tobytes()
    want = residual_in_device_order(band, _cfg(mean, comps))
    assert got_r == want, (got_r, want)
    assert want == pytest.approx(pca_residual(band, mean, comps), rel=1e-9, abs=1e-9)
    # the pooled sums the accumulator derives are the direct sums of u and u^2
    u = frames.astype(np.int64).reshape(len(frames), -1, 2).sum(axis=2)
    np.testing.assert_array_equal(pooled, [u.sum(axis=0), (u * u).sum(axis=0)])


def test_residual_without_frames_is_an_error(residual_driver):
    n_mels, exe = residual_driver
    nb = 2 * n_mels
    status, *_ = _run_residual(exe, np.zeros((0, n_mels), np.int8), 0.5, 0, np.zeros(nb),
                               np.zeros((1, nb)))
    assert status == -1
