"""Helpers shared by test folders (import as `from tests.support import ...`)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "fan"  # the machine type of the shared tiny set (tests/conftest.py)
MLPERF = ROOT / "third_party/mlperf-tiny"  # ad01_int8, kws_ref_model, pretrainedResnet_quant


def run_py(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python ARGS...` from the repository root, capturing its output."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
