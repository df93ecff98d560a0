"""host/monitor.py: the MONITOR-mode host. First against a small fake device in Python (the
host's bookkeeping: lost DECISIONs, resets, lost links, gaps), then against the emulated
firmware (scores equal to export/stream_reference.py window by window, the switch from normal to
anomalous sound, a killed emulator, a reset, overruns) and QEMU."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from host import monitor
from host.link import LinkError
from host.monitor_view import Figures, View, screen_text
from host.protocol import (PROTOCOL_VERSION, Decision, FrameDecoder, Info, MonitorBegin,
                           MonitorReady, MsgType, encode_frame)
from asd.features import FEATURES
from tests.support import MACHINE, ROOT, interruptible, run_py

MONITOR = str(ROOT / "host/monitor.py")
HOP, HOPS = 8, 4                  # the fake's defaults: a decision every 8 frames over 32


# ---- a fake device ---------------------------------------------------------------------------

class FakeDevice:
    """Speaks the MONITOR frames of docs/protocol.md over the Link API. Its score of a window is
    the mean absolute sample of the window's audio, so a replayed window scores the same.
    Faults: `garble` DECISION numbers (0, 1, ... over its life) get a flipped byte; `forget`
    makes GET_DECISION of those indices fail; `reset_at` / `die_at`: after that many PCM frames
    it reboots (HELLO) or the link breaks."""

    def __init__(self, sha: str, garble=(), forget=(), reset_at=None, die_at=None):
        self.sha, self.garble, self.forget = sha, set(garble), set(forget)
        self.reset_at, self.die_at = reset_at, die_at
        self.name = "fake"
        self.dec, self.out = FrameDecoder(), bytearray()
        self.pcm_frames = self.sent_decisions = 0
        self.dead = False
        self.last = None
        self.session = None
        self.out += encode_frame(MsgType.HELLO, 0, self.info())

    def info(self) -> bytes:
        f = FEATURES
        return Info(PROTOCOL_VERSION, 2, 10**9, 1000, 2048, f.sample_rate, f.n_fft,
                    f.hop_length, f.n_mels, f.frames, f.key(), bytes.fromhex(self.sha),
                    "fake", "m").pack()

    # Link API
    def send(self, data: bytes) -> None:
        if self.dead:
            raise LinkError("fake: write failed")
        for f in self.dec.feed(data):
            if hasattr(f, "type"):
                self.on_frame(f)

    def read(self) -> bytes:
        if self.dead:
            raise LinkError("fake: read failed")
        out, self.out = bytes(self.out), bytearray()
        return out

    def close(self) -> None:
        pass

    def reply(self, t, seq, body=b"") -> None:
        self.last = (seq, encode_frame(t, seq, body))
        self.out += self.last[1]

    def on_frame(self, f) -> None:
        if f.type != MsgType.GET_INFO and self.last and self.last[0] == f.seq and \
                self.last_type == f.type:
            self.out += self.last[1]          # a retransmission: the same reply again
            return
        self.last_type = f.type
        if f.type == MsgType.GET_INFO:
            self.reply(MsgType.INFO, f.seq, self.info())
        elif f.type == MsgType.MONITOR_BEGIN:
            b = MonitorBegin.unpack(f.body)
            hop, hops = b.hop_frames or HOP, b.window_hops or HOPS
            self.session = dict(start=b.start_sample, hop=hop, hops=hops, pcm=[], kept={}, n=0)
            self.reply(MsgType.MONITOR_READY, f.seq, MonitorReady(
                hop, hops, 16, 4096, 512, b.start_sample).pack())
        elif f.type == MsgType.PCM:
            self.on_pcm(f)
        elif f.type == MsgType.GET_DECISION:
            i = struct.unpack("<I", f.body)[0]
            kept = self.session["kept"] if self.session else {}
            if i in kept and i not in self.forget:
                self.reply(MsgType.DECISION, f.seq, kept[i].pack())
            else:
                self.reply(MsgType.ERROR, f.seq, bytes([9]) + b"decision not kept")
        elif f.type == MsgType.MONITOR_END:
            self.reply(MsgType.ACK, f.seq, bytes([f.type]))

    def on_pcm(self, f) -> None:
        self.pcm_frames += 1
        if self.pcm_frames == self.die_at:
            self.dead = True
            return
        if self.pcm_frames == self.reset_at:
            self.session, self.last = None, None
            self.out += encode_frame(MsgType.HELLO, 0, self.info())
            return
        s = self.session
        s["pcm"].append(np.frombuffer(f.body, "<i2"))
        pcm = np.concatenate(s["pcm"])
        w = s["hop"] * s["hops"]
        while True:
            end_frame = w + s["hop"] * s["n"]
            if len(pcm) // 512 < end_frame:
                break
            win = pcm[(end_frame - w) * 512:end_frame * 512]
            d = Decision(s["n"], s["start"] + end_frame * 512, s["start"],
                         float(np.abs(win.astype(float)).mean()), 0, w, 1, 10, 100, 0, 0)
            s["kept"][s["n"]] = d
            s["n"] += 1
            wire = bytearray(encode_frame(MsgType.DECISION, 0, d.pack()))
            if self.sent_decisions in self.garble:
                wire[5] ^= 0x55
            self.sent_decisions += 1
            self.out += wire
        self.reply(MsgType.ACK, f.seq, bytes([f.type]))


def _fake_monitor(tmp_path, pcm, devices, *extra):
    """A Monitor over fake devices: each (re)connection takes the next one."""
    sha = "ab" * 32
    args = monitor.parse_args(["--port", "fake", "--machine", MACHINE, "--wav", "x.wav",
                               "--log", str(tmp_path / "out.csv"), "--timeout", "0.3",
                               "--reconnect", "2", "--view", "lines", *extra])
    fig = Figures()
    view = View(fig, live=False)
    mon = monitor.Monitor(args, monitor.WavSource(pcm), {"sha256": sha}, None, view, fig)
    queue = list(devices)

    def open_fake():
        if not queue:
            raise LinkError("fake: no device")
        return monitor.MonitorDevice(queue.pop(0), args.timeout, args.retries)
    mon.conn.open = open_fake
    mon.conn.close_link = lambda: None
    return mon, fig


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _expected_scores(pcm, ends):
    """The fake's score of the windows ending at these stream positions (32 frames each)."""
    w = HOP * HOPS * 512
    return [np.float32(np.abs(pcm[e - w:e].astype(float)).mean()) for e in ends]


