"""The Cortex-M support code on target (QEMU): start-up, FPU, cycle counter, ring buffer, stack
painting, model load, semihosting exit codes, and the fault report line."""
import re
import subprocess

import pytest

from .conftest import MACHINE, make_firmware, require_tool


@pytest.fixture(scope="module")
def selftest_elf(model_dir, build_dir):
    make_firmware("qemu", model_dir, build_dir, "SELFTEST=1")
    return build_dir / "qemu-selftest" / MACHINE / "firmware.elf"


def _run(elf, *extra, serial="null"):
    cmd = [require_tool("qemu-system-arm"), "-M", "netduinoplus2", "-display", "none",
           "-monitor", "none", "-serial", serial, "-icount", "shift=0",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf), *extra]
    # Semihosting output goes to QEMU's stderr, the UART (-serial stdio) to its stdout.
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace")


def test_selftest_passes_and_exits_zero(selftest_elf):
    rc, out = _run(selftest_elf)
    lines = [l for l in out.splitlines() if l.startswith(("ok", "FAIL"))]
    assert rc == 0 and len(lines) >= 9 and all(l.startswith("ok") for l in lines), out
    assert "200008 ticks for 200000 loop instructions" in out   # TIM2 counts instructions


FAULT = re.compile(r"FAULT (\w+) exc=(\d+) pc=([0-9a-f]{8}) lr=[0-9a-f]{8} psr=[0-9a-f]{8} "
                   r"sp=([0-9a-f]{8}) r0=[0-9a-f]{8} r1=[0-9a-f]{8} r2=[0-9a-f]{8} "
                   r"r3=[0-9a-f]{8} r12=[0-9a-f]{8} cfsr=([0-9a-f]{8}) hfsr=[0-9a-f]{8} "
                   r"mmfar=[0-9a-f]{8} bfar=[0-9a-f]{8} exc_return=[0-9a-f]{8}\r\n")


def test_fault_is_reported_on_the_uart_and_exits_70(selftest_elf):
    rc, out = _run(selftest_elf, "-append", "fault", serial="stdio")
    assert rc == 70, out
    m = FAULT.search(out)
    assert m, out
    kind, exc, pc, sp, cfsr = m.groups()
    assert (kind, exc) == ("UsageFault", "6")
    assert int(cfsr, 16) & (1 << 16)                 # UFSR.UNDEFINSTR
    assert 0x08000000 <= int(pc, 16) < 0x08100000    # in flash
    assert 0x20000000 <= int(sp, 16) < 0x20030000    # in SRAM
    assert "\x00\r\nFAULT" in out                    # a frame delimiter before the text
