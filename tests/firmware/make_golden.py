"""Generate the runtime's golden cases: tests/firmware/golden/runtime/.

For every operator, a few randomized one-op (or tiny) int8 models are built with Keras and
TensorFlow's TFLiteConverter, run through TFLite Micro's interpreter on random inputs, and
saved as <name>.tflite, <name>.in.bin (inputs, concatenated raw bytes), <name>.out.bin
(TFLM's outputs) with manifest.json describing every case (parameters, seed, operator list,
TFLM's arena total) and stamped with the generator and package versions. Crafted variants the
converter never writes (SQUEEZE, int8 requantize, per-tensor conv weights, other softmax betas,
RELU_N1_TO_1/RELU6 fusing, equal-quantization MEAN) are made by editing converted models.
Models the runtime must refuse (float, unsupported operator) are saved too.

    .venv/bin/python tests/firmware/make_golden.py [--per-op 5] [--seed 20261129]

Regenerate only when the generator changes; the test (runtime/test_runtime_golden.py) needs neither
TensorFlow nor TFLite Micro.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import op_models as om  # noqa: E402

OUT = Path(__file__).resolve().parent / "golden" / "runtime"
N_INPUTS = 4


def _save(name: str, model: bytes, x: np.ndarray, y: np.ndarray) -> None:
    (OUT / f"{name}.tflite").write_bytes(model)
    (OUT / f"{name}.in.bin").write_bytes(np.ascontiguousarray(x).tobytes())
    (OUT / f"{name}.out.bin").write_bytes(np.ascontiguousarray(y).tobytes())


def _record(name, op, params, seed, model, x, y, arena, note=None) -> dict:
    _save(name, model, x, y)
    rec = {"name": name, "op": op, "seed": seed, "params": params, "ops": om.builtin_ops(model),
           "count": int(x.shape[0]), "input_dtype": str(x.dtype), "output_dtype": str(y.dtype),
           "tflm_arena": arena}
    if note:
        rec["note"] = note
    return rec


def _tensor(mt, i):
    return mt.subgraphs[0].tensors[i]


def crafted(seed: int) -> list[dict]:
    """Variants made by editing converted models, then run through TFLM like the others."""
    s = om.schema()
    cases = []

    def variant(name, op, params, case_seed, fn, note):
        base = om.build_case(op, params, case_seed, N_INPUTS)
        model = om.edit(base["model"], fn)
        y, arena = om.tflm_run(model, base["inputs"])
        cases.append(_record(name, op, params, case_seed, model, base["inputs"], y, arena, note))

    rng = np.random.default_rng(seed)

    def first_op(mt):
        return mt.subgraphs[0].operators[0]

    # MEAN whose output has the input's quantization: TFLM's plain integer-mean path.
    p = om.random_params("mean", rng)
    p.update(shape=[1, 4, 5, 3], axes=[1, 2], keepdims=True)

    def mean_same(mt):
        op = first_op(mt)
        qi, qo = _tensor(mt, op.inputs[0]).quantization, _tensor(mt, op.outputs[0]).quantization
        qo.scale, qo.zeroPoint = list(qi.scale), list(qi.zeroPoint)
    variant("mean_samequant_0", "mean", p, seed + 1, mean_same, "output quantization set to the input's")
    p = dict(p, shape=[2, 3, 7], axes=[2], keepdims=False)
    variant("mean_samequant_1", "mean", p, seed + 2, mean_same, "output quantization set to the input's")

    # SQUEEZE: the converter lowers tf.squeeze to RESHAPE; rewrite the operator.
    for k in range(2):
        p = om.random_params("squeeze", rng)

        def to_squeeze(mt):
            op = first_op(mt)
            om.set_opcode(mt, op, 43)
            op.inputs = op.inputs[:1]
            op.builtinOptionsType = s.BuiltinOptions.SqueezeOptions
            op.builtinOptions = s.SqueezeOptionsT()
            shape = list(_tensor(mt, op.inputs[0]).shape)
            op.builtinOptions.squeezeDims = [i for i, d in enumerate(shape) if d == 1 and i > 0][:1]
        variant(f"squeeze_op_{k}", "squeeze", p, seed + 10 + k, to_squeeze, "RESHAPE rewritten as SQUEEZE")

    # int8 -> int8 QUANTIZE (requantization) with a different scale and zero point.
    for k, (ratio, dzp) in enumerate([(1.7, 5), (0.3, -20), (4.0, 0)]):
        p = om.random_params("reshape", rng)

        def to_requant(mt, ratio=ratio, dzp=dzp):
            op = first_op(mt)
            om.set_opcode(mt, op, 114)
            op.inputs = op.inputs[:1]
            op.builtinOptionsType = s.BuiltinOptions.QuantizeOptions
            op.builtinOptions = s.QuantizeOptionsT()
            qi, qo = _tensor(mt, op.inputs[0]).quantization, _tensor(mt, op.outputs[0]).quantization
            qo.scale = [float(np.float32(qi.scale[0] * ratio))]
            qo.zeroPoint = [int(np.clip(qi.zeroPoint[0] + dzp, -128, 127))]
            _tensor(mt, op.outputs[0]).shape = list(_tensor(mt, op.inputs[0]).shape)
        variant(f"requantize_{k}", "reshape", p, seed + 20 + k, to_requant, "RESHAPE rewritten as int8 QUANTIZE")

    # CONV_2D with one weight scale for all channels (per-tensor), broadcast by TFLM.
    p = om.random_params("conv_2d", rng)

    def per_tensor(mt):
        w = _tensor(mt, first_op(mt).inputs[1]).quantization
        w.scale, w.zeroPoint, w.quantizedDimension = [float(max(w.scale))], [0], 0
    variant("conv_per_tensor_0", "conv_2d", p, seed + 30, per_tensor, "filter quantization made per-tensor")

    # SOFTMAX with beta != 1.
    for k, beta in enumerate([0.5, 2.0]):
        p = om.random_params("softmax", rng)

        def set_beta(mt, beta=beta):
            first_op(mt).builtinOptions.beta = beta
        variant(f"softmax_beta_{k}", "softmax", p, seed + 40 + k, set_beta, f"beta set to {beta}")

    # Fused activations the converter rarely emits.
    for k, (op_name, act) in enumerate([("fully_connected", 2), ("add", 3), ("conv_2d", 2), ("mul", 1)]):
        p = om.random_params(op_name, rng)

        def set_act(mt, act=act):
            first_op(mt).builtinOptions.fusedActivationFunction = act
        variant(f"{op_name}_act{act}_{k}", op_name, p, seed + 50 + k, set_act, f"fused activation set to {act}")
    return cases


def refusals(seed: int) -> list[dict]:
    """Models the runtime must refuse, with the text its message must contain."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    out = []
    rng = np.random.default_rng(seed)
    # A float model: no quantization at all.
    x = keras.Input((6,), batch_size=1)
    model = keras.Model(x, keras.layers.Dense(3)(x))
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    with om._capture_fd(1), om._capture_fd(2):
        flt = conv.convert()
    (OUT / "refuse_float.tflite").write_bytes(flt)
    out.append({"name": "refuse_float", "expect": "float32", "ops": om.builtin_ops(flt)})
    # An int8 model with an operator the runtime does not implement.
    x = keras.Input((8,), batch_size=1)
    model = keras.Model(x, keras.ops.tanh(x))
    tanh = om.convert(model, (1, 8), rng, [-3.0, 3.0])
    (OUT / "refuse_tanh.tflite").write_bytes(tanh)
    out.append({"name": "refuse_tanh", "expect": "TANH", "ops": om.builtin_ops(tanh)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-op", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261129)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.iterdir():
        f.unlink()
    cases = []
    for i, op in enumerate(om.OPS):
        for k in range(args.per_op):
            for attempt in range(20):  # skip parameter sets TensorFlow cannot convert
                seed = args.seed + 1000 * i + 50 * k + attempt
                params = om.random_params(op, np.random.default_rng(seed))
                try:
                    c = om.build_case(op, params, seed, N_INPUTS)
                    break
                except om.ConversionFailed as e:
                    print(f"skipped: {e}", flush=True)
            else:
                raise RuntimeError(f"no convertible parameters for {op}")
            cases.append(_record(f"{op}_{k}", op, params, seed, c["model"], c["inputs"], c["outputs"],
                                 c["tflm_arena"]))
            print(f"{op}_{k}: {cases[-1]['ops']}", flush=True)
    cases += crafted(args.seed + 500000)
    refuse = refusals(args.seed + 600000)
    stamp = {
        "generator": "tests/firmware/make_golden.py",
        "args": vars(args),
        "date": datetime.date.today().isoformat(),
        "versions": {pkg: importlib.metadata.version(pkg)
                     for pkg in ("tensorflow", "keras", "tflite-micro", "numpy", "flatbuffers")},
    }
    manifest = {"stamp": stamp, "cases": cases, "refuse": refuse}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(cases)} cases, {len(refuse)} refusals, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
