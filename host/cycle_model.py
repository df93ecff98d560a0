"""A Cortex-M4 cycle estimate for straight-line code: the instructions of one QEMU translation
block (as `-d in_asm` prints them) costed with the Cortex-M4 Technical Reference Manual's
instruction timings (zero-wait-state memory). docs/performance.md ("The cycle model") lists the
rules and what they leave out; host/cycle_trace.py multiplies blocks by their executions.

Rules (TRM instruction set summary and its load/store timing notes):
* data processing, multiplies (MUL, MLA, SMULL, SMLAL, UMULL, UMLAL) and DSP (SMLAD, SMLABB,
  SXTB16, SXTAB16, SSAT, ...): 1 cycle; any other mnemonic not listed here is such a 1-cycle
  instruction in the manual;
* SDIV/UDIV: 2 to 12 cycles by the operands' leading bits, unknown here: DIV_CYCLES;
* LDR single: 2, 1 when it follows an LDR single without writeback whose destination is not in
  its address ("pipelined"); STR with an immediate offset: 1; STR with a register offset: 2
  (1 after such an LDR); LDRD/STRD: 3; LDM/STM/PUSH/POP: 1 + registers; any load or store whose
  address registers the preceding data-processing instruction wrote: +1 (no forwarding path);
* IT: 1, 0 when folded onto a preceding 16-bit instruction;
* branches: 1 + P when taken, 1 when a conditional one is not; P_BRANCH for branches by
  immediate (the target is fetched speculatively at decode), P_INDIRECT for BX/BLX/MOV PC,
  P_LOAD_PC for POP {..pc}/LDR pc (the manual: "three cycles for the pipeline reload");
  TBB/TBH: 6 (two for the load, one for the add, three for the reload);
* FPU: VADD/VSUB/VMUL/VNMUL/VABS/VNEG/VCMP/VCVT/VMOV/VMRS/VMSR 1 (VMOV of two core registers
  2), VMLA/VMLS/VNMLA/VNMLS and the fused VFMA family 3, VDIV/VSQRT 14, VLDR/VSTR 2 (3 for a
  double), VLDM/VSTM/VPUSH/VPOP 1 + single registers moved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

P_BRANCH = 1      # refill after a taken B, B<cond>, BL, CBZ/CBNZ (the manual: P = 1..3)
P_INDIRECT = 2    # after BX, BLX, MOV/ADD PC: the target is known only in execute
P_LOAD_PC = 3     # after a load into the PC
DIV_CYCLES = 12   # SDIV/UDIV: the manual's worst case (2..12): an upper bound per divide
TB_CYCLES = 6     # TBB/TBH including the refill

COND = "eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al"
_BRANCH = re.compile(rf"^(b|bl|bx|blx)({COND})?$")
_LOAD = re.compile(rf"^ldr(b|h|sb|sh|ex|exb|exh|t|bt|ht|sbt|sht)?({COND})?$")
_STORE = re.compile(rf"^str(b|h|ex|exb|exh|t|bt|ht)?({COND})?$")
_PAIR = re.compile(rf"^(ldrd|strd)({COND})?$")
_MULTI = re.compile(rf"^(ldm|stm|pop|push)(ia|db|fd|ea)?({COND})?$")
_VMULTI = re.compile(rf"^v(ldm|stm|pop|push)(ia|db)?({COND})?$")
_VMAC = re.compile(rf"^v(n?ml[as]|f?n?m[as]|fn?m[as])({COND})?$")
_CONDS = frozenset(COND.split("|"))
_LINE = re.compile(r"^0x([0-9a-fA-F]+):\s+([0-9a-fA-F]{4})(?: ([0-9a-fA-F]{4}))?\s+(\S+)\s*(.*)$")
_REG = re.compile(r"\b(r1[0-2]|r[0-9]|sb|sl|fp|ip|sp|lr|pc)\b")
_ALIAS = {"sb": "r9", "sl": "r10", "fp": "r11", "ip": "r12"}
_NO_DEST = {"cmp", "cmn", "tst", "teq", "nop", "dsb", "dmb", "isb", "wfi", "wfe", "sev", "bkpt",
            "svc", "cpsid", "cpsie", "msr", "pld", "pli", "yield"}
_TWO_DEST = {"smull", "umull", "smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld",
             "smlsldx", "smlalbb", "smlalbt", "smlaltb", "smlaltt"}
_FLAT = {"vdiv": 14, "vsqrt": 14}


class CycleModelError(ValueError):
    """A line of QEMU's log that this model cannot read."""


