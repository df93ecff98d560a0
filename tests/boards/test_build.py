"""Board builds: both Nucleo boards (and qemu) link with the ad01 model and fit, with a correct
vector table, a size report, and a clear failure when an image does not fit the board."""
import re
import shutil
import struct

import pytest
from elftools.elf.elffile import ELFFile

from .conftest import MACHINE, make_firmware

# board: (flash bytes, RAM origin, RAM bytes, number of IRQs, UART IRQ, UART handler)
BOARDS = {
    "nucleo-f446re": (512 << 10, 0x20000000, 128 << 10, 97, 38),   # USART2
    "nucleo-l4r5zi": (2048 << 10, 0x20000000, 640 << 10, 95, 70),  # LPUART1
    "qemu": (1024 << 10, 0x20000000, 192 << 10, 82, 37),           # USART1
}


@pytest.fixture(scope="module", params=["nucleo-f446re", "nucleo-l4r5zi"])
def built(request, model_dir, build_dir):
    board = request.param
    r = make_firmware(board, model_dir, build_dir)
    return board, build_dir / board / MACHINE, r.stdout


def test_outputs_and_size_report(built):
    board, out, report = built
    flash_size, _, ram_size, _, _ = BOARDS[board]
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.map"):
        assert (out / name).stat().st_size > 0, name
    flash = re.search(r"FLASH +(\d+) / +(\d+) bytes", report)
    ram = re.search(r"RAM +(\d+) / +(\d+) bytes", report)
    assert flash and ram, report
    assert int(flash.group(2)) == flash_size and int(ram.group(2)) == ram_size
    used_flash, used_ram = int(flash.group(1)), int(ram.group(1))
    assert (out / "firmware.bin").stat().st_size <= used_flash < flash_size
    assert 270_000 < used_flash            # the ad01 model alone is 276,976 bytes
    assert used_ram < ram_size
    print(f"{board}: flash {used_flash} / {flash_size}, RAM {used_ram} / {ram_size}")


def test_vector_table(built):
    board, out, _ = built
    _, ram_origin, ram_size, n_irq, uart_irq = BOARDS[board]
    with open(out / "firmware.elf", "rb") as f:
        elf = ELFFile(f)
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
        sec = elf.get_section_by_name(".isr_vector")
        assert sec["sh_addr"] == 0x08000000
        words = struct.unpack(f"<{sec.data_size // 4}I", sec.data())
        assert elf.header["e_entry"] == syms["cm_reset_handler"] | 1
    assert len(words) == 16 + n_irq
    sp, reset = words[0], words[1]
    assert sp == syms["__stack_top"] and ram_origin < sp <= ram_origin + ram_size and sp % 8 == 0
    assert syms["__stack_bottom"] == ram_origin    # the stack first: an overflow faults
    assert reset == syms["cm_reset_handler"] | 1   # Thumb bit set
    assert words[16 + uart_irq] == syms["board_uart_irq"] | 1
    fault = syms["cm_fault_entry"] | 1
    others = [w for i, w in enumerate(words) if i >= 2 and i != 16 + uart_irq]
    assert all(w == fault for w in others)         # every other exception gets the report
    for name in ("cm_stack_high_water", "board_init", "main"):
        assert name in syms, name


def test_image_that_does_not_fit_fails_clearly(model_dir, build_dir, tmp_path):
    """A fake 600 KiB model and a 200 KB arena: too big for the F446RE's 512 KiB / 128 KiB."""
    big = tmp_path / "big"
    shutil.copytree(model_dir, big)
    h = big / "model_data.h"
    h.write_text(re.sub(r"#define FS_MODEL_DATA_LEN \d+u?", "#define FS_MODEL_DATA_LEN 614400u",
                        h.read_text()))
    c = big / "model_config.h"
    c.write_text(re.sub(r"#define FS_MODEL_ARENA_BYTES \d+u", "#define FS_MODEL_ARENA_BYTES 200000u",
                        c.read_text()))
    r = make_firmware("nucleo-f446re", big, build_dir, check=False, machine="test-too-big")
    assert r.returncode != 0
    err = r.stderr
    assert "does not fit nucleo-f446re" in err, err
    assert re.search(r"FLASH by \d+ bytes", err) and re.search(r"RAM by \d+ bytes", err), err
    assert not (build_dir / "nucleo-f446re" / "test-too-big" / "firmware.elf").exists()
