"""ADD's Cortex-M4 kernel (firmware/runtime/ops/cm4/add_cm4.c) against TFLite Micro.

One-op int8 ADD models are written directly with TFLite's flatbuffer schema (no converter, so
every scale, zero point and fused activation is chosen here, extreme ones included): the model's
input plus a constant operand of the same shape (the kernel's fast path), or of a shape that
broadcasts (the reference kernel must still run), or the input added to itself. TFLite Micro's
Python interpreter gives the expected bytes; the runtime-only harness (RUNMODEL=1) runs every
case on QEMU with KERNELS=cm4 and KERNELS=ref, and the per-operator instruction counts show which
kernel ran. A second test checks the kernel's integer identities exhaustively in Python against
TFLite's arithmetic written out from its reference kernel.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from host.qemu import Job
from tests.firmware import op_models

RELU, RELU6, RELU_N1_TO_1 = 1, 3, 2


def tflm_run(model: bytes, inputs: np.ndarray) -> tuple[np.ndarray, int]:
    """TFLite Micro's outputs and arena total, with an arena to spare."""
    return op_models.tflm_run(model, inputs, arena_size=1 << 20)


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    return s


def add_model(shape, scale_x, zp_x, other, scale_o, zp_o, act=0, rng=None) -> bytes:
    """ADD(x, c) -> y, x the int8 input of `shape`. other: ("const", shape, scale, zp) for a
    constant operand (random int8 values) or ("self",) for ADD(x, x)."""
    s = _schema()
    rng = rng or np.random.default_rng(0)

    def tensor(name, shp, scale, zp, buffer):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shp), s.TensorType.INT8, buffer
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint = [float(np.float32(scale))], [int(zp)]
        t.quantization = q
        return t

    def buffer(data=None):
        b = s.BufferT()
        if data is not None:
            b.data = list(data)
        return b

    buffers = [buffer(), buffer()]
    tensors = [tensor("x", shape, scale_x, zp_x, 1)]
    if other[0] == "self":
        inputs = [0, 0]
    else:
        _, c_shape, c_scale, c_zp = other
        values = rng.integers(-128, 128, size=int(np.prod(c_shape)), dtype=np.int64)
        buffers.append(buffer(values.astype(np.int8).view(np.uint8)))
        tensors.append(tensor("c", c_shape, c_scale, c_zp, len(buffers) - 1))
        inputs = [0, 1]
    out_shape = list(np.broadcast_shapes(tuple(shape), tuple(other[1]) if other[0] == "const"
                                         else tuple(shape)))
    buffers.append(buffer())
    tensors.append(tensor("y", out_shape, scale_o, zp_o, len(buffers) - 1))
    options = s.AddOptionsT()
    options.fusedActivationFunction = act
    return op_models.one_op_model(s.BuiltinOperator.ADD, tensors, buffers, [0],
                                  [len(tensors) - 1], s.BuiltinOptions.AddOptions, options,
                                  op_inputs=inputs)


