"""Shared by export and bench tests: a tiny synthetic set, one trained run per model and the
exports of ae and cls (session-wide and built on first use:
export takes ~20 s a model, so every test shares them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import MACHINE, run_py


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export-data") / "data"
    r = run_py("-m", "asd.synth", "--out", str(root), "--machines", MACHINE, "--train", "16",
               "--target-train", "3", "--test", "5", "--supplemental", "4", "--seconds", "2",
               "--seed", "3")
    assert r.returncode == 0, r.stderr
    return root


def _train(data_root: Path, model: str, out: Path) -> Path:
    r = run_py("-m", "train", "--data-root", str(data_root), "--machine", MACHINE,
               "--model", model, "--epochs", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def runs(data_root, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("export-runs")
    return {m: _train(data_root, m, base / m) for m in ("ae", "cls", "ae-maha")}


@pytest.fixture(scope="session")
def exports(data_root, runs, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    from export.pipeline import ExportOptions, run_export
    base = tmp_path_factory.mktemp("export-models")
    out = {}
    for model in ("ae", "cls"):
        opts = ExportOptions(runs[model], MACHINE, data_root, base / model, calibration=100,
                             cache_dir=None, progress=False)
        out[model] = (base / model, run_export(opts))
    return out


@pytest.fixture(scope="session")
def stats_run(data_root, tmp_path_factory) -> Path:
    """A tiny stats run (no epochs: nothing is trained by gradient descent)."""
    out = tmp_path_factory.mktemp("export-runs-stats") / "stats"
    r = run_py("-m", "train", "--data-root", str(data_root), "--machine", MACHINE,
               "--model", "stats", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def stats_export(data_root, stats_run, tmp_path_factory) -> tuple[Path, dict]:
    """The stats run exported (model directory, report), built on first use (~10 s)."""
    from export.pipeline import ExportOptions, run_export
    out = tmp_path_factory.mktemp("export-models-stats") / "stats"
    opts = ExportOptions(stats_run, MACHINE, data_root, out, calibration=100, cache_dir=None,
                         progress=False)
    return out, run_export(opts)
