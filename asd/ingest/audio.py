"""One recording -> 16-kHz mono int16 clips: read with soundfile, mean of the channels, soxr.

Files are read in blocks and resampled with soxr's streaming resampler (the same output as a
one-shot `soxr.resample`), so a recording of any length needs memory only for its 16-kHz int16
result. Quantisation is `clip(rint(x * 32768), -32768, 32767)`, no dither, so a 16-kHz PCM_16
mono input comes out sample for sample unchanged and every run gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000
QUALITY = "HQ"          # soxr's default: 20-bit precision, passband to 91 % of the output Nyquist
_BLOCK = 1 << 18        # input frames read at a time


class Skip(Exception):
    """The file cannot be used; the message is the reason, shown as `skipped <path>: <reason>`."""


@dataclass
class Converted:
    clips: list[np.ndarray]               # int16, each `clip_samples` long (or one shorter clip)
    in_rate: int
    channels: int
    samples: int                          # 16-kHz samples of the whole recording
    dropped: int = 0                      # 16-kHz samples of the tail left out
    short: bool = False                   # the whole recording is one clip shorter than a clip
    clipped: int = 0                      # samples beyond full scale, clipped
    notes: list[str] = field(default_factory=list)


def _quantise(y: np.ndarray) -> tuple[np.ndarray, int]:
    q = np.rint(y * 32768.0)
    over = int(np.count_nonzero((q > 32767) | (q < -32768)))
    return np.clip(q, -32768, 32767).astype(np.int16), over


def read_16k(path: Path) -> tuple[np.ndarray, int, int, int, list[str]]:
    """The whole recording as 16-kHz mono int16: (samples, input rate, channels, clipped, notes).
    Raises Skip for an empty, unreadable, header-only or non-finite file."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise Skip("empty file (0 bytes)")
    try:
        f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as e:
        raise Skip(f"not readable audio ({_short(e)})") from None
    notes: list[str] = []
    with f:
        rate, channels, frames = f.samplerate, f.channels, f.frames
        if frames == 0:
            raise Skip("no audio samples (header only)")
        stream = (None if rate == SAMPLE_RATE else
                  soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float64", quality=QUALITY))
        parts, clipped, got = [], 0, 0
        while True:
            try:
                block = f.read(_BLOCK, dtype="float64", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, OSError) as e:
                raise Skip(f"unreadable audio data after {got} frames ({_short(e)})") from None
            got += len(block)
            last = len(block) < _BLOCK or got >= frames
            if block.size and not np.isfinite(block).all():
                raise Skip("NaN or infinite samples")
            mono = block.mean(axis=1)
            y = mono if stream is None else stream.resample_chunk(mono, last=last)
            q, over = _quantise(y)
            parts.append(q)
            clipped += over
            if last:
                break
    if 0 < got < frames:
        notes.append(f"truncated: the header promises {frames} frames, {got} could be read")
    if got == 0:
        raise Skip("no audio samples could be read")
    return np.concatenate(parts), rate, channels, clipped, notes


def convert(path: Path, clip_samples: int) -> Converted:
    """Cut a recording into clips of `clip_samples`: the tail shorter than a clip is dropped; a
    recording shorter than one clip is kept whole if it is at least half a clip long."""
    signal, rate, channels, clipped, notes = read_16k(path)
    n = len(signal)
    k = n // clip_samples
    out = Converted([], rate, channels, n, clipped=clipped, notes=notes)
    if k == 0:
        if 2 * n < clip_samples:
            raise Skip(f"too short ({n / SAMPLE_RATE:.2f} s; at least "
                       f"{clip_samples / 2 / SAMPLE_RATE:g} s, half a clip, is needed)")
        out.clips = [signal]
        out.short = True
        return out
    out.clips = [signal[i * clip_samples:(i + 1) * clip_samples] for i in range(k)]
    out.dropped = n - k * clip_samples
    return out


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."
