"""Issue 12: any machine folder works everywhere; a name is checked once; dev/eval is where the
folder is; clips shorter than the features need are refused naming the file.

The data root is a tiny synthetic set whose `fan` folder is renamed `Pump` (dev_data/raw/) and
whose `Polisher` folder, with its ground-truth CSVs, is renamed `Press` (eval_data/raw/): names
no list in the project knows."""
from __future__ import annotations

import csv
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asd.dataset import (DataError, available_machines, check_machine_name, list_clips, load_pcm16,
                         load_wav, machine_dir, machine_part)
from asd.features import FEATURES, extract
from tests.support import ROOT, bench_emu, run_py

TRAIN_WAV = "section_00_source_train_normal_0099_noAttribute.wav"


def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    synth = tmp_path_factory.mktemp("any-synth") / "data"
    r = run_py("-m", "asd.synth", "--out", str(synth), "--machines", "fan,Polisher",
               "--train", "10", "--target-train", "2", "--test", "2", "--supplemental", "2",
               "--seconds", "1", "--seed", "5", "--jobs", "1")
    assert r.returncode == 0, r.stderr
    out = tmp_path_factory.mktemp("any-root") / "data"
    shutil.copytree(synth / "dev_data/raw/fan", out / "dev_data/raw/Pump")
    shutil.copytree(synth / "eval_data/raw/Polisher", out / "eval_data/raw/Press")
    for kind in ("ground_truth_data", "ground_truth_domain"):
        src = synth / "eval_data" / kind / "ground_truth_Polisher_section_00_test.csv"
        dst = out / "eval_data" / kind / "ground_truth_Press_section_00_test.csv"
        dst.parent.mkdir(parents=True)
        shutil.copy(src, dst)
    return out


@pytest.fixture(scope="module")
def trained(root, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("any-runs")
    cache = base / "cache"
    runs = {}
    for machine, model in (("Pump", "ae"), ("Pump", "cls"), ("Press", "ae"), ("Pump", "stats")):
        out = base / machine / model
        # stats is the default: trained without --model (and it takes no epochs)
        how = ["--model", model, "--epochs", "1"] if model != "stats" else []
        r = run_py("-m", "train", "--data-root", str(root), "--machine", machine, *how,
                   "--no-progress", "--cache-dir", str(cache), "--out", str(out))
        assert r.returncode == 0, r.stderr
        runs[f"{machine}/{model}"] = out
    return runs


# ---- where a machine is, whatever its name -------------------------------------------------

def test_part_is_where_the_folder_is(root, tmp_path):
    assert available_machines(root) == ["Press", "Pump"]
    assert machine_part(root, "Pump") == "dev" and machine_part(root, "Press") == "eval"
    assert machine_dir(root, "Press") == root / "eval_data/raw/Press"
    # the same name moved to the other part changes its part, not its name
    other = tmp_path / "data"
    shutil.copytree(root / "dev_data/raw/Pump", other / "eval_data/raw/Pump")
    assert machine_part(other, "Pump") == "eval"
    # a DCASE name in the "wrong" part is where its folder says
    shutil.copytree(root / "dev_data/raw/Pump", other / "eval_data/raw/fan")
    assert machine_part(other, "fan") == "eval"
    (other / "dev_data/raw/fan").mkdir(parents=True)
    with pytest.raises(DataError, match="under both dev_data/raw/ and eval_data/raw/"):
        machine_part(other, "fan")
    (other / "dev_data/raw/.hidden").mkdir()
    assert ".hidden" not in available_machines(other)


def test_eval_machine_gets_ground_truth_from_renamed_csvs(root):
    clips = list_clips(root, "Press", "test")
    assert len(clips) == 8 and all(c.name.startswith("section_00_0") for c in clips)
    assert {(c.domain, c.label) for c in clips} == {("source", "normal"), ("source", "anomaly"),
                                                    ("target", "normal"), ("target", "anomaly")}


def test_missing_machine_lists_the_machines_found(root, tmp_path):
    with pytest.raises(DataError) as e:
        machine_dir(root, "Toaster")
    msg = str(e.value)
    assert "'Toaster' not found" in msg and "this root has: Press, Pump" in msg
    assert "DCASE" not in msg
    r = run_py("-m", "train", "--data-root", str(root), "--machine", "fan",
               "--out", str(tmp_path / "r"))
    _one_line_error(r, "'fan' not found", "this root has: Press, Pump")


# ---- names -----------------------------------------------------------------------------------

BAD_NAMES = [("", "empty machine name"), ("a/b", "path separator"), ("a\\b", "path separator"),
             ("..", "starts with '.'"), (".Pump", "starts with '.'"), ("-Pump", "starts with '-'"),
             ("my pump", "white space"), ("Pump\n", "white space"), ("Pu'mp", "quote"),
             ('Pu"mp', "quote"), ("Pümpe", "non-ASCII"), ("P" * 41, "41 characters"),
             ("Pu$mp", "'$'"), ("Pu;mp", "';'")]


@pytest.mark.parametrize("name,why", BAD_NAMES)
def test_bad_names_are_refused(name, why):
    with pytest.raises(DataError, match="machine name|empty machine name") as e:
        check_machine_name(name)
    assert why in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["Pump", "ToyCar", "pump_2", "Pump-3.v1", "_x", "7", "P" * 40])
