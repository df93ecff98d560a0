"""train.fleet on local Ray: the same runs as `python -m train`, a failing machine reported while
the others complete, a killed worker retried. One Ray session (2 CPUs) is shared by the module."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asd.metrics import decision_csv_name, score_csv_name
from train import fleet

from .conftest import run_cli

pytest.importorskip("ray")

# tiny_root has fan (dev) and Polisher (eval); copies under other names make four machines
MACHINES = {"fan": "dev", "fanB": "dev", "Polisher": "eval", "PolisherB": "eval"}


@pytest.fixture(scope="module")
def root(tiny_root, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fleet") / "data"
    shutil.copytree(tiny_root, root)
    for copy, orig in (("fanB", "fan"), ("PolisherB", "Polisher")):
        part = f"{MACHINES[orig]}_data/raw"
        shutil.copytree(root / part / orig, root / part / copy)
    return root


@pytest.fixture(scope="module")
def ray_session():
    import ray
    fleet.connect(None, 2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(root, cache_dir, tmp_path_factory) -> Path:
    """`python -m train` runs: stats on the four machines, cls (1 epoch) on two."""
    out = tmp_path_factory.mktemp("reference")
    jobs = [(m, "stats") for m in MACHINES] + [("fan", "cls"), ("PolisherB", "cls")]
    for machine, model in jobs:
        extra = ("--epochs", "1") if model == "cls" else ()
        r = run_cli("-m", "train", "--data-root", str(root), "--machine", machine, "--model",
                    model, *extra, "--out", str(out / machine / model), "--cache-dir",
                    str(cache_dir), "--no-progress")
        assert r.returncode == 0, r.stderr
    return out


def csvs(runs: Path, machine: str, model: str) -> tuple[bytes, bytes]:
    d = runs / machine / model
    return ((d / score_csv_name(machine)).read_bytes(),
            (d / decision_csv_name(machine)).read_bytes())


def fleet_main(capsys, *args) -> tuple[int, str, str]:
    code = fleet.main([*args, "--no-progress"])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_same(runs: Path, reference: Path, jobs) -> None:
    for machine, model in jobs:
        assert csvs(runs, machine, model) == csvs(reference, machine, model), (machine, model)


def test_fleet_equals_python_m_train(root, cache_dir, reference, ray_session, tmp_path, capsys):
    code, out, err = fleet_main(capsys, "--data-root", str(root), "--machines", "all",
                                "--models", "stats,cls", "--epochs", "1",
                                "--out", str(tmp_path), "--cache-dir", str(cache_dir))
    assert code == 0, err
    assert "8 of 8 tasks done" in err
    assert_same(tmp_path, reference, [(m, "stats") for m in MACHINES]
                + [("fan", "cls"), ("PolisherB", "cls")])
    assert "| fanB |" in out and "| stats |" in out and "| cls |" in out   # the result table
    # a second fleet reuses every finished run and scores the same
    code, _, err = fleet_main(capsys, "--data-root", str(root), "--machines", "fan,Polisher",
                              "--out", str(tmp_path), "--cache-dir", str(cache_dir))
    assert code == 0, err
    assert_same(tmp_path, reference, [("fan", "stats"), ("Polisher", "stats")])


def test_failing_machine_reported_others_complete(root, cache_dir, reference, ray_session,
                                                  tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(root, data)
    for wav in (data / "dev_data/raw/fanB/train").glob("*.wav"):
        wav.unlink()
    code, out, err = fleet_main(capsys, "--data-root", str(data), "--machines",
                                "fan,fanB,Polisher", "--out", str(tmp_path / "runs"),
                                "--cache-dir", str(cache_dir))
    assert code == 1
    assert "2 of 3 tasks done" in err
    failed = [ln for ln in err.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 1 and "fanB stats seed 0" in failed[0]
    assert "no training clips" in failed[0]
    assert "Traceback" not in err                       # a user error: its message only
    assert_same(tmp_path / "runs", reference, [("fan", "stats"), ("Polisher", "stats")])
    assert "| fan |" in out and "| Polisher |" in out


def test_killed_worker_is_retried(root, cache_dir, reference, ray_session, tmp_path, capsys,
                                  monkeypatch):
    markers = tmp_path / "markers"
    monkeypatch.setenv(fleet.CRASH_ONCE_ENV, str(markers))
    code, _, err = fleet_main(capsys, "--data-root", str(root), "--machines", "fan,PolisherB",
                              "--models", "stats,cls", "--epochs", "1",
                              "--out", str(tmp_path / "runs"), "--cache-dir", str(cache_dir))
    assert code == 0, err
    assert len(list(markers.iterdir())) == 4            # every task's first worker died
    assert_same(tmp_path / "runs", reference, [("fan", "stats"), ("PolisherB", "stats"),
                                               ("fan", "cls"), ("PolisherB", "cls")])


def test_usage_error_is_one_line(root):
    r = run_cli("-m", "train.fleet", "--data-root", str(root), "--models", "stats,bogus",
                "--out", "/nonexistent")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert "bogus" in r.stderr and "Traceback" not in r.stderr
