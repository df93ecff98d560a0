"""host/cycle_model.py against cycle counts worked out by hand from the Cortex-M4 TRM's
instruction timings (the rules in the module's docstring; P = 1 for a branch by immediate,
2 for BX/BLX, 3 after a load into the PC). Blocks are written as QEMU's in_asm prints them."""
import pytest

from host import cycle_model as cm
from host.cycle_model import CycleModelError, parse_block, parse_insn


def block(*asm: str, start: int = 0x08000100):
    """in_asm lines from (encoding, text) pairs laid out from `start`."""
    lines, addr = [], start
    for a in asm:
        enc, text = a.split("|")
        lines.append(f"0x{addr:08x}:  {enc.strip():<10} {text.strip()}")
        addr += 2 if len(enc.split()) == 1 else 4
    return parse_block(lines)


def test_the_constants_these_counts_assume():
    assert (cm.P_BRANCH, cm.P_INDIRECT, cm.P_LOAD_PC, cm.DIV_CYCLES) == (1, 2, 3, 12)


def test_smlad_loop_pipelined_loads_and_the_branch():
    # ldr 2, ldr (pipelined: independent address) 1, smlad 1, subs 1, bne 1 / 1 + P
    b = block("6813 | ldr r3, [r2]", "6854 | ldr r4, [r2, #4]",
              "fb23 5504 | smlad r5, r3, r4, r5", "3801 | subs r0, #1",
              "d1f9 | bne #0x8000100")
    assert b.costs == [2, 1, 1, 1, 1]
    assert (b.cycles_through, b.cycles_taken) == (6, 7)
    assert b.cycles(0x08000100) == 7 and b.cycles(b.fallthrough) == 6


def test_a_load_whose_address_the_previous_load_wrote_is_not_pipelined():
    assert block("680a | ldr r2, [r1]", "6813 | ldr r3, [r2]").costs == [2, 2]
    assert block("680a | ldr r2, [r1]", "6823 | ldr r3, [r4]").costs == [2, 1]


def test_a_load_with_base_update_does_not_pipeline_the_next():
    assert block("f851 3b04 | ldr r3, [r1], #4", "6814 | ldr r4, [r2]").costs == [2, 2]


def test_address_from_the_previous_data_processing_instruction_stalls_one_cycle():
    assert block("3204 | adds r2, #4", "6813 | ldr r3, [r2]").costs == [1, 3]
    assert block("0052 | lsls r2, r2, #1", "6810 | ldr r0, [r2]").costs == [1, 3]
    # teq writes no register ("eq" is part of the name, not a condition)
    assert block("ea92 0f01 | teq r2, r1", "6810 | ldr r0, [r2]").costs == [1, 2]
    assert block("3304 | adds r3, #4", "6810 | ldr r0, [r2]").costs == [1, 2]


def test_stores():
    assert block("6013 | str r3, [r2]").costs == [1]
    assert block("5053 | str r3, [r2, r1]").costs == [2]
    # after an LDR single the register-offset store pipelines: 2 + 1
    assert block("6823 | ldr r3, [r4]", "5053 | str r3, [r2, r1]").costs == [2, 1]


def test_multiple_and_pair_transfers():
    assert block("e8b4 0f00 | ldm r4!, {r8, sb, sl, fp}").costs == [5]
    assert block("e8f2 670d | ldrd r6, ip, [r2], #8").costs == [3]
    assert block("b530 | push {r4, r5, lr}").costs == [4]
    b = block("bd30 | pop {r4, r5, pc}")   # 1 + 3 registers + 3 refill, taken or not
    assert b.costs == [7] and (b.cycles_through, b.cycles_taken) == (7, 7)


def test_fpu():
    b = block("ed93 7a00 | vldr s14, [r3]", "ed93 0b02 | vldr d0, [r3, #8]",
              "ee07 7a27 | vmla.f32 s14, s14, s15", "ee87 7a27 | vdiv.f32 s14, s14, s15",
              "eeb1 7ac7 | vsqrt.f32 s14, s14", "ee17 0a10 | vmov r0, s14",
              "ec51 0b10 | vmov r0, r1, d0", "ed2d 8b04 | vpush {d8, d9}",
              "ee37 7a27 | vadd.f32 s14, s14, s15", "ed83 7a00 | vstr s14, [r3]")
    assert b.costs == [2, 3, 3, 14, 14, 1, 2, 5, 1, 2]


def test_it_folds_onto_a_16_bit_instruction_only():
    assert block("2800 | cmp r0, #0", "bf08 | it eq", "2001 | moveq r0, #1").costs == [1, 0, 1]
    assert block("f5b0 7f80 | cmp.w r0, #0x100", "bf08 | it eq",
                 "2001 | moveq r0, #1").costs == [1, 1, 1]


def test_an_it_conditional_return_that_falls_through_costs_one():
    b = block("2800 | cmp r0, #0", "bf18 | it ne", "4770 | bxne lr")
    assert (b.cycles_through, b.cycles_taken) == (2, 4)   # 1 + 0 + 1, 1 + 0 + (1 + 2)


def test_unconditional_branches_always_pay_the_refill():
    assert (lambda b: (b.cycles_through, b.cycles_taken))(block("e7fe | b #0x8000100")) == (2, 2)
    b = block("f000 f800 | bl #0x8000104")
    assert b.is_call and b.cycles_taken == 2
    b = block("4798 | blx r3")
    assert b.is_call and b.cycles_taken == 3
    assert block("4718 | bx r3").cycles_taken == 3
    assert block("4697 | mov pc, r2").cycles_taken == 3


def test_divide_and_table_branch():
    assert block("fbb0 f0f1 | udiv r0, r0, r1").costs == [12]
    assert block("e8df f000 | tbb [pc, r0]").costs == [6]


def test_conditional_branch_names_are_not_other_instructions():
    for mnem, kind in [("bls", "branch_cond"), ("blt", "branch_cond"), ("bl", "branch"),
                       ("bics", "alu"), ("bfi", "alu"), ("blx", "branch_indirect"),
                       ("ldrhs", "load"), ("ldrsh", "load"), ("strd", "pair"),
                       ("vmls", "fp_mac"), ("vfma", "fp_mac"), ("vmul", "alu"),
                       ("vmrs", "alu"), ("sbcs", "alu"), ("popge", "multi")]:
        assert cm.classify(mnem, "r0, r1") == kind, mnem


def test_a_rewound_block_costs_its_prefix():
    b = block("6813 | ldr r3, [r2]", "6854 | ldr r4, [r2, #4]", "3801 | subs r0, #1")
    assert b.prefix(0x08000102) == (1, 2)
    assert b.prefix(0x08000104) == (2, 3)


def test_unreadable_lines_say_so():
    with pytest.raises(CycleModelError, match="not an instruction line"):
        parse_insn("IN: main")
    with pytest.raises(CycleModelError, match="empty translation block"):
        parse_block([])
