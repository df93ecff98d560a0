"""firstshot serial protocol, host side (docs/protocol.md).

Frames on the wire are ``COBS(header | body | crc32) 0x00`` with ``header = type u8 | seq u8 |
len u16 LE`` and ``crc32 = zlib.crc32(header | body)`` as u32 LE. This module mirrors the
firmware's frame layer (``firmware/app/protocol.[ch]``) exactly: the same encoder output byte for
byte, and the same streaming decoder behaviour (same frames and errors, in the same order, for
any byte stream), which tests check against the C build.

API used by the link and the bench::

    encode_frame(type, seq, body) -> bytes             # wire bytes, delimiter included
    FrameDecoder().feed(data) -> list[Frame | FrameError]
    Info.unpack(body), Result.unpack(body), Profile.unpack(body), ErrorMsg.unpack(body), ...
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, fields
from enum import IntEnum

from host.messages import struct_for

PROTOCOL_VERSION = 3  # 2: MONITOR mode; 3: RESULT scoring_cycles
MAX_BODY = 2048
HEADER_SIZE = 4
CRC_SIZE = 4
MAX_FRAME = HEADER_SIZE + MAX_BODY + CRC_SIZE  # 2056: largest decoded frame
DELIMITER = 0x00

_HEADER = struct.Struct("<BBH")
_CRC = struct.Struct("<I")


class MsgType(IntEnum):
    """Message types (firmware ``FS_PROTOCOL_MSG_TYPES``)."""
    HELLO = 0x01
    GET_INFO = 0x02
    INFO = 0x03
    ACK = 0x04
    CLIP_BEGIN = 0x10
    PCM = 0x11
    FEATURES = 0x12
    CLIP_END = 0x13
    RESULT = 0x14
    GET_PROFILE = 0x15
    PROFILE = 0x16
    MONITOR_BEGIN = 0x20
    MONITOR_READY = 0x21
    DECISION = 0x22
    GET_DECISION = 0x23
    MONITOR_END = 0x24
    ERROR = 0x7F


class ErrorCode(IntEnum):
    """ERROR codes (firmware ``FS_PROTOCOL_ERRORS``); ``label`` is the printed name."""
    BAD_CRC = 1
    BAD_FRAME = 2
    OVERSIZE = 3
    UNKNOWN_TYPE = 4
    OUT_OF_ORDER = 5
    BAD_LENGTH = 6
    CLIP_TOO_SHORT = 7
    MODEL = 8
    BAD_PARAM = 9

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> ErrorCode:
        return cls[label.upper()]


class ClipMode(IntEnum):
    """``mode`` byte of CLIP_BEGIN."""
    PCM = 0
    FEATURES = 1


class ProtocolError(ValueError):
    """A body or frame that does not follow docs/protocol.md."""


# --------------------------------------------------------------------------------------------
# CRC-32 and COBS

def crc32(data: bytes) -> int:
    """CRC-32 as used in frames (IEEE 802.3, reflected; equal to zlib.crc32)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no delimiter). Canonical: same output as the firmware's encoder
    (a run of 254 non-zero bytes at the very end is not followed by an empty piece)."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        j = data.find(b"\x00", i, min(n, i + 254))
        end = j if j >= 0 else min(n, i + 254)
        piece = data[i:end]
        out.append(len(piece) + 1)
        out += piece
        if len(piece) == 254:
            i = end
            if i == n:
                break
        else:
            if end == n:
                break
            i = end + 1  # skip the zero the code byte stands for
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS-encoded frame (without delimiter); ``ProtocolError`` if invalid."""
    out = bytearray()
    i, n = 0, len(data)
    zero_pending = False
    while i < n:
        code = data[i]
        if code == 0:
            raise ProtocolError("COBS: zero byte inside a frame")
        if zero_pending:
            out.append(0)
        piece = data[i + 1:i + code]
        if len(piece) != code - 1:
            raise ProtocolError("COBS: piece cut short")
        if 0 in piece:
            raise ProtocolError("COBS: zero byte inside a frame")
        out += piece
        zero_pending = code != 0xFF
        i += code
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Frames

@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``type`` is the raw byte; ``msg_type`` is the MsgType or None."""
    type: int
    seq: int
    body: bytes

    @property
    def msg_type(self) -> MsgType | None:
        try:
            return MsgType(self.type)
        except ValueError:
            return None

    def describe(self) -> str:
        """Same text as the firmware's frame-codec prints."""
        return f"FRAME type=0x{self.type:02x} seq={self.seq} len={len(self.body)} body={self.body.hex()}"


@dataclass(frozen=True)
class FrameError:
    """A frame the decoder rejected (bad_crc, bad_frame or oversize); decoding goes on."""
    code: ErrorCode
    detail: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"ERROR {self.code.label}"