@dataclass(frozen=True)
class Insn:
    addr: int
    size: int            # 2 or 4 bytes
    mnem: str            # lower case, without .w/.n or a data type (.f32)
    ops: str
    kind: str            # see classify()
    dests: frozenset = field(default_factory=frozenset)   # core registers written
    addr_regs: frozenset = field(default_factory=frozenset)
    writeback: bool = False
    count: int = 1       # registers moved by LDM/STM/VLDM/..., words by VLDR/VSTR


def _base(mnem: str, names) -> str:
    """mnem without a condition suffix when that leaves one of `names` ("cmpeq" -> "cmp"), else
    mnem itself ("teq" stays "teq", "lsls" is not "ls" + s)."""
    if mnem not in names and mnem[-2:] in _CONDS and mnem[:-2] in names:
        return mnem[:-2]
    return mnem


def _regs(text: str) -> set[str]:
    return {_ALIAS.get(r, r) for r in _REG.findall(text)}


def _reglist_count(ops: str, fp: bool) -> int:
    """Registers in a {..} list, ranges ({s16-s31}) expanded; d registers count twice."""
    body = ops[ops.index("{") + 1:ops.index("}")] if "{" in ops else ops
    n = 0
    for part in filter(None, (p.strip() for p in body.split(","))):
        lo, _, hi = part.partition("-")
        width = 2 if fp and lo.startswith("d") else 1
        n += (int(hi[1:]) - int(lo[1:]) + 1) * width if hi else width
    return n


def classify(mnem: str, ops: str) -> str:
    """The timing class of one instruction (see the module's rules)."""
    if m := _BRANCH.match(mnem):
        if m.group(1) in ("bx", "blx"):
            return "branch_indirect"
        return "branch_cond" if m.group(2) and m.group(1) == "b" else "branch"
    if mnem in ("cbz", "cbnz"):
        return "branch_cond"
    if mnem in ("tbb", "tbh"):
        return "table_branch"
    if mnem in ("sdiv", "udiv"):
        return "divide"
    if re.fullmatch(r"it[te]{0,3}", mnem):
        return "it"
    if _PAIR.match(mnem):
        return "pair"
    if _MULTI.match(mnem):
        return "multi"
    if _LOAD.match(mnem):
        return "load"
    if _STORE.match(mnem):
        return "store"
    if mnem.startswith("v"):
        return _classify_fp(mnem, ops)
    return "alu"


def _classify_fp(mnem: str, ops: str) -> str:
    base = _base(mnem, ("vldr", "vstr", "vmov", *_FLAT))
    if _VMULTI.match(mnem):
        return "fp_multi"
    if base in ("vldr", "vstr"):
        return "fp_mem"
    if base in _FLAT:
        return base
    if _VMAC.match(mnem):
        return "fp_mac"
    if base == "vmov" and len([o for o in ops.split(",") if o.strip()]) >= 3:
        return "fp_move2"    # two core registers <-> a double or two singles
    return "alu"


def parse_insn(line: str) -> Insn:
    """One in_asm line, e.g. '0x08001234:  f8d2 3d88  ldr.w    r3, [r2, #0xd88]'."""
    m = _LINE.match(line.strip())
    if not m:
        raise CycleModelError(f"not an instruction line of QEMU's in_asm log: {line.strip()!r}")
    addr, size = int(m.group(1), 16), 4 if m.group(3) else 2
    mnem, ops = m.group(4).lower().split(".")[0], m.group(5).strip().lower()
    kind = classify(mnem, ops)
    return Insn(addr, size, mnem, ops, kind, frozenset(_dests(mnem, ops, kind)),
                frozenset(_regs(ops[ops.index("["):]) if "[" in ops else ()),
                "]!" in ops or "], " in ops, _count(mnem, ops, kind))


def _dests(mnem: str, ops: str, kind: str) -> set[str]:
    first = [o.strip() for o in ops.split(",")]
    if kind in ("load", "pair") or (kind == "alu" and _base(mnem, _NO_DEST) not in _NO_DEST
                                    and not mnem.startswith("v")):
        n = 2 if kind == "pair" or _base(mnem, _TWO_DEST) in _TWO_DEST else 1
        out = set().union(*(_regs(o) for o in first[:n] if not o.startswith("[")))
    elif kind == "multi" and mnem.startswith(("ldm", "pop")):
        out = _regs(ops[ops.index("{"):]) if "{" in ops else set()
    elif kind == "fp_move2" or (kind == "alu" and mnem.startswith(("vmov", "vmrs"))):
        out = {r for r in _regs(first[0])} | ({r for r in _regs(first[1])} if kind == "fp_move2"
                                              else set())
    else:
        out = set()
    if "]!" in ops or "], " in ops or ("!" in ops and kind in ("multi", "fp_multi")):
        out |= _regs(ops[ops.index("[") + 1:ops.index("]")] if "[" in ops else first[0])
    return out


