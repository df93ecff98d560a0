"""QEMU's netduinoplus2 (STM32F405, Cortex-M4F) for the qemu board builds: the command line, the
app over its UART (`QemuBoard`), and the runtime-only harness (`run_models`,
firmware/boards/qemu/qemu_run_model.c) that runs many models and inputs in one QEMU process.

Under `-icount shift=0` every guest instruction advances virtual time by 1 ns and the board's
cycle counter (TIM2 at 1 GHz virtual) counts instructions: counts are exact and repeat run to run.
They are instructions, not Cortex-M4 cycles (docs/performance.md)."""
from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from host.link import Link, LinkError

# Where the pack goes in flash: above the harness image (~45 KB) and the load-address shadow that
# QEMU's ELF loader reserves for .bss (~140 KB); the harness checks.
PACK_ADDR = 0x08040000
PACK_CAPACITY = 0x08100000 - PACK_ADDR
PACK_MAGIC, RESULT_MAGIC = b"FSRP", b"FSRR"


class QemuError(RuntimeError):
    pass


def qemu_binary() -> str:
    path = shutil.which("qemu-system-arm")
    if path is None:
        raise QemuError("qemu-system-arm not found: `make setup` as root, or "
                        "`sudo apt-get install -y qemu-system-arm`")
    return path


