"""TFLite Micro's own interpreter (the `tflite-micro` package): the reference for the chip's
arithmetic. Also reads what the firmware needs from a .tflite (quantization, ops) and TFLM's
arena report."""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
from tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

# Builtin operator names by code, from TFLite's own schema (the one definition of them).
BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


class ModelError(Exception):
    """A .tflite the firmware cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class TensorQuant:
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    dtype: str


def interpreter(model: bytes) -> runtime.Interpreter:
    return runtime.Interpreter.from_bytes(model)


def _quant(details: dict) -> TensorQuant:
    q = details["quantization_parameters"]
    scales, zps = q["scales"], q["zero_points"]
    if len(scales) > 1:
        raise ModelError("model input/output must be per-tensor quantized")
    scale, zero = (float(scales[0]), int(zps[0])) if len(scales) else (0.0, 0)  # 0: not quantized
    return TensorQuant(tuple(int(d) for d in details["shape"]), scale, zero,
                       np.dtype(details["dtype"]).name)


def io_quant(model: bytes) -> tuple[TensorQuant, TensorQuant]:
    it = interpreter(model)
    return _quant(it.get_input_details(0)), _quant(it.get_output_details(0))


def op_names(model: bytes) -> list[str]:
    """Builtin operator names in execution order."""
    m = schema.Model.GetRootAs(model, 0)
    codes = [max(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(m.OperatorCodesLength())]
    g = m.Subgraphs(0)
    return [BUILTIN_NAMES.get(codes[g.Operators(i).OpcodeIndex()], "?")
            for i in range(g.OperatorsLength())]


def tensor_types(model: bytes) -> set[int]:
    m = schema.Model.GetRootAs(model, 0)
    g = m.Subgraphs(0)
    return {g.Tensors(i).Type() for i in range(g.TensorsLength())}


def arena_bytes(model: bytes) -> int:
    """Arena TFLite Micro allocates for the model: the total of its allocation report."""
    it = interpreter(model)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        try:
            for fd in saved:  # the report is printed by TFLM's C++ logging, not Python
                os.dup2(tmp.fileno(), fd)
            it.print_allocations()
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise ModelError("TFLite Micro printed no allocation report")
    return int(m.group(1))


def run(model: bytes, inputs: np.ndarray) -> np.ndarray:
    """Invoke once per row of int8 inputs (shaped as the model's input without batch)."""
    it = interpreter(model)
    shape = tuple(it.get_input_details(0)["shape"])
    outs = []
    for x in inputs:
        it.set_input(np.asarray(x, np.int8).reshape(shape), 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).reshape(-1))
    return np.stack(outs) if outs else np.zeros((0,), np.int8)


def count_macs(model: bytes) -> int:
    """Multiply-accumulates per inference counted from the int8 graph's shapes: FULLY_CONNECTED,
    CONV_2D and DEPTHWISE_CONV_2D (other ops have no MACs in the usual sense)."""
    m = schema.Model.GetRootAs(model, 0)
    codes = [max(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(m.OperatorCodesLength())]
    g = m.Subgraphs(0)

    def shape(t: int) -> list[int]:
        return [int(d) for d in g.Tensors(t).ShapeAsNumpy()]

    op = schema.BuiltinOperator
    total = 0
    for i in range(g.OperatorsLength()):
        o = g.Operators(i)
        code = codes[o.OpcodeIndex()]
        w, out = shape(o.Inputs(1)) if o.InputsLength() > 1 else [], shape(o.Outputs(0))
        if code == op.FULLY_CONNECTED:
            total += int(np.prod(out)) * w[-1]                      # rows x units x inputs
        elif code == op.CONV_2D:
            total += int(np.prod(out)) * w[1] * w[2] * w[3]         # w: [Cout, kh, kw, Cin]
        elif code == op.DEPTHWISE_CONV_2D:
            total += int(np.prod(out)) * w[1] * w[2]                # w: [1, kh, kw, Cout]
    return total
