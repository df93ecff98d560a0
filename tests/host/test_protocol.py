"""host/protocol.py: COBS, CRC, frames, the streaming decoder, message bodies, and agreement with
firmware/app/protocol.h and docs/protocol.md (codes, names, byte-level examples)."""
import os
import random
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.protocol import (
    CRC_SIZE, HEADER_SIZE, MAX_BODY, MAX_FRAME, PROTOCOL_VERSION, Ack, ErrorCode, ErrorMsg,
    Frame, FrameDecodeError, FrameDecoder, FrameError, Info, MsgType, Profile, ProfileOp,
    ProtocolError, Result, cobs_decode, cobs_encode, crc32, decode_frame, doc_examples_markdown,
    encode_frame, frame_payload,
)

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("FIRSTSHOT_LONG") == "1"


def examples(normal: int) -> settings:
    return settings(max_examples=normal * 10 if LONG else normal, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------------------------------
# Streams with damage, shared with tests/firmware/app/test_protocol_c.py (loaded by file path).

@dataclass
class Stream:
    data: bytes
    expected: list        # frames that must be decoded, in order
    oversize: int         # oversize frames put in (each must give exactly one `oversize`)


def oversize_wire(extra: int, seed: int) -> bytes:
    """Wire bytes of a well-formed frame whose body is MAX_BODY + extra bytes (extra >= 1)."""
    body = random.Random(seed).randbytes(MAX_BODY + extra)
    raw = struct.pack("<BBH", MsgType.PCM, 0, len(body) & 0xFFFF) + body
    return cobs_encode(raw + struct.pack("<I", crc32(raw))) + b"\x00"


_DAMAGE = st.one_of(
    st.just(("none",)),
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(0, 7)),
    st.tuples(st.just("oversize"), st.integers(1, 40), st.integers(0, 2**32)),
)


@st.composite
def damaged_streams(draw, max_frames: int = 8, max_body: int = 80) -> Stream:
    """Frames with random type/seq/body; before or instead of some: garbage, a truncated copy, a
    copy with one bit flipped, an oversize frame. A frame is expected to be decoded when its
    bytes are intact and preceded by 0x00 (or the start): garbage without a final 0x00 and
    truncated frames merge with what follows, which must then be rejected, not decoded."""
    items = draw(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255),
                                    st.binary(max_size=max_body), _DAMAGE),
                          min_size=1, max_size=max_frames))
    out = bytearray()
    expected, oversize = [], 0
    for type_, seq, body, damage in items:
        wire = encode_frame(type_, seq, body)
        kind = damage[0]
        if kind == "garbage":
            out += damage[1]
        elif kind == "truncate":
            out += wire[:int(damage[1] * (len(wire) - 1))]
            continue
        elif kind == "flip":
            pos = int(damage[1] * len(wire))
            bad = bytearray(wire)
            bad[pos] ^= 1 << damage[2]
            out += bad
            continue
        elif kind == "oversize":
            oversize += 1
            out += oversize_wire(damage[1], damage[2])
        if not out or out[-1] == 0:
            expected.append(Frame(type_, seq, body))
        out += wire
    return Stream(bytes(out), expected, oversize)


def decoded_frames(events) -> list:
    return [e for e in events if isinstance(e, Frame)]


# ------------------------------------------------------------------------------------------
# CRC and COBS

def test_crc32_check_value():
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32(b"") == 0


# Hand-worked cases of the COBS definition (including the 254-byte piece boundaries).
_R = bytes(range(1, 255))  # 01..FE, 254 non-zero bytes
COBS_CASES = [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (_R, b"\xff" + _R),
    (b"\x00" + _R, b"\x01\xff" + _R),
    (_R + b"\xff", b"\xff" + _R + b"\x02\xff"),
    (_R + b"\x00", b"\xff" + _R + b"\x01\x01"),
    (_R[1:] + b"\xff\x00\x01", b"\xff" + _R[1:] + b"\xff\x01\x02\x01"),
]


