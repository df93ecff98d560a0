"""Models the runtime must refuse cleanly: truncated, corrupted, wrong identifier, wrong
version, inconsistent graphs, unsupported operators or types. run-model must exit 2 with one
line on stderr, never crash; the ASan+UBSan build must agree (no sanitizer report)."""
from pathlib import Path

import numpy as np
import pytest

from tests.support import MLPERF

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "runtime"
KWS = MLPERF / "kws_ref_model.tflite"


def _refused(r, expect: str = "") -> None:
    assert r.returncode == 2, f"exit {r.returncode}: {r.stderr}"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-model: "), r.stderr
    assert expect.lower() in lines[0].lower(), lines[0]


def _small_model() -> bytes:
    # A golden CONV_2D case: small, with weights, bias and per-channel quantization.
    return (GOLDEN / "conv_2d_0.tflite").read_bytes()


@pytest.fixture(params=["plain", "sanitized"])
def runner(request, run_model, run_model_san):
    return run_model if request.param == "plain" else run_model_san


def test_empty_and_tiny_files(runner, tmp_path):
    for n, data in enumerate([b"", b"\x00", b"TFL3", b"\x08\x00\x00\x00TFL3", b"\xff" * 16]):
        p = tmp_path / f"m{n}.tflite"
        p.write_bytes(data)
        _refused(runner(p))


def test_wrong_identifier(runner, tmp_path):
    model = bytearray(_small_model())
    model[4:8] = b"XXXX"
    p = tmp_path / "m.tflite"
    p.write_bytes(model)
    _refused(runner(p), "TFL3")


def test_truncated(runner, tmp_path):
    model = _small_model()
    cuts = sorted({1, 4, 7, 8, 12, 16, 32, 64, 100, len(model) // 3, len(model) // 2, len(model) - 64,
                   len(model) - 16, len(model) - 1})
    for cut in cuts:
        p = tmp_path / f"t{cut}.tflite"
        p.write_bytes(model[:cut])
        _refused(runner(p))


def test_truncated_mlperf(run_model, tmp_path):
    model = KWS.read_bytes()
    for cut in (8, 100, 5000, len(model) // 2, len(model) - 1000):
        p = tmp_path / f"k{cut}.tflite"
        p.write_bytes(model[:cut])
        _refused(run_model(p))


def test_corrupted_bytes_never_crash(runner, tmp_path):
    """Overwrite 4-byte words (offsets, lengths, indices, sizes) and single bytes at random:
    the model is either refused with a message or runs; nothing else."""
    model = _small_model()
    in_bytes = int(np.prod([1]))  # placeholder, replaced below
    # Input size of the intact model, from a successful run with an empty stdin.
    r0 = runner(GOLDEN / "conv_2d_0.tflite", b"")
    assert r0.returncode == 3, r0.stderr
    in_bytes = (GOLDEN / "conv_2d_0.in.bin").stat().st_size // 4
    rng = np.random.default_rng(7)
    refused = ran = 0
    for k in range(40):
        m = bytearray(model)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, len(m) - 4)) & ~3
            if rng.random() < 0.5:
                m[pos:pos + 4] = int(rng.choice([0, 1, 0x7fffffff, 0xffffffff, len(m), len(m) - 4,
                                                 int(rng.integers(0, 1 << 32))])).to_bytes(4, "little")
            else:
                m[pos] = int(rng.integers(0, 256))
        p = tmp_path / f"c{k}.tflite"
        p.write_bytes(bytes(m))
        r = runner(p, bytes(in_bytes), 1)
        assert r.returncode in (0, 2, 3), f"corruption {k}: exit {r.returncode}: {r.stderr}"
        if r.returncode == 0:
            ran += 1
        else:
            refused += 1
            lines = r.stderr.strip().splitlines()
            assert len(lines) <= 2 and lines[-1].startswith("run-model: "), r.stderr
    assert refused > 0


def test_wrong_input_size(run_model):
    model = GOLDEN / "conv_2d_0.tflite"
    size = (GOLDEN / "conv_2d_0.in.bin").stat().st_size // 4
    for data in (bytes(size - 1), bytes(size + 1)):
        r = run_model(model, data, 1)
        assert r.returncode == 3, r.stderr
        assert "bytes" in r.stderr.strip().splitlines()[-1]


def test_arena_too_small(run_model):
    exe = run_model.exe
    import subprocess

    r = subprocess.run([str(exe), "--arena", "600", str(GOLDEN / "conv_2d_0.tflite")], input=b"",
                       capture_output=True)
    assert r.returncode == 2
    assert "arena too small" in r.stderr.decode()


