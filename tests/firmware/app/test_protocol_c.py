"""The firmware frame layer (firmware/app/protocol.c, cobs.c, crc32.c) against host/protocol.py.

Drives the x86 tool firmware/build/tools/frame-codec over stdio (plain build and the ASan+UBSan
build): the C encoder must write the Python encoder's bytes, and the C parser, fed a stream one
byte at a time, must report exactly the frames and errors the Python FrameDecoder reports, and
decode every intact frame after garbage, truncation, bit flips and oversize frames. The saved
fuzz corpus is replayed through the fuzz harness built with a plain main() (and with libFuzzer's
-runs=0 when clang is available)."""
import importlib.util
import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host.protocol import (
    DOC_EXAMPLES, MAX_BODY, ErrorCode, Frame, FrameDecoder, MsgType, cobs_encode, crc32,
    encode_frame,
)

ROOT = Path(__file__).resolve().parents[3]
FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build"
CORPUS = FIRMWARE / "fuzz/corpus/frame_parser"
LONG = os.environ.get("FIRSTSHOT_LONG") == "1"

# Stream generator shared with the Python-side tests (loaded by path: tests/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "_fs_host_protocol_tests", ROOT / "tests/host/test_protocol.py")
_streams = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_streams)
damaged_streams = _streams.damaged_streams
oversize_wire = _streams.oversize_wire


def _make(*args: str) -> None:
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), *args], check=True)


@pytest.fixture(scope="session")
def codec_plain() -> Path:
    _make("frame-codec")
    return BUILD / "tools/frame-codec"


@pytest.fixture(scope="session")
def codec_san() -> Path:
    _make("frame-codec", "SANITIZE=1")
    return BUILD / "tools-san/frame-codec"


@pytest.fixture(params=["plain", "san"])
def codec(request) -> Path:
    return request.getfixturevalue(f"codec_{request.param}")


_SAN_ENV = {**os.environ, "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


def c_decode(tool: Path, data: bytes) -> list[str]:
    r = subprocess.run([str(tool)], input=data, capture_output=True, env=_SAN_ENV, timeout=60)
    assert r.returncode == 0 and not r.stderr, r.stderr.decode(errors="replace")
    return r.stdout.decode().splitlines()


def c_encode(tool: Path, type_: int, seq: int, body: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool), "encode", hex(type_), str(seq), body.hex()],
                          capture_output=True, env=_SAN_ENV, timeout=60)


def py_decode(data: bytes) -> list[str]:
    return [e.describe() for e in FrameDecoder().feed(data)]


