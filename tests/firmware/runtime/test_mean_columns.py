"""MEAN's column sums (firmware/runtime/ops/mean.c) against TFLite Micro.

The reference kernel sums the reduced axes with column sums when they are one block of
consecutive dimensions (the classifier's means over time, [1, 32, 128, 1] and [1, 4, 1, 128]; H
and W of NHWC) and with its odometer otherwise. One-op int8 MEAN models written with TFLite's
flatbuffer schema cover both, with column counts that are and are not multiples of four, size-1
dimensions inside and around the block, and extreme zero points; TFLite Micro's Python
interpreter gives the expected bytes, the x86 run-model and the QEMU harness (KERNELS=cm4,
RUNMODEL=1) must match them, and the QEMU per-operator counts show the column path's cost.
"""
from __future__ import annotations

import numpy as np
import pytest

from host.qemu import Job
from tests.firmware import op_models
from tests.firmware.runtime.test_add_cm4 import tflm_run


def mean_model(shape, axes, keep, scale_x, zp_x, scale_o, zp_o) -> bytes:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    def tensor(name, shp, ttype, buffer, scale=None, zp=None):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shp), ttype, buffer
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [float(np.float32(scale))], [int(zp)]
            t.quantization = q
        return t

    buffers = [s.BufferT() for _ in range(4)]
    buffers[2].data = list(np.asarray(axes, dtype="<i4").view(np.uint8))
    out_shape = [1 if d in axes else n for d, n in enumerate(shape) if keep or d not in axes]
    tensors = [tensor("x", shape, s.TensorType.INT8, 1, scale_x, zp_x),
               tensor("axes", [len(axes)], s.TensorType.INT32, 2),
               tensor("y", out_shape, s.TensorType.INT8, 3, scale_o, zp_o)]
    options = s.ReducerOptionsT()
    options.keepDims = bool(keep)
    return op_models.one_op_model(s.BuiltinOperator.MEAN, tensors, buffers, [0], [2],
                                  s.BuiltinOptions.ReducerOptions, options, op_inputs=[0, 1])


# name: (shape, axes, keep_dims, x scale, x zp, output scale, output zp, column path)
CASES = {
    "cls_spectrum": ([1, 32, 128, 1], [1], True, 0.1, -20, 0.05, 3, True),
    "cls_time": ([1, 4, 1, 128], [1], False, 0.07, -128, 0.07, -128, True),
    "hw_nhwc": ([2, 5, 7, 12], [1, 2], True, 0.2, 5, 0.1, -1, True),
    "hw_odd_channels": ([1, 6, 3, 7], [1, 2], False, 0.03, 127, 0.04, -128, True),
    "last_axis": ([3, 5, 9], [2], True, 0.5, 0, 0.3, 10, True),
    "first_axes": ([6, 4, 5], [0, 1], False, 0.5, -7, 0.9, 0, True),
    "size1_in_block": ([2, 3, 1, 4, 6], [1, 2, 3], True, 0.1, 1, 0.2, 2, True),
    "size1_between": ([3, 1, 4, 5], [0, 2], True, 0.1, 1, 0.05, 2, True),
    "long_columns": ([1, 300, 5], [1], True, 0.02, -50, 0.01, 20, True),
    "two_blocks": ([2, 3, 4, 5], [1, 3], True, 0.1, 3, 0.08, -4, False),
    "outer_and_inner": ([3, 4, 2, 5], [0, 2], False, 0.1, 3, 0.08, -4, False),
}


@pytest.fixture(scope="module")
def cases() -> dict:
    out = {}
    for k, (name, (shape, axes, keep, sx, zx, so, zo, columns)) in enumerate(CASES.items()):
        rng = np.random.default_rng(4000 + k)
        model = mean_model(shape, axes, keep, sx, zx, so, zo)
        x = rng.integers(-128, 128, size=(3, *shape), dtype=np.int64).astype(np.int8)
        x[0] = -128 if k % 2 else 127                  # the extreme sums
        want, arena = tflm_run(model, x)
        out[name] = {"model": model, "x": x, "want": want, "arena": arena, "columns": columns}
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_mean_x86_byte_exact(run_model, tmp_path, cases, name):
    c = cases[name]
    path = tmp_path / "m.tflite"
    path.write_bytes(c["model"])
    r = run_model(path, c["x"].tobytes(), len(c["x"]))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(r.outputs(np.int8, len(c["x"])), c["want"].reshape(len(c["x"]), -1))


@pytest.fixture(scope="module")
def qemu_results(tmp_path_factory, cases) -> dict:
    jobs = [Job(c["model"], c["x"].tobytes(), len(c["x"]), profile=True, name=n)
            for n, c in cases.items()]
    return op_models.qemu_runmodel(tmp_path_factory, "mean", jobs, kernels=("cm4",))["cm4"]


@pytest.mark.parametrize("name", list(CASES))
def test_mean_qemu_byte_exact(qemu_results, cases, name):
    c, r = cases[name], qemu_results[name]
    assert r.status == 0, r.message
    got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
    assert np.array_equal(got, c["want"].reshape(-1)), name
    assert r.arena <= c["arena"]
    (ops,) = r.op_instructions
    n_in, n_out = c["x"][0].size, c["want"][0].size
    print(f"{name}: {ops} instructions, {n_in} inputs, {n_out} outputs")
    if c["columns"]:
        # about 3 per input byte, the requantization and column set-up per output (a column of
        # its own where the columns are not four abreast), the eval's set-up; the odometer takes
        # 35-45 per input byte
        assert ops < 4 * n_in + 110 * n_out + 400, f"{name}: {ops} instructions"
