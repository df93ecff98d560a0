"""asd.heldout: layout read back by asd.dataset, counts, ground truth, determinism across --jobs,
every fault kind measurable, independence from asd.synth, bad arguments."""
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

from asd.cli import UsageError
from asd.dataset import list_clips, load_wav, read_attributes_csv
from asd.features import logmel
from asd.heldout import MODELS, SEVERITY_DB, fault_of, render
from asd.heldout.__main__ import main
from asd.heldout.calibrate import clip_stats, reference_scores, score_root
from asd.heldout.faults import DESCRIPTION, NOMINAL_DB
from asd.heldout.write import Counts, plan
from asd.machines import ALL_MACHINES

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 1.5
ARGS = ["--train", "6", "--target-train", "2", "--test", "3", "--supplemental", "10",
        "--seconds", str(SECONDS), "--seed", "3"]


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("heldout") / "d"
    assert main(["--out", str(out), *ARGS, "--jobs", "2"]) == 0
    return out


def test_family_is_new_and_varied():
    assert len(MODELS) >= 5
    dcase = {m.lower() for m in ALL_MACHINES}
    assert not {m.lower() for m in MODELS} & dcase
    kinds = [k for m in MODELS.values() for k in m.kinds]
    assert all(2 <= len(m.kinds) <= 3 for m in MODELS.values())
    assert len(kinds) == len(set(kinds)), "fault kinds are specific to their machine"
    assert set(kinds) == set(NOMINAL_DB) == set(DESCRIPTION)
    assert any(m.hidden for m in MODELS.values()) and not all(m.hidden for m in MODELS.values())
    assert {m.supplemental for m in MODELS.values()} == {"clean", "noise"}


