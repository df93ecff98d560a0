"""In-place operators (firmware/runtime/fs_planner.c): DEPTHWISE_CONV_2D with depth multiplier 1
and pointwise CONV_2D with no more output than input channels write their output over their
input when that input dies at them. Small converted Keras chains that take every branch (stride
1 and 2, SAME and VALID, tall and wide filters, Cout < Cin, = Cin, > Cin, depth multiplier 2, an
input kept alive by a later ADD) must give TFLite Micro's bytes in the x86 build (plain and
sanitized) and in the QEMU Cortex-M4 harness with the reference and the DSP kernels, and the
chain's arena must be below what any plan without sharing needs: two of its largest activation.
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from tests.support import AD01, ad01_config

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]
MACHINE = "test-inplace"


def _chain(keras, L, x):
    """conv -> dw -> pw(Cout < Cin) -> dw s2 VALID -> pw(=) -> dw 3x5 s(2,1) -> pw(Cout > Cin)."""
    y = L.Conv2D(32, (3, 3), padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D((3, 3), padding="same", activation="relu")(y)
    y = L.Conv2D(24, (1, 1))(y)
    y = L.DepthwiseConv2D((3, 3), strides=(2, 2), padding="valid", activation="relu6")(y)
    y = L.Conv2D(24, (1, 1), activation="relu")(y)
    y = L.DepthwiseConv2D((3, 5), strides=(2, 1), padding="same")(y)
    return L.Conv2D(40, (1, 1))(y)


def _skip(keras, L, x):
    """The depthwise input is still needed by the ADD after it: no sharing there."""
    a = L.Conv2D(16, (3, 3), padding="same", activation="relu")(x)
    b = L.DepthwiseConv2D((3, 3), padding="same")(a)
    c = L.Add()([a, b])
    d = L.DepthwiseConv2D((3, 3), depth_multiplier=2, padding="same")(c)
    return L.Conv2D(8, (1, 1))(d)


BUILDERS = {"chain": ((24, 24, 4), _chain), "skip": ((12, 10, 3), _skip)}


def _build(op_models, name: str) -> dict:
    keras = op_models._keras()
    shape, fn = BUILDERS[name]
    rng = np.random.default_rng(len(name))
    x = keras.Input(shape, batch_size=1)
    model = keras.Model(x, fn(keras, keras.layers, x))
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * (0.4 if w.ndim > 1 else 0.2)
                       for w in model.get_weights()])
    tfl = op_models.convert(model, (1, *shape), rng, (-1.0, 1.0))
    inputs = rng.integers(-128, 128, size=(3, 1, *shape), dtype=np.int64).astype(np.int8)
    want, arena = op_models.tflm_run(tfl, inputs)
    return {"name": name, "model": tfl, "inputs": inputs, "want": want, "tflm_arena": arena}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request, op_models, tmp_path_factory):
    c = _build(op_models, request.param)
    path = tmp_path_factory.mktemp("inplace") / f"{c['name']}.tflite"
    path.write_bytes(c["model"])
    c["path"] = path
    return c


def _largest_activation(model: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    g = s.Model.GetRootAsModel(model, 0).Subgraphs(0)
    outs = [g.Operators(i).OutputsAsNumpy()[0] for i in range(g.OperatorsLength())]
    return max(int(np.prod(g.Tensors(t).ShapeAsNumpy())) for t in outs)


def test_inplace_exact_x86(run_model, run_model_san, compare, case):
    x, want = case["inputs"], case["want"]
    for rm in (run_model, run_model_san):
        r = rm(case["path"], x.tobytes(), len(x))
        assert r.returncode == 0, r.stderr
        compare(r.outputs(want.dtype, len(x)), want.reshape(len(x), -1), case["name"])
    print(f"{case['name']}: arena {r.arena}, TFLite Micro {case['tflm_arena']}")
    assert r.arena <= case["tflm_arena"]
    if case["name"] == "chain":
        # Without sharing, conv 0's output and the first depthwise output are alive together.
        assert r.arena < 2 * _largest_activation(case["model"]), r.arena


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """The runtime-only QEMU harness (RUNMODEL=1) built with KERNELS=ref and =cm4."""
    import shutil

    from export import carray

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.fail("qemu-system-arm / arm-none-eabi-gcc missing: run `make setup`", pytrace=False)
    build = tmp_path_factory.mktemp("fw-inplace")
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
def test_inplace_exact_cortex_m4(harness, case, kernels):
    from host.qemu import Job, run_models

    x, want = case["inputs"], case["want"]
    [r] = run_models(harness[kernels], [Job(case["model"], x.tobytes(), len(x), name=case["name"])])
    assert r.status == 0, r.message
    assert r.invoke_status == [0] * len(x)
    got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
    bad = np.flatnonzero(got != want.reshape(-1))
    assert not len(bad), f"{case['name']} KERNELS={kernels}: {len(bad)} bytes differ from TFLM"
    print(f"{case['name']} KERNELS={kernels}: arena {r.arena}, TFLite Micro {case['tflm_arena']}")
    assert r.arena <= case["tflm_arena"]
    if case["name"] == "chain":
        assert r.arena < 2 * _largest_activation(case["model"]), r.arena
