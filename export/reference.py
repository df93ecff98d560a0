"""The int8 reference of the device pipeline, on the host: host log-mel -> int8 frames ->
model inputs -> TFLite Micro -> the same scoring the firmware does (firmware/app/scoring.c).

Two input kinds, as firmware/app/clip.c: "window" (ae, cls) feeds windows of int8 frames,
quantized with the model's input quantization; "stats" feeds one input per clip, the clip's
statistics computed from int8 frames quantized with the frame constants (firmware/app/stats.c,
whose arithmetic is train.models.stats.device_stats).

Used by export (int8 AUC) and by the bench (int8 reference column).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from asd.features import dequantize, quantize
from export import tflm
from export.carray import DeviceConfig

class Verdict(NamedTuple):
    """What the device reports for a clip: its float32 score, the domain whose threshold
    decided it (0 source, 1 target: the discriminant's, 0 for models with one threshold) and
    the decision (score > that threshold, in float32 as the chip compares)."""
    score: float
    domain: int
    anomaly: bool


def verdict(score: float, domain: int, cfg: DeviceConfig) -> Verdict:
    return Verdict(score, domain, bool(np.float32(score) > np.float32(cfg.threshold_of(domain))))


def int8_frames(logmel: np.ndarray, in_scale: float, in_zero: int) -> np.ndarray:
    """(n_frames, n_mels) float dB -> int8 with the given (frame) quantization."""
    return quantize(logmel, in_scale, in_zero)

def frame_quant(cfg: DeviceConfig, in_q: tflm.TensorQuant) -> tuple[float, int]:
    """(scale, zero point) of the device's int8 log-mel frames, also those the host sends in
    FEATURES mode: the model's input quantization for windows, the frame constants for stats."""
    if cfg.input_kind == "stats":
        return cfg.frame_scale, cfg.frame_zero
    return in_q.scale, in_q.zero_point

def windows(frames: np.ndarray, cfg: DeviceConfig) -> np.ndarray:
    """Model inputs, frame-major: one every window_hop frames once window_frames are in."""
    n = frames.shape[0]
    starts = range(0, n - cfg.window_frames + 1, cfg.window_hop)
    return np.stack([frames[s:s + cfg.window_frames].reshape(-1) for s in starts]) \
        if n >= cfg.window_frames else np.zeros((0, cfg.window_frames * frames.shape[1]), np.int8)

def stats_input(frames: np.ndarray, cfg: DeviceConfig, in_q: tflm.TensorQuant) -> np.ndarray:
    """The stats model's one int8 input (1, 128) from a clip's int8 frames, as the firmware
    computes it: exact integer sums -> statistics in double -> standardised (float32) -> the
    model's input quantization."""
    from train.models.stats import device_stats, standardise
    if len(frames) == 0:
        raise ValueError("clip too short for one inference (no frames)")
    s = device_stats(frames, cfg.frame_scale, cfg.frame_zero)
    z = standardise(s, cfg.stats_mean, cfg.stats_std)
    return quantize(z, in_q.scale, in_q.zero_point)[None]

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

def residual_in_device_order(band: np.ndarray, cfg: DeviceConfig) -> float:
    """train.models.stats.pca_residual in the firmware's order (fs_stats_residual): z = band -
    (double)mean_f32; |z|^2 and every projection p_j = sum_i P[j][i] z_i summed left to right in
    double, then sum_j p_j^2 likewise; r = |z|^2 - sum p_j^2."""
    z = np.asarray(band, np.float64) - np.asarray(cfg.pca_mean, np.float32).astype(np.float64)
    zz = np.cumsum(z * z)[-1]
    p = np.cumsum(np.asarray(cfg.pca_components, np.float32).astype(np.float64) * z[None, :],
                  axis=1)[:, -1]
    pp = np.cumsum(p * p)[-1]
    return float(zz - pp)


def stats_residual(frames: np.ndarray, cfg: DeviceConfig) -> float:
    """The clip's PCA residual from its int8 frames as the device computes it: the band
    statistics of train.models.stats.device_band_stats, then residual_in_device_order."""
    from train.models.stats import device_band_stats
    return residual_in_device_order(device_band_stats(frames, cfg.frame_scale, cfg.frame_zero),
                                    cfg)


def score_in_device_order(outputs: np.ndarray, cfg: DeviceConfig,
                          out_q: tflm.TensorQuant, residual: float | None = None) -> float:
    """The embedding score of int8 outputs in the firmware's order of operations, bit for bit:
    float32 dequantization, double mean, each squared distance summed left to right in double
    (fs_scoring_score), the result rounded to float32 as the device reports it. Used for the
    stats input, whose device score equals this exactly. With the residual scorer (cfg.n_pca,
    `residual` the clip's r) the nearest distance d[k] becomes (d[k] * r) * inv_scale[t] in
    double before the rounding, t the discriminant's domain of the mean output e."""
    e = mean_output(outputs, out_q)          # rows added in order; one row for stats
    d = e[None, :] - np.asarray(cfg.centres, np.float32).astype(np.float64)
    sq = np.cumsum(d * d, axis=1)[:, -1]     # a running sum: the C loop's order
    dist = (sq - np.asarray(cfg.centre_offset, np.float32).astype(np.float64)) * \
        np.asarray(cfg.centre_inv_scale, np.float32).astype(np.float64)
    return _final(dist, e, cfg, residual)


def _final(dist: np.ndarray, e: np.ndarray, cfg: DeviceConfig, residual: float | None) -> float:
    """The device's last step: the nearest centre (the first on ties, as the C loop), times the
    residual and the domain scale when the model has the residual scorer, rounded to float32.
    The domain: e . domain_axis (a running sum in double, as the C loop) > 0.5 is target."""
    k = int(np.argmin(dist))
    if not cfg.n_pca:
        return float(np.float32(dist[k]))
    if residual is None:
        raise ValueError("the model has the residual scorer: pass the clip's residual")
    inv = float(np.float32(np.asarray(cfg.pca_inv_scale, np.float32)[domain_of(e, cfg)]))
    return float(np.float32(dist[k] * residual * inv))


def domain_of(e: np.ndarray, cfg: DeviceConfig) -> int:
    """The discriminant's domain of a clip's mean output e (float64): e . domain_axis, a
    running sum in double as the C loop, > 0.5 is target (1); 0 without a discriminant."""
    if cfg.domain_axis is None:
        return 0
    projection = np.cumsum(e * np.asarray(cfg.domain_axis, np.float32).astype(np.float64))[-1]
    return int(projection > 0.5)


def mean_output(outputs: np.ndarray, out_q: tflm.TensorQuant) -> np.ndarray:
    """The clip's mean dequantized output in the device's order (float32 dequantization, rows
    summed in order in double)."""
    y = dequantize(outputs, out_q.scale, out_q.zero_point).astype(np.float64)
    return y.sum(axis=0) / float(len(y))

class Int8Reference:
    """Scores clips with TFLite Micro's interpreter exactly as the device pipeline does."""

    def __init__(self, model: bytes, cfg: DeviceConfig):
        self.model = model
        self.cfg = cfg
        self.in_q, self.out_q = tflm.io_quant(model)
        self._it = tflm.interpreter(model)
        self._shape = self.in_q.shape
        self.frame_scale, self.frame_zero = frame_quant(cfg, self.in_q)

    def frames(self, logmel: np.ndarray) -> np.ndarray:
        """The int8 frames the device computes from a clip (and FEATURES mode sends)."""
        return int8_frames(logmel, self.frame_scale, self.frame_zero)

    def _invoke(self, x: np.ndarray) -> np.ndarray:
        self._it.set_input(x.reshape(self._shape), 0)
        self._it.invoke()
        return np.array(self._it.get_output(0)).reshape(-1)

    def verdict_frames(self, frames: np.ndarray) -> Verdict:
        """The device's score, domain and decision for a clip's int8 frames."""
        if self.cfg.input_kind == "stats":
            x = stats_input(frames, self.cfg, self.in_q)
            r = stats_residual(frames, self.cfg) if self.cfg.n_pca else None
            y = self._invoke(x)[None]
            return verdict(score_in_device_order(y, self.cfg, self.out_q, r),
                           domain_of(mean_output(y, self.out_q), self.cfg), self.cfg)
        inputs = windows(frames, self.cfg)
        outputs = [self._invoke(x) for x in inputs]
        return verdict(score_from_outputs(inputs, np.stack(outputs) if outputs else inputs,
                                          self.cfg, self.in_q, self.out_q), 0, self.cfg)

    def score_frames(self, frames: np.ndarray) -> float:
        return self.verdict_frames(frames).score

    def score(self, logmel: np.ndarray) -> float:
        return self.score_frames(self.frames(logmel))

def n_inferences(n_frames: int, cfg: DeviceConfig) -> int:
    if cfg.input_kind == "stats":
        return 1 if n_frames > 0 else 0
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

    def inputs(self, logmel: np.ndarray) -> np.ndarray:
        """The float network's inputs: windows of the float log-mel, or for stats the clip's
        float statistics (train.models.stats.clip_stats) standardised."""
        if self.cfg.input_kind == "stats":
            from train.models.stats import clip_stats, standardise
            return standardise(clip_stats(logmel), self.cfg.stats_mean, self.cfg.stats_std)[None]
        return windows(np.asarray(logmel, np.float32), self.cfg)

    def verdict(self, logmel: np.ndarray) -> Verdict:
        """The float model's score, domain and decision (the device's thresholds)."""
        inputs = self.inputs(logmel)
        outputs = np.stack([self._sess.run(None, {"x": x.reshape(self._shape)})[0].reshape(-1)
                            for x in inputs])
        identity = tflm.TensorQuant((), 1.0, 0, "float32")  # dequantize(x, 1, 0) is x
        if self.cfg.n_pca:  # the float band statistics, the device's order and final rounding
            from train.models.stats import band_stats
            r = residual_in_device_order(band_stats(logmel), self.cfg)
            return verdict(score_in_device_order(outputs, self.cfg, identity, r),
                           domain_of(mean_output(outputs, identity), self.cfg), self.cfg)
        return verdict(score_from_outputs(inputs, outputs, self.cfg, identity, identity), 0,
                       self.cfg)

    def score(self, logmel: np.ndarray) -> float:
        return self.verdict(logmel).score
