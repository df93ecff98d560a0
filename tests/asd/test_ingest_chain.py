"""Own recordings all the way to the emulated device: 44.1-kHz stereo wav files with arbitrary
names (and one broken file) -> asd.ingest -> the default model -> export -> bench on the x86
emulator, whose scores must equal the int8 reference's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import bench_emu, run_py

SR = 44100


def _recording(path: Path, seconds: float, seed: int, anomaly: bool = False) -> None:
    """A 'machine': a hum with harmonics and noise, stereo with a channel difference; an
    anomaly adds a whine the normal recordings never have."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120.0 * (1 + 0.01 * rng.normal())
    y = sum(0.1 / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) for k in range(1, 6))
    y = y + 0.02 * rng.normal(size=t.size)
    if anomaly:
        y = y + 0.05 * np.sin(2 * np.pi * 3100.0 * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.stack([y, 0.8 * y], axis=1).astype(np.float32), SR, subtype="PCM_16")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("recordings")
    for i in range(8):
        _recording(src / "normal" / f"Aufnahme {i} (links).wav", 3.0, i)
    (src / "normal" / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    for i in range(2):
        _recording(src / "target" / f"new pump {i}.wav", 2.0, 100 + i)
    for folder, anomaly, seed in (("tn", False, 200), ("ta", True, 300), ("ttn", False, 400),
                                  ("tta", True, 500)):
        for i in range(2):
            _recording(src / folder / f"rec_{i}.WAV", 2.0, seed + i, anomaly)
    root = tmp_path_factory.mktemp("own") / "data"
    r = run_py("-m", "asd.ingest", "--data-root", str(root), "--machine", "Pump",
               "--normal", str(src / "normal"), "--target", str(src / "target"),
               "--test-normal", str(src / "tn"), "--test-anomaly", str(src / "ta"),
               "--test-normal-target", str(src / "ttn"), "--test-anomaly-target", str(src / "tta"),
               "--seconds", "1")
    assert r.returncode == 0, r.stderr
    assert "broken.wav" in r.stdout + r.stderr          # the broken file is said, once
    return root


def test_own_recordings_train_export_and_bench(ingested, tmp_path):
    run = tmp_path / "run"
    r = run_py("-m", "train", "--data-root", str(ingested), "--machine", "Pump", "--out", str(run),
               "--no-progress", "--cache-dir", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    assert json.loads((run / "config.json").read_text())["model"] == "stats"
    model_dir = tmp_path / "models" / "Pump"
    r = run_py("-m", "export", "--run", str(run), "--machine", "Pump", "--data-root", str(ingested),
               "--out", str(model_dir), "--max-drop", "100")
    assert r.returncode == 0, r.stderr
    r, summary = bench_emu(ingested, model_dir, tmp_path / "report", "Pump", "--mode", "features")
    assert r.returncode == 0, r.stderr
    assert summary["machine"] == "Pump" and summary["clips"] == 16   # 8 two-second test files
    assert "device score == int8 ref score on 16 of 16 clips" in r.stdout
