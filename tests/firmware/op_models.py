"""One-op (or tiny) int8 TFLite models for the runtime's exactness tests.

Shared by tests/firmware/make_golden.py (which commits golden cases) and the live property-based
test. A case is a plain dict of parameters; `build_case(op, params, seed)` makes the Keras model,
converts it with TensorFlow's TFLiteConverter (int8, representative dataset), runs TFLite Micro's
interpreter on random inputs and returns the model bytes, inputs, expected outputs and TFLM's
arena size. Only `tflm_*` helpers are needed without TensorFlow.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile

import numpy as np

ACTS = [None, "relu", "relu6"]

# ---- TFLite Micro ---------------------------------------------------------------------------


@contextlib.contextmanager
def _capture_fd(fd: int):
    """Capture what C++ code writes to a file descriptor (print_allocations uses stdout)."""
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        box = {}
        try:
            yield box
        finally:
            import sys

            sys.stdout.flush()  # Python-level prints made inside go to the capture too
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            box["text"] = tmp.read().decode(errors="replace")


def tflm_run(model: bytes, inputs: np.ndarray,
             arena_size: int | None = None) -> tuple[np.ndarray, int]:
    """Run TFLite Micro on each row of `inputs`; return stacked outputs and its arena total.
    arena_size: the interpreter's arena (its default, ten times the model's bytes, is too small
    for one-op models with large activations)."""
    from tflite_micro.python.tflite_micro import runtime

    extra = {"arena_size": arena_size} if arena_size else {}
    ip = runtime.Interpreter.from_bytes(model, **extra)
    outs = []
    for x in inputs:
        ip.set_input(x, 0)
        ip.invoke()
        outs.append(ip.get_output(0).copy())
    return np.stack(outs), tflm_arena_bytes(ip)


def tflm_arena_bytes(ip) -> int:
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    with _capture_fd(1) as out, _capture_fd(2) as err:  # it logs to stderr (older: stdout)
        ip.print_allocations()
    text = out.get("text", "") + err.get("text", "")
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise RuntimeError("no arena total in print_allocations(): " + text[:200])
    return int(m.group(1))


def tflm_input_details(model: bytes) -> dict:
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model).get_input_details(0)


# ---- random parameters ----------------------------------------------------------------------
#
# One generator serves both the golden script (numpy Generator) and the property-based test
# (hypothesis draws): it only asks a "chooser" for integers, floats, booleans and choices.


class NumpyChooser:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:  # inclusive bounds
        return int(self.rng.integers(lo, hi + 1))

    def float(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def bool(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p)

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]


class HypothesisChooser:
    """Draws through hypothesis' `data` strategy, so failing cases shrink."""

    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def int(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))

    def float(self, lo, hi):
        return self.data.draw(self.st.floats(lo, hi, allow_nan=False, allow_infinity=False))

    def bool(self, p=0.5):
        return self.data.draw(self.st.booleans())

    def choice(self, options):
        return self.data.draw(self.st.sampled_from(options))


def _spatial(c, k_max: int = 4):
    """Geometry of a 2-D window op: sizes, kernel, stride, dilation, padding (always valid)."""
    kh, kw = c.int(1, k_max), c.int(1, k_max)
    if c.bool():
        sh, sw, dh, dw = c.int(1, 3), c.int(1, 3), 1, 1
    else:  # Keras forbids strides > 1 together with dilation > 1
        sh, sw, dh, dw = 1, 1, c.int(1, 3), c.int(1, 3)
    padding = c.choice(["same", "valid"])
    h = c.int((kh - 1) * dh + 1, (kh - 1) * dh + 9)
    w = c.int((kw - 1) * dw + 1, (kw - 1) * dw + 9)
    return dict(h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, padding=padding)


def _range(c):
    """Calibration range of the input; always straddles 0 so no output range is degenerate
    (TensorFlow aborts the process on an all-zero ReLU output)."""
    return [c.float(-8.0, -0.5), c.float(0.5, 8.0)]


def _broadcast_shape(c, shape):
    """A shape that broadcasts against `shape`: a suffix with some dims set to 1, or a scalar."""
    if c.bool(0.15):
        return []
    k = c.int(1, len(shape))
    return [d if c.bool(0.6) else 1 for d in shape[-k:]]