def qemu_cmd(elf: Path, *extra: str, serial: str = "null", monitor: str = "none") -> list[str]:
    return [qemu_binary(), "-M", "netduinoplus2", "-display", "none", "-monitor", monitor,
            "-serial", serial, "-icount", "shift=0",
            "-semihosting-config", "enable=on,target=native", "-kernel", str(elf), *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the app over the UART ---------------------------------------------------------------------

class QemuBoard:
    """The app firmware in QEMU: UART on a TCP server that waits for us (`link`), and QEMU's
    monitor on a second port so the host can read guest memory (`read_words`), e.g. the painted
    stack for its high-water mark."""

    def __init__(self, elf: Path, timeout: float = 10.0, extra: tuple[str, ...] = ()):
        self.port, self.mon_port = free_port(), free_port()
        self.cmd = qemu_cmd(elf, *extra, serial=f"tcp:127.0.0.1:{self.port},server=on,wait=on",
                            monitor=f"tcp:127.0.0.1:{self.mon_port},server=on,wait=off")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.link = None
        self._mon = None
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    self.link = Link.open(f"socket://127.0.0.1:{self.port}", connect_timeout=0)
                    break
                except LinkError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise QemuError(f"QEMU did not start: {' '.join(self.cmd)}\n"
                                        f"{self.close()}") from None
                    time.sleep(0.05)
        except QemuError:
            raise
        except BaseException:   # Ctrl-C while connecting: no QEMU left behind
            self.close()
            raise

    def _monitor(self) -> socket.socket:
        if self._mon is None:
            self._mon = socket.create_connection(("127.0.0.1", self.mon_port), timeout=10)
            self._mon_cmd(None)   # banner and first prompt
        return self._mon

    def _mon_cmd(self, cmd: str | None) -> str:
        if cmd is not None:
            self._mon.sendall(cmd.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self._mon.recv(65536)
            if not chunk:
                raise QemuError("QEMU monitor closed")
            buf += chunk
        return buf.decode(errors="replace")

    def read_words(self, addr: int, n: int) -> list[int]:
        """n little-endian 32-bit words of guest physical memory from addr (monitor `xp`)."""
        self._monitor()
        words: list[int] = []
        while len(words) < n:
            k = min(1024, n - len(words))
            text = self._mon_cmd(f"xp /{k}wx {addr + 4 * len(words):#x}")
            got = []
            for line in text.splitlines():
                if ":" in line and line.strip().startswith("0"):
                    got += [int(w, 16) for w in line.split(":", 1)[1].split()]
            if len(got) != k:
                raise QemuError(f"monitor xp gave {len(got)} words, wanted {k}: {text[:200]}")
            words += got
        return words

    def close(self) -> str:
        if self.link is not None:
            self.link.close()
            self.link = None
        if self._mon is not None:
            self._mon.close()
            self._mon = None
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out.decode(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


STACK_PAINT = 0xC0DEF00D


def elf_symbols(elf: Path, *names: str) -> dict[str, int]:
    """Addresses of symbols, from arm-none-eabi-nm."""
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            table[parts[2]] = int(parts[0], 16)
    missing = set(names) - set(table)
    if missing:
        raise QemuError(f"{elf}: no symbol {', '.join(sorted(missing))}")
    return table


def stack_high_water(board: QemuBoard, elf: Path) -> int:
    """Bytes of stack ever used (cm_stack_high_water() computed from outside: the lowest word
    that no longer holds the paint)."""
    sym = elf_symbols(elf, "__stack_bottom", "__stack_top")
    lo, hi = sym["__stack_bottom"], sym["__stack_top"]
    words = board.read_words(lo, (hi - lo) // 4)
    for i, w in enumerate(words):
        if w != STACK_PAINT:
            return hi - (lo + 4 * i)
    return 0


def section_sizes(elf: Path) -> dict[str, int]:
    """Flash and static RAM of an image: text (code + constants, the model included), data
    (initialised RAM, also stored in flash), bss (zeroed RAM: the arena, buffers, the stack)."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    sec = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            sec[parts[0]] = int(parts[1])
    flash = sum(sec.get(s, 0) for s in (".isr_vector", ".text", ".ARM.extab", ".ARM.exidx",
                                        ".data"))
    return {"flash": flash, "data": sec.get(".data", 0), "bss": sec.get(".bss", 0),
            "stack": sec.get(".stack", 0)}


def static_symbols(elf: Path, at_least: int = 512) -> dict[str, int]:
    """The image's RAM symbols (.data, .bss) of at least `at_least` bytes, largest first."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--size-sort", "-t", "d", str(elf)],
                         capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "bBdD" and int(parts[1]) >= at_least:
            syms[parts[3]] = int(parts[1])
    return dict(sorted(syms.items(), key=lambda kv: -kv[1]))


# ---- the runtime-only harness ------------------------------------------------------------------

@dataclass
class Job:
    model: bytes
    inputs: bytes          # count inputs of input tensor 0, back to back
    count: int
    profile: bool = False
    name: str = ""


@dataclass
class JobResult:
    name: str
    status: int
    arena: int
    n_ops: int
    outputs: list[bytes] = field(default_factory=list)
    invoke_status: list[int] = field(default_factory=list)
    instructions: list[int] = field(default_factory=list)
    stack: int = 0
    op_instructions: list[int] = field(default_factory=list)
    message: str = ""


def _align(n: int, a: int = 16) -> int:
    return (n + a - 1) // a * a


def _pack(jobs: list[Job]) -> bytes:
    head = 8 + 24 * len(jobs)
    blobs, table, off = [], [], _align(head)
    for j in jobs:
        if j.count and len(j.inputs) % j.count:
            raise ValueError(f"{j.name}: {len(j.inputs)} input bytes for {j.count} inputs")
        m_off = off
        off = _align(off + len(j.model))
        i_off = off
        off = _align(off + len(j.inputs))
        table.append(struct.pack("<6I", m_off, len(j.model), i_off,
                                 len(j.inputs) // j.count if j.count else 0, j.count,
                                 1 if j.profile else 0))
        blobs.append((m_off, j.model))
        blobs.append((i_off, j.inputs))
    buf = bytearray(off)
    buf[:head] = PACK_MAGIC + struct.pack("<I", len(jobs)) + b"".join(table)
    for o, b in blobs:
        buf[o:o + len(b)] = b
    return bytes(buf)


def _split(jobs: list[Job]) -> list[list[Job]]:
    groups, cur, size = [], [], 16
    for j in jobs:
        need = 24 + _align(len(j.model)) + _align(len(j.inputs)) + 32
        if need + 16 > PACK_CAPACITY:
            raise ValueError(f"{j.name}: {need} bytes do not fit the {PACK_CAPACITY}-byte pack")
        if cur and size + need > PACK_CAPACITY:
            groups.append(cur)
            cur, size = [], 16
        cur.append(j)
        size += need
    if cur:
        groups.append(cur)
    return groups


def _parse(data: bytes, jobs: list[Job]) -> list[JobResult]:
    pos = 0

    def u32() -> int:
        nonlocal pos
        (v,) = struct.unpack_from("<I", data, pos)
        pos += 4
        return v

    def raw(n: int) -> bytes:
        nonlocal pos
        b = data[pos:pos + n]
        if len(b) != n:
            raise QemuError("truncated harness results")
        pos += n
        return b

    if raw(4) != RESULT_MAGIC or u32() != len(jobs):
        raise QemuError("harness results: bad header")
    results = []
    for j in jobs:
        r = JobResult(name=j.name, status=u32(), arena=u32(), n_ops=u32())
        count, out_bytes = u32(), u32()
        for _ in range(count):
            r.invoke_status.append(u32())
            r.instructions.append(u32())
            r.outputs.append(raw(out_bytes))
        r.stack = u32()
        r.op_instructions = [u32() for _ in range(u32())]
        r.message = raw(u32()).decode(errors="replace")
        results.append(r)
    return results


def run_models(elf: Path, jobs: list[Job], timeout: float = 600.0,
               extra: tuple[str, ...] = ()) -> list[JobResult]:
    """Run every job in the RUNMODEL=1 harness image `elf`; as few QEMU processes as the pack
    capacity (768 KiB of flash) allows; `extra`: more QEMU arguments."""
    results: list[JobResult] = []
    with tempfile.TemporaryDirectory(prefix="fs-qemu-") as tmp:
        for k, group in enumerate(_split(jobs)):
            pack, out = Path(tmp) / f"pack{k}.bin", Path(tmp) / f"results{k}.bin"
            pack.write_bytes(_pack(group))
            cmd = qemu_cmd(elf, "-device", f"loader,file={pack},addr={PACK_ADDR:#x},force-raw=on",
                           "-append", f"{PACK_ADDR:#x} {out}", *extra)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout)
            if r.returncode != 0 or not out.exists():
                raise QemuError(f"{' '.join(cmd)}: exit {r.returncode}\n"
                                f"{r.stdout.decode(errors='replace')[-2000:]}")
            results += _parse(out.read_bytes(), group)
    return results
