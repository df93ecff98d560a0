"""The firmware's streaming log-mel front end against librosa (asd.features.logmel)."""
import subprocess
from pathlib import Path

import numpy as np
import pytest

from asd.features import FEATURES, logmel, quantize

ROOT = Path(__file__).resolve().parents[3]
# The device computes a float32 FFT, librosa a float64 one cast to float32. float32 round-off sits
# about 130 dB below a frame's loudest bin, so far below it (pure tones' window leakage) the two
# differ by up to a few tenths of a dB; within 80 dB of the maximum they agree to 1e-3 dB.
MAX_DB_DIFF = 1e-3
RANGE_DB = 80.0
MAX_DB_DIFF_FLOOR = 0.5


def _assert_close(dev: np.ndarray, ref: np.ndarray) -> None:
    assert dev.shape == ref.shape
    diff = np.abs(dev - ref)
    loud = ref >= ref.max() - RANGE_DB
    assert diff[loud].max() <= MAX_DB_DIFF
    assert diff.max() <= MAX_DB_DIFF_FLOOR


def _build(sanitize: bool) -> Path:
    args = ["make", "-s", "-C", str(ROOT / "firmware"), "-f", "dsp/dsp.mk", "logmel-tool"]
    if sanitize:
        args += ["SANITIZE=1"]
    subprocess.run(args, check=True)
    return ROOT / "firmware/build" / ("tools-san" if sanitize else "tools") / "logmel-tool"


@pytest.fixture(scope="module")
def tool():
    return _build(sanitize=False)


def _device(tool: Path, pcm: np.ndarray, chunk: int) -> np.ndarray:
    r = subprocess.run([str(tool), str(chunk)], input=pcm.astype("<i2").tobytes(),
                       capture_output=True, check=True)
    return np.frombuffer(r.stdout, np.float32).reshape(-1, FEATURES.n_mels)


def _host(pcm: np.ndarray) -> np.ndarray:
    return logmel(pcm.astype(np.float32) / 32768.0)


def _signals():
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 2) / 16000
    yield "noise", rng.normal(0, 3000, t.size)
    yield "tones", 9000 * np.sin(2 * np.pi * 120 * t) + 4000 * np.sin(2 * np.pi * 3150 * t)
    yield "quiet", rng.normal(0, 2, t.size)
    yield "full scale", np.where(rng.random(t.size) < 0.5, -32768, 32767)
    yield "silence", np.zeros(t.size)


@pytest.mark.parametrize("name,signal", list(_signals()), ids=[n for n, _ in _signals()])
def test_matches_librosa(tool, name, signal):
    pcm = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    _assert_close(_device(tool, pcm, 777), _host(pcm))


@pytest.mark.parametrize("n", [1, 511, 512, 513, 1024, 1500, 160000])
def test_framing_at_the_edges(tool, n):
    """librosa's centred framing: 1 + n // hop frames, zero padding at both ends."""
    pcm = np.random.default_rng(n).integers(-8000, 8000, n).astype(np.int16)
    for chunk in (1, 512, 4096):
        if n == 160000 and chunk == 1:
            continue  # slow through the pipe and adds nothing over 512
        dev = _device(tool, pcm, chunk)
        assert dev.shape[0] == FEATURES.n_frames(n) == 1 + n // 512
        _assert_close(dev, _host(pcm))


def test_int8_inputs_mostly_identical(tool):
    """After quantization with a typical input scale nearly every int8 feature is identical."""
    rng = np.random.default_rng(3)
    t = np.arange(160000) / 16000
    pcm = np.round(2000 * np.sin(2 * np.pi * 200 * t) + rng.normal(0, 800, t.size)).astype(np.int16)
    dev, ref = _device(tool, pcm, 1024), _host(pcm)
    scale, zp = 0.45, 60  # covers about -83 dB .. +31 dB
    same = np.mean(quantize(dev, scale, zp) == quantize(ref, scale, zp))
    assert same >= 0.999


def test_quantize_rounds_half_away_from_zero():
    x = np.array([0.5, 1.5, -0.5, -1.5, 2.49, 1000, -1000], np.float32)
    np.testing.assert_array_equal(quantize(x, 1.0, 0), [1, 2, -1, -2, 2, 127, -128])
    np.testing.assert_array_equal(quantize(np.float32([0.25]), 0.5, -3), [-2])


def test_sanitizer_build_is_clean():
    tool = _build(sanitize=True)
    pcm = np.random.default_rng(1).integers(-30000, 30000, 5000).astype(np.int16)
    dev = _device(tool, pcm, 333)
    assert dev.shape[0] == 1 + 5000 // 512


def test_fused_bands_equal_the_band_by_band_path():
    """logmel.c's fused bands (power, mel sums, floor and logarithm in one pass over the bins) are
    in use for asd.features' filterbank and give the same bits as the power array and one dot
    product per band (tests/firmware/dsp/mel_check.c; on the Cortex-M4: logmel_stages.c)."""
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "-f", "dsp/dsp.mk", "mel-check"],
                   check=True)
    r = subprocess.run([str(ROOT / "firmware/build/tools/mel-check")], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout.split() == ["fused", "1", "inner", "1", "mismatches",
                                                       "0"], r.stdout
