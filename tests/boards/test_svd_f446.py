"""The NUCLEO-F446RE board file's registers against ST's own description of the chip: the SVD
STM32F446x.svd from the pinned cmsis-svd 0.4 sdist (`make setup` fetches it into .cache/sdists/).

Every register address and every field's bit position and width that
firmware/boards/nucleo-f446re/board_f446.c defines (and the cm.h register it uses) is looked up in
the SVD through the explicit one-to-one map below, and the code must use no shift or mask except
through those fields. A copy of the board file with one value changed must fail the check."""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOARD_DIR = ROOT / "firmware" / "boards" / "nucleo-f446re"
BOARD_C = BOARD_DIR / "board_f446.c"
BOARD_CFG = BOARD_DIR / "board_cfg.h"
CM_H = ROOT / "firmware" / "boards" / "cortex-m" / "cm.h"
FETCH = ROOT / "third_party" / "sdists" / "fetch.py"
SVD_IN_SDIST = "cmsis_svd/data/STMicro/STM32F446x.svd"

# Board register macro -> (SVD peripheral, SVD register).
REGISTERS = {
    "RCC_CR": ("RCC", "CR"),
    "RCC_PLLCFGR": ("RCC", "PLLCFGR"),
    "RCC_CFGR": ("RCC", "CFGR"),
    "RCC_AHB1ENR": ("RCC", "AHB1ENR"),
    "RCC_APB1ENR": ("RCC", "APB1ENR"),
    "PWR_CR": ("PWR", "CR"),
    "PWR_CSR": ("PWR", "CSR"),
    "FLASH_ACR": ("FLASH", "ACR"),
    "GPIOA_MODER": ("GPIOA", "MODER"),
    "GPIOA_OSPEEDR": ("GPIOA", "OSPEEDR"),
    "GPIOA_PUPDR": ("GPIOA", "PUPDR"),
    "GPIOA_AFRL": ("GPIOA", "AFRL"),
    "USART2_SR": ("USART2", "SR"),      # USART2 is derivedFrom USART6 in the SVD
    "USART2_DR": ("USART2", "DR"),
    "USART2_BRR": ("USART2", "BRR"),
    "USART2_CR1": ("USART2", "CR1"),
    "DBGMCU_CR": ("DBG", "DBGMCU_CR"),  # defined in cm.h (same address on F4 and L4)
}


def _bits(name: str, n: int) -> tuple[str, ...]:
    """ST's SVD splits some fields into one-bit fields NAME0 .. NAME<n-1>."""
    return tuple(f"{name}{i}" for i in range(n))