def test_good_names_pass(name):
    assert check_machine_name(name) == name


@pytest.mark.parametrize("name,why", [("../Pump", "path separator"), ("my pump", "white space"),
                                      ("Pu\"mp", "quote")])
def test_train_refuses_bad_name_in_one_line(root, tmp_path, name, why):
    r = run_py("-m", "train", "--data-root", str(root), "--machine", name,
               "--out", str(tmp_path / "r"))
    _one_line_error(r, "machine name", why)
    assert not (tmp_path / "r").exists()


def test_export_and_bench_refuse_bad_names(tmp_path):
    from export.carray import DeviceConfig, config_text
    cfg = DeviceConfig(machine='Pu"mp', model_kind="ae", score_kind="mse", window_frames=5,
                       window_hop=1, threshold=1.0, macs=1)
    with pytest.raises(DataError, match="quote"):
        config_text(b"", cfg, 0)
    r = run_py("host/bench.py", "--port", "emu", "--machine", "a b",
               "--model-dir", str(tmp_path), "--out", str(tmp_path / "rep"))
    _one_line_error(r, "machine name 'a b' has white space")


# ---- train, export, bench on machines no list knows ------------------------------------------

def test_train_any_machine(trained):
    for key, run in trained.items():
        machine = key.split("/")[0]
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["machine"] == machine and metrics["model"] == key.split("/")[1]
        assert 0.0 <= metrics["auc_source"] <= 1.0
        with open(run / f"anomaly_score_{machine}_section_00_test.csv", newline="") as f:
            assert len(list(csv.reader(f))) == 8


def test_report_orders_dev_before_eval(trained, tmp_path):
    out = tmp_path / "results.md"
    r = run_py("-m", "train.report", str(trained["Pump/ae"].parent.parent), "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = [line.split("|")[1].strip() for line in out.read_text().splitlines()
            if line.startswith("| P")]
    assert rows == ["Pump", "Press"]         # Pump is dev, Press is eval: not alphabetical


@pytest.mark.parametrize("model", ["ae", "stats"])
def test_export_and_bench_any_machine(root, trained, tmp_path, model):
    model_dir = tmp_path / "models" / "Pump"
    r = run_py("-m", "export", "--run", str(trained[f"Pump/{model}"]), "--machine", "Pump",
               "--data-root", str(root), "--out", str(model_dir), "--calibration", "50",
               "--max-drop", "100")
    assert r.returncode == 0, r.stderr
    assert '#define FS_MODEL_NAME "Pump"' in (model_dir / "model_config.h").read_text()
    assert json.loads((model_dir / "export.json").read_text())["machine"] == "Pump"
    r, summary = bench_emu(root, model_dir, tmp_path / "report", "Pump", "--limit", "4")
    assert r.returncode == 0, r.stderr
    assert summary["machine"] == "Pump" and summary["clips"] == 4
    assert (ROOT / "firmware/build/emu/Pump/firmware-emu").exists()


# ---- make ensure-data ------------------------------------------------------------------------

