"""host/bench.py against the QEMU board (socket://), on the project's exported model: every
clip's result must be identical to the x86 emulator's and match the int8 reference."""
from __future__ import annotations

import csv
import json
import subprocess

import pytest

from host.qemu import free_port, qemu_cmd
from tests.support import MACHINE, ROOT, run_py

from .conftest import make_firmware, require_tool

BENCH = str(ROOT / "host/bench.py")


def _bench(port: str, exports, data_root, out, mode: str, *extra: str) -> dict:
    r = run_py(BENCH, "--port", port, "--machine", MACHINE, "--data-root", str(data_root),
               "--model-dir", str(exports["ae"][0]), "--mode", mode, "--limit", "4",
               "--timeout", "60", "--out", str(out), *extra)
    assert r.returncode == 0, r.stderr
    with open(out / "results.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("mode", ["features", "pcm"])
def test_bench_on_qemu_equals_emulator(exports, data_root, tmp_path, mode):
    require_tool("qemu-system-arm")
    build = tmp_path / "build"
    make_firmware("qemu", exports["ae"][0], build, machine=MACHINE)
    elf = build / "qemu" / MACHINE / "firmware.elf"
    port = free_port()
    qemu = subprocess.Popen(qemu_cmd(elf, serial=f"tcp:127.0.0.1:{port},server=on,wait=on"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        on_qemu = _bench(f"socket://127.0.0.1:{port}", exports, data_root, tmp_path / "qemu",
                         mode, "--elf", str(elf))
    finally:
        qemu.kill()
        qemu.wait()
    on_emu = _bench("emu", exports, data_root, tmp_path / "emu", mode)
    assert on_qemu.keys() == on_emu.keys() and len(on_qemu) == 4
    for name, q in on_qemu.items():
        e = on_emu[name]
        for col in ("device_score", "decision", "frames", "inferences", "int8_ref_score"):
            assert q[col] == e[col], (name, col, q[col], e[col])
        assert float(q["device_score"]) == pytest.approx(float(q["int8_ref_score"]),
                                                         rel=1e-6 if mode == "features" else 1e-3)
    summary = json.loads((tmp_path / "qemu" / "summary.json").read_text())
    assert summary["board"] == "qemu" and summary["cycles_per_inference"] > 0
    assert summary["flash_bytes"] > summary["model_bytes"]  # from the ELF, model included
