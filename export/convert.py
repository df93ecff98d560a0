"""PyTorch -> ONNX (checked with onnxruntime) -> TensorFlow (onnx2tf) -> int8 TFLite.

The standard path, every step a file on disk: `model.onnx`, a SavedModel, `model.tflite`.
Full-integer post-training quantization: int8 input and output, per-channel weights, built-in
int8 ops only, calibrated on a representative set drawn from training clips only.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ONNX_TOLERANCE = 1e-4


class ConversionError(Exception):
    """A conversion step failed or drifted; the message names the step and the numbers."""


def to_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    model = model.eval()
    with torch.no_grad():
        torch.onnx.export(model, (example,), str(path), input_names=["x"], output_names=["y"],
                          opset_version=17, dynamo=False)
    return Path(path)


def onnx_outputs(path: Path, inputs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": x[None].astype(np.float32)})[0] for x in inputs])


def check_onnx(model: torch.nn.Module, path: Path, inputs: np.ndarray) -> float:
    """Max |torch - onnxruntime| on real inputs; ConversionError above ONNX_TOLERANCE."""
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(inputs.astype(np.float32))).numpy()
    got = onnx_outputs(path, inputs)
    diff = float(np.max(np.abs(ref.reshape(got.shape) - got)))
    if diff > ONNX_TOLERANCE:
        raise ConversionError(f"{path}: ONNX differs from PyTorch by {diff:.2e} "
                              f"(> {ONNX_TOLERANCE:g}) on training inputs")
    return diff


def to_saved_model(onnx_path: Path, out_dir: Path) -> Path:
    """onnx2tf: NCHW inputs become NHWC; the SavedModel keeps a serving signature."""
    import onnx2tf
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    with contextlib.redirect_stdout(io.StringIO()):  # onnx2tf prints its graph; keep logs readable
        onnx2tf.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(out_dir),
                        output_signaturedefs=True, verbosity="error")
    return out_dir


def saved_model_layout(x: np.ndarray) -> np.ndarray:
    """One input in the SavedModel's layout: a 4-D NCHW tensor becomes NHWC (onnx2tf)."""
    return np.transpose(x, (0, 2, 3, 1)) if x.ndim == 4 else x


def to_int8_tflite(saved_model: Path, representative: np.ndarray) -> bytes:
    """Full-integer quantization; `representative` rows are model inputs in PyTorch layout."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    def samples():
        for x in representative:
            yield [saved_model_layout(x[None].astype(np.float32))]

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = samples
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        return conv.convert()
    except Exception as e:  # the converter raises ConverterError and others for unsupported ops
        raise ConversionError(f"TFLite int8 conversion of {saved_model} failed: {e}") from None


def onnx_to_int8(onnx_path: Path, representative: np.ndarray, work_dir: Path) -> bytes:
    """onnx2tf and the TFLite converter in a fresh Python process. In-process, Keras numbers its
    layers per process (model_18/..., model_37/...), and those names land in the .tflite: a fresh
    process makes the same model and data give byte-identical files."""
    work_dir = Path(work_dir)
    rep_path, out_path = work_dir / "representative.npy", work_dir / "model.tflite"
    np.save(rep_path, np.ascontiguousarray(representative, np.float32))
    out_path.unlink(missing_ok=True)
    r = subprocess.run([sys.executable, "-m", "export.convert", str(onnx_path), str(rep_path),
                        str(work_dir / "saved_model"), str(out_path)],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if r.returncode != 0 or not out_path.exists():
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-5:])
        raise ConversionError(f"{onnx_path}: TensorFlow/TFLite conversion failed:\n{tail}")
    return out_path.read_bytes()


def convert(model: torch.nn.Module, example: torch.Tensor, check_inputs: np.ndarray,
            representative: np.ndarray, work_dir: Path) -> tuple[bytes, Path, float]:
    """The whole path; returns (tflite bytes, onnx path, max |torch - onnx|)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = to_onnx(model, example, work_dir / "model.onnx")
    diff = check_onnx(model, onnx_path, check_inputs)
    return onnx_to_int8(onnx_path, representative, work_dir), onnx_path, diff


def _main() -> None:
    ap = argparse.ArgumentParser(description="onnx -> SavedModel -> int8 .tflite (worker)")
    for name in ("onnx", "representative", "saved_model", "out"):
        ap.add_argument(name, type=Path)
    a = ap.parse_args()
    saved = to_saved_model(a.onnx, a.saved_model)
    a.out.write_bytes(to_int8_tflite(saved, np.load(a.representative)))


if __name__ == "__main__":
    _main()