def random_params(op: str, c) -> dict:
    """Parameters of one case of `op`; `c` is a NumpyChooser or HypothesisChooser
    (a numpy Generator is wrapped)."""
    if isinstance(c, np.random.Generator):
        c = NumpyChooser(c)
    p: dict = {"range": _range(c)}
    if op == "fully_connected":
        p.update(batch=c.int(1, 3), features=c.int(1, 48), units=c.int(1, 24), act=c.choice(ACTS),
                 bias=c.bool(0.8), per_channel=c.bool())
    elif op == "conv_2d":
        p.update(_spatial(c), cin=c.int(1, 6), act=c.choice(ACTS), bias=c.bool(0.8))
        groups = c.choice([g for g in (1, 2, 3) if p["cin"] % g == 0])
        p.update(groups=groups, cout=groups * c.int(1, 4))
    elif op == "depthwise_conv_2d":
        p.update(_spatial(c), cin=c.int(1, 6), dm=c.int(1, 3), act=c.choice(ACTS), bias=c.bool(0.8))
    elif op in ("average_pool_2d", "max_pool_2d"):
        s = _spatial(c)
        p.update(h=s["h"], w=s["w"], kh=s["kh"], kw=s["kw"], sh=c.int(1, 3), sw=c.int(1, 3),
                 padding=s["padding"], cin=c.int(1, 6))
    elif op in ("add", "mul", "add2"):
        shape = [c.int(1, 5) for _ in range(c.int(1, 3))]
        p.update(shape=shape, other=_broadcast_shape(c, shape), act=None if op == "mul" else c.choice([None, "relu"]),
                 other_scale=c.float(0.1, min(10.0, p["range"][1])))
    elif op == "mean":
        rank = c.int(2, 4)
        shape = [c.int(1, 6) for _ in range(rank)]
        axes = sorted({c.int(1, rank - 1) for _ in range(c.int(1, rank - 1))})
        shape[axes[0]] = max(shape[axes[0]], 2)  # a mean over size-1 axes converts to no op at all
        p.update(shape=shape, axes=axes, keepdims=c.bool())
    elif op in ("softmax", "logistic"):
        rank = c.int(2, 4)
        p.update(shape=[c.int(1, 4) for _ in range(rank - 1)] + [c.int(2, 40)])
    elif op == "pad":
        rank = c.int(2, 4)
        p.update(shape=[c.int(1, 5) for _ in range(rank)],
                 pads=[[0, 0]] + [[c.int(0, 2), c.int(1, 2)] for _ in range(rank - 1)],
                 value=0.0 if c.bool(0.6) else c.float(p["range"][0], p["range"][1]))
    elif op in ("reshape", "squeeze"):
        shape = [c.int(1, 4) for _ in range(c.int(3, 4))]  # rank >= 3: flattening changes the shape
        if op == "squeeze":
            shape.insert(c.int(1, len(shape)), 1)
        p.update(shape=shape)
    elif op == "concatenation":
        shape = [c.int(1, 4) for _ in range(c.int(2, 4))]
        p.update(shape=shape, axis=c.int(1, len(shape) - 1), parts=c.int(2, 3))
    elif op == "quantize_dequantize":
        p.update(features=c.int(1, 40), units=c.int(1, 20))
    else:
        raise ValueError(op)
    return p


OPS = ["fully_connected", "conv_2d", "depthwise_conv_2d", "average_pool_2d", "max_pool_2d", "add", "add2",
       "mul", "mean", "softmax", "logistic", "pad", "reshape", "squeeze", "concatenation",
       "quantize_dequantize"]

