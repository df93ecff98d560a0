"""asd.synth: layout and names, counts, wav format, ground truth, determinism, bad arguments."""
import csv
import hashlib
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asd.dataset import list_clips, read_attributes_csv
from asd.cli import UsageError
from asd.machines import ALL_MACHINES, HIDDEN_ATTRIBUTES
from asd.synth import anomalies, dsp
from asd.synth.__main__ import main
from asd.synth.generate import anomaly_of, render
from asd.synth.layout import ClipSpec, Counts, plan_machine
from asd.synth.machines import MODELS

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--machines", "Polisher,fan", "--train", "20", "--target-train", "4", "--test", "10",
        "--supplemental", "5", "--seconds", "2"]
ATTRS = r"(noAttribute|[^_]+_[^_]+(_[^_]+_[^_]+)*)"


def _generate(out: Path, *extra: str) -> Path:
    assert main(["--out", str(out), *ARGS, *extra]) == 0
    return out


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("synth") / "d", "--seed", "7", "--jobs", "2")


def test_dev_type_names_and_counts(data):
    root = data / "dev_data/raw/fan"
    train = sorted(p.name for p in (root / "train").iterdir())
    pat = re.compile(rf"^section_00_(source|target)_train_normal_(\d{{4}})_{ATTRS}\.wav$")
    assert all(pat.match(n) for n in train), train[:3]
    by = Counter(pat.match(n).group(1) for n in train)
    assert by == {"source": 20, "target": 4}
    idx = sorted(int(pat.match(n).group(2)) for n in train if "_source_" in n)
    assert idx == list(range(20))
    test = sorted(p.name for p in (root / "test").iterdir())
    pat = re.compile(rf"^section_00_(source|target)_test_(normal|anomaly)_(\d{{4}})_{ATTRS}\.wav$")
    groups = Counter(pat.match(n).group(1, 2) for n in test)
    assert groups == {(d, l): 10 for d in ("source", "target") for l in ("normal", "anomaly")}
    supp = sorted(p.name for p in (root / "supplemental").iterdir())
    kind = MODELS["fan"].supplemental
    pat = re.compile(rf"^section_00_(source|target)_supplemental_{kind}_(\d{{4}})_{ATTRS}\.wav$")
    assert len(supp) == 5 and all(pat.match(n) for n in supp)
    assert not (data / "eval_data/ground_truth_data/ground_truth_fan_section_00_test.csv").exists()
    # attributes: fan shows them; each file's attributes match its name and the csv
    attrs = read_attributes_csv(root)
    assert set(attrs) == set(train) | set(test) | set(supp)
    c = list_clips(data, "fan", "test")[0]
    assert c.attributes and c.attributes == attrs[c.name]
    src = {c.attributes["bg"] for c in list_clips(data, "fan", "train") if c.domain == "source"}
    tgt = {c.attributes["bg"] for c in list_clips(data, "fan", "train") if c.domain == "target"}
    assert src.isdisjoint(tgt), "the domains must differ in operating condition"


