"""FULLY_CONNECTED's per-channel multipliers computed at each eval (FS_REQUANT_IN_SCRATCH,
firmware/runtime/ops/fully_connected.c) against TFLite Micro, with KERNELS=cm4 and ref.

One-op int8 FULLY_CONNECTED models are written directly with TFLite's flatbuffer schema, every
unit with its own random weight scale (quantized dimension 0): unit counts that fill the
eval's stack blocks (FS_FC_RQ_BLOCK) exactly, partly and not at all, several batches, a fused
activation, scales spread over 2^-20 .. 1. Byte-exact against TFLite Micro's Python
interpreter; and the arena says which way the multipliers went: a model with at most 128
per-channel units in all (fs_fc_requant_lazy_pays) needs exactly the arena of the same model
quantized per tensor (nothing kept per unit), a bigger one 8 bytes per unit more.
"""
from __future__ import annotations

import numpy as np
import pytest

from host.qemu import Job
from tests.firmware import op_models
from tests.firmware.runtime.test_add_cm4 import _schema, tflm_run


def fc_model(batches, depth, units, per_channel, act=0, rng=None, scale_lo=-12) -> bytes:
    """x [batches, depth] -> FULLY_CONNECTED (weights [units, depth], int32 bias) -> y."""
    s = _schema()
    rng = rng or np.random.default_rng(0)
    sx, zx = float(np.float32(rng.uniform(0.01, 0.2))), int(rng.integers(-20, 20))
    if per_channel:
        sw = (2.0 ** rng.uniform(scale_lo, 0, size=units) / 64).astype(np.float32)
    else:
        sw = np.full(1, np.float32(rng.uniform(0.001, 0.02)), dtype=np.float32)
    so, zo = float(np.float32(rng.uniform(0.05, 0.5))), int(rng.integers(-30, 30))

    def tensor(name, shp, scales, zps, buffer, ttype=s.TensorType.INT8, dim=0):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shp), ttype, buffer
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = [float(v) for v in scales], list(zps), dim
        t.quantization = q
        return t

    def buffer(data=None):
        b = s.BufferT()
        if data is not None:
            b.data = list(np.frombuffer(data, dtype=np.uint8))
        return b

    w = rng.integers(-127, 128, size=(units, depth), dtype=np.int64).astype(np.int8)
    bscale = (np.float32(sx) * sw).astype(np.float32)
    bias = rng.integers(-20000, 20000, size=units, dtype=np.int64).astype("<i4")
    n = len(sw)
    tensors = [tensor("x", [batches, depth], [sx], [zx], 1),
               tensor("w", [units, depth], sw, [0] * n, 2),
               tensor("b", [units], bscale, [0] * n, 3, s.TensorType.INT32),
               tensor("y", [batches, units], [so], [zo], 4)]
    buffers = [buffer(), buffer(), buffer(w.tobytes()), buffer(bias.tobytes()), buffer()]
    options = s.FullyConnectedOptionsT()
    options.fusedActivationFunction = act
    return op_models.one_op_model(s.BuiltinOperator.FULLY_CONNECTED, tensors, buffers, [0], [3],
                                  s.BuiltinOptions.FullyConnectedOptions, options,
                                  op_inputs=[0, 1, 2])


# name: (batches, depth, units, activation, lowest log2 weight scale / 64); <= 128 units: lazy
CASES = {
    "stats_shape": (1, 128, 128, 0, -12),
    "one_block": (1, 40, 64, 1, -12),
    "partial_block": (3, 33, 100, 0, -12),
    "tiny_layer": (2, 7, 5, 3, -12),
    "small_scales": (1, 64, 96, 0, -20),
    "too_many_units": (1, 32, 200, 0, -12),
}


@pytest.fixture(scope="module")
def cases() -> dict:
    out = {}
    for k, (name, (batches, depth, units, act, lo)) in enumerate(CASES.items()):
        for pc in (True, False):
            rng = np.random.default_rng(4200 + k)
            model = fc_model(batches, depth, units, pc, act, rng, lo)
            x = rng.integers(-128, 128, size=(4, batches, depth), dtype=np.int64).astype(np.int8)
            want, arena = tflm_run(model, x)
            out[(name, pc)] = {"model": model, "x": x, "want": want, "arena": arena}
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory, cases) -> dict:
    jobs = [Job(c["model"], c["x"].tobytes(), len(c["x"]), name=f"{n[0]}/{int(n[1])}")
            for n, c in cases.items()]
    return op_models.qemu_runmodel(tmp_path_factory, "fc", jobs)


@pytest.mark.parametrize("name", list(CASES))
def test_fc_per_channel_byte_exact_and_arena(cases, results, name):
    units = CASES[name][2]
    for kernels in ("cm4", "ref"):
        arena = {}
        for pc in (True, False):
            c = cases[(name, pc)]
            r = results[kernels][f"{name}/{int(pc)}"]
            label = f"{name} per-channel={pc} KERNELS={kernels}"
            assert r.status == 0, f"{label}: refused: {r.message}"
            assert r.invoke_status == [0] * len(c["x"])
            got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
            want = np.frombuffer(c["want"].tobytes(), dtype=np.int8)
            bad = np.flatnonzero(got != want)
            assert not len(bad), f"{label}: {len(bad)} of {got.size} bytes differ from TFLM"
            arena[pc] = r.arena
        kept = 0 if units <= 128 else 8 * units
        assert arena[True] - arena[False] == kept, \
            f"{name} KERNELS={kernels}: arena {arena}, expected {kept} bytes of multipliers kept"
