"""A tiny synthetic data root shared by the training tests (seconds to make, seconds to train)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINES = ("fan", "Polisher")   # a dev type with attributes, an eval type without


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "data"
    r = run_cli("-m", "asd.synth", "--out", str(root), "--machines", ",".join(MACHINES),
                "--train", "16", "--target-train", "3", "--test", "4", "--supplemental", "2",
                "--seconds", "2", "--jobs", "1")
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("features")
