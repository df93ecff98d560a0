"""The int8 reference of the device pipeline, on the host: host log-mel -> int8 frames ->
model windows -> TFLite Micro -> the same scoring the firmware does (firmware/app/scoring.c).

Used by export (int8 AUC) and by the bench (int8 reference column).
"""
from __future__ import annotations

import numpy as np

from asd.features import dequantize, quantize
from export import tflm
from export.carray import DeviceConfig

def int8_frames(logmel: np.ndarray, in_scale: float, in_zero: int) -> np.ndarray:
    """(n_frames, n_mels) float dB -> int8 with the model's input quantization."""
    return quantize(logmel, in_scale, in_zero)

def windows(frames: np.ndarray, cfg: DeviceConfig) -> np.ndarray:
    """Model inputs, frame-major: one every window_hop frames once window_frames are in."""
    n = frames.shape[0]
    starts = range(0, n - cfg.window_frames + 1, cfg.window_hop)
    return np.stack([frames[s:s + cfg.window_frames].reshape(-1) for s in starts]) \
        if n >= cfg.window_frames else np.zeros((0, cfg.window_frames * frames.shape[1]), np.int8)

def score_from_outputs(inputs: np.ndarray, outputs: np.ndarray, cfg: DeviceConfig,
                       in_q: tflm.TensorQuant, out_q: tflm.TensorQuant) -> float:
    """The clip score from int8 model inputs and outputs, as the firmware computes it."""
    if len(inputs) == 0:
        raise ValueError("clip too short for one inference")
    y = dequantize(outputs, out_q.scale, out_q.zero_point).astype(np.float64)
    if cfg.score_kind == "mse":
        x = dequantize(inputs, in_q.scale, in_q.zero_point).astype(np.float64)
        return float(np.mean(np.mean((x - y) ** 2, axis=1)))
    e = y.mean(axis=0)                       # the clip embedding: mean of patch embeddings
    sq = np.sum((e[None, :] - np.asarray(cfg.centres, np.float64)) ** 2, axis=1)
    d = (sq - np.asarray(cfg.centre_offset, np.float64)) * \
        np.asarray(cfg.centre_inv_scale, np.float64)
    return float(d.min())

class Int8Reference:
    """Scores clips with TFLite Micro's interpreter exactly as the device pipeline does."""

    def __init__(self, model: bytes, cfg: DeviceConfig):
        self.model = model
        self.cfg = cfg
        self.in_q, self.out_q = tflm.io_quant(model)
        self._it = tflm.interpreter(model)
        self._shape = self.in_q.shape

    def frames(self, logmel: np.ndarray) -> np.ndarray:
        return int8_frames(logmel, self.in_q.scale, self.in_q.zero_point)

    def score_frames(self, frames: np.ndarray) -> float:
        inputs = windows(frames, self.cfg)
        outputs = []
        for x in inputs:
            self._it.set_input(x.reshape(self._shape), 0)
            self._it.invoke()
            outputs.append(np.array(self._it.get_output(0)).reshape(-1))
        return score_from_outputs(inputs, np.stack(outputs) if outputs else inputs, self.cfg,
                                  self.in_q, self.out_q)

    def score(self, logmel: np.ndarray) -> float:
        return self.score_frames(self.frames(logmel))

def n_inferences(n_frames: int, cfg: DeviceConfig) -> int:
    return 0 if n_frames < cfg.window_frames else 1 + (n_frames - cfg.window_frames) // cfg.window_hop


class FloatReference:
    """The float network (the exported ONNX file, onnxruntime) on the host's float features,
    scored with the same constants as the device: what the float model computes for a clip."""

    def __init__(self, onnx_path, cfg: DeviceConfig):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self._sess = ort.InferenceSession(str(onnx_path), opts,
                                          providers=["CPUExecutionProvider"])
        self.cfg = cfg
        self._shape = tuple(self._sess.get_inputs()[0].shape)

    def score(self, logmel: np.ndarray) -> float:
        inputs = windows(np.asarray(logmel, np.float32), self.cfg)
        outputs = np.stack([self._sess.run(None, {"x": x.reshape(self._shape)})[0].reshape(-1)
                            for x in inputs])
        identity = tflm.TensorQuant((), 1.0, 0, "float32")  # dequantize(x, 1, 0) is x
        return score_from_outputs(inputs, outputs, self.cfg, identity, identity)
