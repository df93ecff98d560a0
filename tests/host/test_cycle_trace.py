"""host/cycle_trace.py on hand-written QEMU logs (the format of qemu-system-arm 7.2's
-d in_asm,exec,nochain): executions times block cycles, branch outcomes from the next block,
phases by the shadow call stack, QEMU's rewound and stopped blocks, and bad input."""
import subprocess

import pytest

from host.cycle_model import CycleModelError
from host.cycle_trace import TraceAggregator, total, traced

# main: movs r0, #3 (1); bl #0x8000200 (1 + P = 2)        -> 3 cycles, a call
# loop at 0x200: ldr r3, [r2] (2); subs r0, #1 (1); bne (1 taken 2)   -> 5 taken, 4 through
# tail at 0x208: bx lr (1 + 2)                             -> 3
# after at 0x104: b #0x8000104 (2)                          -> the end
LOG = """----------------
IN: main
0x08000100:  2003       movs     r0, #3
0x08000102:  f000 f87d  bl       #0x8000200

Trace 0: 0x7f0000000100 [00800400/08000100/00000110/ff020200] main
----------------
IN: kernel
0x08000200:  6813       ldr      r3, [r2]
0x08000202:  3801       subs     r0, #1
0x08000204:  d1fc       bne      #0x8000200

Trace 0: 0x7f0000000200 [00800400/08000200/00000110/ff020200] kernel
Trace 0: 0x7f0000000200 [00800400/08000200/00000110/ff020200] kernel
Trace 0: 0x7f0000000200 [00800400/08000200/00000110/ff020200] kernel
----------------
IN: kernel
0x08000206:  4770       bx       lr

Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel
----------------
IN: main
0x08000106:  e7fe       b        #0x8000106

Trace 0: 0x7f0000000400 [00800400/08000106/00000110/ff020200] main
"""


def run(text: str, roots=None) -> dict:
    agg = TraceAggregator(roots=roots or {})
    for line in text.splitlines(keepends=True):
        agg.feed(line)
    return agg.finish()


def test_executions_times_block_cycles_with_branch_outcomes():
    p = run(LOG)[""]
    # 3 + (5 + 5 + 4) + 3 + 2 = 22 cycles; 2 + 3 x 3 + 1 + 1 = 13 instructions
    assert (p.instructions, p.cycles) == (13, 22)
    assert p.taken_branches == 2          # the bne twice (bl, bx, b always pay)


def test_a_root_opens_a_phase_until_its_return():
    phases = run(LOG, roots={0x08000200: "kernel"})
    assert (phases["kernel"].instructions, phases["kernel"].cycles) == (10, 17)
    assert phases["kernel"].entries == 1
    assert (phases[""].instructions, phases[""].cycles) == (3, 5)
    assert total(phases, "kernel").cycles == 17


def test_nested_roots_are_paths():
    # main calls outer (0x300), which calls the kernel and returns with bx lr (3 cycles)
    log = (LOG.replace("bl       #0x8000200", "bl       #0x8000300")
           .replace("Trace 0: 0x7f0000000200", "OUTER\nTrace 0: 0x7f0000000200", 1)
           .replace("Trace 0: 0x7f0000000400", "BACK\nTrace 0: 0x7f0000000400"))
    log = log.replace("OUTER\n", """----------------
IN: outer
0x08000300:  f7ff ff7e  bl       #0x8000200

Trace 0: 0x7f0000000500 [00800400/08000300/00000110/ff020200] outer
""").replace("BACK\n", """----------------
IN: outer
0x08000304:  4770       bx       lr

Trace 0: 0x7f0000000600 [00800400/08000304/00000110/ff020200] outer
""")
    phases = run(log, roots={0x08000300: "outer", 0x08000200: "kernel"})
    assert {k: v.cycles for k, v in phases.items()} == {"": 5, "outer": 5, "outer/kernel": 17}
    assert total(phases, "outer").cycles == 22 and total(phases, "outer").entries == 1


def test_a_tail_call_to_a_root_opens_its_phase_until_the_callers_return():
    # main calls a wrapper (0x300) that branches to the kernel (b.w, 2 cycles); the kernel's
    # bx lr returns to main
    log = (LOG.replace("bl       #0x8000200", "bl       #0x8000300")
           .replace("Trace 0: 0x7f0000000200", """----------------
IN: wrapper
0x08000300:  f7ff bf7e  b.w      #0x8000200

Trace 0: 0x7f0000000500 [00800400/08000300/00000110/ff020200] wrapper
Trace 0: 0x7f0000000200""", 1))
    phases = run(log, roots={0x08000200: "kernel"})
    assert {k: v.cycles for k, v in phases.items()} == {"": 7, "kernel": 17}
    assert phases["kernel"].entries == 1


def test_a_rewound_block_counts_only_what_ran():
    log = LOG.replace(
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n",
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n"
        "cpu_io_recompile: rewound execution of TB to 08000206\n"
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n")
    p = run(log)[""]
    assert (p.instructions, p.cycles) == (13, 22)   # the rewound run executed nothing


def test_a_stopped_block_did_not_run():
    log = LOG.replace(
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n",
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n"
        "Stopped execution of TB chain before 0x7f0000000300 [08000206] kernel\n"
        "Trace 0: 0x7f0000000300 [00800400/08000206/00000110/ff020200] kernel\n")
    p = run(log)[""]
    assert (p.instructions, p.cycles) == (13, 22)


def test_bad_lines_name_the_line():
    with pytest.raises(CycleModelError, match="line 3: not an instruction line"):
        run("----------------\nIN: main\nhello\n\n")
    with pytest.raises(CycleModelError, match="line 1: not a line of QEMU"):
        run("Taking exception 3 [Prefetch Abort]\n")
    with pytest.raises(CycleModelError, match="never translated"):
        run("Trace 0: 0x7f0000000100 [00800400/08000100/00000110/ff020200] main\n")
    with pytest.raises(CycleModelError, match="unreadable Trace"):
        run("Trace 0: what\n")


def test_traced_reads_the_log_through_a_fifo(tmp_path):
    src = tmp_path / "log.txt"
    src.write_text(LOG)
    with traced({}) as (args, agg):
        assert args[:2] == ["-d", "in_asm,exec,nochain"] and args[2] == "-D"
        subprocess.run(["sh", "-c", f"cat {src} > {args[3]}"], check=True, timeout=30)
    assert agg.phases[""].cycles == 22


def test_traced_reports_a_bad_log_after_draining_it(tmp_path):
    src = tmp_path / "log.txt"
    src.write_text("garbage\n" + LOG * 50)
    with pytest.raises(CycleModelError, match="line 1"):
        with traced({}) as (args, _):
            subprocess.run(["sh", "-c", f"cat {src} > {args[3]}"], check=True, timeout=30)


def test_traced_without_a_writer_does_not_hang():
    with traced({}) as (_, agg):
        pass       # QEMU never started
    assert agg.phases == {}
