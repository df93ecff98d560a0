"""The front end as the boards build it: CMSIS-DSP's real FFT (arm_rfft_fast_f32) compiled in, only
the tables of n_fft's FFT linked,
and no fused multiply-add (the x86 emulator has none, so a VFMA would break the bit-identity of
the two front ends that tests/boards/test_qemu.py checks on scores)."""
import re
import subprocess

from .conftest import MACHINE, make_firmware, require_tool

# The front end's objects with float arithmetic (the bit reversal only moves words).
FRONT_END_OBJECTS = ("logmel.o", "arm_rfft_fast_f32.o", "arm_cfft_f32.o", "arm_cfft_radix8_f32.o")


def _tool(name: str) -> str:
    require_tool("arm-none-eabi-gcc")
    return f"arm-none-eabi-{name}"


def test_front_end_objects_have_no_fused_multiply_add(model_dir, build_dir):
    make_firmware("qemu", model_dir, build_dir)
    obj = build_dir / "qemu" / MACHINE / "obj"
    for name in FRONT_END_OBJECTS:
        asm = subprocess.run([_tool("objdump"), "-d", str(obj / name)], capture_output=True,
                             text=True, check=True).stdout
        assert "vmul.f32" in asm or "vadd.f32" in asm, name      # float code is there
        assert not re.search(r"\bv(fma|fms|fnma|fnms)\b", asm), name


def test_only_the_1024_point_tables_are_linked(model_dir, build_dir):
    make_firmware("qemu", model_dir, build_dir)
    nm = subprocess.run([_tool("nm"), "-S", str(build_dir / "qemu" / MACHINE / "firmware.elf")],
                        capture_output=True, text=True, check=True).stdout
    sizes = {parts[3]: int(parts[1], 16) for parts in (ln.split() for ln in nm.splitlines())
             if len(parts) == 4}
    tables = {n: s for n, s in sizes.items() if n.startswith(("twiddleCoef", "armBitRevIndex"))}
    assert tables == {"twiddleCoef_512": 4096, "twiddleCoef_rfft_1024": 4096,
                      "armBitRevIndexTable512": 896}
    assert "arm_rfft_fast_f32" in sizes and "arm_rfft_fast_init_1024_f32" in sizes
    assert "arm_rfft_fast_init_f32" not in sizes        # the generic init links every size


def test_cortex_m4_assembly_computes_what_the_c_does(model_dir, build_dir):
    """firmware/dsp/logmel_stages.c on QEMU: the windowing and mel dot products written in
    Cortex-M4 assembly give the same floats, bit for bit, as logmel.c's portable C (which the x86
    emulator runs), and a second of audio gives 32 frames."""
    qemu = require_tool("qemu-system-arm")
    make_firmware("qemu", model_dir, build_dir, "BOARD_MAIN=dsp/logmel_stages.c",
                  "CM_VARIANT=-stages", machine="stages")
    elf = build_dir / "qemu-stages" / "stages" / "firmware.elf"
    r = subprocess.run([qemu, "-M", "netduinoplus2", "-display", "none", "-monitor", "none",
                        "-serial", "null", "-icount", "shift=0", "-semihosting-config",
                        "enable=on,target=native", "-kernel", str(elf)],
                       capture_output=True, text=True, timeout=120)
    text = r.stdout + r.stderr        # QEMU's semihosting console: stderr when not a terminal
    counts = dict(ln.rsplit(None, 1) for ln in text.splitlines() if ln.strip())
    assert r.returncode == 0 and counts.get("mismatches") == "0", text
    assert 0 < int(counts["frame"]) < 100_000, text   # one frame (about 66,000), push and app excluded