# ---- Keras models ---------------------------------------------------------------------------


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def build_model(op: str, p: dict, rng: np.random.Generator):
    """Keras model and its input shape (batch included) for one case."""
    keras = _keras()
    L, ops = keras.layers, keras.ops

    def const(shape, scale=1.0):
        return ops.convert_to_tensor((rng.uniform(-0.5, 0.5, size=shape) * scale).astype(np.float32))

    if op in ("fully_connected", "quantize_dequantize"):
        batch = p.get("batch", 1)
        x = keras.Input((p["features"],), batch_size=batch)
        dense = L.Dense(p["units"], activation=p.get("act"), use_bias=p.get("bias", True))
        y = dense(x)
        w = [rng.standard_normal((p["features"], p["units"])).astype(np.float32) / np.sqrt(p["features"])]
        if p.get("bias", True):
            w.append(rng.standard_normal(p["units"]).astype(np.float32) * 0.3)
        dense.set_weights(w)
        return keras.Model(x, y), (batch, p["features"])
    if op in ("conv_2d", "depthwise_conv_2d", "average_pool_2d", "max_pool_2d"):
        x = keras.Input((p["h"], p["w"], p["cin"]), batch_size=1)
        if op == "conv_2d":
            layer = L.Conv2D(p["cout"], (p["kh"], p["kw"]), strides=(p["sh"], p["sw"]), padding=p["padding"],
                             dilation_rate=(p["dh"], p["dw"]), groups=p["groups"], activation=p["act"],
                             use_bias=p["bias"])
        elif op == "depthwise_conv_2d":
            layer = L.DepthwiseConv2D((p["kh"], p["kw"]), strides=(p["sh"], p["sw"]), padding=p["padding"],
                                      depth_multiplier=p["dm"], dilation_rate=(p["dh"], p["dw"]),
                                      activation=p["act"], use_bias=p["bias"])
        else:
            cls = L.AveragePooling2D if op == "average_pool_2d" else L.MaxPooling2D
            layer = cls((p["kh"], p["kw"]), strides=(p["sh"], p["sw"]), padding=p["padding"])
        y = layer(x)
        if layer.weights:
            layer.set_weights([rng.standard_normal(v.shape).astype(np.float32) * (0.5 if len(v.shape) > 1 else 0.3)
                               for v in layer.weights])
        return keras.Model(x, y), (1, p["h"], p["w"], p["cin"])
    shape = p["shape"]
    x = keras.Input(tuple(shape[1:]), batch_size=shape[0])
    if op == "add":
        y = x + const(p["other"], p["other_scale"])
        y = ops.relu(y) if p["act"] else y
    elif op == "add2":  # both operands are activations: x + x * c
        y = x + x * const(p["other"], p["other_scale"])
        y = ops.relu(y) if p["act"] else y
    elif op == "mul":
        y = x * const(p["other"], p["other_scale"])
    elif op == "mean":
        y = ops.mean(x, axis=tuple(p["axes"]), keepdims=p["keepdims"])
    elif op == "softmax":
        y = L.Softmax()(x)
    elif op == "logistic":
        y = ops.sigmoid(x)
    elif op == "pad":
        y = ops.pad(x, p["pads"], constant_values=p["value"])
    elif op == "reshape":
        y = L.Reshape((int(np.prod(shape[1:])),))(x)
    elif op == "squeeze":
        y = ops.squeeze(x, axis=[i for i, d in enumerate(shape) if d == 1 and i > 0][0])
    elif op == "concatenation":
        y = ops.concatenate([x] + [x * float(1.0 + 0.5 * i) for i in range(1, p["parts"])], axis=p["axis"])
    else:
        raise ValueError(op)
    return keras.Model(x, y), tuple(shape)