def test_eval_type_renamed_tests_and_ground_truth(data):
    root = data / "eval_data/raw/Polisher"
    assert "Polisher" in HIDDEN_ATTRIBUTES
    train = sorted(p.name for p in (root / "train").iterdir())
    assert len(train) == 24 and all(n.endswith("_noAttribute.wav") for n in train)
    test = sorted(p.name for p in (root / "test").iterdir())
    assert test == [f"section_00_{i:04d}.wav" for i in range(1, 41)]  # official: 0001 first
    gt = data / "eval_data/ground_truth_data/ground_truth_Polisher_section_00_test.csv"
    dom = data / "eval_data/ground_truth_domain/ground_truth_Polisher_section_00_test.csv"
    rows = list(csv.reader(gt.open()))
    drows = list(csv.reader(dom.open()))
    assert [r[0] for r in rows] == test == [r[0] for r in drows]  # no header, every file once
    pairs = Counter((int(a[1]), int(b[1])) for a, b in zip(rows, drows))
    assert pairs == {(0, 0): 10, (1, 0): 10, (0, 1): 10, (1, 1): 10}
    # shuffled: the labels do not come in blocks
    assert [int(r[1]) for r in rows] != sorted(int(r[1]) for r in rows)
    # the reader joins the ground truth
    clips = list_clips(data, "Polisher", "test")
    assert Counter((c.domain, c.label) for c in clips) == \
        {(d, l): 10 for d in ("source", "target") for l in ("normal", "anomaly")}
    # the renamed files hold the clips the plan says
    plan = {s.name: s for s in plan_machine("Polisher", Counts(20, 4, 10, 5), 7)}
    for c in clips:
        assert (plan[c.name].domain, plan[c.name].label) == (c.domain, c.label)
    # attributes_00.csv: noAttribute rows, renamed test names listed
    text = (root / "attributes_00.csv").read_text().splitlines()
    assert text[0] == "file_name,d1p,d1v"
    assert "Polisher/test/section_00_0001.wav,noAttribute," in text
    assert f"Polisher/train/{train[0]},noAttribute," in text
    assert len(text) == 1 + 24 + 40 + 5


def test_eval_type_ground_truth_attributes_match_the_renamed_clips(data):
    """ground_truth_attributes/ in the official evaluator's shape: no header, one row per renamed
    clip sorted by name: evaluation name, the labelled name with the same number and
    `noAttribute` (Polisher hides its attributes) without .wav, then the name with the true
    attributes."""
    path = data / "eval_data/ground_truth_attributes/ground_truth_Polisher_section_00_test.csv"
    rows = list(csv.reader(path.open()))
    test = sorted(p.name for p in (data / "eval_data/raw/Polisher/test").iterdir())
    assert [r[0] for r in rows] == test
    plan = {s.name: s for s in plan_machine("Polisher", Counts(20, 4, 10, 5), 7)}
    for name, labelled, true in rows:
        s, n = plan[name], name[len("section_00_"):-len(".wav")]
        assert labelled == f"section_00_{s.domain}_test_{s.label}_{n}_noAttribute"
        attrs = "_".join(f"{k}_{v}" for k, v in s.attrs)
        assert true == f"section_00_{s.domain}_test_{s.label}_{n}_{attrs}.wav"
    label = dict(csv.reader((path.parent.parent / "ground_truth_data" / path.name).open()))
    domain = dict(csv.reader((path.parent.parent / "ground_truth_domain" / path.name).open()))
    for name, labelled, _ in rows:
        assert ("_anomaly_" in labelled) == (label[name] == "1")
        assert ("_target_" in labelled) == (domain[name] == "1")


def test_wav_format(data):
    files = sorted(data.rglob("*.wav"))
    assert len(files) == 2 * (24 + 40 + 5)
    for p in files[::7]:
        info = sf.info(str(p))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == \
            (16000, 1, "PCM_16", 32000)
        y, _ = sf.read(str(p), dtype="int16")
        assert 30 < np.sqrt(np.mean(y.astype(float) ** 2)) < 3000  # audible, far from clipping
        assert np.max(np.abs(y.astype(int))) < 32767


def test_deterministic_and_independent_of_jobs(data, tmp_path):
    again = _generate(tmp_path / "again", "--seed", "7", "--jobs", "1")
    assert _digest(again) == _digest(data)
    other = _generate(tmp_path / "other", "--seed", "8", "--jobs", "2")
    a, b = _digest(data), _digest(other)
    wavs = [k for k in a if k.endswith(".wav") and k in b]
    assert wavs and all(a[k] != b[k] for k in wavs if "/test/" in k)


def test_regenerating_in_place_replaces_the_machine(tmp_path):
    out = tmp_path / "d"
    _generate(out)
    assert main(["--out", str(out), "--machines", "fan", "--train", "3", "--target-train", "1",
                 "--test", "1", "--supplemental", "0", "--seconds", "1"]) == 0
    assert len(list((out / "dev_data/raw/fan/train").iterdir())) == 4
    assert not (out / "dev_data/raw/fan/supplemental").exists()
    assert len(list((out / "eval_data/raw/Polisher/train").iterdir())) == 24  # untouched


