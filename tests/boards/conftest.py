"""Fixtures for the STM32 board tests: the ARM toolchain and QEMU are required (`make setup`
installs them); a missing tool fails the tests with the command that installs it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from export import carray
from host.qemu import QemuBoard
from tests.support import AD01, ad01_config

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
CFG = ad01_config()
MACHINE = "test-ad01"
TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
         "qemu-system-arm": "qemu-system-arm"}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run `make setup` as root, or "
                    f"`sudo apt-get install -y {TOOLS[name]}`", pytrace=False)
    return path


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    """Board builds of these tests go here, not under firmware/build."""
    return tmp_path_factory.mktemp("fw-build")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "ad01"
    carray.write(out, AD01.read_bytes(), CFG)
    return out


def make_firmware(board: str, model_dir: Path, build_dir: Path, *extra: str,
                  check: bool = True, machine: str = MACHINE) -> subprocess.CompletedProcess:
    """make -C firmware BOARD=.. MACHINE=.. MODEL_DIR=.. BUILD=..; output captured."""
    if board != "emu":
        require_tool("arm-none-eabi-gcc")
    jobs = str(min(2, os.cpu_count() or 1))
    args = ["make", "-s", "-j", jobs, "-C", str(FIRMWARE), f"BOARD={board}", f"MACHINE={machine}",
            f"MODEL_DIR={model_dir}", f"BUILD={build_dir}", *extra]
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode:
        pytest.fail(f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}", pytrace=False)
    return r


class Qemu(QemuBoard):
    """The app firmware in QEMU (host/qemu.py's launcher), after checking QEMU is installed."""

    def __init__(self, elf: Path, timeout: float = 10.0):
        require_tool("qemu-system-arm")
        super().__init__(elf, timeout)


def qemu_app(model_dir: Path, build_dir: Path, machine: str = MACHINE):
    """For a fixture (`yield from`): the app firmware built for QEMU with model_dir, a Device on
    its UART; at teardown QEMU must not have exited early."""
    from host.device import Device
    make_firmware("qemu", model_dir, build_dir, machine=machine)
    q = Qemu(build_dir / "qemu" / machine / "firmware.elf")
    yield Device(q.link, timeout=60)
    alive = q.proc.poll() is None
    out = q.close()
    assert alive, f"QEMU exited early:\n{out}"
