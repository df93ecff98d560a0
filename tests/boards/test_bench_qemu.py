"""host/bench.py --port qemu on the project's exported model: the bench builds the qemu board
image, starts QEMU itself and stops it (at the end and on Ctrl-C); every clip's result must be
identical to the x86 emulator's and match the int8 reference."""
from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import pytest

from tests.support import MACHINE, ROOT, interruptible, run_py

from .conftest import require_tool

BENCH = str(ROOT / "host/bench.py")
ELF = ROOT / "firmware/build/qemu" / MACHINE / "firmware.elf"


def qemu_pids(elf: Path = ELF) -> set[int]:
    """qemu-system-arm processes running this image (other people's QEMUs are not counted)."""
    pids = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-arm") and str(elf).encode() in argv:
            pids.add(int(d.name))
    return pids


def _args(port, exports, data_root, out, mode, limit):
    return [BENCH, "--port", port, "--machine", MACHINE, "--data-root", str(data_root),
            "--model-dir", str(exports["ae"][0]), "--mode", mode, "--limit", str(limit),
            "--timeout", "60", "--out", str(out)]


def _bench(port: str, exports, data_root, out, mode: str, limit: int = 4) -> dict:
    r = run_py(*_args(port, exports, data_root, out, mode, limit))
    assert r.returncode == 0, r.stderr
    with open(out / "results.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("mode", ["features", "pcm"])
def test_bench_on_qemu_equals_emulator(exports, data_root, tmp_path, mode):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    before = qemu_pids()
    on_qemu = _bench("qemu", exports, data_root, tmp_path / "qemu", mode)
    assert qemu_pids() - before == set(), "QEMU still running after the bench"
    on_emu = _bench("emu", exports, data_root, tmp_path / "emu", mode)
    assert on_qemu.keys() == on_emu.keys() and len(on_qemu) == 4
    for name, q in on_qemu.items():
        e = on_emu[name]
        for col in ("device_score", "decision", "frames", "inferences", "int8_ref_score"):
            assert q[col] == e[col], (name, col, q[col], e[col])
        assert float(q["device_score"]) == pytest.approx(float(q["int8_ref_score"]),
                                                         rel=1e-6 if mode == "features" else 1e-3)
    summary = json.loads((tmp_path / "qemu" / "summary.json").read_text())
    assert summary["board"] == "qemu" and summary["port"] == "qemu"
    assert summary["cycle_unit"] == "instructions" and summary["cycles_per_inference"] > 0
    assert summary["elf"] == str(ELF)
    assert summary["flash_bytes"] > summary["model_bytes"]  # from the ELF, model included
    report_md = (tmp_path / "qemu" / "report.md").read_text()
    assert "instructions executed" in report_md and "instructions/inference" in report_md


def test_bench_qemu_limit_2_and_report_folder(exports, data_root, tmp_path):
    """`--port qemu --limit 2` with nothing started by hand; the default report folder is
    reports/<machine>/qemu/ (checked by parsing, the run itself writes to --out)."""
    require_tool("qemu-system-arm")
    from host.bench import parse_args
    a = parse_args(["--port", "qemu", "--machine", MACHINE])
    assert a.out == ROOT / "reports" / MACHINE / "qemu"
    before = qemu_pids()
    rows = _bench("qemu", exports, data_root, tmp_path / "q2", "pcm", limit=2)
    assert len(rows) == 2
    assert qemu_pids() - before == set()


def test_bench_qemu_ctrl_c_stops_qemu(exports, data_root, tmp_path):
    """SIGINT (Ctrl-C) to the bench alone while QEMU runs: the bench stops QEMU and exits 130
    with a report of what it measured."""
    require_tool("qemu-system-arm")
    before = qemu_pids()
    out = tmp_path / "int"
    with interruptible(*_args("qemu", exports, data_root, out, "pcm", 10)) as p:
        deadline = time.monotonic() + 300
        while not (qemu_pids() - before) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert qemu_pids() - before, "QEMU never started"
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    time.sleep(0.2)
    assert qemu_pids() - before == set(), "QEMU left running after Ctrl-C"
