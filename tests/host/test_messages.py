"""host/messages.py is the one definition of the fixed message bodies: firmware/app/messages.h
is generated from it (and must be current), host/protocol.py's codecs use it, and app.c uses the
generated offsets instead of numbers."""
import re
from pathlib import Path

from host import messages, protocol

ROOT = Path(__file__).resolve().parents[2]


def test_header_is_current():
    assert (ROOT / "firmware/app/messages.h").read_text() == messages.c_header(), \
        "run .venv/bin/python -m host.messages"


def test_python_codecs_use_the_table():
    assert protocol.Info._FIXED.format == messages.struct_for("INFO").format
    for cls, name in [(protocol.Result, "RESULT"), (protocol.Decision, "DECISION"),
                      (protocol.MonitorBegin, "MONITOR_BEGIN"),
                      (protocol.MonitorReady, "MONITOR_READY")]:
        assert cls._FMT.format == messages.struct_for(name).format
        fields = [f for f in cls.__dataclass_fields__ if not f.startswith("_")]
        assert fields == [f for f, _ in messages.MESSAGES[name]], name


def test_sizes_match_docs():
    assert messages.struct_for("INFO").size == 74
    assert messages.struct_for("RESULT").size == 37
    assert messages.struct_for("DECISION").size == 55
    assert messages.struct_for("MONITOR_BEGIN").size == 14
    assert messages.struct_for("MONITOR_READY").size == 22


def test_app_c_has_no_magic_body_offsets():
    src = (ROOT / "firmware/app/app.c").read_text()
    assert not re.search(r"put_u(16|32|64)\(p \+ \d+,", src)
