"""Supplemental clips in cls training (switchable): off, as extra classes, or noise mixed in."""
import json

import numpy as np
import pytest

from train.__main__ import main
from train.config import make_config
from train.data import load_training
from train.fit import _cls_training_set, _mix_noise


def test_mix_noise_adds_noise_power_at_the_snr():
    patch = np.zeros((4, 3), np.float32)          # 0 dB everywhere: power 1
    noise = np.full((4, 3), 10.0, np.float32)     # 10 dB: power 10, scaled to the SNR
    assert np.allclose(_mix_noise(patch, noise, 0.0), 10 * np.log10(2.0), atol=1e-6)
    assert np.allclose(_mix_noise(patch, noise, 10.0), 10 * np.log10(1.1), atol=1e-6)


@pytest.mark.parametrize("mode", ["off", "classes", "mix"])
def test_supplemental_modes_choose_what_training_sees(tiny_root, cache_dir, mode):
    data = load_training(tiny_root, "fan", cache_dir, False)   # fan: noise-only supplemental
    n_train, n_sup = len(data.train.clips), len(data.supplemental.clips)
    assert n_sup > 0
    lms, labels, classes, noise = _cls_training_set(make_config("fan", "cls",
                                                                supplemental=mode), data)
    extra = [c for c in classes if c.startswith("supplemental")]
    if mode == "classes":
        assert len(lms) == n_train + n_sup and "supplemental-noise" in extra
    else:
        assert len(lms) == n_train and not extra
    assert len(noise) == (n_sup if mode == "mix" else 0)
    assert len(labels) == len(lms)


def test_mix_mode_trains_end_to_end(tiny_root, cache_dir, tmp_path):
    out = tmp_path / "mix"
    assert main(["--data-root", str(tiny_root), "--machine", "fan", "--model", "cls",
                 "--epochs", "1", "--supplemental", "mix", "--cache-dir", str(cache_dir),
                 "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["supplemental"] == "mix"
    assert (out / "anomaly_score_fan_section_00_test.csv").exists()
