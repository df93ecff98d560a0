"""The Cortex-M4 DSP kernels (firmware/runtime/ops/cm4/) against the portable reference kernels,
both on the emulated Cortex-M4 (QEMU netduinoplus2, instruction counts exact under -icount 0).

Two images of the runtime-only harness (RUNMODEL=1, boards/qemu/qemu_run_model.c) are built, with
KERNELS=ref and with KERNELS=cm4, and every case runs through both in one QEMU process each:
the runtime's golden cases (tests/firmware/golden/runtime/), the kernel cases aimed at the DSP
paths (tests/boards/golden/kernels/, make_kernel_cases.py), the three MLPerf Tiny models on
random inputs, and every exported project model present (firmware/models/*/). Every output byte
must equal TFLite Micro's and the other build's; the cm4 arena must stay within TFLite Micro's
allocation; and the optimized kernels must actually be faster (ad01 <= 1.6 instructions/MAC).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from host.qemu import Job, run_models

from .conftest import MACHINE, ROOT, make_firmware, require_tool

GOLDEN = ROOT / "tests" / "firmware" / "golden" / "runtime"
KERNEL_CASES = Path(__file__).resolve().parent / "golden" / "kernels"
MLPERF = ROOT / "third_party" / "mlperf-tiny"
MLPERF_NAMES = {"ad01": "ad01_int8.tflite", "kws": "kws_ref_model.tflite",
                "resnet": "pretrainedResnet_quant.tflite"}
AD01_MACS = 264192


def _load_op_models():
    import importlib.util
    import sys

    name = "_fs_runtime_op_models"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "tests" / "firmware" / "op_models.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _golden_cases(folder: Path, prefix: str) -> list[dict]:
    manifest = json.loads((folder / "manifest.json").read_text())
    out = []
    for c in manifest["cases"]:
        out.append({"name": f"{prefix}{c['name']}", "ops": c["ops"], "count": c["count"],
                    "model": (folder / f"{c['name']}.tflite").read_bytes(),
                    "inputs": (folder / f"{c['name']}.in.bin").read_bytes(),
                    "want": (folder / f"{c['name']}.out.bin").read_bytes(),
                    "tflm_arena": c["tflm_arena"]})
    return out


def _mlperf_cases() -> list[dict]:
    om = _load_op_models()
    out = []
    for key, fname in MLPERF_NAMES.items():
        path = MLPERF / fname
        if not path.exists():
            continue
        model = path.read_bytes()
        shape = om.tflm_input_details(model)["shape"]
        rng = np.random.default_rng(sum(model[:64]) + 7)
        x = rng.integers(-128, 128, size=(3, *shape), dtype=np.int64).astype(np.int8)
        want, arena = om.tflm_run(model, x)
        out.append({"name": f"mlperf/{key}", "ops": om.builtin_ops(model), "count": len(x),
                    "model": model, "inputs": x.tobytes(), "want": want.tobytes(),
                    "tflm_arena": arena})
    return out


def _project_cases() -> list[dict]:
    om = _load_op_models()
    out = []
    for d in sorted((ROOT / "firmware" / "models").glob("*/model.tflite")):
        model = d.read_bytes()
        det = om.tflm_input_details(model)
        rng = np.random.default_rng(len(model))
        x = rng.integers(-128, 128, size=(2, *det["shape"]), dtype=np.int64).astype(np.int8)
        want, arena = om.tflm_run(model, x)
        out.append({"name": f"project/{d.parent.name}", "ops": om.builtin_ops(model),
                    "count": len(x), "model": model, "inputs": x.tobytes(),
                    "want": want.tobytes(), "tflm_arena": arena})
    return out


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return (_golden_cases(GOLDEN, "golden/") + _golden_cases(KERNEL_CASES, "kernels/")
            + _mlperf_cases() + _project_cases())


@pytest.fixture(scope="module")
def results(model_dir, build_dir, cases):
    """{kernels: {case name: JobResult}} for KERNELS=ref and KERNELS=cm4."""
    require_tool("qemu-system-arm")
    out = {}
    for kernels, sub in (("ref", "qemu-runmodel-ref"), ("cm4", "qemu-runmodel")):
        make_firmware("qemu", model_dir, build_dir, "RUNMODEL=1", f"KERNELS={kernels}")
        elf = build_dir / sub / MACHINE / "firmware.elf"
        jobs = [Job(c["model"], c["inputs"], c["count"], name=c["name"],
                    profile=c["name"].startswith("mlperf/")) for c in cases]
        out[kernels] = {r.name: r for r in run_models(elf, jobs)}
    return out


def _check_case(case, res, kernels):
    r = res[kernels][case["name"]]
    label = f"{case['name']} {case['ops']} KERNELS={kernels}"
    assert r.status == 0, f"{label}: refused: {r.message}"
    assert r.invoke_status == [0] * case["count"], f"{label}: invoke failed {r.invoke_status}"
    got = np.frombuffer(b"".join(r.outputs), dtype=np.uint8)
    want = np.frombuffer(case["want"], dtype=np.uint8)
    assert got.shape == want.shape, f"{label}: {got.size} output bytes, TFLite Micro {want.size}"
    bad = np.flatnonzero(got != want)
    for i in bad[:20]:
        print(f"{label}: byte {i}: {got[i]} != TFLM {want[i]}")
    assert not len(bad), f"{label}: {len(bad)} of {got.size} output bytes differ from TFLite Micro"
    assert r.arena <= case["tflm_arena"], \
        f"{label}: arena {r.arena} > TFLite Micro's {case['tflm_arena']}"
    return r


def test_every_case_byte_exact_in_both_builds(cases, results):
    """Both builds equal TFLite Micro (hence each other) on every case, every byte."""
    failures = []
    for case in cases:
        for kernels in ("ref", "cm4"):
            try:
                _check_case(case, results, kernels)
            except AssertionError as e:
                failures.append(str(e).splitlines()[0])
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_cases_reach_every_dsp_path(cases):
    ops = {op for c in cases for op in c["ops"]}
    assert {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"} <= ops
    names = {c["name"] for c in cases}
    assert {"mlperf/ad01", "mlperf/kws", "mlperf/resnet"} <= names, \
        f"MLPerf Tiny models missing from {MLPERF}"


def test_cm4_arena_growth_is_small(cases, results):
    """The DSP kernels' scratch (expanded activations, convolution columns) costs little arena:
    reported here, and always within TFLite Micro's own allocation (checked per case above)."""
    for c in cases:
        if c["name"].startswith("mlperf/"):
            ref, cm4 = results["ref"][c["name"]].arena, results["cm4"][c["name"]].arena
            print(f"{c['name']}: arena ref {ref}, cm4 {cm4} (+{cm4 - ref}), TFLM {c['tflm_arena']}")
            assert cm4 - ref <= 2048