def convert(model, in_shape, rng, lo_hi, float_io=False, per_channel=True) -> bytes:
    """TFLiteConverter, full int8 with a representative dataset; quiet."""
    import tensorflow as tf

    lo, hi = lo_hi
    rep_data = [rng.uniform(lo, hi, size=in_shape).astype(np.float32) for _ in range(24)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([d] for d in rep_data)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    conv._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    with _capture_fd(1), _capture_fd(2):
        return conv.convert()


class ConversionFailed(Exception):
    """TensorFlow could not convert a parameter set (a converter limitation, not a runtime bug)."""


def build_case(op: str, p: dict, seed: int, n_inputs: int = 4) -> dict:
    """Model bytes, inputs, TFLM outputs and TFLM arena total for one parameter set."""
    rng = np.random.default_rng(seed)
    model, in_shape = build_model(op, p, rng)
    float_io = op == "quantize_dequantize"
    try:
        tfl = convert(model, in_shape, rng, p["range"], float_io=float_io, per_channel=p.get("per_channel", True))
    except Exception as e:  # ConverterError and friends
        raise ConversionFailed(f"{op} {p}: {type(e).__name__}: {str(e)[:300]}") from e
    if len(builtin_ops(tfl)) == 0:
        raise ConversionFailed(f"{op} {p}: the converter produced no operator")
    if float_io:
        lo, hi = p["range"]
        span = hi - lo
        x = rng.uniform(lo - 0.2 * span, hi + 0.2 * span, size=(n_inputs, *in_shape)).astype(np.float32)
    else:
        x = rng.integers(-128, 128, size=(n_inputs, *in_shape), dtype=np.int64).astype(np.int8)
    y, arena = tflm_run(tfl, x)
    return {"model": tfl, "inputs": x, "outputs": y, "tflm_arena": arena}


def builtin_ops(model: bytes) -> list[str]:
    """Names of the builtin operators a model uses, in order."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    m = s.Model.GetRootAsModel(model, 0)
    codes = [max(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(m.OperatorCodesLength())]
    sg = m.Subgraphs(0)
    return [names[codes[sg.Operators(i).OpcodeIndex()]] for i in range(sg.OperatorsLength())]


# ---- editing models (crafted cases, malformed models) ----------------------------------------


def schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    return s


def unpack(model: bytes):
    s = schema()
    return s.ModelT.InitFromObj(s.Model.GetRootAsModel(model, 0))


def pack(mt) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(mt.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def edit(model: bytes, fn) -> bytes:
    """Unpack with the TFLite schema's object API, let fn(ModelT) change it, pack again."""
    mt = unpack(model)
    fn(mt)
    return pack(mt)


def set_opcode(mt, op, builtin: int) -> None:
    """Make operator `op` use `builtin` (adds an OperatorCode)."""
    s = schema()
    oc = s.OperatorCodeT()
    oc.builtinCode = builtin
    oc.deprecatedBuiltinCode = min(builtin, 127)
    oc.version = 1
    mt.operatorCodes.append(oc)
    op.opcodeIndex = len(mt.operatorCodes) - 1


# ---- a case-building server (keeps TensorFlow aborts out of the pytest process) ---------------


def serve() -> None:
    """Read one JSON request per line on stdin: {"op", "params", "seed", "n", "out"}; build
    the case, write <out>.tflite and <out>.npz (inputs, outputs), answer one line
    "CASE <json>" (other lines on stdout are noise from TensorFlow and are skipped)."""
    import json
    import sys

    for line in sys.stdin:
        req = json.loads(line)
        try:
            c = build_case(req["op"], req["params"], req["seed"], req["n"])
        except ConversionFailed as e:
            print("CASE " + json.dumps({"ok": False, "skip": str(e)}), flush=True)
            continue
        with open(req["out"] + ".tflite", "wb") as f:
            f.write(c["model"])
        np.savez(req["out"] + ".npz", inputs=c["inputs"], outputs=c["outputs"])
        print("CASE " + json.dumps({"ok": True, "tflm_arena": c["tflm_arena"], "ops": builtin_ops(c["model"])}),
              flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--serve"]:
        serve()


def one_op_model(builtin: int, tensors, buffers, inputs, outputs, options_type, options,
                 op_inputs=None) -> bytes:
    """A .tflite of one builtin operator, written with TFLite's own schema objects: tensors and
    buffers as given, the subgraph's inputs and outputs, the operator's options
    (op_inputs: the operator's input tensors, default the subgraph's)."""
    import flatbuffers

    s = schema()
    op = s.OperatorT()
    op.opcodeIndex, op.outputs = 0, list(outputs)
    op.inputs = list(inputs if op_inputs is None else op_inputs)
    op.builtinOptionsType, op.builtinOptions = options_type, options
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators = tensors, list(inputs), list(outputs), [op]
    code = s.OperatorCodeT()
    code.builtinCode, code.version = builtin, 1
    code.deprecatedBuiltinCode = builtin if builtin < 127 else 127
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [code], [sg], buffers
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def qemu_runmodel(tmp_path_factory, tag: str, jobs, kernels=("cm4", "ref")) -> dict:
    """{kernels: {job name: JobResult}}: the jobs (host.qemu.Job) run by the RUNMODEL=1 QEMU
    harness built with each KERNELS (ad01 is linked in as the harness's default model)."""
    from export import carray
    from host.qemu import run_models
    from tests.boards.conftest import MACHINE, make_firmware, require_tool
    from tests.support import AD01, ad01_config

    require_tool("qemu-system-arm")
    build = tmp_path_factory.mktemp(f"{tag}-build")
    model_dir = tmp_path_factory.mktemp(f"{tag}-models") / "ad01"
    carray.write(model_dir, AD01.read_bytes(), ad01_config())
    out = {}
    for k in kernels:
        make_firmware("qemu", model_dir, build, "RUNMODEL=1", f"KERNELS={k}")
        sub = "qemu-runmodel" if k == "cm4" else f"qemu-runmodel-{k}"
        out[k] = {r.name: r for r in run_models(build / sub / MACHINE / "firmware.elf", jobs)}
    return out
