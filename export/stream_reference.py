"""The host's int8 reference of a MONITOR session (docs/protocol.md, "MONITOR mode"), written
from the protocol, not from the firmware: which frames a session has, which windows it scores,
and each window's score and decision (score > the threshold of the window's domain: the
discriminant's for stats models with the residual scorer, the source domain's otherwise).

A session (or, in live mode, each *segment* after an overrun) numbers its log-mel frames from 0:
frame k is complete once (k + 1) * 512 samples have arrived (centred framing: frame 0 starts with
512 zeros). After F frames (F = W, W + hop, W + 2 hop, ...; W = hop_frames * window_hops) the
window of frames F - W ... F - 1 is scored:

- stats models: the clip score of those W int8 frames (`Int8Reference.verdict_frames`);
- window models (ae, cls): the inferences of the session's schedule (start s = 0, window_hop,
  2 window_hop, ... of window_frames frames) that *complete* (frame s + window_frames - 1) within
  F - W ... F - 1, scored as a clip's inferences (`score_from_outputs`).

`SegmentFrontEnd` turns a segment's PCM into the int8 frames the device computes; `StreamReference`
takes int8 frames as they come and returns the windows they complete. Both keep bounded state,
so an endless stream is not re-run per window.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from asd.features import FEATURES, logmel
from export.reference import Int8Reference, score_from_outputs, verdict, windows

FRAME = FEATURES.hop_length            # 512 samples per log-mel frame
_UNCENTRED = dataclasses.replace(FEATURES, center=False)


@dataclass(frozen=True)
class Window:
    index: int            # 0, 1, 2, ... within the segment
    end_frame: int        # F: the window holds frames F - W ... F - 1
    frames: int           # W
    inferences: int       # model inferences in the window (1 for stats)
    score: float
    decision: int         # 1: score > threshold (in float32, as the device)

    def end_sample(self, segment_start: int) -> int:
        """Stream position after the window's last frame, as a DECISION's end_sample."""
        return segment_start + self.end_frame * FRAME


def complete_frames(n_samples: int) -> int:
    """Log-mel frames a device has completed after n_samples of a segment."""
    return n_samples // FRAME


def segment_frames(pcm: np.ndarray, ref: Int8Reference) -> np.ndarray:
    """The int8 frames of a whole PCM segment: its log-mel computed exactly as a clip's, keeping
    the frames 0 ... N//512 - 1 that the device completes (the last centred frame needs samples
    that have not arrived), quantized as Int8Reference.frames."""
    pcm = np.asarray(pcm, np.int16)
    n = complete_frames(len(pcm))
    if n == 0:
        return np.zeros((0, FEATURES.n_mels), np.int8)
    return ref.frames(logmel(pcm.astype(np.float32) / 32768.0)[:n])


class SegmentFrontEnd:
    """PCM of one segment in pieces -> the int8 frames it completes. The first piece is computed
    as `segment_frames` (exactly a clip's front end); later pieces from the samples kept since the
    next frame's start, uncentred, which agrees with the one-shot log-mel to float32 rounding."""

    def __init__(self, ref: Int8Reference):
        self.ref = ref
        self.samples = 0                   # segment samples pushed
        self.frames_done = 0               # frames returned so far
        self._tail = np.zeros(0, np.int16)  # segment samples from (frames_done - 1) * 512

    def push(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.asarray(pcm, np.int16)
        if self.samples == 0:
            out = segment_frames(pcm, self.ref)
            self._tail = np.concatenate([np.zeros(FRAME, np.int16), pcm])
        else:
            self._tail = np.concatenate([self._tail, pcm])
            out = self._uncentred(complete_frames(self.samples + len(pcm)) - self.frames_done)
        self.samples += len(pcm)
        self.frames_done += len(out)
        keep = self.frames_done * FRAME    # next frame starts here in the zero-padded segment
        self._tail = self._tail[keep - self._tail_start():]
        return out

    def _tail_start(self) -> int:
        """Position of _tail[0] in the zero-padded segment (512 zeros + the samples)."""
        return self.samples + FRAME - len(self._tail)

    def _uncentred(self, n: int) -> np.ndarray:
        if n <= 0:
            return np.zeros((0, FEATURES.n_mels), np.int8)
        x = self._tail[:(n - 1) * FRAME + FEATURES.n_fft].astype(np.float32) / 32768.0
        return self.ref.frames(logmel(x, _UNCENTRED))


class StreamReference:
    """Windows of one segment from its int8 frames, pushed as they come. Keeps the frames the
    next window can still need and, for window models, each inference's input and output once."""

    def __init__(self, ref: Int8Reference, hop_frames: int, window_hops: int):
        if hop_frames <= 0 or window_hops <= 0:
            raise ValueError("hop_frames and window_hops must be positive (the device's values "
                             "from MONITOR_READY)")
        self.ref, self.cfg = ref, ref.cfg
        self.hop, self.window = hop_frames, hop_frames * window_hops
        if self.cfg.input_kind != "stats" and self.window < self.cfg.window_frames:
            raise ValueError(f"a window of {self.window} frames is shorter than the model's "
                             f"input of {self.cfg.window_frames} frames")
        self._frames = np.zeros((0, FEATURES.n_mels), np.int8)
        self._first = 0                     # segment frame number of _frames[0]
        self.n_frames = 0
        self._next_end = self.window        # F of the next window
        self._index = 0
        self._inferences: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # start s -> (in, out)

    def push(self, frames: np.ndarray) -> list[Window]:
        frames = np.asarray(frames, np.int8).reshape(-1, FEATURES.n_mels)
        self._frames = np.concatenate([self._frames, frames])
        self.n_frames += len(frames)
        out = []
        while self._next_end <= self.n_frames:
            out.append(self._score(self._next_end))
            self._next_end += self.hop
            self._trim()
        return out

    def _span(self, a: int, b: int) -> np.ndarray:
        """Segment frames a ... b - 1 (they must still be kept)."""
        return self._frames[a - self._first:b - self._first]

    def _score(self, end: int) -> Window:
        lo = end - self.window
        if self.cfg.input_kind == "stats":
            v, n_inf = self.ref.verdict_frames(self._span(lo, end)), 1
        else:
            starts = self.inference_starts(end)
            pairs = [self._inference(s) for s in starts]
            inputs = np.stack([p[0] for p in pairs])
            outputs = np.stack([p[1] for p in pairs])
            v = verdict(score_from_outputs(inputs, outputs, self.cfg, self.ref.in_q,
                                           self.ref.out_q), 0, self.cfg)
            n_inf = len(starts)
        # the device compares its float32 score with the float32 threshold of its domain
        w = Window(self._index, end, self.window, n_inf, float(v.score), int(v.anomaly))
        self._index += 1
        return w

    def inference_starts(self, end: int) -> list[int]:
        """Starts s of the schedule's inferences that complete (frame s + window_frames - 1)
        within the window ending at frame `end` (exclusive)."""
        wf, wh = self.cfg.window_frames, self.cfg.window_hop
        lo = end - self.window - wf + 1       # s + wf - 1 >= end - W
        hi = end - wf                         # s + wf - 1 <= end - 1
        first = max(0, -(-lo // wh) * wh)
        return list(range(first, hi + 1, wh))

    def _inference(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        if s not in self._inferences:
            x = windows(self._span(s, s + self.cfg.window_frames), self.cfg)[0]
            self._inferences[s] = (x, self.ref._invoke(x))
        return self._inferences[s]

    def _trim(self) -> None:
        """Forget frames and inferences that no later window uses."""
        need = self._next_end - self.window   # first frame of the next window
        if self.cfg.input_kind != "stats":
            need = max(0, need - self.cfg.window_frames + 1)  # its first inference's start
            self._inferences = {s: v for s, v in self._inferences.items() if s >= need}
        drop = max(0, need - self._first)
        self._frames = self._frames[drop:]
        self._first += drop


def session_windows(ref: Int8Reference, frames: np.ndarray, hop_frames: int,
                    window_hops: int) -> list[Window]:
    """Every window of a session (or segment) given all its int8 frames."""
    return StreamReference(ref, hop_frames, window_hops).push(frames)
