"""train.evaluator: runs laid out as the official DCASE evaluator (nttcslab's
dcase2024_task2_evaluator) reads them: teams/<team>/<system>/ and the three ground-truth folders
at the root, for an evaluation type (copied from asd.synth) and a development type (from names)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from asd.cli import UsageError
from asd.dataset import list_clips
from asd.metrics import write_decisions, write_scores
from asd.synth.__main__ import main as synth
from train.evaluator import layout, main


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evaluator") / "data"
    assert synth(["--out", str(root), "--machines", "Polisher,fan", "--train", "4",
                  "--target-train", "2", "--test", "3", "--supplemental", "2", "--seconds", "1",
                  "--seed", "2"]) == 0
    return root


def _run(tmp: Path, data: Path, machine: str) -> Path:
    """A run directory as `python -m train` leaves it (only what the layout reads)."""
    run = tmp / "runs" / machine
    run.mkdir(parents=True)
    files = [c.name for c in list_clips(data, machine, "test")]
    write_scores(run, machine, files, [0.5 + i for i in range(len(files))])
    write_decisions(run, machine, files, [i % 2 == 1 for i in range(len(files))])
    (run / "run.json").write_text(json.dumps({"data_root": str(data)}))
    return run


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_layout_tree_and_contents(data, tmp_path):
    runs = [_run(tmp_path, data, m) for m in ("Polisher", "fan")]
    out = tmp_path / "ev"
    assert main(["--evaluator-dir", str(out), "--team", "T", "--system", "S",
                 str(tmp_path / "runs")]) == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        [f"teams/T/S/{k}_{m}_section_00_test.csv" for k in ("anomaly_score", "decision_result")
         for m in ("Polisher", "fan")] +
        [f"{k}/ground_truth_{m}_section_00_test.csv" for m in ("Polisher", "fan")
         for k in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes")])
    for run in runs:                 # the system's CSVs are the run's, byte for byte
        for f in run.glob("*_section_00_test.csv"):
            assert (out / "teams/T/S" / f.name).read_bytes() == f.read_bytes()
    # evaluation type: the generator's three ground-truth CSVs, as written
    name = "ground_truth_Polisher_section_00_test.csv"
    for kind in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes"):
        assert (out / kind / name).read_bytes() == (data / "eval_data" / kind / name).read_bytes()
    attrs = _rows(out / "ground_truth_attributes" / name)
    assert attrs[0][0] == "section_00_0001.wav" and len(attrs) == 12
    # development type: from the labelled names; attributes map each name to itself
    name = "ground_truth_fan_section_00_test.csv"
    clips = sorted(list_clips(data, "fan", "test"), key=lambda c: c.name)
    assert _rows(out / "ground_truth_data" / name) == \
        [[c.name, str(int(c.label == "anomaly"))] for c in clips]
    assert _rows(out / "ground_truth_domain" / name) == \
        [[c.name, str(int(c.domain == "target"))] for c in clips]
    assert _rows(out / "ground_truth_attributes" / name) == [[c.name, c.name[:-4]] for c in clips]


def test_layout_refuses_what_the_evaluator_would_misread(data, tmp_path):
    run = _run(tmp_path, data, "fan")
    (run / "decision_result_fan_section_00_test.csv").unlink()
    with pytest.raises(UsageError, match="decisions"):
        layout(tmp_path / "ev", "T", "S", [run])
    run2 = _run(tmp_path / "b", data, "Polisher")
    with open(run2 / "anomaly_score_Polisher_section_00_test.csv", "a") as f:
        f.write("section_00_9999.wav,1.0\n")
    with open(run2 / "decision_result_Polisher_section_00_test.csv", "a") as f:
        f.write("section_00_9999.wav,1\n")
    with pytest.raises(UsageError, match="not in Polisher's ground truth"):
        layout(tmp_path / "ev2", "T", "S", [run2])
    with pytest.raises(UsageError, match="plain folder name"):
        layout(tmp_path / "ev3", "../x", "S", [run2])
