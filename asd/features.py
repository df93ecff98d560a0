"""Log-mel features: the one definition of the feature parameters.

Everything that computes features (training, export, the firmware's front end through the header
that export generates) reads `FEATURES`. Every librosa setting is written out explicitly, because
librosa's defaults are part of the official baseline's behaviour and may change between releases.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import librosa
import numpy as np


@dataclass(frozen=True)
class FeatureParams:
    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 512
    window: str = "hann"          # periodic Hann (scipy.signal.get_window('hann', fftbins=True))
    center: bool = True           # frames centred: the clip is padded by n_fft // 2 on both sides
    pad_mode: str = "constant"    # ... with zeros (librosa >= 0.10 default)
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float = 8000.0
    htk: bool = False             # Slaney mel scale
    mel_norm: str = "slaney"      # area-normalised triangles
    power: float = 2.0            # power spectrogram
    log_floor: float = sys.float_info.epsilon  # 10*log10(max(mel, floor)), as the baseline
    frames: int = 5               # context frames concatenated into one vector

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def dim(self) -> int:
        """Length of one context vector (640 for the baseline)."""
        return self.n_mels * self.frames

    def n_frames(self, n_samples: int) -> int:
        """Frames librosa produces for a clip of n_samples with centred framing."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return 1 + (n_samples - self.n_fft) // self.hop_length

    @property
    def min_samples(self) -> int:
        """The shortest clip the features and models can use: one full analysis window (n_fft)
        and enough frames for one context vector of `frames` frames (2048 samples, 0.128 s).
        asd.dataset's reader refuses anything shorter, naming the file."""
        if self.center:
            by_frames = (self.frames - 1) * self.hop_length
        else:
            by_frames = self.n_fft + (self.frames - 1) * self.hop_length
        return max(self.n_fft, self.win_length, by_frames)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """Short stable hash of the parameters (cache keys, model/firmware compatibility)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


FEATURES = FeatureParams()


def mel_filterbank(params: FeatureParams = FEATURES) -> np.ndarray:
    """Mel filterbank, shape (n_mels, n_fft // 2 + 1), float32."""
    return librosa.filters.mel(sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels,
                               fmin=params.fmin, fmax=params.fmax, htk=params.htk,
                               norm=params.mel_norm, dtype=np.float32)


def logmel(y: np.ndarray, params: FeatureParams = FEATURES) -> np.ndarray:
    """Log-mel spectrogram of a mono float clip, shape (n_frames, n_mels), float32, in dB."""
    mel = librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32), sr=params.sample_rate, n_fft=params.n_fft,
        hop_length=params.hop_length, win_length=params.win_length, window=params.window,
        center=params.center, pad_mode=params.pad_mode, power=params.power,
        n_mels=params.n_mels, fmin=params.fmin, fmax=params.fmax, htk=params.htk,
        norm=params.mel_norm)
    db = 20.0 / params.power * np.log10(np.maximum(mel, params.log_floor))  # dB of amplitude
    return db.T.astype(np.float32)


def context_vectors(lm: np.ndarray, params: FeatureParams = FEATURES) -> np.ndarray:
    """Concatenate `frames` consecutive frames: (n_frames, n_mels) -> (n_frames - frames + 1, dim).

    Layout is frame-major as in the baseline: vector[t * n_mels + m] = lm[i + t, m].
    """
    n = lm.shape[0] - params.frames + 1
    if n <= 0:
        return np.zeros((0, params.dim), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(lm, (params.frames, lm.shape[1]))[:, 0]
    return np.ascontiguousarray(view.reshape(n, params.dim), dtype=np.float32)


def _cache_path(cache_dir: Path, wav: Path, params: FeatureParams) -> Path:
    digest = hashlib.sha256(wav.read_bytes()).hexdigest()[:32]
    return cache_dir / params.key() / f"{digest}.npy"


def extract(paths: Sequence[Path], params: FeatureParams = FEATURES,
            cache_dir: Path | None = None, progress: bool | None = None,
            desc: str = "features") -> list[np.ndarray]:
    """Log-mel of many clips, with a disk cache keyed by file content and parameters.

    Returns one (n_frames, n_mels) array per path. Files are validated by asd.dataset.load_wav,
    so a bad file raises DataError naming it; a cache entry too short for a clip the reader
    accepts (cached before it refused short clips) sends the file back through the reader.
    numpy's BLAS computes on one thread here: a cached log-mel is shared by every later caller,
    and with another thread count its last bits would depend on who computed it first.
    """
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        return _extract(paths, params, cache_dir, progress, desc)


def _extract(paths, params, cache_dir, progress, desc) -> list[np.ndarray]:
    from asd.dataset import load_wav  # local import: dataset imports nothing from here
    from tqdm import tqdm

    show = progress if progress is not None else len(paths) > 200
    out: list[np.ndarray] = []
    for path in tqdm(paths, desc=desc, disable=not show, unit="clip", leave=False):
        path = Path(path)
        cached = _cache_path(cache_dir, path, params) if cache_dir else None
        if cached is not None and cached.exists():
            lm = np.load(cached)
            if lm.shape[0] >= params.n_frames(params.min_samples):
                out.append(lm)
                continue
        lm = logmel(load_wav(path, params.sample_rate), params)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")  # per process: no clash
            np.save(tmp, lm)
            tmp.replace(cached)  # atomic: a killed run never leaves a half-written cache entry
        out.append(lm)
    return out


def stack_vectors(logmels: Iterable[np.ndarray], params: FeatureParams = FEATURES) -> np.ndarray:
    """All context vectors of many clips in one (N, dim) array."""
    parts = [context_vectors(lm, params) for lm in logmels]
    return np.concatenate(parts) if parts else np.zeros((0, params.dim), np.float32)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float features -> int8 as TFLite's QUANTIZE and the firmware do it: in float32,
    round(x / scale) half away from zero, plus zero point, saturated to [-128, 127]."""
    v = np.asarray(x, np.float32) / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, np.float32) - np.float32(zero_point)) * np.float32(scale)