def frame_payload(type_: int, seq: int, body: bytes) -> bytes:
    """``header | body | crc32`` before COBS (used by encode_frame and the doc examples)."""
    if not 0 <= type_ <= 0xFF or not 0 <= seq <= 0xFF:
        raise ValueError(f"type and seq must be bytes, got {type_}, {seq}")
    body = bytes(body)
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes exceeds MAX_BODY={MAX_BODY}")
    raw = _HEADER.pack(type_, seq, len(body)) + body
    return raw + _CRC.pack(crc32(raw))


def encode_frame(type_: int, seq: int, body: bytes = b"") -> bytes:
    """Wire bytes of one frame, ``0x00`` delimiter included."""
    return cobs_encode(frame_payload(type_, seq, body)) + b"\x00"


def decode_frame(wire: bytes) -> Frame:
    """Decode one complete frame given without (or with) its trailing delimiter.
    Raises ``FrameDecodeError`` with the code the streaming decoder would report."""
    if wire.endswith(b"\x00"):
        wire = wire[:-1]
    events = FrameDecoder().feed(wire + b"\x00")
    if len(events) != 1:
        raise FrameDecodeError(FrameError(ErrorCode.BAD_FRAME, "not exactly one frame"))
    event = events[0]
    if isinstance(event, FrameError):
        raise FrameDecodeError(event)
    return event


class FrameDecodeError(ProtocolError):
    def __init__(self, error: FrameError):
        super().__init__(f"{error.code.label}: {error.detail}" if error.detail else error.code.label)
        self.error = error


