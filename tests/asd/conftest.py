from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def write_wav(path: Path, seconds: float = 0.5, sr: int = 16000, channels: int = 1,
              seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = 0.1 * rng.standard_normal((int(seconds * sr), channels))
    sf.write(str(path), data, sr, subtype="PCM_16")
    return path


@pytest.fixture
def tree(tmp_path):
    """A small tree in the official layout: ToyCar (dev) and Polisher (eval, renamed tests)."""
    root = tmp_path / "data"
    car = root / "dev_data/raw/ToyCar"
    attrs = "car_A1_spd_28V_mic_1"
    for i in range(3):
        write_wav(car / f"train/section_00_source_train_normal_{i:04d}_{attrs}.wav", seed=i)
    write_wav(car / "train/section_00_target_train_normal_0000_car_B2_spd_34V_mic_1.wav")
    write_wav(car / f"test/section_00_source_test_normal_0000_{attrs}.wav")
    write_wav(car / f"test/section_00_target_test_anomaly_0003_{attrs}.wav")
    write_wav(car / f"supplemental/section_00_source_supplemental_noise_0000_{attrs}.wav")
    pol = root / "eval_data/raw/Polisher"
    write_wav(pol / "train/section_00_source_train_normal_0000_noAttribute.wav")
    write_wav(pol / "train/section_00_target_train_normal_0000_noAttribute.wav")
    for i in range(3):
        write_wav(pol / f"test/section_00_{i:04d}.wav", seed=10 + i)
    write_wav(pol / "supplemental/section_00_source_supplemental_clean_0000_noAttribute.wav")
    gt = root / "eval_data"
    (gt / "ground_truth_data").mkdir(parents=True)
    (gt / "ground_truth_domain").mkdir(parents=True)
    name = "ground_truth_Polisher_section_00_test.csv"
    (gt / "ground_truth_data" / name).write_text(
        "section_00_0000.wav,0\nsection_00_0001.wav,1\nsection_00_0002.wav,0\n")
    (gt / "ground_truth_domain" / name).write_text(
        "section_00_0000.wav,0\nsection_00_0001.wav,1\nsection_00_0002.wav,1\n")
    return root