@pytest.fixture
def pcm():
    rng = np.random.default_rng(0)
    return (rng.normal(0, 3000, 16000 * 4) * np.repeat(rng.uniform(0.2, 2, 64), 1000)) \
        .astype(np.int16)


def _check_rows(rows, pcm):
    ends = [round(float(r["end_s"]) * 16000) for r in rows]
    hop = HOP * 512
    assert ends == list(range(HOP * HOPS * 512, len(pcm) + 1, hop))   # one row per hop
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    np.testing.assert_array_equal([np.float32(float(r["score"])) for r in rows],
                                  _expected_scores(pcm, ends))


def test_fake_clean_stream_one_row_per_hop(tmp_path, pcm):
    mon, fig = _fake_monitor(tmp_path, pcm, [FakeDevice("ab" * 32)])
    assert mon.run() is None
    _check_rows(_csv(tmp_path / "out.csv"), pcm)
    assert fig.gaps == [] and fig.recovered == 0


def test_fake_garbled_decisions_are_fetched_again(tmp_path, pcm, capsys):
    """A garbled DECISION in mid-stream (the next one reveals the gap) and the very last one
    (nothing follows it: the host asks for the next index at the end)."""
    n = (len(pcm) // 512 - HOP * HOPS) // HOP + 1
    mon, fig = _fake_monitor(tmp_path, pcm, [FakeDevice("ab" * 32, garble={3, n - 1})])
    assert mon.run() is None
    _check_rows(_csv(tmp_path / "out.csv"), pcm)
    assert fig.recovered == 2 and fig.gaps == []
    assert capsys.readouterr().err.count("fetched again with GET_DECISION") == 2


def test_fake_decision_no_longer_kept_is_a_reported_gap(tmp_path, pcm, capsys):
    mon, fig = _fake_monitor(tmp_path, pcm, [FakeDevice("ab" * 32, garble={3}, forget={3})])
    assert mon.run() is None
    rows = _csv(tmp_path / "out.csv")
    ends = [round(float(r["end_s"]) * 16000) for r in rows]
    missing = HOP * HOPS * 512 + 3 * HOP * 512
    assert missing not in ends and len(ends) == len(set(ends))
    assert len(fig.gaps) == 1 and f"{missing / 16000:.2f} s" in fig.gaps[0]
    assert "gap: 1 decision(s) missing" in capsys.readouterr().err


@pytest.mark.parametrize("fault", ["reset_at", "die_at"])
def test_fake_reset_and_lost_link_replay_the_owed_window(tmp_path, pcm, fault, capsys):
    """After the loss, the host replays from one window before the next window it owes: every
    hop still has exactly one row, with the score of its own audio."""
    first = FakeDevice("ab" * 32, **{fault: 40})
    devices = [first] if fault == "reset_at" else [first, FakeDevice("ab" * 32)]
    mon, fig = _fake_monitor(tmp_path, pcm, devices)
    assert mon.run() is None
    _check_rows(_csv(tmp_path / "out.csv"), pcm)
    err = capsys.readouterr().err
    if fault == "reset_at":
        assert fig.resets == 1 and "device reset (HELLO)" in err
    else:
        assert fig.reconnects == 1 and "link lost" in err
    assert "resuming at" in err and fig.gaps == []


def test_fake_live_source_gap_is_reported(tmp_path, pcm, capsys):
    """A source that cannot replay (a microphone) resumes where it stands: the windows it could
    not give are one reported gap, not silently missing rows."""
    mon, fig = _fake_monitor(tmp_path, pcm, [FakeDevice("ab" * 32, reset_at=40)])
    mon.source.seekable = False
    assert mon.run() is None
    rows = _csv(tmp_path / "out.csv")
    ends = [round(float(r["end_s"]) * 16000) for r in rows]
    assert len(ends) == len(set(ends)) and ends == sorted(ends)
    assert len(fig.gaps) == 1 and "device reset" in fig.gaps[0]
    assert "gap:" in capsys.readouterr().err


def test_hop_and_window_seconds_to_frames():
    assert monitor.hop_window_params(None, None, 31) == (0, 0)
    assert monitor.hop_window_params(1.0, 10.0, 31) == (31, 10)      # 0.992-s hops
    assert monitor.hop_window_params(0.25, 2.0, 31) == (8, 8)
    assert monitor.hop_window_params(None, 5.0, 31) == (0, 5)        # hops of the default
    with pytest.raises(monitor.UsageError, match="shorter than one frame"):
        monitor.hop_window_params(0.01, None, 31)


def test_view_screen_shows_state_trace_and_counters():
    fig = Figures(title="fan on emu", threshold=1.0, scores=[0.5, 0.7, 1.4, 1.6], decisions=4,
                  anomalous=2, state=1, end_s=12.0, load=0.25, max_load=0.4, overruns=1,
                  overrun_samples=4096)
    text = screen_text(fig)
    assert "ANOMALOUS" in text and "◀ threshold" in text and "log scale" not in text
    assert "4 (50% anomalous)" in text and "4096 samples dropped" in text
    chart = [line for line in text.splitlines() if "█" in line]
    assert len(chart) == 10 and chart[0].count("█") == 1 and chart[-1].count("█") == 4
    wide = screen_text(Figures(threshold=1.0, scores=[0.1, 50.0]))
    assert "log scale" in wide


def test_switch_lines_count_windows_on_each_side():
    from host.monitor_view import switch_lines
    fig = Figures(history=[(0, 10, 0), (1, 11, 1), (9, 19, 0), (10, 20, 1), (11, 21, 1)])
    lines = switch_lines(fig, 10.0)
    assert lines == ["windows of normal sound: 0 of 1 anomalous",
                     "windows of both sounds: 1 of 2 anomalous",
                     "windows of anomalous sound: 2 of 2 anomalous",
                     "the sound turns anomalous at 10.00 s; first anomalous decision after it "
                     "at 11.00 s (+1.00 s)"]


def test_bad_inputs_are_one_line_errors(tmp_path):
    r = run_py(MONITOR, "--port", "emu", "--machine", MACHINE, "--model-dir", str(tmp_path),
               "--wav", "nope.wav")
    assert r.returncode == 2 and "no exported model" in r.stderr and "Traceback" not in r.stderr


# ---- the emulated firmware ---------------------------------------------------------------------

def _write_wavs(tmp_path, pcms, rate=16000):
    paths = []
    for i, p in enumerate(pcms):
        path = tmp_path / f"part{i}.wav"
        sf.write(path, p, rate, subtype="PCM_16")
        paths.append(path)
    return paths


def _ref(model_dir):
    from export.pipeline import load_export
    from export.reference import Int8Reference
    _, tfl, cfg = load_export(model_dir)
    return Int8Reference(tfl, cfg)


@pytest.fixture(scope="module")
def switch_stream(data_root, stats_export):
    """Two normal test clips, then two anomalous ones (2 s each): the normal clips the stats
    model scores lowest and the anomalous ones it scores highest, so that the tiny test model
    separates the two halves."""
    from asd.dataset import list_clips, load_pcm16
    from asd.features import logmel
    ref = _ref(stats_export[0])
    clips = [c for c in list_clips(data_root, MACHINE, "test") if c.domain == "source"]
    pcm = {c.name: load_pcm16(c.path) for c in clips}
    score = {n: ref.score(logmel(p.astype(np.float32) / 32768)) for n, p in pcm.items()}
    normal = sorted((c.name for c in clips if c.label == "normal"), key=score.get)[:2]
    anomalous = sorted((c.name for c in clips if c.label == "anomaly"), key=score.get)[-2:]
    return [pcm[n] for n in normal + anomalous]


@pytest.fixture(scope="module")
def calibrated(stats_export, switch_stream, tmp_path_factory):
    """The stats export with its threshold set between the reference's window scores of the
    normal part and of the anomalous part, so the switch must show in the decisions (the tiny
    test model's own threshold is not calibrated for 2-s windows)."""
    from export.stream_reference import segment_frames, session_windows
    ref = _ref(stats_export[0])
    pcm = np.concatenate(switch_stream)
    wins = session_windows(ref, segment_frames(pcm, ref), HOP, 8)
    switch = sum(len(p) for p in switch_stream[:2])
    normal = [w.score for w in wins if w.end_sample(0) <= switch]
    anomalous = [w.score for w in wins if w.end_sample(0) - w.frames * 512 >= switch]
    assert max(normal) < min(anomalous), "the test clips do not separate; pick others"
    thr = float(np.sqrt(max(normal) * min(anomalous)))
    out = tmp_path_factory.mktemp("monitor-model") / "stats"
    shutil.copytree(stats_export[0], out)
    cfg_h = out / "model_config.h"
    def calibrate(line: str) -> str:   # both domains' thresholds (FS_MODEL_THRESHOLD[_TARGET])
        name = line.split()[1] if line.startswith("#define FS_MODEL_THRESHOLD") else None
        return f"#define {name} {thr!r}f" if name else line
    cfg_h.write_text("\n".join(map(calibrate, cfg_h.read_text().splitlines())) + "\n")
    meta = json.loads((out / "export.json").read_text())
    meta["threshold"] = meta["device"]["threshold"] = float(np.float32(thr))
    if "threshold_target" in meta["device"]:
        meta["threshold_target"] = meta["device"]["threshold_target"] = float(np.float32(thr))
    (out / "export.json").write_text(json.dumps(meta))
    return out, switch


def _run(model_dir, wavs, log, *extra, env=None):
    cmd = [sys.executable, MONITOR, "--port", "emu", "--machine", "test-monitor",
           "--model-dir", str(model_dir), "--wav", *map(str, wavs), "--log", str(log), *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("mode", ["features", "pcm"])
def test_emulator_scores_equal_the_reference_and_flip_at_the_switch(calibrated, switch_stream,
                                                                   tmp_path, mode):
    model_dir, switch = calibrated
    wavs = _write_wavs(tmp_path, switch_stream)
    log = tmp_path / "out.csv"
    r = _run(model_dir, wavs, log, "--fast", "--check", "--mode", mode, "--hop", "0.25",
             "--window", "2")
    assert r.returncode == 0, r.stderr
    rows = _csv(log)
    n_frames = sum(len(p) for p in switch_stream) // 512
    assert len(rows) == (n_frames - 64) // 8 + 1                    # one row per hop
    dev = np.array([float(x["score"]) for x in rows])
    ref = np.array([float(x["ref_score"]) for x in rows])
    # FEATURES: the same int8 frames, so float32 rounding only; PCM adds the device's float32
    # front end (an int8 feature one step off now and then), as in the bench tests.
    np.testing.assert_allclose(dev, ref, rtol=1e-6 if mode == "features" else 1e-3)
    assert [x["decision"] for x in rows] == [x["ref_decision"] for x in rows]
    ends = np.array([float(x["end_s"]) for x in rows]) * 16000
    decision = np.array([int(x["decision"]) for x in rows])
    window = 64 * 512
    assert not decision[ends <= switch].any()                      # normal sound: normal
    assert decision[ends - window >= switch].all()                 # anomalous: anomalous
    first = ends[decision == 1][0]
    assert switch < first <= switch + window                       # within one window
    assert "flipped to ANOMALOUS" in r.stdout


def test_emulator_cli_one_row_per_hop_any_rate(stats_export, switch_stream, tmp_path):
    """The issue's command line: two files (one at 44.1 kHz stereo, converted), default hop
    and window (those of model_config.h), both column sets."""
    import soxr
    a = switch_stream[0]
    b = np.concatenate(switch_stream[1:3]).astype(np.float32) / 32768
    b44 = soxr.resample(b, 16000, 44100)
    wav_a = _write_wavs(tmp_path, [a])[0]
    wav_b = tmp_path / "b44.wav"
    sf.write(wav_b, np.stack([b44, b44], axis=1), 44100, subtype="PCM_16")
    log = tmp_path / "out.csv"
    r = _run(stats_export[0], [wav_a, wav_b], log, "--fast", "--check")
    assert r.returncode == 0, r.stderr
    rows = _csv(log)
    assert list(rows[0]) == monitor.COLUMNS + monitor.CHECK_COLUMNS
    n = (len(a) + len(monitor.read_wavs([wav_b]))) // 512
    hop, window = 31, 31 * 2                                        # 2-s training clips
    assert len(rows) == (n - window) // hop + 1
    assert all(x["ref_score"] != "" for x in rows)
    np.testing.assert_allclose([float(x["score"]) for x in rows],
                               [float(x["ref_score"]) for x in rows], rtol=1e-3)
    assert f"log: {log} ({len(rows)} rows)" in r.stdout


@pytest.fixture(scope="module")
def emulator_binary(stats_export):
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu",
                    "MACHINE=test-monitor-api", f"MODEL_DIR={stats_export[0]}"], check=True,
                   stdout=subprocess.DEVNULL)
    return ROOT / "firmware/build/emu/test-monitor-api/firmware-emu"