def test_tree_reads_back_with_counts_and_ground_truth(data):
    for m, model in MODELS.items():
        assert not (data / "dev_data").exists()
        train = list_clips(data, m, "train")
        assert Counter(c.domain for c in train) == {"source": 6, "target": 2}
        assert all(c.label == "normal" for c in train)
        test = list_clips(data, m, "test")
        names = [c.name for c in test]
        assert names == [f"section_00_{i:04d}.wav" for i in range(1, 13)]  # official: 0001 first
        gt_attrs = data / f"eval_data/ground_truth_attributes/ground_truth_{m}_section_00_test.csv"
        rows = list(csv.reader(gt_attrs.open()))
        assert [r[0] for r in rows] == names
        assert all(len(r) == 2 or (len(r) == 3 and model.hidden) for r in rows)
        truth = {c.name: c for c in plan(model, Counts(6, 2, 3, 10), 3) if c.split == "test"}
        for name, labelled, *_ in rows:      # the labelled name carries the same number
            c = truth[name]
            assert labelled.startswith(f"section_00_{c.domain}_test_{c.label}_{name[11:15]}_")
        assert Counter((c.domain, c.label) for c in test) == \
            {(d, l): 3 for d in ("source", "target") for l in ("normal", "anomaly")}
        # shuffled, and the joined ground truth is what the plan wrote
        truth = {c.name: c for c in plan(model, Counts(6, 2, 3, 10), 3) if c.split == "test"}
        for c in test:
            assert (c.domain, c.label) == (truth[c.name].domain, truth[c.name].label)
            assert c.attributes == ({} if model.hidden else dict(truth[c.name].attrs))
        supp = list_clips(data, m, "supplemental")
        assert Counter(c.domain for c in supp) == {"source": 9, "target": 1}
        assert {c.kind for c in supp} == {model.supplemental}
        for c in train + test + supp:
            y = load_wav(c.path)
            assert y.dtype == np.float32 and len(y) == int(SECONDS * 16000)
            info = sf.info(str(c.path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert 1e-4 < np.sqrt(np.mean(y ** 2)) < 0.2 and np.max(np.abs(y)) < 0.99
        attrs = read_attributes_csv(data / "eval_data/raw" / m)
        assert len(attrs) == 8 + 12 + 10
        for c in train:
            assert c.name.endswith("_noAttribute.wav") == model.hidden


def test_domains_differ_in_condition(data):
    for m, model in MODELS.items():
        clips = plan(model, Counts(30, 10, 3, 0), 0)
        src = {tuple(sorted(c.params.items())) for c in clips if c.domain == "source"}
        tgt = {tuple(sorted(c.params.items())) for c in clips if c.domain == "target"}
        assert src.isdisjoint(tgt) or model.ambience["source"] != model.ambience["target"], m


def test_deterministic_and_independent_of_jobs(data, tmp_path):
    again = tmp_path / "again"
    assert main(["--out", str(again), *ARGS, "--jobs", "1"]) == 0
    assert _digest(again) == _digest(data)
    other = tmp_path / "other"
    assert main(["--out", str(other), *ARGS[:-1], "4", "--jobs", "2",
                 "--machines", "Kettle,printer"]) == 0
    a, b = _digest(data), _digest(other)
    wavs = [k for k in b if k.endswith(".wav") and "/train/" in k]
    assert wavs and all(a[k] != b[k] for k in wavs)


def _stats(y_int16) -> np.ndarray:
    s = clip_stats(logmel(y_int16.astype(np.float32) / 32768.0))
    s[:128] -= np.median(s[:128])          # the recording gain removed
    return s


@pytest.mark.parametrize("machine", sorted(MODELS))
def test_every_fault_kind_is_measurable(machine):
    """Distance = mean of the 8 largest |differences| of the reference detector's 256 clip
    statistics, each divided by its spread over 8 normal clips of one condition. The same clip
    with its fault at severity +10 dB and at about -70 dB (identical machine, background and
    gain: only the fault differs) is farther apart than two normal clips are (1.5 x the median pair); at the
    calibrated severity the fault still moves the clip."""
    model = MODELS[machine]
    n = 4 * 16000
    clips = plan(model, Counts(1, 1, 40, 0), 11)
    anomalies = [c for c in clips if c.label == "anomaly" and c.domain == "source"][:3]
    normals = [c for c in clips if c.split == "test" and c.label == "normal"
               and c.domain == "source" and c.params == anomalies[0].params][:8]
    if len(normals) < 5:
        normals = [c for c in clips if c.split == "test" and c.label == "normal"
                   and c.domain == "source"][:8]
    x = np.array([_stats(render(c, 11, n)) for c in normals])
    sd = np.maximum(x.std(axis=0, ddof=1), 0.1)

    def distance(a, b):
        return float(np.sort(np.abs(a - b) / sd)[-8:].mean())

    normal_gap = np.median([distance(x[i], x[j]) for i in range(len(x)) for j in range(i)])
    for kind in model.kinds:
        strong, default = [], []
        for a in anomalies:
            twin = _stats(render(a, 11, n, offset_db=-70, kind=kind))
            strong.append(distance(_stats(render(a, 11, n, offset_db=10 - SEVERITY_DB[machine],
                                                 kind=kind)), twin))
            default.append(distance(_stats(render(a, 11, n, kind=kind)), twin))
        print(f"{machine} {kind}: +10 dB {np.mean(strong):.2f}, calibrated "
              f"{np.mean(default):.2f}, normal pairs {normal_gap:.2f}")
        assert np.mean(strong) > 1.5 * normal_gap, (kind, strong, normal_gap)
        assert np.mean(default) > 0.25 * normal_gap, (kind, default, normal_gap)


def test_normals_do_not_depend_on_severity():
    model = MODELS["Compressor"]
    clips = plan(model, Counts(1, 1, 2, 0), 0)
    normal = next(c for c in clips if c.label == "normal" and c.split == "test")
    assert np.array_equal(render(normal, 0, 16000), render(normal, 0, 16000, offset_db=6))
    anomaly = next(c for c in clips if c.label == "anomaly")
    assert fault_of(anomaly, 0) in model.kinds and fault_of(normal, 0) is None
    assert not np.array_equal(render(anomaly, 0, 16000), render(anomaly, 0, 16000, offset_db=6))


def test_no_asd_synth_modules_imported():
    code = ("import sys, asd.heldout, asd.heldout.__main__, asd.heldout.calibrate; "
            "print(sorted(m for m in sys.modules if m.startswith('asd.synth')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    for p in (ROOT / "asd/heldout").glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+asd\.synth", p.read_text(), re.M), p


def test_reference_detector_and_calibrate_on_a_tree(data):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(60, 256))
    test = np.vstack([rng.normal(size=(5, 256)), rng.normal(size=(5, 256)) + 3.0])
    s = reference_scores(train, test)
    assert s[5:].min() > s[:5].max()
    m = score_root(data, "Printer")
    assert 0.0 <= m["auc_source"] <= 1.0 and set(MODELS["Printer"].kinds) >= \
        {k for k in m if k not in ("auc_source", "auc_target", "pauc")}


def test_bad_arguments(tmp_path):
    with pytest.raises(UsageError, match="unknown held-out machine"):
        main(["--out", str(tmp_path / "x"), "--machines", "fan"])
    with pytest.raises(UsageError, match="positive"):
        main(["--out", str(tmp_path / "x"), "--test", "0"])
    foreign = tmp_path / "foreign"
    (foreign / "eval_data/raw/Kettle").mkdir(parents=True)
    with pytest.raises(UsageError, match="not written by asd.heldout"):
        main(["--out", str(foreign), "--machines", "Kettle", *ARGS])