# ---- structural edits through the schema's object API -------------------------------------


def _edited(op_models, tmp_path, fn, base: bytes | None = None) -> Path:
    p = tmp_path / "edited.tflite"
    p.write_bytes(op_models.edit(base or _small_model(), fn))
    return p


def _op(mt):
    """Operator 0, with its index vectors as writable lists (unpacking gives read-only arrays)."""
    op = mt.subgraphs[0].operators[0]
    op.inputs, op.outputs = [int(i) for i in op.inputs], [int(i) for i in op.outputs]
    return op


def _tensor(mt, i):
    t = mt.subgraphs[0].tensors[i]
    t.shape = [int(d) for d in t.shape]
    return t


def test_edits_refused(runner, op_models, tmp_path):
    s = op_models.schema()

    def version(mt):
        mt.version = 2

    def two_subgraphs(mt):
        mt.subgraphs.append(mt.subgraphs[0])

    def no_quant(mt):
        _tensor(mt, _op(mt).inputs[0]).quantization = None

    def bad_shape(mt):
        _tensor(mt, _op(mt).outputs[0]).shape[1] += 1

    def bad_opcode_index(mt):
        _op(mt).opcodeIndex = 40

    def bad_tensor_index(mt):
        _op(mt).inputs[0] = 1000

    def custom_op(mt):
        mt.operatorCodes[_op(mt).opcodeIndex].builtinCode = 32
        mt.operatorCodes[_op(mt).opcodeIndex].deprecatedBuiltinCode = 32
        mt.operatorCodes[_op(mt).opcodeIndex].customCode = "MyOp"

    def zero_stride(mt):
        _op(mt).builtinOptions.strideW = 0

    def bias_length(mt):
        b = _tensor(mt, _op(mt).inputs[2])
        b.shape = [b.shape[0] + 1]
        mt.buffers[b.buffer].data = list(mt.buffers[b.buffer].data) + [0, 0, 0, 0]
        if b.quantization is not None and b.quantization.scale is not None:
            b.quantization.scale = list(b.quantization.scale) + [1.0]
            b.quantization.zeroPoint = list(b.quantization.zeroPoint) + [0]

    def wrong_options(mt):
        _op(mt).builtinOptionsType = s.BuiltinOptions.Pool2DOptions
        _op(mt).builtinOptions = s.Pool2DOptionsT()

    def reads_unwritten(mt):
        _op(mt).inputs[0] = _op(mt).outputs[0]

    def writes_constant(mt):
        _op(mt).outputs[0] = _op(mt).inputs[1]

    def float_input(mt):
        _tensor(mt, _op(mt).inputs[0]).type = s.TensorType.FLOAT32

    def missing_buffer(mt):
        _tensor(mt, _op(mt).inputs[1]).buffer = 500

    def short_weights(mt):
        w = _tensor(mt, _op(mt).inputs[1])
        mt.buffers[w.buffer].data = list(mt.buffers[w.buffer].data)[:-1]

    def variable_tensor(mt):
        _tensor(mt, _op(mt).inputs[0]).isVariable = True

    def no_outputs(mt):
        mt.subgraphs[0].outputs = []

    def float_weights(mt):
        _tensor(mt, _op(mt).inputs[1]).type = s.TensorType.FLOAT32

    def scale_zero(mt):
        _tensor(mt, _op(mt).outputs[0]).quantization.scale = [0.0]

    def zp_range(mt):
        _tensor(mt, _op(mt).outputs[0]).quantization.zeroPoint = [300]

    def channel_count(mt):
        q = _tensor(mt, _op(mt).inputs[1]).quantization
        q.scale, q.zeroPoint = list(q.scale) + [0.1], list(q.zeroPoint) + [0]

    cases = [(version, "version"), (two_subgraphs, "subgraph"), (no_quant, "quantization"),
             (bad_shape, "shape"), (bad_opcode_index, "opcode"), (bad_tensor_index, "tensor"),
             (custom_op, "CUSTOM"), (zero_stride, "options"), (bias_length, "bias"),
             (wrong_options, "options"), (reads_unwritten, "before it is written"),
             (writes_constant, "constant"), (float_input, "float32"), (missing_buffer, "buffer"),
             (short_weights, "data bytes"), (variable_tensor, "variable"), (no_outputs, "output"),
             (scale_zero, "scale"), (zp_range, "zero point"), (channel_count, "scales"),
             (float_weights, "data bytes")]
    for fn, expect in cases:
        _refused(runner(_edited(op_models, tmp_path, fn)), expect)