# Board field macro -> (its register macro, the SVD field or fields it stands for).
FIELDS = {
    "RCC_CR_HSION": ("RCC_CR", ("HSION",)),
    "RCC_CR_HSIRDY": ("RCC_CR", ("HSIRDY",)),
    "RCC_CR_HSEON": ("RCC_CR", ("HSEON",)),
    "RCC_CR_HSERDY": ("RCC_CR", ("HSERDY",)),
    "RCC_CR_HSEBYP": ("RCC_CR", ("HSEBYP",)),
    "RCC_CR_PLLON": ("RCC_CR", ("PLLON",)),
    "RCC_CR_PLLRDY": ("RCC_CR", ("PLLRDY",)),
    "RCC_PLLCFGR_PLLM": ("RCC_PLLCFGR", _bits("PLLM", 6)),
    "RCC_PLLCFGR_PLLN": ("RCC_PLLCFGR", _bits("PLLN", 9)),
    "RCC_PLLCFGR_PLLP": ("RCC_PLLCFGR", _bits("PLLP", 2)),
    "RCC_PLLCFGR_PLLSRC": ("RCC_PLLCFGR", ("PLLSRC",)),
    "RCC_PLLCFGR_PLLQ": ("RCC_PLLCFGR", _bits("PLLQ", 4)),
    "RCC_CFGR_SW": ("RCC_CFGR", _bits("SW", 2)),
    "RCC_CFGR_SWS": ("RCC_CFGR", _bits("SWS", 2)),
    "RCC_CFGR_HPRE": ("RCC_CFGR", ("HPRE",)),
    "RCC_CFGR_PPRE1": ("RCC_CFGR", ("PPRE1",)),
    "RCC_CFGR_PPRE2": ("RCC_CFGR", ("PPRE2",)),
    "RCC_AHB1ENR_GPIOAEN": ("RCC_AHB1ENR", ("GPIOAEN",)),
    "RCC_APB1ENR_USART2EN": ("RCC_APB1ENR", ("USART2EN",)),
    "RCC_APB1ENR_PWREN": ("RCC_APB1ENR", ("PWREN",)),
    "PWR_CR_VOS": ("PWR_CR", ("VOS",)),
    "PWR_CR_ODEN": ("PWR_CR", ("ODEN",)),
    "PWR_CR_ODSWEN": ("PWR_CR", ("ODSWEN",)),
    "PWR_CSR_ODRDY": ("PWR_CSR", ("ODRDY",)),
    "PWR_CSR_ODSWRDY": ("PWR_CSR", ("ODSWRDY",)),
    "FLASH_ACR_LATENCY": ("FLASH_ACR", ("LATENCY",)),
    "FLASH_ACR_PRFTEN": ("FLASH_ACR", ("PRFTEN",)),
    "FLASH_ACR_ICEN": ("FLASH_ACR", ("ICEN",)),
    "FLASH_ACR_DCEN": ("FLASH_ACR", ("DCEN",)),
    "GPIOA_MODER_MODER2": ("GPIOA_MODER", ("MODER2",)),
    "GPIOA_MODER_MODER3": ("GPIOA_MODER", ("MODER3",)),
    "GPIOA_OSPEEDR_OSPEEDR2": ("GPIOA_OSPEEDR", ("OSPEEDR2",)),
    "GPIOA_OSPEEDR_OSPEEDR3": ("GPIOA_OSPEEDR", ("OSPEEDR3",)),
    "GPIOA_PUPDR_PUPDR2": ("GPIOA_PUPDR", ("PUPDR2",)),
    "GPIOA_PUPDR_PUPDR3": ("GPIOA_PUPDR", ("PUPDR3",)),
    "GPIOA_AFRL_AFRL2": ("GPIOA_AFRL", ("AFRL2",)),
    "GPIOA_AFRL_AFRL3": ("GPIOA_AFRL", ("AFRL3",)),
    "USART2_SR_ORE": ("USART2_SR", ("ORE",)),
    "USART2_SR_RXNE": ("USART2_SR", ("RXNE",)),
    "USART2_SR_TC": ("USART2_SR", ("TC",)),
    "USART2_SR_TXE": ("USART2_SR", ("TXE",)),
    "USART2_BRR_DIV_Fraction": ("USART2_BRR", ("DIV_Fraction",)),
    "USART2_BRR_DIV_Mantissa": ("USART2_BRR", ("DIV_Mantissa",)),
    "USART2_CR1_RE": ("USART2_CR1", ("RE",)),
    "USART2_CR1_TE": ("USART2_CR1", ("TE",)),
    "USART2_CR1_RXNEIE": ("USART2_CR1", ("RXNEIE",)),
    "USART2_CR1_UE": ("USART2_CR1", ("UE",)),
    "DBGMCU_CR_DBG_SLEEP": ("DBGMCU_CR", ("DBG_SLEEP",)),
}
# board_cfg.h's UART interrupt -> the SVD interrupt it is.
UART_IRQ = "USART2"


# ---- the SVD -------------------------------------------------------------------------------

@dataclass
class Svd:
    registers: dict[tuple[str, str], int]                    # (peripheral, register) -> address
    fields: dict[tuple[str, str], dict[str, tuple[int, int]]]  # -> {field: (position, width)}
    interrupts: dict[str, int]


def _int(text: str) -> int:
    return int(text.strip(), 0)


def _field_bits(f: ET.Element) -> tuple[int, int]:
    """(position, width) from any of the SVD's three ways of writing it."""
    if f.find("bitOffset") is not None:
        return _int(f.findtext("bitOffset")), _int(f.findtext("bitWidth") or "1")
    if f.find("lsb") is not None:
        lsb, msb = _int(f.findtext("lsb")), _int(f.findtext("msb"))
        return lsb, msb - lsb + 1
    msb, lsb = (int(x) for x in f.findtext("bitRange").strip("[]").split(":"))
    return lsb, msb - lsb + 1


def parse_svd(path: Path) -> Svd:
    root = ET.parse(path).getroot()
    periphs = {p.findtext("name"): p for p in root.iter("peripheral")}
    registers, fields, interrupts = {}, {}, {}
    for name, p in periphs.items():
        base = _int(p.findtext("baseAddress"))
        source = p
        while source.find("registers") is None and source.get("derivedFrom"):
            source = periphs[source.get("derivedFrom")]   # registers come from the original
        for r in source.iter("register"):
            key = (name, r.findtext("name"))
            registers[key] = base + _int(r.findtext("addressOffset"))
            fields[key] = {f.findtext("name"): _field_bits(f) for f in r.iter("field")}
        for irq in p.iter("interrupt"):
            interrupts[irq.findtext("name")] = _int(irq.findtext("value"))
    return Svd(registers, fields, interrupts)


