"""`make flash`: the tool choice and its command line, with fake st-flash/openocd/pyocd on PATH
(no board needed), and the messages when no tool or a wrong board is given."""
import os
import subprocess

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "firmware/boards/flash.sh"


@pytest.fixture
def fw(tmp_path):
    d = tmp_path / "fw"
    d.mkdir()
    (d / "firmware.elf").write_bytes(b"\x7fELF")
    (d / "firmware.bin").write_bytes(b"\0" * 16)
    return d


def _path_with(tmp_path, *tools):
    """A PATH holding only `cat` and fake tools that log their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    cat = bin_dir / "cat"
    if not cat.exists():
        cat.symlink_to("/bin/cat")
    for t in tools:
        p = bin_dir / t
        p.write_text(f'#!/bin/sh\necho "{t} $*" > "{tmp_path}/called"\n')
        p.chmod(0o755)
    return str(bin_dir)


def _flash(tmp_path, board, fw, *tools, choose=""):
    env = dict(os.environ, PATH=_path_with(tmp_path, *tools))
    r = subprocess.run(["/bin/sh", str(SCRIPT), board, str(fw), *([choose] if choose else [])],
                       capture_output=True, text=True, env=env)
    called = tmp_path / "called"
    return r, called.read_text().strip() if called.exists() else None


def test_no_tool_says_how_to_install_each(tmp_path, fw):
    r, called = _flash(tmp_path, "nucleo-f446re", fw)
    assert r.returncode == 1 and called is None
    for hint in ("apt-get install stlink-tools", "apt-get install openocd", "pip install pyocd",
                 "pyocd pack install stm32f446re"):
        assert hint in r.stderr, r.stderr


def test_st_flash_is_preferred_and_writes_the_bin(tmp_path, fw):
    r, called = _flash(tmp_path, "nucleo-f446re", fw, "st-flash", "openocd", "pyocd")
    assert r.returncode == 0, r.stderr
    assert called == f"st-flash --reset write {fw}/firmware.bin 0x08000000"


@pytest.mark.parametrize("board, cfg", [
    ("nucleo-f446re", "-f board/st_nucleo_f4.cfg"),
    ("nucleo-l4r5zi", "-f interface/stlink.cfg -f target/stm32l4x.cfg -c reset_config srst_only"),
])
def test_openocd_uses_the_board_config(tmp_path, fw, board, cfg):
    r, called = _flash(tmp_path, board, fw, "openocd", "pyocd")
    assert r.returncode == 0, r.stderr
    assert called.startswith(f"openocd {cfg}") and \
        called.endswith(f"-c program {fw}/firmware.elf verify reset exit"), called


def test_flash_tool_picks_pyocd(tmp_path, fw):
    r, called = _flash(tmp_path, "nucleo-l4r5zi", fw, "st-flash", "pyocd", choose="pyocd")
    assert r.returncode == 0, r.stderr
    assert called == f"pyocd flash --target stm32l4r5zitx {fw}/firmware.elf"


def test_missing_image_and_wrong_board(tmp_path, fw):
    r, _ = _flash(tmp_path, "nucleo-f446re", tmp_path / "nowhere", "st-flash")
    assert r.returncode == 1 and "build first" in r.stderr
    r = subprocess.run(["make", "-s", "-f", "firmware/boards/flash.mk", "flash", "BOARD=qemu",
                        "MACHINE=x", "FLASH_DEPS="], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and "BOARD=nucleo-f446re or BOARD=nucleo-l4r5zi" in r.stderr


def test_setup_installs_the_flashing_tools():
    """`make setup` (its `debs` step) installs Debian's openocd and stlink-tools with the rest."""
    r = subprocess.run(["make", "-n", "-s", "debs"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    packages = r.stdout.split("for p in", 1)[1].split(";", 1)[0].split()
    assert {"openocd", "stlink-tools"} <= set(packages)
