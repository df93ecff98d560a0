import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asd.dataset import (DataError, available_machines, list_clips, load_wav, machine_dir,
                         parse_attributes, parse_name)

from .conftest import write_wav

ROOT = Path(__file__).resolve().parents[2]


def test_parse_labelled_name_with_attributes():
    c = parse_name(Path("section_00_target_test_anomaly_0042_car_A1_spd_28V_mic_1.wav"),
                   "ToyCar", "test")
    assert (c.machine, c.section, c.domain, c.split, c.label, c.index) == \
        ("ToyCar", "00", "target", "test", "anomaly", 42)
    assert c.attributes == {"car": "A1", "spd": "28V", "mic": "1"}
    assert c.is_anomaly is True


def test_parse_no_attribute_and_train_label():
    c = parse_name(Path("section_00_source_train_normal_0989_noAttribute.wav"), "bearing", "train")
    assert c.attributes == {} and c.label == "normal" and c.index == 989 and c.domain == "source"


def test_parse_renamed_evaluation_clip_has_no_label_yet():
    c = parse_name(Path("section_00_0123.wav"), "Polisher", "test")
    assert c.index == 123 and c.label is None and c.domain is None


def test_parse_supplemental_kinds():
    c = parse_name(Path("section_00_target_supplemental_noise_0007_spd_3_mic_2.wav"), "fan",
                   "supplemental")
    assert (c.kind, c.domain, c.index, c.label) == ("noise", "target", 7, None)
    assert c.attributes == {"spd": "3", "mic": "2"}


def test_attribute_values_and_odd_tokens():
    assert parse_attributes("volt_1.0_wt_30") == {"volt": "1.0", "wt": "30"}
    assert parse_attributes("noAttribute") == {}
    assert parse_attributes("pat_00_extra") == {"pat": "00", "extra": ""}


@pytest.mark.parametrize("name,split", [
    ("clip_0001.wav", "train"),
    ("section_00_source_train_normal_12_noAttribute.wav", "train"),  # index must be 4 digits
    ("section_00_0001.wav", "train"),                                 # renamed only in test/
    ("section_00_source_somewhere_normal_0001.wav", "test"),
])
def test_unknown_name_pattern_is_a_clear_error(name, split):
    with pytest.raises(DataError, match="does not follow"):
        parse_name(Path(name), "fan", split)


def test_test_clip_in_train_folder_is_rejected():
    with pytest.raises(DataError, match="move it to test/"):
        parse_name(Path("section_00_source_test_normal_0001_noAttribute.wav"), "fan", "train")


def test_tree_lists_exactly(tree):
    assert available_machines(tree) == ["Polisher", "ToyCar"]
    train = list_clips(tree, "ToyCar", "train")
    assert [(c.domain, c.index) for c in train] == [("source", 0), ("source", 1), ("source", 2),
                                                     ("target", 0)]
    test = list_clips(tree, "ToyCar", "test")
    assert [(c.domain, c.label) for c in test] == [("source", "normal"), ("target", "anomaly")]
    supp = list_clips(tree, "ToyCar", "supplemental")
    assert [c.kind for c in supp] == ["noise"]


def test_evaluation_ground_truth_is_joined(tree):
    test = list_clips(tree, "Polisher", "test")
    assert [(c.name, c.domain, c.label) for c in test] == [
        ("section_00_0000.wav", "source", "normal"),
        ("section_00_0001.wav", "target", "anomaly"),
        ("section_00_0002.wav", "target", "normal")]
    assert machine_dir(tree, "Polisher").parent.parent.name == "eval_data"


def test_evaluation_without_ground_truth_keeps_labels_unknown(tree):
    for p in (tree / "eval_data").glob("ground_truth_*/*.csv"):
        p.unlink()
    assert all(c.label is None and c.domain is None for c in list_clips(tree, "Polisher", "test"))


def test_ground_truth_missing_a_file_is_an_error(tree):
    gt = tree / "eval_data/ground_truth_data/ground_truth_Polisher_section_00_test.csv"
    gt.write_text("section_00_0000.wav,0\n")
    with pytest.raises(DataError, match="no row for section_00_0001.wav"):
        list_clips(tree, "Polisher", "test")


def test_malformed_ground_truth_row(tree):
    gt = tree / "eval_data/ground_truth_domain/ground_truth_Polisher_section_00_test.csv"
    gt.write_text("section_00_0000.wav,source\n")
    with pytest.raises(DataError, match=r"ground_truth_Polisher_section_00_test.csv:1"):
        list_clips(tree, "Polisher", "test")


def test_missing_root_and_machine(tree, tmp_path):
    with pytest.raises(DataError, match="make data"):
        list_clips(tmp_path / "nowhere", "fan", "train")
    with pytest.raises(DataError, match="this root has: Polisher, ToyCar"):
        list_clips(tree, "fan", "train")


def test_empty_train_folder(tree):
    for p in (tree / "dev_data/raw/ToyCar/train").iterdir():
        p.unlink()
    with pytest.raises(DataError, match="no training clips"):
        list_clips(tree, "ToyCar", "train")


def test_load_wav_scale_and_errors(tmp_path):
    good = write_wav(tmp_path / "a.wav")
    y = load_wav(good)
    assert y.dtype == np.float32 and y.ndim == 1 and np.abs(y).max() < 1
    with pytest.raises(DataError, match="44100 Hz, expected 16000 Hz"):
        load_wav(write_wav(tmp_path / "b.wav", sr=44100))
    with pytest.raises(DataError, match="2 channels, expected mono"):
        load_wav(write_wav(tmp_path / "c.wav", channels=2))
    bad = tmp_path / "d.wav"
    bad.write_bytes(b"RIFF\x00\x00not a wav at all")
    with pytest.raises(DataError, match="d.wav: unreadable wav"):
        load_wav(bad)
    with pytest.raises(DataError, match="empty wav"):
        load_wav(write_wav(tmp_path / "e.wav", seconds=0))


def test_summary_cli_reports_bad_file_without_traceback(tree):
    write_wav(tree / "dev_data/raw/ToyCar/train/section_00_source_train_normal_0009_car_A1.wav",
              sr=22050)
    r = subprocess.run([sys.executable, "-m", "asd.summary", "--data-root", str(tree), "--check"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert "section_00_source_train_normal_0009_car_A1.wav: sample rate 22050 Hz" in r.stderr
    assert "Traceback" not in r.stderr


def test_summary_cli_lists_machines(tree):
    r = subprocess.run([sys.executable, "-m", "asd.summary", "--data-root", str(tree)],
                       cwd=ROOT, capture_output=True, text=True, check=True)
    assert "ToyCar" in r.stdout and "Polisher" in r.stdout and "target/anomaly 1" in r.stdout