class FrameDecoder:
    """Streaming decoder: feed arbitrary chunks, get frames and errors in order.

    Behaves exactly as the firmware parser fed one byte at a time: an empty frame (repeated
    0x00) is ignored; at each 0x00 the bytes since the previous one are checked (COBS, size,
    CRC, ``len``); ``oversize`` is reported as soon as the decoded frame exceeds
    ``max_body + 8`` bytes, after which bytes are dropped up to the next 0x00. Incomplete data
    is kept for the next ``feed``.
    """

    def __init__(self, max_body: int = MAX_BODY):
        self.max_frame = HEADER_SIZE + max_body + CRC_SIZE
        self.reset()

    def reset(self) -> None:
        """Forget any partial frame (e.g. after reopening the link)."""
        self._buf = bytearray()
        self._left = 0            # data bytes still expected in the current COBS piece
        self._zero_pending = False
        self._started = False
        self._discarding = False

    @property
    def pending(self) -> int:
        """Decoded bytes of the partial frame held (0 between frames)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        events: list[Frame | FrameError] = []
        data = bytes(data)
        i, n = 0, len(data)
        while i < n:
            j = data.find(b"\x00", i)
            end = n if j < 0 else j
            if not self._discarding and end > i:
                self._push(data, i, end, events)
            if j < 0:
                break
            if self._started and not self._discarding:
                events.append(self._finish())
            self.reset()
            i = j + 1
        return events

    def _push(self, data: bytes, i: int, end: int, events: list) -> None:
        """Decode the non-zero bytes data[i:end] (COBS state machine, block at a time)."""
        self._started = True
        buf = self._buf
        while i < end:
            if self._left == 0:
                code = data[i]
                i += 1
                if self._zero_pending:
                    if len(buf) >= self.max_frame:
                        self._oversize(events)
                        return
                    buf.append(0)
                self._left = code - 1
                self._zero_pending = code != 0xFF
            else:
                take = min(self._left, end - i)
                if len(buf) + take > self.max_frame:
                    self._oversize(events)
                    return
                buf += data[i:i + take]
                self._left -= take
                i += take

    def _oversize(self, events: list) -> None:
        self._discarding = True
        events.append(FrameError(ErrorCode.OVERSIZE, f"frame longer than {self.max_frame} bytes"))

    def _finish(self) -> Frame | FrameError:
        buf = self._buf
        if self._left != 0:
            return FrameError(ErrorCode.BAD_FRAME, "COBS piece cut short")
        if len(buf) < HEADER_SIZE + CRC_SIZE:
            return FrameError(ErrorCode.BAD_FRAME, f"{len(buf)} bytes, shorter than header + CRC")
        covered = bytes(buf[:-CRC_SIZE])
        want = _CRC.unpack_from(buf, len(buf) - CRC_SIZE)[0]
        got = crc32(covered)
        if got != want:
            return FrameError(ErrorCode.BAD_CRC, f"crc 0x{got:08x} != 0x{want:08x}")
        type_, seq, length = _HEADER.unpack_from(covered)
        if length != len(covered) - HEADER_SIZE:
            return FrameError(ErrorCode.BAD_FRAME,
                              f"len {length} but {len(covered) - HEADER_SIZE} body bytes")
        return Frame(type_, seq, covered[HEADER_SIZE:])


# --------------------------------------------------------------------------------------------
# Message bodies

def _ascii(data: bytes, what: str) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not ASCII: {data!r}") from exc


def _short_string(text: str, what: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 255:
        raise ValueError(f"{what} longer than 255 bytes")
    return bytes([len(raw)]) + raw


def _exact(body: bytes, size: int, what: str) -> None:
    if len(body) != size:
        raise ProtocolError(f"{what} body is {len(body)} bytes, expected {size}")


class _FixedBody:
    """A body of fixed layout: the subclass's dataclass fields are host/messages.py's
    MESSAGES[name] in wire order (tests/host/test_messages.py checks it), so packing and
    unpacking follow that table and no field list is written a second time here."""
    _NAME = ""
    _FMT: struct.Struct

    def __init_subclass__(cls, name: str, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._NAME, cls._FMT = name, struct_for(name)

    def pack(self) -> bytes:
        return self._FMT.pack(*(getattr(self, f.name) for f in fields(self)))

    @classmethod
    def unpack(cls, body: bytes):
        _exact(body, cls._FMT.size, cls._NAME)
        return cls(*cls._FMT.unpack(bytes(body)))


@dataclass(frozen=True)
class Info:
    """INFO (and HELLO) body."""
    protocol: int
    fw_version: int
    core_hz: int
    arena_bytes: int
    max_body: int
    sample_rate: int
    n_fft: int
    hop: int
    n_mels: int
    context_frames: int
    feature_key: str          # 16 ASCII characters, asd.features.FEATURES.key()
    model_sha256: bytes       # 32 raw bytes; .hex() for the usual spelling
    board: str
    model_name: str

    _FIXED = struct_for("INFO")

    def pack(self) -> bytes:
        key = self.feature_key.encode("ascii")
        if len(key) != 16 or len(self.model_sha256) != 32:
            raise ValueError("feature_key must be 16 ASCII chars and model_sha256 32 bytes")
        return (self._FIXED.pack(self.protocol, self.fw_version, self.core_hz, self.arena_bytes,
                                 self.max_body, self.sample_rate, self.n_fft, self.hop,
                                 self.n_mels, self.context_frames, key, bytes(self.model_sha256))
                + _short_string(self.board, "board") + _short_string(self.model_name, "model name"))

    @classmethod
    def unpack(cls, body: bytes) -> Info:
        body = bytes(body)
        fixed = cls._FIXED.size
        if len(body) < fixed + 2:
            raise ProtocolError(f"INFO body is {len(body)} bytes, shorter than {fixed + 2}")
        (protocol, fw_version, core_hz, arena_bytes, max_body, sample_rate, n_fft, hop, n_mels,
         context_frames, key, sha) = cls._FIXED.unpack_from(body)
        pos = fixed
        strings = []
        for what in ("board", "model name"):
            if pos >= len(body):
                raise ProtocolError(f"INFO body ends before the {what}")
            n = body[pos]
            if pos + 1 + n > len(body):
                raise ProtocolError(f"INFO {what} runs past the end of the body")
            strings.append(_ascii(body[pos + 1:pos + 1 + n], f"INFO {what}"))
            pos += 1 + n
        if pos != len(body):
            raise ProtocolError(f"INFO body has {len(body) - pos} trailing bytes")
        return cls(protocol, fw_version, core_hz, arena_bytes, max_body, sample_rate, n_fft, hop,
                   n_mels, context_frames, _ascii(key, "INFO feature_key"), sha, *strings)


@dataclass(frozen=True)
class Result(_FixedBody, name="RESULT"):
    """RESULT body: the score of one clip."""
    score: float
    decision: int             # 1 = anomalous
    frames: int
    inferences: int
    frontend_cycles: int
    inference_cycles: int
    scoring_cycles: int       # fs_scoring_add after each inference: neither of the two above


@dataclass(frozen=True)
class ProfileOp:
    opcode: int               # TFLite builtin operator code
    cycles: int


@dataclass(frozen=True)
class Profile:
    """PROFILE body: cycles per op of the last inference."""
    ops: tuple[ProfileOp, ...]

    _OP = struct_for("PROFILE_OP")

    def pack(self) -> bytes:
        return struct.pack("<H", len(self.ops)) + b"".join(
            self._OP.pack(op.opcode, op.cycles) for op in self.ops)

    @classmethod
    def unpack(cls, body: bytes) -> Profile:
        body = bytes(body)
        if len(body) < 2:
            raise ProtocolError(f"PROFILE body is {len(body)} bytes, shorter than 2")
        (n_ops,) = struct.unpack_from("<H", body)
        _exact(body, 2 + n_ops * cls._OP.size, "PROFILE")
        return cls(tuple(ProfileOp(*cls._OP.unpack_from(body, 2 + k * cls._OP.size))
                         for k in range(n_ops)))

    @property
    def total_cycles(self) -> int:
        return sum(op.cycles for op in self.ops)


@dataclass(frozen=True)
class ErrorMsg:
    """ERROR body: code (ErrorCode when known) and text."""
    code: int
    text: str = ""

    def pack(self) -> bytes:
        return bytes([self.code]) + self.text.encode("utf-8")

    @classmethod
    def unpack(cls, body: bytes) -> ErrorMsg:
        body = bytes(body)
        if len(body) < 1:
            raise ProtocolError("ERROR body is empty")
        return cls(body[0], body[1:].decode("utf-8", errors="replace"))

    @property
    def error_code(self) -> ErrorCode | None:
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None

    @property
    def label(self) -> str:
        code = self.error_code
        return code.label if code is not None else f"code_{self.code}"


@dataclass(frozen=True)
class Ack:
    """ACK body: the type of the acknowledged frame."""
    type: int

    def pack(self) -> bytes:
        return bytes([self.type])

    @classmethod
    def unpack(cls, body: bytes) -> Ack:
        _exact(body, 1, "ACK")
        return cls(body[0])


@dataclass(frozen=True)
class MonitorBegin(_FixedBody, name="MONITOR_BEGIN"):
    """MONITOR_BEGIN body: starts a monitoring session (0 = the device's default)."""
    mode: int = ClipMode.PCM
    live: int = 0             # 1: a source that cannot wait (ACK at once, overruns counted)
    hop_frames: int = 0
    window_hops: int = 0
    start_sample: int = 0     # stream position of the session's first sample


@dataclass(frozen=True)
class MonitorReady(_FixedBody, name="MONITOR_READY"):
    """MONITOR_READY body: the session's parameters as the device applies them."""
    hop_frames: int
    window_hops: int
    max_hops: int
    audio_ring_samples: int
    frame_samples: int        # samples per log-mel frame (the hop length, 512)
    start_sample: int

    @property
    def window_frames(self) -> int:
        return self.hop_frames * self.window_hops


@dataclass(frozen=True)
class Decision(_FixedBody, name="DECISION"):
    """DECISION body: the score of the window that ends at end_sample."""
    index: int
    end_sample: int
    segment_start: int
    score: float
    decision: int             # 1 = anomalous
    window_frames: int
    inferences: int
    busy_cycles: int
    budget_cycles: int
    overrun_samples: int
    overruns: int

    @property
    def load(self) -> float:
        """Share of real time the device spent on the last hop (> 1: slower than real time)."""
        return self.busy_cycles / self.budget_cycles if self.budget_cycles else 0.0


def clip_begin_body(mode: ClipMode | int) -> bytes:
    return bytes([int(mode)])


def pcm_body(samples) -> bytes:
    """int16 little-endian bytes of a sequence or numpy array of samples."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a project dependency
        return struct.pack(f"<{len(samples)}h", *samples)
    return np.asarray(samples, dtype="<i2").tobytes()


# --------------------------------------------------------------------------------------------
# Byte-level examples for docs/protocol.md (a test keeps the doc equal to this output)

DOC_EXAMPLES = (
    ("GET_INFO request, seq 1, empty body", MsgType.GET_INFO, 1, b""),
    ("ACK of a CLIP_BEGIN, seq 2, body = type 0x10", MsgType.ACK, 2, bytes([MsgType.CLIP_BEGIN])),
    ("PCM, seq 3, two samples 1 and -1 (int16 LE)", MsgType.PCM, 3, pcm_body([1, -1])),
)


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def doc_examples_markdown() -> str:
    """The byte-level example section of docs/protocol.md (between its marker comments)."""
    lines = []
    for title, type_, seq, body in DOC_EXAMPLES:
        raw = frame_payload(type_, seq, body)
        crc = raw[-CRC_SIZE:]
        lines += [
            f"{title}:",
            "",
            "```",
            f"header        {_hex(raw[:HEADER_SIZE])}"
            f"    (type 0x{type_:02x}, seq {seq}, len {len(body)})",
            f"body          {_hex(body) or '(empty)'}",
            f"crc32         {_hex(crc)}    (0x{crc32(raw[:-CRC_SIZE]):08x} little endian)",
            f"before COBS   {_hex(raw)}",
            f"wire          {_hex(encode_frame(type_, seq, body))}",
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m host.protocol: print the doc examples
    print(doc_examples_markdown(), end="")
