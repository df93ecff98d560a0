"""The one definition of each fixed-layout protocol message body (docs/protocol.md).

Each body is a list of (field, type) in wire order, little-endian, no padding. From this table:
  - host/protocol.py builds its struct formats (``struct_for``);
  - firmware/app/messages.h (generated: ``.venv/bin/python -m host.messages``) gets one
    ``FS_BODY_<MSG>_<FIELD>`` byte offset per field and ``FS_BODY_<MSG>_SIZE``, which
    firmware/app/app.c uses; tests/host/test_messages.py fails when the header is stale.
Types: u8 u16 u32 u64 f32 (IEEE-754 bits) and bytesN (N raw bytes).
INFO's fixed part is followed by two short strings (length byte + text): board, model name.
PROFILE is variable (u16 count, then count x {u8 op code, u32 cycles}): PROFILE_OP below.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

MESSAGES: dict[str, list[tuple[str, str]]] = {
    "INFO": [  # fixed part; then board and model name as short strings
        ("protocol", "u16"), ("fw_version", "u16"), ("core_hz", "u32"),
        ("arena_bytes", "u32"), ("max_body", "u16"), ("sample_rate", "u32"),
        ("n_fft", "u16"), ("hop", "u16"), ("n_mels", "u16"), ("context_frames", "u16"),
        ("feature_key", "bytes16"), ("model_sha256", "bytes32"),
    ],
    "RESULT": [
        ("score", "f32"), ("decision", "u8"), ("frames", "u32"), ("inferences", "u32"),
        ("frontend_cycles", "u64"), ("inference_cycles", "u64"), ("scoring_cycles", "u64"),
    ],
    "PROFILE_OP": [("op_code", "u8"), ("cycles", "u32")],  # one entry after PROFILE's u16 count
    "MONITOR_BEGIN": [
        ("mode", "u8"), ("live", "u8"), ("hop_frames", "u16"), ("window_hops", "u16"),
        ("start_sample", "u64"),
    ],
    "MONITOR_READY": [
        ("hop_frames", "u16"), ("window_hops", "u16"), ("max_hops", "u16"),
        ("audio_ring_samples", "u32"), ("frame_samples", "u32"), ("start_sample", "u64"),
    ],
    "DECISION": [
        ("index", "u32"), ("end_sample", "u64"), ("segment_start", "u64"), ("score", "f32"),
        ("decision", "u8"), ("window_frames", "u32"), ("inferences", "u32"),
        ("busy_cycles", "u64"), ("budget_cycles", "u64"), ("overrun_samples", "u32"),
        ("overruns", "u16"),
    ],
}

_CODES = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "f32": "f"}


def _code(t: str) -> str:
    return f"{int(t[5:])}s" if t.startswith("bytes") else _CODES[t]


def struct_for(name: str) -> struct.Struct:
    """The little-endian struct of a message body's fields, in wire order."""
    return struct.Struct("<" + "".join(_code(t) for _, t in MESSAGES[name]))


def layout(name: str) -> list[tuple[str, str, int, int]]:
    """(field, type, offset, size) of each field."""
    out, off = [], 0
    for f, t in MESSAGES[name]:
        size = struct.calcsize("<" + _code(t))
        out.append((f, t, off, size))
        off += size
    return out


HEADER = Path(__file__).resolve().parents[1] / "firmware" / "app" / "messages.h"


def c_header() -> str:
    lines = ["/* GENERATED from host/messages.py by `python -m host.messages`: do not edit. */",
             "/* Byte offset of each field of each fixed-layout message body, and its size",
             "   (little-endian, no padding; docs/protocol.md). */",
             "#ifndef FS_MESSAGES_H", "#define FS_MESSAGES_H", ""]
    for name in MESSAGES:
        lines.append(f"/* {name} */")
        for f, t, off, _ in layout(name):
            lines.append(f"#define FS_BODY_{name}_{f.upper()} {off}u /* {t} */")
        lines.append(f"#define FS_BODY_{name}_SIZE {struct_for(name).size}u")
        lines.append("")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if HEADER.read_text() == c_header() else "firmware/app/messages.h is stale")
    HEADER.write_text(c_header())
