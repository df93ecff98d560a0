"""Estimated Cortex-M4 cycles of a QEMU run, from its log (`-d in_asm,exec,nochain`): in_asm prints
each translation block's instructions once, when QEMU translates it; with nochain, exec prints a
`Trace` line for every execution of a block. `Trace` lines are counted while the log streams in
(`TraceAggregator.feed`, fed through a FIFO by `traced`), never stored: a run of a few million
instructions logs hundreds of megabytes.

Each execution costs its block's cycles (host/cycle_model.py), with the branch refill when the
next block does not start at the fall-through address. Executions are attributed to phases by a
shadow call stack: a block ending in BL/BLX pushes its return address, reaching a return address
pops back to it; calling one of the `roots` (function address -> name) opens a phase named by the
path of roots on the stack ("frontend/inference/FULLY_CONNECTED"), and so does a tail call
(a branch to the root: it returns to its caller's caller); everything else inherits the caller's
phase. Interrupt handlers count in the phase they interrupt, as the board's instruction
counter counts them.

QEMU's other exec lines: "cpu_io_recompile: rewound execution of TB to A" (a device access in mid
block under -icount: only the instructions before A ran) and "Stopped execution of TB chain
before ..." (the block did not run at all).
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from host.cycle_model import Block, CycleModelError, Insn, parse_insn

_TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/[0-9a-f]+\]")
_REWOUND = re.compile(r"^cpu_io_recompile: rewound execution of TB to ([0-9a-f]+)")
QEMU_LOG_FLAGS = ("-d", "in_asm,exec,nochain")
MAX_DEPTH = 512   # a call stack deeper than this lost its returns (longjmp, noreturn): trimmed


@dataclass
class Phase:
    instructions: int = 0
    cycles: int = 0
    entries: int = 0          # calls of the phase's root
    taken_branches: int = 0   # refills paid: the estimate moves by this much per cycle of P


@dataclass
class TraceAggregator:
    roots: dict[int, str] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    lineno: int = 0

    def __post_init__(self):
        self._blocks: dict[str, Block] = {}      # host TB pointer -> block
        self._fresh: dict[int, Block] = {}       # translated, not yet executed: pc -> block
        self._asm: list[Insn] | None = None      # the block being read from in_asm
        self._prev: tuple[Block, str] | None = None
        self._stack: list[tuple[int, str]] = []  # (return address, phase of the callee)
        self._returns: Counter = Counter()
        self._runs: Counter = Counter()          # (phase, block id, taken) -> executions
        self._partial: Counter = Counter()       # (phase, block id, cut address) -> executions
        self._by_id: dict[int, Block] = {}

    # ---- reading -------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        self.lineno += 1
        try:
            self._line(line.rstrip("\n"))
        except CycleModelError as e:
            raise CycleModelError(f"QEMU log line {self.lineno}: {e}") from None

    def _line(self, line: str) -> None:
        if self._asm is not None:
            if line.strip():
                if not line.startswith("IN:"):
                    self._asm.append(parse_insn(line))
                return
            block = Block(self._asm)
            self._fresh[block.addr] = block
            self._asm = None
        elif line.startswith("Trace "):
            self._trace(line)
        elif line.startswith("----------------"):
            self._asm = []
        elif m := _REWOUND.match(line):
            self._rewound(int(m.group(1), 16))
        elif line.startswith("Stopped execution of TB chain"):
            self._prev = None          # it was logged, then did not run
        elif line.strip():
            raise CycleModelError(f"not a line of QEMU's in_asm/exec log: {line[:120]!r}")

    def _trace(self, line: str) -> None:
        m = _TRACE.match(line)
        if not m:
            raise CycleModelError(f"unreadable Trace line: {line[:120]!r}")
        ptr, pc = m.group(1), int(m.group(2), 16)
        block = self._fresh.pop(pc, None)
        if block is not None:
            self._blocks[ptr] = block
            self._by_id[id(block)] = block
        else:
            block = self._blocks.get(ptr)
            if block is None:
                raise CycleModelError(f"block at {pc:#x} executed but never translated in the "
                                      "log (run QEMU with -d in_asm,exec,nochain from the start)")
        phase = self._enter(pc)
        self._prev = (block, phase)

    def _enter(self, pc: int) -> str:
        """The phase `pc` runs in, after settling the previous block's branch and call."""
        if self._prev is not None:
            prev, phase = self._prev
            self._runs[(phase, id(prev), pc != prev.fallthrough)] += 1
            if prev.is_call and pc != prev.fallthrough:
                name = self.roots.get(pc)
                callee = f"{phase}/{name}" if name and phase else (name or phase)
                if name:
                    self._phase(callee).entries += 1
                self._push(prev.fallthrough, callee)
                return callee
        if self._returns[pc]:
            while self._stack:
                ret, _ = self._stack.pop()
                self._returns[ret] -= 1
                if ret == pc:
                    break
        if pc in self.roots and self._stack:
            self._tail_call(self.roots[pc])
        return self._stack[-1][1] if self._stack else ""

    def _tail_call(self, name: str) -> None:
        """A root reached by a branch, not a call (B.W to it after restoring LR): it returns
        where its caller would have, so the top frame takes the root's phase. A jump back to
        the entry from inside the root (a loop, an interrupt's return) changes nothing."""
        ret, phase = self._stack[-1]
        if phase.rsplit("/", 1)[-1] == name:
            return
        callee = f"{phase}/{name}" if phase else name
        self._phase(callee).entries += 1
        self._stack[-1] = (ret, callee)

    def _push(self, ret: int, phase: str) -> None:
        self._stack.append((ret, phase))
        self._returns[ret] += 1
        if len(self._stack) > MAX_DEPTH:
            old, _ = self._stack.pop(0)
            self._returns[old] -= 1

    def _rewound(self, cut: int) -> None:
        if self._prev is None:
            raise CycleModelError("a rewound block without a Trace line before it")
        block, phase = self._prev
        self._partial[(phase, id(block), cut)] += 1
        self._prev = None

    def _phase(self, name: str) -> Phase:
        return self.phases.setdefault(name, Phase())

    # ---- results -------------------------------------------------------------------------

    def finish(self) -> dict[str, Phase]:
        """Totals per phase ("" = outside every root); the last block counts as falling
        through."""
        if self._prev is not None:
            block, phase = self._prev
            self._runs[(phase, id(block), False)] += 1
            self._prev = None
        for (phase, bid, taken), n in self._runs.items():
            b, p = self._by_id[bid], self._phase(phase)
            p.instructions += n * len(b.insns)
            p.cycles += n * (b.cycles_taken if taken else b.cycles_through)
            p.taken_branches += n if taken and b.cycles_taken != b.cycles_through else 0
        for (phase, bid, cut), n in self._partial.items():
            k, c = self._by_id[bid].prefix(cut)
            self._phase(phase).instructions += n * k
            self._phase(phase).cycles += n * c
        self._runs.clear()
        self._partial.clear()
        return self.phases