@pytest.mark.parametrize("raw,enc", COBS_CASES, ids=range(len(COBS_CASES)))
def test_cobs_known_cases(raw, enc):
    assert cobs_encode(raw) == enc
    assert cobs_decode(enc) == raw


@examples(300)
@given(st.binary(max_size=1200))
def test_cobs_round_trip(data):
    enc = cobs_encode(data)
    assert b"\x00" not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(enc) == data


@pytest.mark.parametrize("bad", [b"\x03\x11", b"\x02\x00", b"\x05\x11\x22\x33", b"\x00"])
def test_cobs_decode_rejects(bad):
    with pytest.raises(ProtocolError):
        cobs_decode(bad)


def test_cobs_non_canonical_trailing_piece_accepted():
    # An encoder that adds an empty piece after a final 0xFF piece is still understood.
    assert cobs_decode(b"\xff" + _R + b"\x01") == _R


# ------------------------------------------------------------------------------------------
# Frames

def test_constants():
    assert PROTOCOL_VERSION == 3 and MAX_BODY == 2048 and MAX_FRAME == 2056
    assert HEADER_SIZE == 4 and CRC_SIZE == 4


def test_frame_layout():
    raw = frame_payload(0x11, 3, b"\x01\x00\xff\xff")
    assert raw[:4] == bytes([0x11, 3, 4, 0]) and raw[4:8] == b"\x01\x00\xff\xff"
    assert raw[8:] == struct.pack("<I", zlib.crc32(raw[:8]))
    assert encode_frame(0x11, 3, b"\x01\x00\xff\xff") == cobs_encode(raw) + b"\x00"


@examples(200)
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_BODY))
def test_frame_round_trip(type_, seq, body):
    wire = encode_frame(type_, seq, body)
    assert wire.index(b"\x00") == len(wire) - 1
    assert decode_frame(wire) == Frame(type_, seq, body)
    assert FrameDecoder().feed(wire) == [Frame(type_, seq, body)]


def test_encode_rejects_bad_arguments():
    encode_frame(MsgType.PCM, 0, bytes(MAX_BODY))
    with pytest.raises(ValueError):
        encode_frame(MsgType.PCM, 0, bytes(MAX_BODY + 1))
    with pytest.raises(ValueError):
        encode_frame(256, 0, b"")
    with pytest.raises(ValueError):
        encode_frame(1, -1, b"")


def _raw_wire(raw: bytes) -> bytes:
    return cobs_encode(raw) + b"\x00"


def test_decoder_errors():
    good = encode_frame(MsgType.GET_INFO, 7, b"")
    raw = frame_payload(MsgType.PCM, 1, b"\x01\x02")
    corrupt_crc = raw[:-1] + bytes([raw[-1] ^ 0x40])
    wrong_len = struct.pack("<BBH", 0x11, 1, 3) + b"\x01\x02"
    wrong_len += struct.pack("<I", crc32(wrong_len))
    cases = [
        (b"\x00\x00" + good, [Frame(2, 7, b"")]),                 # empty frames ignored
        (_raw_wire(corrupt_crc) + good, [ErrorCode.BAD_CRC, Frame(2, 7, b"")]),
        (_raw_wire(raw[:7]) + good, [ErrorCode.BAD_FRAME, Frame(2, 7, b"")]),   # too short
        (_raw_wire(wrong_len) + good, [ErrorCode.BAD_FRAME, Frame(2, 7, b"")]),
        (b"\x05\x11\x22\x00" + good, [ErrorCode.BAD_FRAME, Frame(2, 7, b"")]),  # cut-short piece
        (b"\x01\x00" + good, [ErrorCode.BAD_FRAME, Frame(2, 7, b"")]),          # decodes to nothing
        (oversize_wire(1, 0) + good, [ErrorCode.OVERSIZE, Frame(2, 7, b"")]),
    ]
    for data, want in cases:
        events = FrameDecoder().feed(data)
        got = [e.code if isinstance(e, FrameError) else e for e in events]
        assert got == want, data[:20].hex()


