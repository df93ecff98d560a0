import sys

import librosa
import numpy as np

from asd.features import FEATURES, context_vectors, extract, logmel, mel_filterbank

from .conftest import write_wav


def _baseline_logmel(y):
    """The official baseline's computation, with librosa's defaults left implicit as it does."""
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=512, n_mels=128,
                                         power=2.0)
    return (20.0 / 2.0 * np.log10(np.maximum(mel, sys.float_info.epsilon))).T


def test_parameters_are_the_baseline():
    f = FEATURES
    assert (f.sample_rate, f.n_fft, f.hop_length, f.n_mels, f.power, f.fmin, f.fmax, f.frames) == \
        (16000, 1024, 512, 128, 2.0, 0.0, 8000.0, 5)
    assert f.dim == 640


def test_logmel_matches_librosa_called_directly():
    rng = np.random.default_rng(1)
    y = (0.2 * rng.standard_normal(16000 * 3)).astype(np.float32)
    ours = logmel(y)
    ref = _baseline_logmel(y)
    assert ours.shape == ref.shape == (FEATURES.n_frames(len(y)), 128)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_ten_second_clip_gives_313_frames_and_309_vectors():
    y = np.zeros(160000, np.float32)
    lm = logmel(y)
    assert lm.shape == (313, 128)
    assert context_vectors(lm).shape == (309, 640)
    # silence hits the floor exactly: 10*log10(eps)
    assert np.allclose(lm, 10 * np.log10(sys.float_info.epsilon))


def test_context_vector_layout_is_frame_major():
    lm = np.arange(7 * 128, dtype=np.float32).reshape(7, 128)
    v = context_vectors(lm)
    assert v.shape == (3, 640)
    for i in range(3):
        for t in range(5):
            np.testing.assert_array_equal(v[i, t * 128:(t + 1) * 128], lm[i + t])


def test_mel_filterbank_is_slaney():
    fb = mel_filterbank()
    ref = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=128)
    assert fb.shape == (128, 513)
    np.testing.assert_allclose(fb, ref, rtol=1e-6)


def test_extract_caches_by_content(tmp_path):
    a = write_wav(tmp_path / "a.wav", seed=1)
    first = extract([a], cache_dir=tmp_path / "cache")[0]
    entries = list((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 1
    np.testing.assert_array_equal(np.load(entries[0]), first)
    # a cached entry is what is returned: poison it and see it come back
    np.save(entries[0], first + 1)
    np.testing.assert_array_equal(extract([a], cache_dir=tmp_path / "cache")[0], first + 1)
    # new content under the same name -> new key
    write_wav(a, seed=2)
    again = extract([a], cache_dir=tmp_path / "cache")[0]
    assert not np.array_equal(again, first) and len(list((tmp_path / "cache").rglob("*.npy"))) == 2
