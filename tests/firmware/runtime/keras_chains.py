"""What the planner tests of converted Keras chains share (test_runtime_inplace.py,
test_runtime_fused.py): converting a chain to int8 with TFLite Micro's outputs and arena, the
largest activation of a model, and the runtime-only QEMU harness built with both kernel sets."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.support import AD01, ad01_config

ROOT = Path(__file__).resolve().parents[3]


def convert_chain(op_models, name: str, shape: tuple, fn, seed: int) -> dict:
    """The chain fn(keras, layers, x) on an input of `shape`, random weights, converted to int8;
    three random inputs and TFLite Micro's outputs and arena for them."""
    keras = op_models._keras()
    rng = np.random.default_rng(seed)
    x = keras.Input(shape, batch_size=1)
    model = keras.Model(x, fn(keras, keras.layers, x))
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * (0.4 if w.ndim > 1 else 0.2)
                       for w in model.get_weights()])
    tfl = op_models.convert(model, (1, *shape), rng, (-1.0, 1.0))
    inputs = rng.integers(-128, 128, size=(3, 1, *shape), dtype=np.int64).astype(np.int8)
    want, arena = op_models.tflm_run(tfl, inputs)
    return {"name": name, "model": tfl, "inputs": inputs, "want": want, "tflm_arena": arena}


def largest_activation(model: bytes) -> int:
    """Elements of the largest operator output of the model."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    g = s.Model.GetRootAsModel(model, 0).Subgraphs(0)
    outs = [g.Operators(i).OutputsAsNumpy()[0] for i in range(g.OperatorsLength())]
    return max(int(np.prod(g.Tensors(t).ShapeAsNumpy())) for t in outs)


def runmodel_harness(tmp_path_factory, machine: str) -> dict[str, Path]:
    """The runtime-only QEMU harness (RUNMODEL=1) built with KERNELS=ref and =cm4."""
    from export import carray

    if not shutil.which("qemu-system-arm") or not shutil.which("arm-none-eabi-gcc"):
        pytest.fail("qemu-system-arm / arm-none-eabi-gcc missing: run `make setup`", pytrace=False)
    build = tmp_path_factory.mktemp(f"fw-{machine}")
    model_dir = tmp_path_factory.mktemp("models") / "ad01"
    carray.write(model_dir, AD01.read_bytes(), ad01_config())
    elfs = {}
    for kernels, sub in (("ref", "qemu-runmodel-ref"), ("cm4", "qemu-runmodel")):
        args = ["make", "-s", "-j", str(min(2, os.cpu_count() or 1)), "-C", str(ROOT / "firmware"),
                "BOARD=qemu", f"MACHINE={machine}", f"MODEL_DIR={model_dir}", f"BUILD={build}",
                "RUNMODEL=1", f"KERNELS={kernels}"]
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        elfs[kernels] = build / sub / machine / "firmware.elf"
    return elfs


def run_on_cortex_m4(elf: Path, case: dict):
    """The case through the harness: its result, after checking every byte against TFLM's."""
    from host.qemu import Job, run_models

    x, want = case["inputs"], case["want"]
    [r] = run_models(elf, [Job(case["model"], x.tobytes(), len(x), name=case["name"])])
    assert r.status == 0, r.message
    assert r.invoke_status == [0] * len(x)
    got = np.frombuffer(b"".join(r.outputs), dtype=np.int8)
    bad = np.flatnonzero(got != want.reshape(-1))
    assert not len(bad), f"{case['name']} {elf.parent.parent.name}: {len(bad)} bytes differ from TFLM"
    return r