class _Sabotage(monitor.WavSource):
    """Stops the emulator (a signal) once, when the stream reaches a position."""

    def __init__(self, pcm, at, sig, mon_ref):
        super().__init__(pcm)
        self.at, self.sig, self.mon, self.done = at, sig, mon_ref, False

    def take(self, pos, n):
        if not self.done and pos >= self.at:
            self.done = True
            os.kill(self.mon[0].conn.emu.proc.pid, self.sig)
            if self.sig == signal.SIGKILL:
                self.mon[0].conn.emu.proc.wait()
        return super().take(pos, n)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGUSR1], ids=["killed", "reset"])
def test_emulator_killed_or_reset_mid_stream_is_survived(stats_export, emulator_binary,
                                                         switch_stream, tmp_path, sig, capsys):
    pcm = np.concatenate(switch_stream)
    log = tmp_path / "out.csv"
    args = monitor.parse_args(["--port", "emu", "--machine", "test-monitor-api", "--model-dir",
                               str(stats_export[0]), "--wav", "x.wav", "--fast", "--check",
                               "--log", str(log), "--hop", "0.25", "--window", "1",
                               "--view", "lines", "--timeout", "2"])
    export, ref = json.loads((stats_export[0] / "export.json").read_text()), \
        _ref(stats_export[0])
    fig = Figures()
    holder = []
    source = _Sabotage(pcm, 3 * 16000, sig, holder)
    mon = monitor.Monitor(args, source, export, ref, View(fig, live=False), fig)
    mon.conn.binary = emulator_binary
    holder.append(mon)
    assert mon.run() is None
    rows = _csv(log)
    ends = [round(float(x["end_s"]) * 16000) for x in rows]
    assert ends == list(range(32 * 512, len(pcm) // 512 * 512 + 1, 8 * 512))  # every hop once
    np.testing.assert_allclose([float(x["score"]) for x in rows],
                               [float(x["ref_score"]) for x in rows], rtol=1e-3)
    segs = sorted({float(x["segment_start_s"]) for x in rows})
    assert len(segs) == 2 and 0 < segs[1] <= 3.0                     # a new session, replayed
    err = capsys.readouterr().err
    if sig == signal.SIGKILL:
        assert fig.reconnects == 1 and "link lost" in err
    else:
        assert fig.resets == 1 and "device reset (HELLO)" in err
    assert fig.gaps == []


def test_emulator_overrun_is_reported(stats_export, switch_stream, tmp_path):
    """A device slower than real time (FIRSTSHOT_EMU_SLOW_US) fed by a live source at 16 kHz:
    its audio ring overflows, the device counts the dropped samples and starts a new segment;
    the host reports it (stderr, summary, CSV). (The emulator's extra time is spent outside its
    cycle count, so the DECISIONs' load does not show it.)"""
    wavs = _write_wavs(tmp_path, switch_stream[:2])
    log = tmp_path / "out.csv"
    r = _run(stats_export[0], wavs, log, "--realtime", "--live-source", "--hop", "0.25",
             "--window", "0.5", env={"FIRSTSHOT_EMU_SLOW_US": "40000"})
    assert r.returncode == 0, r.stderr
    rows = _csv(log)
    assert "overrun: the device dropped" in r.stderr
    assert max(int(x["overrun_samples"]) for x in rows) > 0
    summary = [line for line in r.stdout.splitlines() if line.startswith("decisions")][0]
    assert " overruns 0 " not in summary
    assert len({x["segment_start_s"] for x in rows}) >= 2


def test_qemu_short_stream_equals_reference(stats_export, switch_stream, tmp_path):
    """Under QEMU (the qemu board image, built and started by the monitor, stopped at the end):
    a 4-s stream, one row per hop, scores within the front end's tolerance of the reference."""
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("qemu-system-arm or arm-none-eabi-gcc not found: run `make setup` as root",
                    pytrace=False)
    wavs = _write_wavs(tmp_path, switch_stream[1:3])
    log = tmp_path / "out.csv"
    cmd = [sys.executable, MONITOR, "--port", "qemu", "--machine", "test-monitor",
           "--model-dir", str(stats_export[0]), "--wav", *map(str, wavs), "--log", str(log),
           "--fast", "--check", "--hop", "0.5", "--window", "2", "--timeout", "60"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = _csv(log)
    n = sum(len(p) for p in switch_stream[1:3]) // 512
    assert len(rows) == (n - 64) // 16 + 1
    np.testing.assert_allclose([float(x["score"]) for x in rows],
                               [float(x["ref_score"]) for x in rows], rtol=1e-3)
    assert not _running(ROOT / "firmware/build/qemu/test-monitor/firmware.elf")  # QEMU stopped


def _running(elf: Path) -> bool:
    """A qemu-system-arm process runs this image (other people's QEMUs are not counted)."""
    for d in Path("/proc").iterdir():
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0") if d.name.isdigit() else []
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-arm") and str(elf).encode() in argv:
            return True
    return False


class _FakeSounddevice:
    """Stands in for the sounddevice module: an InputStream whose callback gets `signal` in
    blocks from a thread, as PortAudio's would; `fail` makes opening the stream fail."""

    def __init__(self, signal=None, fail=None):
        self.signal, self.fail = signal, fail

    def InputStream(self, samplerate, channels, dtype, blocksize, callback):
        if self.fail:
            raise self.fail
        import threading
        sig = self.signal

        class Stream:
            def start(self):
                def feed():
                    for i in range(0, len(sig), blocksize):
                        callback(sig[i:i + blocksize, None], blocksize, None, None)
                self.t = threading.Thread(target=feed, daemon=True)
                self.t.start()

            def stop(self):
                pass

            def close(self):
                pass
        return Stream()


def test_mic_errors_are_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", _FakeSounddevice(
        fail=RuntimeError("Error querying device -1")))
    with pytest.raises(monitor.UsageError, match="--mic: cannot record from the default input"):
        monitor.MicSource(keep=16000)


def test_mic_stream_with_reference(tmp_path, pcm, monkeypatch):
    """--mic: blocks from the recording callback become the stream, sent as a live source
    (live=1, ACKed at once); the rows are those of the recorded audio."""
    pcm = pcm[:len(pcm) // monitor.PCM_CHUNK * monitor.PCM_CHUNK]   # whole recording blocks
    monkeypatch.setitem(sys.modules, "sounddevice", _FakeSounddevice(signal=pcm))
    mon, fig = _fake_monitor(tmp_path, pcm, [FakeDevice("ab" * 32)])
    mon.source = monitor.MicSource(keep=16000 * 10)
    mon.a.live = 1
    sent = []
    take = mon.source.take

    def take_until_end(pos, n):
        if pos >= len(pcm):
            return None          # a real microphone never ends: Ctrl-C would stop here
        sent.append(pos)
        return take(pos, n)
    mon.source.take = take_until_end
    assert mon.run() is None
    _check_rows(_csv(tmp_path / "out.csv"), pcm)
    assert sent == list(range(0, len(pcm), monitor.PCM_CHUNK))
    assert np.array_equal(mon.source.history(1000, 3000), pcm[1000:3000])


def test_unreachable_port_and_missing_wav_are_one_line_errors(stats_export, tmp_path):
    wav = _write_wavs(tmp_path, [np.zeros(16000, np.int16)])[0]
    r = run_py(MONITOR, "--port", "/dev/ttyNOPE0", "--machine", MACHINE, "--model-dir",
               str(stats_export[0]), "--wav", str(wav))
    assert r.returncode == 2 and "no such port" in r.stderr and "Traceback" not in r.stderr
    r = run_py(MONITOR, "--port", "emu", "--machine", MACHINE, "--model-dir",
               str(stats_export[0]), "--wav", str(wav), str(tmp_path / "missing.wav"))
    assert r.returncode == 2 and "missing.wav: no such file" in r.stderr
    assert "Traceback" not in r.stderr


def test_ctrl_c_ends_with_a_summary(stats_export, switch_stream, tmp_path):
    """Ctrl-C mid-stream: the rows so far stay in the log, the summary is printed, exit 130 and
    the emulator is stopped."""
    import time
    wavs = _write_wavs(tmp_path, switch_stream)
    log = tmp_path / "out.csv"
    cmd = [MONITOR, "--port", "emu", "--machine", "test-monitor",
           "--model-dir", str(stats_export[0]), "--wav", *map(str, wavs), "--log", str(log),
           "--realtime", "--hop", "0.25", "--window", "1"]
    with interruptible(*cmd) as proc:
        deadline = time.monotonic() + 120
        while not (log.exists() and len(_csv(log)) >= 2):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    rows = _csv(log)
    assert proc.returncode == 130, err
    assert "stopped early (interrupted)" in err and "Traceback" not in err
    assert f"decisions {len(rows)} " in out and len(rows) < 20
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and
                _cmdline(p).startswith(str(ROOT / "firmware/build/emu/test-monitor/"))]


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""