def _count(mnem: str, ops: str, kind: str) -> int:
    if kind == "multi":
        return _reglist_count(ops, fp=False)
    if kind == "fp_multi":
        return _reglist_count(ops, fp=True)
    if kind == "fp_mem":
        return 2 if ops.startswith("d") else 1
    return 1


def _memory(i: Insn) -> bool:
    return i.kind in ("load", "store", "pair", "multi", "fp_mem", "fp_multi", "table_branch")


def _pipelines_next(prev: Insn | None) -> bool:
    """An LDR single without base update, not into the PC: the next LDR/STR can overlap it."""
    return (prev is not None and prev.kind == "load" and not prev.writeback
            and "pc" not in prev.dests)


def insn_cycles(insn: Insn, prev: Insn | None) -> int:
    """Cycles of `insn` after `prev` (None at a block's start), not counting a taken branch's
    refill (branch_cycles adds it)."""
    k = insn.kind
    if k == "load":
        c = 2 + (P_LOAD_PC if "pc" in insn.dests else 0)
        c -= 1 if _pipelines_next(prev) and not (prev.dests & insn.addr_regs) else 0
    elif k == "store":
        reg_offset = len(insn.addr_regs) > 1
        c = 2 if reg_offset else 1
        c -= 1 if reg_offset and _pipelines_next(prev) and not (prev.dests & insn.addr_regs) else 0
    elif k == "pair":
        c = 3
    elif k in ("multi", "fp_multi"):
        c = 1 + insn.count + (P_LOAD_PC if "pc" in insn.dests else 0)
    elif k == "fp_mem":
        c = 1 + insn.count
    elif k == "it":
        c = 0 if prev is not None and prev.size == 2 and prev.kind != "it" else 1
    else:
        c = {"divide": DIV_CYCLES, "fp_mac": 3, "vdiv": 14, "vsqrt": 14, "fp_move2": 2,
             "table_branch": TB_CYCLES}.get(k, 1)
        if k == "alu" and "pc" in insn.dests:
            c += P_INDIRECT
    if _memory(insn) and prev is not None and prev.kind in ("alu", "divide") \
            and prev.dests & insn.addr_regs:
        c += 1   # the address needs a register the previous instruction is still writing
    return c


def refill(insn: Insn) -> int:
    """The refill a branch-like last instruction adds when control does not fall through."""
    return {"branch": P_BRANCH, "branch_cond": P_BRANCH, "branch_indirect": P_INDIRECT}.get(
        insn.kind, 0)


@dataclass
class Block:
    """One translation block: its instructions, and its cycles when the last one does or does
    not fall through to the next address."""
    insns: list[Insn]

    def __post_init__(self):
        if not self.insns:
            raise CycleModelError("an empty translation block in the in_asm log")
        self.costs = [insn_cycles(i, p) for p, i in zip([None, *self.insns], self.insns)]
        last = self.insns[-1]
        self.fallthrough = last.addr + last.size
        self.cycles_taken = sum(self.costs) + refill(last)
        # Falling through: a conditional branch, or the IT-conditional last instruction whose
        # condition failed (e.g. BXNE LR, POPGE {..pc}), costs 1; B, BL, BX always branch.
        if last.kind == "branch_cond" or _in_it_block(self.insns):
            self.cycles_through = sum(self.costs[:-1]) + 1
        elif last.kind in ("branch", "branch_indirect"):
            self.cycles_through = self.cycles_taken
        else:
            self.cycles_through = sum(self.costs)
        self.is_call = last.mnem in ("bl", "blx")

    @property
    def addr(self) -> int:
        return self.insns[0].addr

    def prefix(self, cut: int) -> tuple[int, int]:
        """(instructions, cycles) of the part before address `cut` (QEMU rewound the rest)."""
        n = sum(1 for i in self.insns if i.addr < cut)
        return n, sum(self.costs[:n])

    def cycles(self, next_pc: int) -> int:
        return self.cycles_through if next_pc == self.fallthrough else self.cycles_taken


def _in_it_block(insns: list[Insn]) -> bool:
    """Whether the last instruction is inside an IT block (IT covers up to 4 that follow)."""
    for back, i in enumerate(reversed(insns[:-1]), start=1):
        if i.kind == "it":
            return back <= len(i.mnem) - 1
        if back >= 4:
            break
    return False


def parse_block(lines: list[str]) -> Block:
    return Block([parse_insn(line) for line in lines])