def test_cm4_is_faster_and_ad01_meets_target(cases, results):
    for c in cases:
        if not c["name"].startswith("mlperf/"):
            continue
        ref = min(results["ref"][c["name"]].instructions)
        cm4 = min(results["cm4"][c["name"]].instructions)
        print(f"{c['name']}: {ref} -> {cm4} instructions per inference ({ref / cm4:.2f}x)")
        assert cm4 < ref / 2.5
    ad01 = min(results["cm4"]["mlperf/ad01"].instructions)
    assert ad01 / AD01_MACS <= 1.6, f"ad01: {ad01 / AD01_MACS:.3f} instructions per MAC"


def test_instruction_counts_repeat(results):
    """-icount shift=0: the same input costs the same instructions (the profiled extra run of
    the last input is not counted; same-input runs are what `make perf` relies on)."""
    r = results["cm4"]["mlperf/ad01"]
    assert sum(r.op_instructions) < min(r.instructions)
    assert len(r.op_instructions) == r.n_ops == 10


def test_requantization_identity():
    """fs_cm4_mbqm (ops/cm4/fs_cm4.h) replaces TFLite's SaturatingRoundingDoublingHighMul --
    (a*b + nudge) truncated toward zero by 2^31, nudge 2^30 or 1 - 2^30 by the product's sign --
    with one formula, (a*b + 2^30) >> 31, for multipliers in [0, 2^31). Exact integers: the
    identity on edge values and a million random products."""
    def srdhm(a, b):
        ab = a * b
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        v = ab + nudge
        return -((-v) >> 31) if v < 0 else v >> 31   # truncation toward zero

    def fast(a, b):
        return (a * b + (1 << 30)) >> 31

    edges = [-(1 << 31), -(1 << 31) + 1, -(1 << 30) - 1, -(1 << 30), -2, -1, 0, 1, 2, (1 << 30),
             (1 << 31) - 1]
    mults = [0, 1, (1 << 30), (1 << 30) + 1, (1 << 31) - 1, 1518500250]
    for a in edges:
        for b in mults:
            assert srdhm(a, b) == fast(a, b), (a, b)
    rng = np.random.default_rng(5)
    a = rng.integers(-(1 << 31), 1 << 31, size=1_000_000, dtype=np.int64)
    b = rng.integers(0, 1 << 31, size=1_000_000, dtype=np.int64)
    # a*b fits in int64 (|a*b| < 2^62): exact in numpy
    ab = a * b
    ref = np.where(ab >= 0, (ab + (1 << 30)) >> 31, -((-(ab + 1 - (1 << 30))) >> 31))
    assert np.array_equal(ref, (ab + (1 << 30)) >> 31)