def test_max_body_frame_accepted_and_one_more_byte_is_oversize():
    body = bytes(range(256)) * 8
    assert len(body) == MAX_BODY
    assert FrameDecoder().feed(encode_frame(MsgType.PCM, 9, body)) == [Frame(0x11, 9, body)]
    events = FrameDecoder().feed(oversize_wire(1, 5))
    assert [e.code for e in events] == [ErrorCode.OVERSIZE]


def test_oversize_reported_before_the_delimiter_and_rest_dropped():
    dec = FrameDecoder()
    wire = oversize_wire(100, 1)
    events = dec.feed(wire[:-1])
    assert [e.code for e in events] == [ErrorCode.OVERSIZE]
    assert dec.feed(b"\x7f" * 5000) == []          # still dropping, no second error
    good = encode_frame(MsgType.CLIP_END, 4)
    assert dec.feed(b"\x00" + good) == [Frame(0x13, 4, b"")]


def test_decode_frame_raises_with_code():
    raw = frame_payload(1, 1, b"x")
    with pytest.raises(FrameDecodeError) as info:
        decode_frame(_raw_wire(raw[:-1] + b"\x00"))
    assert info.value.error.code in (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME)


@examples(150)
@given(damaged_streams(), st.lists(st.integers(1, 300), max_size=20))
def test_decoder_recovers_and_chunking_does_not_matter(stream, cuts):
    events = FrameDecoder().feed(stream.data)
    assert decoded_frames(events) == stream.expected
    assert [e.code for e in events if isinstance(e, FrameError)].count(ErrorCode.OVERSIZE) \
        >= stream.oversize
    # Any split into chunks gives the same events, and one byte at a time as well.
    dec, chunked, pos = FrameDecoder(), [], 0
    for cut in cuts:
        chunked += dec.feed(stream.data[pos:pos + cut])
        pos += cut
    chunked += dec.feed(stream.data[pos:])
    assert chunked == events
    dec, single = FrameDecoder(), []
    for b in stream.data[:3000]:
        single += dec.feed(bytes([b]))
    if len(stream.data) <= 3000:
        assert single == events


@examples(150)
@given(st.binary(max_size=600))
def test_decoder_on_garbage_never_fails(data):
    events = FrameDecoder().feed(data)
    for e in events:
        assert isinstance(e, (Frame, FrameError))
        if isinstance(e, FrameError):
            assert e.code in (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME, ErrorCode.OVERSIZE)
    # and decodes a frame right after it, once delimited
    good = encode_frame(MsgType.ACK, 1, b"\x10")
    assert FrameDecoder().feed(data + b"\x00" + good)[-1] == Frame(4, 1, b"\x10")


# ------------------------------------------------------------------------------------------
# Message bodies

INFO = Info(protocol=2, fw_version=3, core_hz=180_000_000, arena_bytes=12_345, max_body=2048,
            sample_rate=16000, n_fft=1024, hop=512, n_mels=128, context_frames=5,
            feature_key="0123456789abcdef", model_sha256=bytes(range(32)),
            board="nucleo-f446re", model_name="Polisher/ae")


def test_info_round_trip_and_layout():
    body = INFO.pack()
    assert len(body) == 2 + 2 + 4 + 4 + 2 + 4 + 2 + 2 + 2 + 2 + 16 + 32 + 1 + 13 + 1 + 11
    assert body[:4] == b"\x02\x00\x03\x00"
    assert Info.unpack(body) == INFO
    for bad in (body[:-1], body + b"\x00", body[:40]):
        with pytest.raises(ProtocolError):
            Info.unpack(bad)


def test_result_round_trip_and_layout():
    r = Result(score=1.5, decision=1, frames=313, inferences=309, frontend_cycles=2**40 + 5,
               inference_cycles=7, scoring_cycles=2**33 + 1)
    body = r.pack()
    assert len(body) == 37
    assert body[:5] == struct.pack("<fB", 1.5, 1)
    assert Result.unpack(body) == r
    with pytest.raises(ProtocolError):
        Result.unpack(body[:-1])


