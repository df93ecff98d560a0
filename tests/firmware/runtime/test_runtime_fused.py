"""Residual blocks run row by row (firmware/runtime/fs_fuse.c): CONV_2D, CONV_2D, an optional
projection CONV_2D, ADD, with the block's output written over its input. Small converted Keras
models that take every branch (identity skip with the ADD's operands either way round; a strided
projection with odd sizes, so SAME pads one side only; a tall and a wide filter; the stride in
the second convolution; a block whose input is still needed after its ADD, which must not be
fused) must give TFLite Micro's bytes in the x86 build (plain and sanitized) and in the QEMU
Cortex-M4 harness with the reference and the DSP kernels. Where blocks fuse, the arena must be
below two of the largest activation, which no op-by-op plan can reach (x, h and g are alive
together at the second convolution).
"""
from __future__ import annotations

import numpy as np
import pytest

from .keras_chains import ROOT, convert_chain, largest_activation, run_on_cortex_m4, runmodel_harness

MACHINE = "test-fused"


def _resnet_like(keras, L, x):
    """Identity block (ADD(x, g)), then a stride-2 block with a 1x1 projection (ADD(s, g))."""
    x = L.Conv2D(16, (3, 3), padding="same", activation="relu")(x)
    h = L.Conv2D(16, (3, 3), padding="same", activation="relu")(x)
    g = L.Conv2D(16, (3, 3), padding="same")(h)
    x = L.Activation("relu")(L.Add()([x, g]))
    h = L.Conv2D(24, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    g = L.Conv2D(24, (3, 3), padding="same")(h)
    s = L.Conv2D(24, (1, 1), strides=(2, 2))(x)
    return L.Activation("relu")(L.Add()([s, g]))


def _odd(keras, L, x):
    """A 5x3 then 3x1 identity block (ADD(g, x)); a block with the stride in its second conv."""
    x = L.Conv2D(8, (3, 3), padding="same", activation="relu")(x)
    h = L.Conv2D(8, (5, 3), padding="same", activation="relu")(x)
    g = L.Conv2D(8, (3, 1), padding="same")(h)
    x = L.Add()([g, x])
    h = L.Conv2D(12, (3, 3), padding="same", activation="relu")(x)
    g = L.Conv2D(12, (3, 3), strides=(2, 2), padding="same")(h)
    s = L.Conv2D(12, (1, 1), strides=(2, 2))(x)
    y = L.Activation("relu")(L.Add()([g, s]))
    return L.Conv2D(4, (1, 1))(y)


def _kept(keras, L, x):
    """The block's input is read again after its ADD: it must keep its own buffer."""
    x = L.Conv2D(8, (3, 3), padding="same", activation="relu")(x)
    h = L.Conv2D(8, (3, 3), padding="same", activation="relu")(x)
    g = L.Conv2D(8, (3, 3), padding="same")(h)
    y = L.Add()([x, g])
    return L.Add()([y, x])


BUILDERS = {"resnet_like": ((24, 24, 3), _resnet_like, True), "odd": ((29, 27, 5), _odd, True),
            "kept": ((12, 10, 3), _kept, False)}


def _build(op_models, name: str) -> dict:
    shape, fn, fused = BUILDERS[name]
    return dict(convert_chain(op_models, name, shape, fn, len(name) + 3), fused=fused)


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request, op_models, tmp_path_factory):
    c = _build(op_models, request.param)
    path = tmp_path_factory.mktemp("fused") / f"{c['name']}.tflite"
    path.write_bytes(c["model"])
    c["path"] = path
    return c


def _check_arena(case, arena: int, label: str) -> None:
    print(f"{label}: arena {arena}, TFLite Micro {case['tflm_arena']}")
    assert arena <= case["tflm_arena"]
    if case["fused"]:
        assert arena < 2 * largest_activation(case["model"]), f"{label}: arena {arena}"


def test_fused_exact_x86(run_model, run_model_san, compare, case):
    x, want = case["inputs"], case["want"]
    for rm in (run_model, run_model_san):
        r = rm(case["path"], x.tobytes(), len(x))
        assert r.returncode == 0, r.stderr
        compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), case["name"])
    _check_arena(case, r.arena, f"{case['name']} x86")


def test_resnet_arena_is_under_half_of_tflm(run_model, compare, op_models):
    """MLPerf Tiny's resnet (three residual blocks), the model issue 16's goal names."""
    path = ROOT / "third_party" / "mlperf-tiny" / "pretrainedResnet_quant.tflite"
    model = path.read_bytes()
    x = np.random.default_rng(5).integers(-128, 128, size=(2, 1, 32, 32, 3)).astype(np.int8)
    want, tflm_arena = op_models.tflm_run(model, x)
    r = run_model(path, x.tobytes(), len(x))
    assert r.returncode == 0, r.stderr
    compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), "resnet")
    print(f"resnet x86: arena {r.arena}, TFLite Micro {tflm_arena}")
    assert r.arena <= 0.5 * tflm_arena


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return runmodel_harness(tmp_path_factory, MACHINE)


@pytest.mark.parametrize("kernels", ["ref", "cm4"])
def test_fused_exact_cortex_m4(harness, case, kernels):
    r = run_on_cortex_m4(harness[kernels], case)
    _check_arena(case, r.arena, f"{case['name']} KERNELS={kernels}")