def test_summary_has(root, tmp_path):
    assert run_py("-m", "asd.summary", "--data-root", str(root), "--has", "Press").returncode == 0
    # a demo type the root lacks: exit 3, the Makefile then runs `make data`
    assert run_py("-m", "asd.summary", "--data-root", str(root), "--has", "ToyCar").returncode == 3
    r = run_py("-m", "asd.summary", "--data-root", str(root), "--has", "Pumpe")
    _one_line_error(r, "'Pumpe' not found", "this root has: Press, Pump")
    r = run_py("-m", "asd.summary", "--data-root", str(root), "--has", "a/b")
    _one_line_error(r, "path separator")


def _fake_python(tmp_path: Path) -> Path:
    """PY for make: logs `-m asd.synth` (the synthetic generator) instead of running it."""
    log = tmp_path / "synth.log"
    py = tmp_path / "py"
    py.write_text(f'#!/bin/sh\nif [ "$2" = asd.synth ]; then echo "$@" >> {log}; exit 0; fi\n'
                  f'exec {ROOT / ".venv/bin/python"} "$@"\n')
    py.chmod(py.stat().st_mode | stat.S_IXUSR)
    return py


@pytest.mark.parametrize("machine,ok,synth", [("Pump", True, False), ("Press", True, False),
                                              ("Toaster", False, False), ("ToyCar", True, True)])
def test_make_ensure_data(root, tmp_path, machine, ok, synth):
    import subprocess
    py = _fake_python(tmp_path)
    data = tmp_path / "data"
    shutil.copytree(root, data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    r = subprocess.run(["make", "-s", "--no-print-directory", "ensure-data", f"PY={py}",
                        f"DATA={data}", f"MACHINE={machine}", "DEB_PACKAGES="],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert (r.returncode == 0) == ok, r.stderr
    assert (tmp_path / "synth.log").exists() == synth
    if not ok:
        assert "error: " in r.stderr and "'Toaster' not found" in r.stderr
        assert "this root has: Press, Pump" in r.stderr


# ---- clips shorter than the features need ------------------------------------------------------

def _wav(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(n, np.int16), 16000, subtype="PCM_16")
    return path


def test_min_samples_follows_the_features():
    n = FEATURES.min_samples
    assert n >= FEATURES.n_fft
    assert FEATURES.n_frames(n) >= FEATURES.frames > FEATURES.n_frames(n - 1)


@pytest.mark.parametrize("n,needle", [(0, "empty wav"), (28, "only 28 samples"),
                                      (FEATURES.n_fft - 1, "only 1023 samples"),
                                      (FEATURES.min_samples - 1, "at least 2048 samples")])
def test_short_wav_refused_naming_the_file(tmp_path, n, needle):
    path = _wav(tmp_path / "short.wav", n)
    if n == 0:
        assert path.stat().st_size == 44              # a header only
    if n == 28:
        assert path.stat().st_size == 100
    for read in (load_wav, load_pcm16):
        with pytest.raises(DataError) as e:
            read(path)
        assert str(e.value).startswith(f"{path}: ") and needle in str(e.value)
        assert "remove it" in str(e.value)
    with pytest.raises(DataError, match=needle):
        extract([path])
    assert load_wav(_wav(tmp_path / "ok.wav", FEATURES.min_samples)).size == FEATURES.min_samples


def test_stale_cache_entry_of_a_short_clip_is_not_used(tmp_path):
    from asd.features import _cache_path
    path = _wav(tmp_path / "short.wav", 28)
    cached = _cache_path(tmp_path / "cache", path, FEATURES)
    cached.parent.mkdir(parents=True)
    np.save(cached, np.zeros((1, FEATURES.n_mels), np.float32))  # what an older reader cached
    with pytest.raises(DataError, match="only 28 samples"):
        extract([path], cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("n", [0, 28])
def test_train_on_a_root_with_a_short_clip(root, tmp_path, n):
    data = tmp_path / "data"
    shutil.copytree(root / "dev_data/raw/Pump", data / "dev_data/raw/Pump")
    bad = _wav(data / "dev_data/raw/Pump/train" / TRAIN_WAV, n)
    r = run_py("-m", "train", "--data-root", str(data), "--machine", "Pump", "--model", "ae",
               "--epochs", "1", "--no-progress", "--cache-dir", str(tmp_path / "cache"),
               "--out", str(tmp_path / "run"))
    line = _one_line_error(r, "empty wav" if n == 0 else "only 28 samples")
    assert line.startswith(f"error: {bad}: ")