@pytest.mark.parametrize("machine", ALL_MACHINES)
def test_every_model_and_anomaly_kind_renders(machine):
    model = MODELS[machine]
    n = 16000
    rng = np.random.default_rng(0)
    attrs, params = model.condition(rng, "target")
    assert all("_" not in k + v for k, v in attrs)
    for kind in sorted(set(model.kinds)):
        g = dsp.Grid(n)
        anom = anomalies.make(kind, 0.0, np.random.default_rng(1), g)
        sig, aux = model.render(np.random.default_rng(2), g, params, anom)
        sig = anomalies.apply(anom, dsp.unit(sig), aux)
        assert sig.shape == (n,) and np.all(np.isfinite(sig)), kind
    spec = ClipSpec(machine, "source", "test", "anomaly", 0, tuple(attrs), params, "x.wav")
    y, _ = render(spec, 0, n)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 0.98
    assert anomaly_of(spec, 0)[0] in model.kinds


def test_severity_changes_anomalous_clips_only():
    """The difficulty sweep scores test sets generated at several severities with one model
    trained once: that is only valid if normal clips do not depend on the severity."""
    n = 16000
    for label in ("normal", "anomaly"):
        attrs, params = MODELS["fan"].condition(np.random.default_rng(3), "source")
        spec = ClipSpec("fan", "source", "test", label, 7, tuple(attrs), params, "x.wav")
        quiet, loud = (render(spec, 0, n, severity_db=sev)[0] for sev in (-5.0, 15.0))
        assert np.array_equal(quiet, loud) == (label == "normal"), label


def test_difficulty_sweep_reuses_one_model(capsys):
    """Tiny end-to-end run of the calibration tool: the set's own severity appears twice (as the
    set and as a sweep point) and must give identical AUCs; another severity gives a row too."""
    from asd.synth import difficulty
    from asd.synth.generate import SEVERITY_DB

    own = SEVERITY_DB["fan"]
    assert difficulty.main(["--machines", "fan", "--train", "6", "--target-train", "2",
                            "--test", "4", "--seconds", "1", "--epochs", "1", "--jobs", "1",
                            "--sweep", f"{own:g},{own - 20:g}"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| fan |")]
    assert len(rows) == 3
    assert rows[0] == rows[1] and rows[0].startswith(f"| fan | {own:g} |")
    assert rows[2].startswith(f"| fan | {own - 20:g} |")
    assert SEVERITY_DB["fan"] == own  # restored after the sweep


@pytest.mark.parametrize("args, message", [
    (["--machines", "fan,toaster"], "unknown machine type 'toaster'; valid: ToyCar"),
    (["--train", "0"], "--train must be a positive count"),
    (["--test", "-3"], "--test must be a positive count"),
    (["--target-train", "0"], "--target-train must be a positive count"),
    (["--supplemental", "-1"], "--supplemental must be 0 or more"),
    (["--seconds", "0"], "--seconds must be between"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_bad_arguments_are_clear_errors(tmp_path, args, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        main(["--out", str(tmp_path / "d"), "--machines", "fan", *args])
    assert not (tmp_path / "d").exists()


def test_unwritable_out_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="cannot write there"):
        main(["--out", str(blocker / "d"), "--preset", "tiny", "--machines", "fan"])


def test_refuses_to_overwrite_a_foreign_tree(tmp_path):
    (tmp_path / "dev_data/raw/fan/train").mkdir(parents=True)
    with pytest.raises(UsageError, match="was not written by asd.synth"):
        main(["--out", str(tmp_path), "--preset", "tiny", "--machines", "fan"])
    assert (tmp_path / "dev_data/raw/fan/train").is_dir()


def test_command_line_errors_are_one_line_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "asd.synth", "--out", str(tmp_path / "d"),
                        "--machines", "fan,toaster"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("error: unknown machine type 'toaster'; valid: ToyCar, ToyTrain")
    assert "Traceback" not in r.stderr