def total(phases: dict[str, Phase], under: str) -> Phase:
    """The sum of phase `under` and every phase nested in it."""
    out = Phase()
    for name, p in phases.items():
        if name == under or name.startswith(under + "/"):
            out.instructions += p.instructions
            out.cycles += p.cycles
            out.taken_branches += p.taken_branches
    out.entries = phases[under].entries if under in phases else 0
    return out


@contextmanager
def traced(roots: dict[int, str]):
    """QEMU arguments that log into a FIFO, and the aggregator that reads it on a thread:

        with traced(roots) as (args, agg):
            run QEMU with *args ...
        phases = agg.phases   # complete once QEMU has exited and the block is left
    """
    agg = TraceAggregator(roots=roots)
    errors: list[BaseException] = []
    with tempfile.TemporaryDirectory(prefix="fs-trace-") as tmp:
        fifo = Path(tmp) / "qemu.log"
        os.mkfifo(fifo)

        def read() -> None:
            with open(fifo, encoding="ascii", errors="replace", buffering=1 << 20) as f:
                for line in f:            # after an error: drained, so QEMU never blocks
                    if not errors:
                        try:
                            agg.feed(line)
                        except CycleModelError as e:
                            errors.append(e)
            if not errors:
                agg.finish()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            yield [*QEMU_LOG_FLAGS, "-D", str(fifo)], agg
        finally:
            # Until the reader is done: if QEMU never opened the FIFO (it failed to start), a
            # writer that comes and goes gives the reader its end of file.
            while reader.is_alive():
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:      # no reader on the FIFO yet
                    pass
                reader.join(timeout=0.05)
    if errors:
        raise errors[0]