S = [1, 4, 16, 128]        # the cls model's residual ADD
# name: (shape, x scale, x zp, other, output scale, output zp, activation, path)
# path: "fast" (the equal-shape kernel, full int8 range), "clamp" (the same with the activation
# clamp), "ref" (the reference kernel).
CASES = {
    "cls_residual_relu": (S, 0.05, -3, ("const", S, 0.08, 10), 0.09, -128, RELU, "fast"),
    "other_bigger_scale": ([3, 7, 5], 0.02, 7, ("const", [3, 7, 5], 0.5, -20), 0.4, 4, 0, "fast"),
    "x_bigger_scale": ([1, 33], 0.7, -128, ("const", [1, 33], 0.11, 127), 0.6, 0, 0, "fast"),
    "equal_scales": ([2, 9, 11], 0.03, 5, ("const", [2, 9, 11], 0.03, -7), 0.05, 1, 0, "fast"),
    "self_add": ([5, 17], 0.1, -40, ("self",), 0.17, -128, 0, "fast"),
    "one_element": ([1], 0.3, 3, ("const", [1], 0.2, -2), 0.35, 0, 0, "fast"),
    "zero_points_extreme": ([4, 65], 0.04, 127, ("const", [4, 65], 0.045, -128), 0.06, 127, 0,
                            "fast"),
    "ratio_1_16": ([3, 30], 0.16, 0, ("const", [3, 30], 0.01, 9), 0.2, -5, 0, "fast"),
    # the other input's shift beyond the folded constant's range (r > 4)
    "ratio_1_1000": ([3, 30], 0.5, 2, ("const", [3, 30], 0.0005, -3), 0.4, 6, 0, "fast"),
    "ratio_2_-29": ([2, 40], 1.0, -1, ("const", [2, 40], 2.0 ** -29, 100), 0.9, 0, 0, "fast"),
    "ratio_2_-29_relu": ([2, 40], 1.0, -1, ("const", [2, 40], 2.0 ** -29, 100), 0.9, 3, RELU,
                         "clamp"),
    # a multiplier that flushes to zero (ratio < 2^-32): the reference
    "ratio_2_-34": ([2, 40], 1.0, -1, ("const", [2, 40], 2.0 ** -34, 100), 0.9, 0, 0, "ref"),
    "relu_zp_not_min": ([6, 21], 0.05, 4, ("const", [6, 21], 0.07, -9), 0.06, -20, RELU,
                        "clamp"),
    "relu6": ([6, 21], 0.02, 4, ("const", [6, 21], 0.03, -9), 0.03, -128, RELU6, "clamp"),
    "relu_n1_to_1": ([6, 21], 0.01, 4, ("const", [6, 21], 0.012, -9), 0.01, 0, RELU_N1_TO_1,
                     "clamp"),
    # the output shift at the limits of the short requantization: 1 and 20, and past them
    "output_shift_1": ([4, 25], 0.3, 1, ("const", [4, 25], 0.2, -1),
                       3 * 0.6 / 2 ** 20, 0, 0, "fast"),
    "output_shift_0": ([4, 25], 0.3, 1, ("const", [4, 25], 0.2, -1),
                       1.5 * 0.6 / 2 ** 20, 0, 0, "ref"),
    "output_shift_20": ([4, 25], 0.3, 1, ("const", [4, 25], 0.2, -1), 0.9, -2, 0, "fast"),
    "output_shift_21": ([4, 25], 0.3, 1, ("const", [4, 25], 0.2, -1), 1.5, -2, 0, "ref"),
    # broadcasting: the reference kernel
    "broadcast_channels": ([2, 3, 4, 8], 0.05, 1, ("const", [8], 0.04, -2), 0.07, 3, 0, "ref"),
    "broadcast_middle": ([2, 3, 4, 8], 0.05, 1, ("const", [1, 3, 1, 8], 0.06, 5), 0.07, 3, RELU,
                         "ref"),
    "broadcast_scalar": ([5, 12], 0.05, 1, ("const", [], 0.06, 5), 0.07, -128, 0, "ref"),
    "broadcast_input": ([1, 6], 0.05, 1, ("const", [4, 6], 0.06, 5), 0.07, -128, 0, "ref"),
}


@pytest.fixture(scope="module")
def cases() -> dict:
    out = {}
    for k, (name, (shape, sx, zx, other, so, zo, act, path)) in enumerate(CASES.items()):
        rng = np.random.default_rng(1600 + k)
        model = add_model(shape, sx, zx, other, so, zo, act, rng)
        # enough inputs that every int8 value of x meets many values of the other operand
        count = max(2, math.ceil(1024 / max(1, int(np.prod(shape)))))
        count = min(count, 64)
        x = rng.integers(-128, 128, size=(count, *shape), dtype=np.int64).astype(np.int8)
        want, arena = tflm_run(model, x)
        out[name] = {"model": model, "x": x, "want": want, "arena": arena, "path": path}
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory, cases) -> dict:
    """{kernels: {case: JobResult}} from the RUNMODEL=1 harness, KERNELS=cm4 and ref."""
    jobs = [Job(c["model"], c["x"].tobytes(), len(c["x"]), profile=True, name=n)
            for n, c in cases.items()]
    return op_models.qemu_runmodel(tmp_path_factory, "add", jobs)


