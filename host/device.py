"""The device client: handshake, one clip at a time with stop-and-wait flow control, timeouts,
bounded retries, resynchronisation and reset detection (docs/protocol.md)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from host.link import Link
from host.protocol import (MAX_BODY, ClipMode, ErrorCode, ErrorMsg, Frame, FrameDecoder,
                           FrameError, Info, MsgType, Profile, Result, clip_begin_body,
                           encode_frame)

# Errors of the device's frame layer: the request did not arrive intact, send it again.
_FRAME_LAYER = {ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.OVERSIZE}


class DeviceError(Exception):
    """The device answered with an error or not at all; the message says which."""


class DeviceTimeout(DeviceError):
    pass


class _Garbled(DeviceError):
    """The device reports that our frame arrived damaged."""


class DeviceReset(DeviceError):
    """The device sent an unsolicited HELLO: it rebooted."""

    def __init__(self, info: Info):
        super().__init__(f"device reset (HELLO from {info.board})")
        self.info = info


@dataclass
class LinkStats:
    retries: int = 0
    resets: int = 0
    frame_errors: int = 0
    bytes_sent: int = 0


class Device:
    def __init__(self, link: Link, timeout: float = 10.0, retries: int = 3):
        self.link = link
        self.timeout = timeout
        self.retries = retries
        self.stats = LinkStats()
        self._decoder = FrameDecoder()
        self._queue: list[Frame] = []
        self._seq = 0
        self.decisions: list[Frame] = []  # unsolicited DECISION frames (MONITOR mode), in order

    # -- frames ---------------------------------------------------------------------------
    def _send(self, wire: bytes) -> None:
        self.link.send(wire)
        self.stats.bytes_sent += len(wire)

    def _next_frame(self, deadline: float) -> Frame:
        while not self._queue:
            if time.monotonic() > deadline:
                raise DeviceTimeout(f"{self.link.name}: no answer within {self.timeout:.0f} s")
            for ev in self._decoder.feed(self.link.read()):
                if isinstance(ev, FrameError):  # garbage on the line: the decoder resyncs
                    self.stats.frame_errors += 1
                else:
                    self._queue.append(ev)
        return self._queue.pop(0)

    def _wait(self, seq: int, *types: MsgType) -> Frame:
        """The answer to request `seq`; stale answers are skipped, HELLO means a reset."""
        deadline = time.monotonic() + self.timeout
        while True:
            f = self._next_frame(deadline)
            if f.type == MsgType.HELLO:
                self.stats.resets += 1
                raise DeviceReset(Info.unpack(f.body))
            if f.type == MsgType.DECISION and f.seq == 0:
                self.decisions.append(f)  # sent while consuming a request's data, before its ACK
                continue
            if f.type == MsgType.ERROR and f.seq == 0:
                err = ErrorMsg.unpack(f.body)
                if err.error_code in _FRAME_LAYER:
                    raise _Garbled(err.label)
            if f.seq != seq:
                continue  # an answer to an earlier, abandoned request
            if f.type == MsgType.ERROR:
                err = ErrorMsg.unpack(f.body)
                raise DeviceError(f"device error {err.label}: {err.text}")
            if f.type in types:
                return f
            raise DeviceError(f"unexpected answer {f.describe()}")

    def request(self, type_: MsgType, body: bytes, *answer: MsgType) -> Frame:
        """Send one request and wait for its answer. After a timeout or a garbled frame, send
        0x00 (flushes the device's partial frame) and the same frame with the same seq again:
        the device answers a retransmission without consuming its data twice."""
        self._seq = (self._seq + 1) % 256
        wire = encode_frame(type_, self._seq, body)
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
                self._send(b"\x00")
            self._send(wire)
            try:
                return self._wait(self._seq, *answer)
            except (DeviceTimeout, _Garbled) as e:
                if attempt == self.retries:
                    raise DeviceTimeout(f"{self.link.name}: {type_.name} failed "
                                        f"{attempt + 1} times, last: {e}") from None
        raise AssertionError("unreachable")

    # -- messages -------------------------------------------------------------------------
    def info(self) -> Info:
        """INFO; a HELLO meanwhile (the board just booted) is answered by asking again."""
        for _ in range(self.retries + 1):
            try:
                return Info.unpack(self.request(MsgType.GET_INFO, b"", MsgType.INFO).body)
            except DeviceReset:
                continue
            except DeviceTimeout as e:
                raise DeviceError(f"{self.link.name}: the device does not answer GET_INFO ({e}). "
                                  f"Is the firmware flashed and the baud rate right?") from None
        raise DeviceError(f"{self.link.name}: the device keeps resetting (HELLO after HELLO)")

    def profile(self) -> Profile:
        return Profile.unpack(self.request(MsgType.GET_PROFILE, b"", MsgType.PROFILE).body)

    def _stream(self, mode: ClipMode, chunks: list[bytes]) -> Result:
        data_type = MsgType.PCM if mode == ClipMode.PCM else MsgType.FEATURES
        self.request(MsgType.CLIP_BEGIN, clip_begin_body(mode), MsgType.ACK)
        for chunk in chunks:
            self.request(data_type, chunk, MsgType.ACK)
        return Result.unpack(self.request(MsgType.CLIP_END, b"", MsgType.RESULT).body)

    def score(self, mode: ClipMode, chunks: list[bytes]) -> Result:
        """Score one clip; frames are retransmitted by request(); after a reset or a request
        that kept failing, the whole clip is sent again (CLIP_BEGIN discards what the device
        had), at most `retries` times."""
        for attempt in range(self.retries + 1):
            try:
                return self._stream(mode, chunks)
            except (DeviceTimeout, DeviceReset) as e:
                if attempt == self.retries:
                    raise DeviceError(f"clip failed {attempt + 1} times, last: {e}") from None
                self.stats.retries += 1
                self._queue.clear()
        raise AssertionError("unreachable")


def pcm_chunks(pcm: np.ndarray, max_body: int = MAX_BODY) -> list[bytes]:
    data = np.asarray(pcm, dtype="<i2").tobytes()
    step = max_body - max_body % 2
    return [data[i:i + step] for i in range(0, len(data), step)]


def feature_chunks(frames_int8: np.ndarray, max_body: int = MAX_BODY) -> list[bytes]:
    """int8 log-mel frames (n_frames, n_mels) in chunks of whole frames."""
    frames = np.ascontiguousarray(frames_int8, dtype=np.int8)
    per = max(1, max_body // frames.shape[1])
    return [frames[i:i + per].tobytes() for i in range(0, len(frames), per)]
