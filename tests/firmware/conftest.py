"""Fixtures for the firmware tests: the x86 tools are built by the tests themselves."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"


def _build_run_model(sanitize: bool) -> Path:
    args = ["make", "-s", "-C", str(FIRMWARE), "tools"] + (["SANITIZE=1"] if sanitize else [])
    subprocess.run(args, check=True)
    exe = FIRMWARE / "build" / ("tools-san" if sanitize else "tools") / "run-model"
    assert exe.exists(), exe
    return exe


@dataclass
class RunResult:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def arena(self) -> int | None:
        for line in self.stderr.splitlines():
            if line.startswith("arena_bytes "):
                return int(line.split()[1])
        return None

    def outputs(self, dtype, count: int) -> np.ndarray:
        return np.frombuffer(self.stdout, dtype=dtype).reshape(count, -1)


class RunModel:
    """Calls run-model: MODEL path, raw input bytes (N inputs back to back) -> RunResult."""

    def __init__(self, exe: Path):
        self.exe = exe

    def __call__(self, model: Path | str, data: bytes = b"", count: int = 1, timeout: float = 120) -> RunResult:
        r = subprocess.run([str(self.exe), "--count", str(count), str(model)], input=data,
                           capture_output=True, timeout=timeout)
        return RunResult(r.returncode, r.stdout, r.stderr.decode(errors="replace"))


@pytest.fixture(scope="session")
def run_model() -> RunModel:
    """run-model from the plain -O2 build (make -C firmware tools)."""
    return RunModel(_build_run_model(sanitize=False))


@pytest.fixture(scope="session")
def run_model_san() -> RunModel:
    """run-model built with ASan + UBSan (make -C firmware tools SANITIZE=1)."""
    return RunModel(_build_run_model(sanitize=True))


def compare_outputs(got: np.ndarray, want: np.ndarray, label: str, limit: int = 20) -> None:
    """Assert byte-equal outputs (one row per input); print each mismatch (up to `limit`)."""
    assert got.shape == want.shape, f"{label}: output shape {got.shape}, TFLite Micro {want.shape}"
    g, w = got.reshape(got.shape[0], -1), want.reshape(want.shape[0], -1)
    gb, wb = (g.view(np.uint32), w.view(np.uint32)) if g.dtype.kind == "f" else (g, w)
    bad = np.argwhere(gb != wb)
    for run, idx in bad[:limit]:
        print(f"{label}: input {run} element {idx}: runtime {g[run, idx]} != TFLM {w[run, idx]}")
    assert not len(bad), f"{label}: {len(bad)} of {g.size} output elements differ from TFLite Micro"


@pytest.fixture(scope="session")
def compare():
    """compare_outputs(got, want, label): byte-equality with a printed list of mismatches."""
    return compare_outputs


def load_op_models():
    """tests/firmware/op_models.py, loaded by path (tests/ is not a package)."""
    import importlib.util
    import sys

    name = "_fs_runtime_op_models"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("op_models.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="session")
def op_models():
    return load_op_models()
