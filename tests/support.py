"""Helpers shared by test folders (import as `from tests.support import ...`)."""
from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "fan"  # the machine type of the shared tiny set (tests/conftest.py)
MLPERF = ROOT / "third_party/mlperf-tiny"  # ad01_int8, kws_ref_model, pretrainedResnet_quant
AD01 = MLPERF / "ad01_int8.tflite"


def ad01_config():
    """The device configuration the firmware tests run MLPerf Tiny's ad01 with: it takes the
    baseline's 5 x 128 log-mel vectors, so the whole device pipeline applies."""
    from export import carray
    return carray.DeviceConfig(machine="ad01", model_kind="ad01", score_kind="mse",
                               window_frames=5, window_hop=1, threshold=40.0, macs=264192)


def tone_clip(seconds: float, seed: int) -> np.ndarray:
    """int16 PCM test signal: a 330-Hz tone in noise (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return np.round(2500 * np.sin(2 * np.pi * 330 * t) + rng.normal(0, 900, t.size)).astype(np.int16)


def run_py(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python ARGS...` from the repository root, capturing its output."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@contextlib.contextmanager
def interruptible(*args: str):
    """`python ARGS...` from the repository root, output piped, with SIGINT's default disposition
    (a shell's background job inherits SIGINT ignored, and Python then keeps ignoring it: this
    gives it what a terminal would); killed if still running when the block ends."""
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def bench_emu(root: Path, model_dir: Path, out: Path, machine: str, *extra: str):
    """host/bench.py --port emu on `machine`'s test clips: (the run, its summary.json or None)."""
    r = run_py(str(ROOT / "host/bench.py"), "--port", "emu", "--machine", machine,
               "--data-root", str(root), "--model-dir", str(model_dir), "--out", str(out), *extra)
    summary = out / "summary.json"
    return r, json.loads(summary.read_text()) if r.returncode == 0 else None
