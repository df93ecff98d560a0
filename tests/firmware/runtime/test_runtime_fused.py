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

import os
import subprocess

import numpy as np
import pytest

from tests.support import AD01, ad01_config

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
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
    keras = op_models._keras()
    shape, fn, fused = BUILDERS[name]
    rng = np.random.default_rng(len(name) + 3)
    x = keras.Input(shape, batch_size=1)
    model = keras.Model(x, fn(keras, keras.layers, x))
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * (0.4 if w.ndim > 1 else 0.2)
                       for w in model.get_weights()])
    tfl = op_models.convert(model, (1, *shape), rng, (-1.0, 1.0))
    inputs = rng.integers(-128, 128, size=(3, 1, *shape), dtype=np.int64).astype(np.int8)
    want, arena = op_models.tflm_run(tfl, inputs)
    return {"name": name, "model": tfl, "inputs": inputs, "want": want, "tflm_arena": arena,
            "fused": fused}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request, op_models, tmp_path_factory):
    c = _build(op_models, request.param)
    path = tmp_path_factory.mktemp("fused") / f"{c['name']}.tflite"
    path.write_bytes(c["model"])
    c["path"] = path
    return c


def _largest_activation(model: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    g = s.Model.GetRootAsModel(model, 0).Subgraphs(0)
    outs = [g.Operators(i).OutputsAsNumpy()[0] for i in range(g.OperatorsLength())]
    return max(int(np.prod(g.Tensors(t).ShapeAsNumpy())) for t in outs)


def _check_arena(case, arena: int, label: str) -> None:
    print(f"{label}: arena {arena}, TFLite Micro {case['tflm_arena']}")
    assert arena <= case["tflm_arena"]
    if case["fused"]:
        assert arena < 2 * _largest_activation(case["model"]), f"{label}: arena {arena}"


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
    """The runtime-only QEMU harness (RUNMODEL=1) built with KERNELS=ref and =cm4."""
    import shutil

    from export import carray

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.fail("qemu-system-arm / arm-none-eabi-gcc missing: run `make setup`", pytrace=False)
    build = tmp_path_factory.mktemp("fw-fused")
    model_dir = tmp_path_factory.mktemp("models") / "ad01"
    carray.write(model_dir, AD01.read_bytes(), ad01_config())
    elfs = {}
    for kernels, sub in (("ref", "qemu-runmodel-ref"), ("cm4", "qemu-runmodel")):
        args = ["make", "-s", "-j", str(min(2, os.cpu_count() or 1)), "-C", str(ROOT / "firmware"),
                "BOARD=qemu", f"MACHINE={MACHINE}", f"MODEL_DIR={model_dir}", f"BUILD={build}",
                "RUNMODEL=1", f"KERNELS={kernels}"]
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        elfs[kernels] = build / sub / MACHINE / "firmware.elf"
    return elfs


@pytest.mark.parametrize("kernels", ["ref", "cm4"])
def test_fused_exact_cortex_m4(harness, case, kernels):
    from host.qemu import Job, run_models

    x, want = case["inputs"], case["want"]
    [r] = run_models(harness[kernels], [Job(case["model"], x.tobytes(), len(x), name=case["name"])])
    assert r.status == 0, r.message
    assert r.invoke_status == [0] * len(x)
    got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
    bad = np.flatnonzero(got != want.reshape(-1))
    assert not len(bad), f"{case['name']} KERNELS={kernels}: {len(bad)} bytes differ from TFLM"
    _check_arena(case, r.arena, f"{case['name']} KERNELS={kernels}")