@pytest.fixture(scope="module")
def svd() -> Svd:
    r = subprocess.run([sys.executable, str(FETCH), "cmsis-svd"], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    if r.returncode:
        pytest.fail(r.stderr.strip(), pytrace=False)
    sys.path.insert(0, str(FETCH.parent))
    import fetch
    pin = fetch.read_pins()["cmsis-svd"]
    return parse_svd(fetch.DEFAULT_CACHE / f"{pin.name}-{pin.version}" / SVD_IN_SDIST)


# ---- the board file ------------------------------------------------------------------------

def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", " ", text, flags=re.S))


@dataclass
class Board:
    registers: dict[str, int]               # macro -> address
    fields: dict[str, tuple[int, int]]      # macro -> (position, width)
    constants: dict[str, int]               # plain `#define NAME 123u` values
    code: str                               # without comments and #define lines
    irqs: dict[str, int]                    # board_cfg.h


def parse_board(board_c: Path, cm_h: Path = CM_H, cfg: Path = BOARD_CFG) -> Board:
    text = _strip_comments(board_c.read_text())
    reg_re = re.compile(r"^#define\s+(\w+)\s+CM_REG\((0x[0-9A-Fa-f]+)u?\)", re.M)
    registers = {m[1]: int(m[2], 16) for m in reg_re.finditer(text)}
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    for name, addr in reg_re.findall(_strip_comments(cm_h.read_text())):
        if re.search(rf"\b{name}\b", code):     # a cm.h register this board uses
            registers[name] = int(addr, 16)
    fields = {m[1]: (int(m[2]), int(m[3])) for m in
              re.finditer(r"^#define\s+(\w+)\s+FIELD\((\d+),\s*(\d+)\)", text, re.M)}
    constants = {m[1]: int(m[2]) for m in re.finditer(r"^#define\s+(\w+)\s+(\d+)u?\s*$", text, re.M)}
    irqs = {m[1]: int(m[2]) for m in
            re.finditer(r"^#define\s+(\w+)\s+(\d+)", _strip_comments(cfg.read_text()), re.M)}
    return Board(registers, fields, constants, code, irqs)


def problems(board: Board, svd: Svd) -> list[str]:
    """Every disagreement between the board file and the SVD, one line each."""
    out = []
    if set(board.registers) != set(REGISTERS):
        out.append(f"registers not in the map: {sorted(set(board.registers) - set(REGISTERS))}, "
                   f"mapped but not in the board: {sorted(set(REGISTERS) - set(board.registers))}")
    if set(board.fields) != set(FIELDS):
        out.append(f"fields not in the map: {sorted(set(board.fields) - set(FIELDS))}, "
                   f"mapped but not in the board: {sorted(set(FIELDS) - set(board.fields))}")
    for name, addr in board.registers.items():
        key = REGISTERS.get(name)
        if key is None:
            continue
        if key not in svd.registers:
            out.append(f"{name}: no register {key[1]} in peripheral {key[0]} of the SVD")
        elif svd.registers[key] != addr:
            out.append(f"{name}: address {addr:#010x}, the SVD's {key[0]}.{key[1]} is at "
                       f"{svd.registers[key]:#010x}")
    for name, (pos, width) in board.fields.items():
        if name not in FIELDS:
            continue
        reg, svd_names = FIELDS[name]
        got = _svd_field(svd, REGISTERS[reg], svd_names)
        if isinstance(got, str):
            out.append(f"{name}: {got}")
        elif got != (pos, width):
            out.append(f"{name}: FIELD({pos}, {width}), the SVD's {'+'.join(svd_names)} is "
                       f"FIELD({got[0]}, {got[1]})")
    return out + _code_problems(board) + _irq_problems(board, svd)


def _svd_field(svd: Svd, reg: tuple[str, str], names: tuple[str, ...]) -> tuple[int, int] | str:
    have = svd.fields.get(reg, {})
    missing = [n for n in names if n not in have]
    if missing:
        return f"the SVD's {reg[0]}.{reg[1]} has no field {', '.join(missing)}"
    parts = sorted(have[n] for n in names)
    for (p0, w0), (p1, _) in zip(parts, parts[1:]):
        if p0 + w0 != p1:
            return f"the SVD's fields {', '.join(names)} are not contiguous"
    return parts[0][0], sum(w for _, w in parts)


def _code_problems(board: Board) -> list[str]:
    out = []
    if re.search(r"<<|>>|\b0[xX][0-9A-Fa-f]+", board.code):
        out.append("the code shifts or masks outside FIELD/MASK/VAL: "
                   + ", ".join(sorted(set(re.findall(r"[^\n]*(?:<<|>>|\b0[xX])[^\n]*", board.code)))))
    for field, value in re.findall(r"\bVAL\((\w+),\s*(\w+)\)", board.code):
        v = board.constants.get(value, int(value.rstrip("uU")) if value[0].isdigit() else None)
        width = board.fields.get(field, (0, 32))[1]
        if v is not None and v >= 1 << width:
            out.append(f"VAL({field}, {value}): {v} does not fit in {width} bits")
    return out


def _irq_problems(board: Board, svd: Svd) -> list[str]:
    out = []
    if board.irqs.get("CM_UART_IRQN") != svd.interrupts.get(UART_IRQ):
        out.append(f"CM_UART_IRQN {board.irqs.get('CM_UART_IRQN')}, the SVD's {UART_IRQ} "
                   f"interrupt is {svd.interrupts.get(UART_IRQ)}")
    if board.irqs.get("CM_NUM_IRQ", 0) <= max(svd.interrupts.values()):
        out.append(f"CM_NUM_IRQ {board.irqs.get('CM_NUM_IRQ')} does not cover the SVD's "
                   f"interrupt {max(svd.interrupts.values())}")
    return out


# ---- tests ---------------------------------------------------------------------------------

def test_map_is_one_to_one():
    assert len(set(REGISTERS.values())) == len(REGISTERS)
    claimed = [(REGISTERS[reg], n) for reg, names in FIELDS.values() for n in names]
    assert len(set(claimed)) == len(claimed)
    for name, (reg, _) in FIELDS.items():
        assert name.startswith(reg + "_"), name       # <register macro>_<field>


def test_board_f446_matches_st_svd(svd):
    board = parse_board(BOARD_C)
    assert len(board.registers) == len(REGISTERS) and len(board.fields) == len(FIELDS)
    assert problems(board, svd) == []


def _altered(tmp_path: Path, old: str, new: str) -> Path:
    text = BOARD_C.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "board_f446.c"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("old,new,expect", [
    ("#define RCC_CR_HSEON FIELD(16, 1)", "#define RCC_CR_HSEON FIELD(15, 1)",
     "RCC_CR_HSEON: FIELD(15, 1), the SVD's HSEON is FIELD(16, 1)"),
    ("#define RCC_PLLCFGR_PLLN FIELD(6, 9)", "#define RCC_PLLCFGR_PLLN FIELD(6, 8)",
     "RCC_PLLCFGR_PLLN: FIELD(6, 8)"),
    ("#define USART2_BRR CM_REG(0x40004408u)", "#define USART2_BRR CM_REG(0x4000440Au)",
     "USART2_BRR: address 0x4000440a, the SVD's USART2.BRR is at 0x40004408"),
    ("#define USART2_CR1_UE FIELD(13, 1)", "#define USART2_CR1_UEX FIELD(13, 1)",
     "fields not in the map: ['USART2_CR1_UEX']"),
    ("VAL(GPIOA_AFRL_AFRL2, 7u)", "VAL(GPIOA_AFRL_AFRL2, 7u << 1)", "shifts or masks outside"),
    ("VAL(RCC_PLLCFGR_PLLQ, 8u)", "VAL(RCC_PLLCFGR_PLLQ, 16u)", "16 does not fit in 4 bits"),
])
def test_one_altered_value_fails(tmp_path, svd, old, new, expect):
    found = problems(parse_board(_altered(tmp_path, old, new)), svd)
    assert any(expect in p for p in found), found


def test_altered_interrupt_fails(tmp_path, svd):
    cfg = tmp_path / "board_cfg.h"
    cfg.write_text(BOARD_CFG.read_text().replace("CM_UART_IRQN 38", "CM_UART_IRQN 37"))
    found = problems(parse_board(BOARD_C, cfg=cfg), svd)
    assert found == ["CM_UART_IRQN 37, the SVD's USART2 interrupt is 38"]


def test_derived_peripheral_takes_the_originals_registers(svd):
    """USART2 has no registers of its own in the SVD (derivedFrom USART6): same offsets, its
    own base address."""
    assert svd.registers[("USART2", "BRR")] - svd.registers[("USART2", "SR")] == 8
    assert svd.registers[("USART6", "SR")] != svd.registers[("USART2", "SR")]
    assert svd.fields[("USART2", "SR")] == svd.fields[("USART6", "SR")]
