"""The cycle estimate end to end: a hand-written Cortex-M4 program in QEMU (the project's own
command line, host/qemu.py), its log read through the FIFO (host/cycle_trace.py), and the
total against the count worked out by hand from the TRM's timings (P = 1 for a branch by
immediate, 3 after a load into the PC, 12 for UDIV; see host/cycle_model.py)."""
import subprocess

from host.cycle_trace import traced
from host.qemu import qemu_cmd
from tests.boards.conftest import require_tool

PROGRAM = """
    .syntax unified
    .cpu cortex-m4
    .thumb
    .text
    .word 0x20001000          @ initial SP
    .word reset               @ reset vector (Thumb bit set by the linker)
    .global reset
    .thumb_func
reset:
    mov.w r2, #0x20000000     @ 1
    movs r0, #10              @ 1
loop:
    ldr r3, [r2]              @ 2
    ldr r4, [r2, #4]          @ 1: pipelined after the first load
    smlad r5, r3, r4, r5      @ 1
    subs r0, #1               @ 1
    bne loop                  @ 1 + P = 2 taken, 1 the last time
    bl kernel                 @ 1 + P = 2
    movs r0, #0x18            @ 1: semihosting SYS_EXIT
    ldr r1, =0x20026          @ 2 (ADP_Stopped_ApplicationExit)
    bkpt 0xab                 @ 1
    .thumb_func
kernel:
    push {r4, lr}             @ 1 + 2
    udiv r0, r5, r3           @ 12
    pop {r4, pc}              @ 1 + 2 + 3
    .ltorg
"""
# Blocks as QEMU translates them (a block ends at a branch): reset..bne once (1+1+2+1+1+1+2 =
# 9), loop..bne 9 times (8 x 7 + 6 = 62), bl (2), kernel (3 + 12 + 6 = 21), the exit (4).
HAND_CYCLES, HAND_INSTRUCTIONS = 9 + 62 + 2 + 21 + 4, 7 + 9 * 5 + 1 + 3 + 3
KERNEL_CYCLES = 21


def build(tmp_path):
    src, elf = tmp_path / "loop.S", tmp_path / "loop.elf"
    src.write_text(PROGRAM)
    subprocess.run([require_tool("arm-none-eabi-gcc"), "-mcpu=cortex-m4", "-mthumb", "-nostdlib",
                    "-Wl,-Ttext=0x08000000", "-Wl,-ereset", str(src), "-o", str(elf)], check=True)
    return elf


def kernel_address(elf) -> int:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return next(int(a, 16) & ~1 for a, _, n in (line.split() for line in out.splitlines())
                if n == "kernel")


def test_a_hand_counted_program_under_qemu(tmp_path):
    require_tool("qemu-system-arm")
    elf = build(tmp_path)
    with traced({kernel_address(elf): "kernel"}) as (args, agg):
        r = subprocess.run(qemu_cmd(elf, *args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    phases = agg.phases
    assert sum(p.instructions for p in phases.values()) == HAND_INSTRUCTIONS
    assert sum(p.cycles for p in phases.values()) == HAND_CYCLES
    assert (phases["kernel"].cycles, phases["kernel"].entries) == (KERNEL_CYCLES, 1)