def test_short_requantization_identity():
    """fs_cm4_rq_apply (ops/cm4/fs_cm4_rq.h) equals MultiplyByQuantizedMultiplier + output offset
    under fs_cm4_rq_ok's conditions (shift in [-20, -1], |x| < 2^30): SMMULR(2x, m) for the
    doubling high multiply, (h + 2^(r-1) + off * 2^r - (h < 0)) >> r for the rounding shift. Exact
    integers, edge values and half a million random ones."""
    def mbqm(x, m, shift):          # fs_mbqm with shift < 0 (no left shift)
        ab = x * m
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        v = ab + nudge
        h = -((-v) >> 31) if v < 0 else v >> 31
        r = -shift
        mask = (1 << r) - 1
        rem, thr = h & mask, (mask >> 1) + (1 if h < 0 else 0)
        return (h >> r) + (1 if rem > thr else 0)

    def short(x, m, shift, off):
        r = -shift
        h = (2 * x * m + (1 << 31)) >> 32             # SMMULR
        k = (1 << (r - 1)) + off * (1 << r)
        v = h + k + (-1 if h < 0 else 0)
        assert -(1 << 31) <= v < (1 << 31)             # no int32 overflow in the kernel
        return v >> r

    edges = [-(1 << 30) + 1, -(1 << 29), -65537, -2, -1, 0, 1, 2, 65535, (1 << 29), (1 << 30) - 1]
    mults = [0, 1, 1 << 30, (1 << 30) + 1, (1 << 31) - 1, 1518500250]
    for x in edges:
        for m in mults:
            for shift in (-1, -2, -7, -20):
                for off in (-128, -1, 0, 5, 127):
                    assert short(x, m, shift, off) == mbqm(x, m, shift) + off, (x, m, shift, off)
    rng = np.random.default_rng(16)
    for _ in range(500_000 // 1000):
        xs = rng.integers(-(1 << 30) + 1, 1 << 30, size=1000)
        m = int(rng.integers(1 << 30, 1 << 31))
        shift, off = -int(rng.integers(1, 21)), int(rng.integers(-128, 128))
        for x in xs[:1000]:
            x = int(x)
            assert short(x, m, shift, off) == mbqm(x, m, shift) + off, (x, m, shift, off)
