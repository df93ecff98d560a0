"""Bad input gives one `error:` line and exit 2, never a traceback; the report reads runs."""
from __future__ import annotations

import shutil

import pytest

from train.__main__ import main as train_main
from train.report import main as report_main

from .conftest import run_cli


def _fails_cleanly(r, *needles):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ")
    for n in needles:
        assert n in r.stderr, r.stderr


def test_unknown_machine(tiny_root, tmp_path):
    # any name is a machine if its folder is there; a missing one lists what the root has
    r = run_cli("-m", "train", "--data-root", str(tiny_root), "--machine", "Toaster",
                "--out", str(tmp_path / "r"))
    _fails_cleanly(r, "machine 'Toaster' not found", "this root has: Polisher, fan")


def test_missing_data_root(tmp_path):
    r = run_cli("-m", "train", "--data-root", str(tmp_path / "nope"), "--machine", "fan",
                "--out", str(tmp_path / "r"))
    _fails_cleanly(r, "data root not found")


def test_machine_absent_and_empty_train(tiny_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_root / "dev_data/raw/fan", root / "dev_data/raw/fan")
    r = run_cli("-m", "train", "--data-root", str(root), "--machine", "valve",
                "--out", str(tmp_path / "r"))
    _fails_cleanly(r, "'valve' not found")
    for wav in (root / "dev_data/raw/fan/train").iterdir():
        wav.unlink()
    r = run_cli("-m", "train", "--data-root", str(root), "--machine", "fan", "--epochs", "1",
                "--model", "ae", "--out", str(tmp_path / "r"))
    _fails_cleanly(r, "no training clips")
    r = run_cli("-m", "train", "--data-root", str(root), "--machine", "fan",
                "--out", str(tmp_path / "r2"))            # the default model too
    _fails_cleanly(r, "no training clips")


def test_stats_takes_no_epochs(tiny_root, tmp_path):
    r = run_cli("-m", "train", "--data-root", str(tiny_root), "--machine", "fan", "--epochs", "3",
                "--out", str(tmp_path / "r"))
    _fails_cleanly(r, "takes no epochs", "--model stats")


def test_refuses_a_run_dir_with_another_config(tiny_root, tmp_path):
    out = tmp_path / "r"
    args = ("-m", "train", "--data-root", str(tiny_root), "--machine", "Polisher",
            "--model", "ae", "--no-progress", "--cache-dir", str(tmp_path / "c"),
            "--out", str(out))
    assert train_main([*args[2:], "--epochs", "1"]) == 0
    # Polisher's test ground truth comes from the renamed-test CSVs
    assert (out / "metrics.json").exists()
    r = run_cli(*args, "--epochs", "2")
    _fails_cleanly(r, "different config", "epochs: 1 != 2")
    r = run_cli(*args, "--epochs", "1")              # same config: reused, rescored
    assert r.returncode == 0 and "already trained" in r.stdout


def test_report_table(tiny_root, tmp_path, capsys):
    assert train_main(["--data-root", str(tiny_root), "--machine", "fan", "--model", "ae",
                       "--epochs", "1", "--seeds", "2", "--no-progress", "--cache-dir",
                       str(tmp_path / "c"), "--out", str(tmp_path / "runs/fan/ae")]) == 0
    assert (tmp_path / "runs/fan/ae/seed_1/metrics.json").exists()
    assert (tmp_path / "runs/fan/ae/seeds.json").exists()
    assert report_main([str(tmp_path / "runs"), "--out", str(tmp_path / "t.md")]) == 0
    text = capsys.readouterr().out
    assert "| fan |" in text and " ± " in text and "official score" in text
    assert (tmp_path / "t.md").read_text() == text
    with pytest.raises(Exception, match="no metrics.json"):
        report_main([str(tmp_path / "c")])


def test_refuses_to_reuse_a_run_on_changed_training_data(tiny_root, tmp_path):
    import shutil

    import soundfile as sf
    data = tmp_path / "data"
    shutil.copytree(tiny_root, data)
    out = tmp_path / "r"
    args = ["--data-root", str(data), "--machine", "fan", "--model", "ae", "--epochs", "1",
            "--no-progress", "--out", str(out)]
    assert train_main(args) == 0
    first = sorted((data / "dev_data/raw/fan/train").iterdir())[0]
    y, sr = sf.read(first, dtype="int16")
    sf.write(first, y // 2, sr, subtype="PCM_16")    # the same file name, other content
    r = run_cli("-m", "train", *args)
    _fails_cleanly(r, "trained on other training data")


def test_pca_components_zero_is_the_gaussian_alone(tiny_root, tmp_path):
    import json

    import numpy as np
    out = tmp_path / "g"
    assert train_main(["--data-root", str(tiny_root), "--machine", "fan", "--pca-components", "0",
                       "--no-progress", "--cache-dir", str(tmp_path / "c"), "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["pca_components"] == 0
    with np.load(out / "scoring.npz") as z:
        assert "pca_components" not in z.files and "centres" in z.files
    full = tmp_path / "full"
    assert train_main(["--data-root", str(tiny_root), "--machine", "fan", "--no-progress",
                       "--cache-dir", str(tmp_path / "c"), "--out", str(full)]) == 0
    with np.load(full / "scoring.npz") as z:
        assert z["pca_components"].shape[1] == 256