@pytest.mark.parametrize("name", list(CASES))
def test_add_byte_exact_and_takes_its_path(cases, results, name):
    c = cases[name]
    want = np.frombuffer(c["want"].tobytes(), dtype=np.int8)
    for kernels in ("cm4", "ref"):
        r = results[kernels][name]
        assert r.status == 0, f"{name} KERNELS={kernels}: refused: {r.message}"
        assert r.invoke_status == [0] * len(c["x"])
        got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
        bad = np.flatnonzero(got != want)
        assert not len(bad), (f"{name} KERNELS={kernels}: {len(bad)} of {got.size} bytes differ "
                              f"from TFLite Micro, first at {bad[0]}: {got[bad[0]]} != "
                              f"{want[bad[0]]}")
        assert r.arena <= c["arena"]
    (cm4,), (ref,) = results["cm4"][name].op_instructions, results["ref"][name].op_instructions
    n = c["x"][0].size
    if c["path"] == "ref":
        # the reference kernel itself, behind a few instructions of dispatch
        assert abs(cm4 - ref) <= 150, f"{name}: cm4 {cm4}, ref {ref}: not the reference kernel"
    else:
        per_element = cm4 / n
        limit = 17 if c["path"] == "fast" else 25
        print(f"{name}: {cm4} instructions ({per_element:.1f} per element), reference {ref}")
        assert per_element < limit + 400 / n, f"{name}: {per_element:.1f} per element"


# ---- the integer identities, exhaustively ------------------------------------------------

def _srdhm(a, b):
    """TFLite's SaturatingRoundingDoublingHighMul (no saturation case here), numpy int64."""
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    v = ab + nudge
    return np.where(v >= 0, v >> 31, -((-v) >> 31))        # division truncating toward zero


def _rdbpot(x, e):
    mask = (1 << e) - 1
    rem, thr = x & mask, (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def _quantize(m):
    """QuantizeMultiplier in double: (q, shift)."""
    if m == 0:
        return 0, 0
    f, e = math.frexp(m)
    q = math.floor(f * (1 << 31) + 0.5)              # round half away from zero (f > 0)
    if q == 1 << 31:
        q, e = q // 2, e + 1
    if e < -31:
        return 0, 0
    return q, e


def _smmlar(a, b, acc):
    return acc + ((a * b + (1 << 31)) >> 32)


@pytest.mark.parametrize("ratio", [1.0, 0.999, 0.75, 0.5, 0.3, 1 / 16, 0.0626, 0.01, 2.0 ** -29])
def test_add_kernel_identities(ratio):
    """add_cm4.c's arithmetic (SMMULR of v << 21; the rounding shift with the multiplicand's sign;
    the larger-scale input's offset folded into the other's rounding constant for r <= 4; equal
    scales as m = 2^31 - 1, r = 1; the output's short requantization with the offset folded in)
    equals TFLite's for every pair of int8 inputs, every zero point pair sampled, several output
    multipliers."""
    v = np.arange(-128, 128, dtype=np.int64)
    a, b = np.meshgrid(v, v, indexing="ij")         # a: the larger-scale input
    m_small, sh_small = _quantize(ratio * 0.5)       # scale_small / (2 * scale_big)
    rng = np.random.default_rng(int(ratio * 1e6))
    for off_big, off_small in [(-127, 128), (128, -127), (0, 0), (5, -17)]:
        for out_mult in [0.9999, 0.6, 1 / 3, 2.0 ** -20 * 1.01]:
            om, osh = _quantize(out_mult)
            for out_off in (-128, int(rng.integers(-128, 128)), 127):
                # TFLite
                xa = (a + off_big) << 20
                xb = (b + off_small) << 20
                sa = _rdbpot(_srdhm(xa, 1 << 30), 0)
                sb = _rdbpot(_srdhm(xb, m_small), -sh_small)
                ref = _rdbpot(_srdhm(sa + sb, om), -osh) + out_off
                # the kernel
                if sh_small == 0:
                    assert m_small == 1 << 30
                    m, r = (1 << 31) - 1, 1
                else:
                    m, r = m_small, -sh_small
                x = (b << 21) + off_small * (1 << 21)
                if r <= 4:
                    folded = (1 << (r - 1)) + off_big * (1 << (19 + r))
                    t = _smmlar(x, m, folded) + (x >> 31)
                    assert np.abs(t).max() < 1 << 31
                    total = (t >> r) + (a << 19)
                else:
                    s = (_smmlar(x, m, 1 << (r - 1)) + (x >> 31)) >> r
                    total = s + ((a + off_big) << 19)
                sum2 = 2 * total
                assert np.abs(sum2).max() < 1 << 30
                if not -20 <= osh <= -1:
                    continue                          # the kernel leaves these to the reference
                ro = -osh
                k = (1 << (ro - 1)) + out_off * (1 << ro)
                u = _smmlar(sum2, om, k) + (sum2 >> 31)
                assert np.abs(u).max() < 1 << 31
                got = u >> ro
                assert np.array_equal(got, ref), (ratio, off_big, off_small, out_mult, out_off)