def examples(normal: int) -> settings:
    return settings(max_examples=normal * 10 if LONG else normal, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ------------------------------------------------------------------------------------------
# Fixed cases, plain and sanitizer builds

def test_doc_examples_encode_and_decode_identically(codec):
    for _, type_, seq, body in DOC_EXAMPLES:
        r = c_encode(codec, type_, seq, body)
        assert r.returncode == 0 and not r.stderr
        assert r.stdout == encode_frame(type_, seq, body)
        assert c_decode(codec, r.stdout) == [Frame(type_, seq, body).describe()]
    line = c_decode(codec, encode_frame(MsgType.PCM, 3, bytes.fromhex("0100ffff")))
    assert line == ["FRAME type=0x11 seq=3 len=4 body=0100ffff"]


def test_encode_limits(codec):
    body = random.Random(3).randbytes(MAX_BODY)
    r = c_encode(codec, MsgType.PCM, 255, body)
    assert r.returncode == 0 and r.stdout == encode_frame(MsgType.PCM, 255, body)
    r = c_encode(codec, MsgType.PCM, 0, body + b"\x01")
    assert r.returncode == 1 and r.stdout.decode().strip() == "ERROR oversize"
    for bad in (["encode", "256", "0", ""], ["encode", "1", "0", "abc"],
                ["encode", "1", "0", "zz"], ["bogus"]):
        r = subprocess.run([str(codec), *bad], capture_output=True, env=_SAN_ENV)
        assert r.returncode == 2 and r.stderr


def _with_len(length: int, body: bytes) -> bytes:
    raw = struct.pack("<BBH", MsgType.PCM, 1, length) + body
    return cobs_encode(raw + struct.pack("<I", crc32(raw))) + b"\x00"


def test_error_cases(codec):
    good = encode_frame(MsgType.GET_INFO, 7, b"")
    cases = [
        b"\x00\x00" + good,
        b"\x05\x11\x22\x00" + good,            # cut-short COBS piece: bad_frame
        b"\x01\x00" + good,                    # empty decoded frame: bad_frame
        cobs_encode(bytes([2, 7, 0, 0, 1, 2, 3, 4])) + b"\x00" + good,   # wrong CRC
        oversize_wire(1, 0) + good,
        oversize_wire(500, 1)[:-1],            # oversize reported before any delimiter
        good[:-1],                             # partial frame at end of input: nothing
        _with_len(3, b"\x01\x02") + good,        # valid CRC but len too large: bad_frame
        _with_len(1, b"\x01\x02") + good,        # valid CRC but len too small: bad_frame
    ]
    for data in cases:
        assert c_decode(codec, data) == py_decode(data), data[:16].hex()
    assert c_decode(codec, cases[3])[0] == "ERROR bad_crc"
    assert c_decode(codec, cases[4]) == ["ERROR oversize", Frame(2, 7, b"").describe()]
    assert c_decode(codec, cases[5]) == ["ERROR oversize"]
    assert c_decode(codec, cases[7])[0] == c_decode(codec, cases[8])[0] == "ERROR bad_frame"


def test_max_body_and_boundaries(codec):
    # bodies around the COBS 254-byte piece boundaries and the buffer limit, no zeros
    rnd = random.Random(9)
    for n in (0, 1, 246, 247, 250, 254, 255, 500, 501, 1014, MAX_BODY - 1, MAX_BODY):
        body = bytes(rnd.randrange(1, 256) for _ in range(n))
        wire = encode_frame(MsgType.FEATURES, n & 0xFF, body)
        assert c_encode(codec, MsgType.FEATURES, n & 0xFF, body).stdout == wire
        assert c_decode(codec, wire) == [Frame(0x12, n & 0xFF, body).describe()]


# ------------------------------------------------------------------------------------------
# Property-based: random frames, damage, garbage (plain build many times, sanitizer build less)

@examples(60)
@given(type_=st.integers(0, 255), seq=st.integers(0, 255), body=st.binary(max_size=MAX_BODY))
def test_c_encoder_matches_python(codec_plain, type_, seq, body):
    r = c_encode(codec_plain, type_, seq, body)
    assert r.returncode == 0 and r.stdout == encode_frame(type_, seq, body)


def _check_stream(tool: Path, stream) -> None:
    lines = c_decode(tool, stream.data)
    assert lines == py_decode(stream.data)
    frames = [ln for ln in lines if ln.startswith("FRAME ")]
    assert frames == [f.describe() for f in stream.expected]
    errors = [ln for ln in lines if ln.startswith("ERROR ")]
    allowed = {f"ERROR {c.label}" for c in (ErrorCode.BAD_CRC, ErrorCode.BAD_FRAME,
                                            ErrorCode.OVERSIZE)}
    assert set(errors) <= allowed
    assert errors.count("ERROR oversize") >= stream.oversize


@examples(80)
@given(stream=damaged_streams())
def test_c_decoder_recovers_like_python(codec_plain, stream):
    _check_stream(codec_plain, stream)


@examples(15)
@given(stream=damaged_streams())
def test_c_decoder_recovers_like_python_sanitized(codec_san, stream):
    _check_stream(codec_san, stream)


@examples(60)
@given(data=st.binary(max_size=3000))
def test_c_decoder_on_garbage_agrees_with_python(codec_plain, data):
    assert c_decode(codec_plain, data) == py_decode(data)


# ------------------------------------------------------------------------------------------
# Fuzz corpus replay

def _corpus_files() -> list[Path]:
    files = sorted(p for p in CORPUS.iterdir() if p.is_file())
    assert files, f"empty fuzz corpus {CORPUS}"
    return files


def test_fuzz_corpus_replays_clean():
    """The harness's checks (parser vs bulk COBS reference, re-encoding, round trips) over the
    saved corpus, built with a plain main() and ASan+UBSan."""
    _make("fuzz-frame-replay")
    files = _corpus_files()
    r = subprocess.run([str(BUILD / "fuzz/fuzz_frame_parser_replay"), *map(str, files)],
                       capture_output=True, env=_SAN_ENV, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout.decode().count("\nok ") + r.stdout.decode().startswith("ok ") == len(files)


def test_fuzz_corpus_through_sanitized_codec(codec_san):
    for path in _corpus_files():
        data = path.read_bytes()
        assert c_decode(codec_san, data) == py_decode(data), path.name


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang (libFuzzer) not installed")
def test_libfuzzer_runs_zero_over_corpus():
    _make("fuzz-frame-parser")
    artifacts = BUILD / "fuzz/frame-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([str(BUILD / "fuzz/fuzz_frame_parser"), "-runs=0",
                        f"-artifact_prefix={artifacts}/", str(CORPUS)],
                       capture_output=True, env=_SAN_ENV, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