def test_profile_round_trip_and_layout():
    p = Profile((ProfileOp(9, 1000), ProfileOp(3, 2**32 - 1)))
    body = p.pack()
    assert body == b"\x02\x00" + b"\x09" + struct.pack("<I", 1000) + b"\x03" + b"\xff" * 4
    assert Profile.unpack(body) == p and p.total_cycles == 1000 + 2**32 - 1
    assert Profile.unpack(b"\x00\x00") == Profile(())
    for bad in (b"", b"\x01", body[:-1], body + b"\x00"):
        with pytest.raises(ProtocolError):
            Profile.unpack(bad)


def test_error_and_ack_bodies():
    e = ErrorMsg.unpack(b"\x03frame too long")
    assert e == ErrorMsg(3, "frame too long") and e.error_code is ErrorCode.OVERSIZE
    assert e.label == "oversize" and ErrorMsg.unpack(e.pack()) == e
    assert ErrorMsg.unpack(b"\xc8").label == "code_200"
    with pytest.raises(ProtocolError):
        ErrorMsg.unpack(b"")
    assert Ack.unpack(b"\x10") == Ack(MsgType.CLIP_BEGIN)
    with pytest.raises(ProtocolError):
        Ack.unpack(b"")


# ------------------------------------------------------------------------------------------
# One source of truth: protocol.h, host/protocol.py and docs/protocol.md agree

def _header_text() -> str:
    return (ROOT / "firmware/app/protocol.h").read_text()


def _doc_text() -> str:
    return (ROOT / "docs/protocol.md").read_text()


def test_error_codes_match_firmware_header_and_doc():
    header = dict((name, (int(code), label)) for code, name, label in re.findall(
        r'X\((\d+),\s*(\w+),\s*"(\w+)"\)', _header_text()))
    host = {e.name: (e.value, e.label) for e in ErrorCode}
    assert header == host
    doc = _doc_text().split("## Errors", 1)[1]
    table = {name: int(code) for code, name in re.findall(r"^\| (\d+) \| (\w+) \|", doc, re.M)}
    assert table == {e.label: e.value for e in ErrorCode}


def test_message_types_match_firmware_header_and_doc():
    block = _header_text().split("#define FS_PROTOCOL_MSG_TYPES(X)", 1)[1].split("typedef", 1)[0]
    header = {name: int(code, 16) for code, name in re.findall(r"X\((0x[0-9A-Fa-f]+),\s*(\w+)\)", block)}
    assert header == {m.name: m.value for m in MsgType}
    doc = {name: int(code, 16) for code, name in
           re.findall(r"^\| (0x[0-9A-Fa-f]{2}) \| (\w+) \|", _doc_text(), re.M)}
    assert doc == {m.name: m.value for m in MsgType}


def test_limits_match_firmware_header():
    text = _header_text()
    assert re.search(r"#define FS_PROTOCOL_MAX_BODY (\d+)u", text).group(1) == str(MAX_BODY)
    assert re.search(r"#define FS_PROTOCOL_VERSION (\d+)u", text).group(1) == str(PROTOCOL_VERSION)


def test_doc_byte_level_examples_are_current():
    doc = _doc_text()
    begin, end = "<!-- protocol-examples:begin -->\n", "<!-- protocol-examples:end -->"
    assert begin in doc and end in doc
    section = doc.split(begin, 1)[1].split(end, 1)[0]
    assert section == doc_examples_markdown(), \
        "docs/protocol.md examples are stale: paste the output of `python -m host.protocol`"
    # and the wire lines decode back to the stated frames
    for wire_hex in re.findall(r"^wire +([0-9a-f ]+)$", section, re.M):
        frames = FrameDecoder().feed(bytes.fromhex(wire_hex))
        assert len(frames) == 1 and isinstance(frames[0], Frame)
