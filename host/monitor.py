"""Continuous monitoring: stream an endless sound to a device in MONITOR mode and show its
decisions, one every hop, live (docs/monitor.md, docs/protocol.md "MONITOR mode").

    python host/monitor.py --port PORT --machine NAME (--wav FILE [FILE ...] | --mic |
        --test-clips N [--data-root DIR])
        [--realtime | --fast] [--window S] [--hop S] [--log FILE.csv] [--check]
        [--model-dir firmware/models/NAME] [--mode pcm|features] [--live-source]

PORT as for host/bench.py: a serial device, a pyserial URL, `emu` (builds and starts the x86
emulated firmware) or `qemu`. --wav streams the files back to back as one stream, converted to
16 kHz mono int16 as `asd.ingest` does; --mic records the default input (PortAudio, the
sounddevice package) as a live source; --test-clips N streams N normal then N anomalous test
clips of the machine (the demo: a sound that turns anomalous). --realtime paces the stream at 16 kHz (the default with
--mic), --fast sends as fast as the device ACKs (the default with --wav). --log writes one CSV
row per decision; --check adds the host's int8 reference of the same window
(export/stream_reference.py).

A lost link, a device reset (HELLO) or a garbled frame are reported and survived: the host
reconnects (restarting the emulator or QEMU when it died), begins a new session and resumes, so
that no decision row is duplicated and none is missing without a `gap:` line saying why.
"""
from __future__ import annotations

import argparse
import csv
import queue
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asd import cli
from asd.cli import UsageError
from asd.dataset import check_machine_name
from host.device import Device, DeviceError, DeviceReset, DeviceTimeout
from host.link import DEFAULT_BAUD, Emulator, Link, LinkError
from host.monitor_view import Figures, View, screen_text, summary_lines, switch_lines
from host.protocol import (ClipMode, Decision, ErrorCode, Frame, Info, MonitorBegin,
                           MonitorReady, MsgType)

ROOT = Path(__file__).resolve().parents[1]

RATE = 16000
FRAME = 512                 # samples per log-mel frame
PCM_CHUNK = 1024            # samples per PCM frame (2048 bytes, max_body)
FEATURE_CHUNK = 16          # int8 frames per FEATURES frame (16 x 128 bytes)
COLUMNS = ["end_s", "score", "decision", "load", "index", "segment_start_s", "overrun_samples"]
CHECK_COLUMNS = ["ref_score", "ref_decision"]
MAX_RECOVERIES = 10         # resets or lost links in a row with no data frame through


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True)
    ap.add_argument("--machine", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--wav", nargs="+", type=Path, metavar="FILE")
    src.add_argument("--mic", action="store_true", help="the default input device (PortAudio)")
    src.add_argument("--test-clips", type=int, metavar="N",
                     help="N normal then N anomalous test clips of the machine (--data-root)")
    ap.add_argument("--data-root", type=Path, default=ROOT / "data")
    pace = ap.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", help="pace the stream at 16 kHz")
    pace.add_argument("--fast", action="store_true", help="as fast as the device ACKs")
    ap.add_argument("--window", type=float, metavar="S", help="window in seconds (default: "
                    "the device's, the training clips' length)")
    ap.add_argument("--hop", type=float, metavar="S", help="hop in seconds (default: the "
                    "device's, 31 frames = 0.992 s)")
    ap.add_argument("--log", type=Path, metavar="CSV", help="one row per decision")
    ap.add_argument("--check", action="store_true",
                    help="add the host's int8 reference of each window to --log")
    ap.add_argument("--model-dir", type=Path)
    ap.add_argument("--mode", choices=("pcm", "features"), default="pcm",
                    help="send PCM (the device's front end) or the host's int8 frames")
    ap.add_argument("--live-source", action="store_true",
                    help="tell the device the source cannot wait (live=1; implied by --mic)")
    ap.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per frame (default 5)")
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--reconnect", type=float, default=30.0, metavar="S",
                    help="how long to keep trying to reach a lost device (default 30 s)")
    ap.add_argument("--view", choices=("auto", "live", "lines"), default="auto",
                    help="live terminal view, or event lines (auto: live on a terminal)")
    ap.add_argument("--screen", type=Path, help="write the final view as text to this file")
    a = ap.parse_args(argv)
    a.model_dir = a.model_dir or ROOT / "firmware/models" / a.machine
    a.live = 1 if (a.mic or a.live_source) else 0
    a.paced = a.realtime or (a.mic and not a.fast)
    if a.mic and a.mode == "features":
        raise UsageError("--mic sends PCM (the device computes the features); drop --mode features")
    if a.live and a.mode == "features":
        raise UsageError("--live-source is for PCM streams; FEATURES frames always wait")
    return a


def hop_window_params(hop_s: float | None, window_s: float | None,
                      default_hop_frames: int) -> tuple[int, int]:
    """(hop_frames, window_hops) of MONITOR_BEGIN from seconds; 0 = the device's default."""
    hop_frames = 0
    if hop_s is not None:
        hop_frames = round(hop_s * RATE / FRAME)
        if hop_frames < 1:
            raise UsageError(f"--hop {hop_s:g}: shorter than one frame ({FRAME / RATE:.3f} s)")
    window_hops = 0
    if window_s is not None:
        hf = hop_frames or default_hop_frames
        window_hops = round(window_s / (hf * FRAME / RATE))
        if window_hops < 1:
            raise UsageError(f"--window {window_s:g}: shorter than one hop "
                             f"({hf * FRAME / RATE:.3f} s)")
    return hop_frames, window_hops


# ---- audio sources ---------------------------------------------------------------------------

def read_wavs(paths: list[Path]) -> np.ndarray:
    """The files back to back as 16-kHz mono int16, converted as asd.ingest does (mean of the
    channels, soxr); a missing or unreadable file is a one-line error naming it."""
    from asd.ingest.audio import Skip, read_16k
    parts = []
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file; pass existing .wav (or any audio) files")
        try:
            parts.append(read_16k(p)[0])
        except Skip as e:
            raise UsageError(f"{p}: {e}") from None
    return np.concatenate(parts)


def switch_clips(data_root: Path, machine: str, n: int) -> tuple[list[Path], int]:
    """N normal then N anomalous test clips (source domain first, by name) and the index of the
    first anomalous one: a machine's sound that turns anomalous."""
    from asd.dataset import list_clips
    clips = sorted(list_clips(data_root, machine, "test"),
                   key=lambda c: (c.domain != "source", c.name))
    normal = [c.path for c in clips if c.label == "normal"][:n]
    anomalous = [c.path for c in clips if c.label == "anomaly"][:n]
    if n < 1 or len(normal) < n or len(anomalous) < n:
        raise UsageError(f"--test-clips {n}: {machine} has {len(normal)} normal and "
                         f"{len(anomalous)} anomalous labelled test clips under {data_root}")
    return normal + anomalous, n


class WavSource:
    """A stream known in advance: seekable, so a new session can replay audio."""
    seekable = True

    def __init__(self, pcm: np.ndarray):
        self.pcm = pcm
        self.total = len(pcm)

    def take(self, pos: int, n: int) -> np.ndarray | None:
        return self.pcm[pos:pos + n] if pos < self.total else None

    def history(self, a: int, b: int) -> np.ndarray:
        return self.pcm[a:b]

    def available(self) -> int:
        return self.total

    def close(self) -> None:
        pass


class MicSource:
    """The default input device through PortAudio, in blocks of PCM_CHUNK samples; keeps the
    last `keep` samples for the reference (--check) of segments that began lately."""
    seekable = False

    def __init__(self, keep: int):
        try:
            import sounddevice as sd
        except OSError as e:  # the package loads libportaudio at import
            raise UsageError(f"--mic: {e}; install it (`sudo apt-get install libportaudio2`, "
                             f"or `make setup` as root)") from None
        except ImportError:
            raise UsageError("--mic: the sounddevice package is missing; run `make setup`") \
                from None
        self._q: queue.Queue = queue.Queue()
        try:
            self._stream = sd.InputStream(samplerate=RATE, channels=1, dtype="int16",
                                          blocksize=PCM_CHUNK, callback=self._callback)
            self._stream.start()
        except Exception as e:  # sd.PortAudioError and ValueError for a missing device
            raise UsageError(f"--mic: cannot record from the default input at 16 kHz ({e}); "
                             f"check `python -m sounddevice` lists an input device") from None
        self.keep = keep
        self._hist = np.zeros(0, np.int16)
        self._hist_start = 0
        self._got = 0
        self._pending = np.zeros(0, np.int16)

    def _callback(self, data, frames, time_info, status) -> None:  # PortAudio's thread
        self._q.put(data[:, 0].copy())

    def take(self, pos: int, n: int) -> np.ndarray:
        """The next n samples as they are recorded (`pos` is where the stream stands)."""
        while len(self._pending) < n:
            self._pending = np.concatenate([self._pending, self._q.get()])
        out, self._pending = self._pending[:n], self._pending[n:]
        self._hist = np.concatenate([self._hist, out])
        self._got += len(out)
        if len(self._hist) > 2 * self.keep:
            cut = len(self._hist) - self.keep
            self._hist, self._hist_start = self._hist[cut:], self._hist_start + cut
        return out

    def history(self, a: int, b: int) -> np.ndarray:
        if a < self._hist_start:
            raise KeyError(a)
        return self._hist[a - self._hist_start:b - self._hist_start]

    def available(self) -> int:
        return self._got

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


# ---- the device in MONITOR mode --------------------------------------------------------------

class MonitorDevice(Device):
    """Device with the MONITOR messages. Unsolicited DECISIONs (seq 0) arrive between any two
    answers; Device sets them aside in `decisions`. Requests never use seq 0 here, so an answer
    to GET_DECISION (which carries its request's seq) is never taken for an unsolicited one."""

    def request(self, type_: MsgType, body: bytes, *answer: MsgType) -> Frame:
        if self._seq == 255:
            self._seq = 0            # the next request gets seq 1
        return super().request(type_, body, *answer)

    def begin(self, params: MonitorBegin) -> MonitorReady:
        try:
            f = self.request(MsgType.MONITOR_BEGIN, params.pack(), MsgType.MONITOR_READY)
        except DeviceError as e:
            if "bad_param" in str(e):
                raise UsageError(f"{self.link.name}: the device refuses these monitoring "
                                 f"parameters ({e}); change --hop/--window") from None
            raise
        return MonitorReady.unpack(f.body)

    def get_decision(self, index: int) -> Decision | None:
        """That DECISION again, or None when the device no longer keeps it (bad_param)."""
        try:
            f = self.request(MsgType.GET_DECISION, index.to_bytes(4, "little"), MsgType.DECISION)
        except DeviceError as e:
            if ErrorCode.BAD_PARAM.label in str(e):
                return None
            raise
        return Decision.unpack(f.body)

    def end(self) -> None:
        self.request(MsgType.MONITOR_END, b"", MsgType.ACK)

    def listen(self, seconds: float) -> None:
        """Read for `seconds` (a live device still processing its ring sends DECISIONs)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                f = self._next_frame(deadline)
                if f.type == MsgType.DECISION and f.seq == 0:
                    self.decisions.append(f)
                elif f.type == MsgType.HELLO:
                    self.stats.resets += 1
                    raise DeviceReset(Info.unpack(f.body))
        except DeviceTimeout:
            return


# ---- connections (reopened after a lost link) ------------------------------------------------

class Connection:
    """Opens the port as the bench does and reopens it after a loss: the emulator or QEMU is
    started again when its process died; a serial port is retried until `--reconnect` runs out."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.emu = self.qemu = self.link = None
        self.binary = None

    def open(self) -> MonitorDevice:
        a = self.args
        if a.port == "emu":
            from host.bench import build_emulator
            self.binary = self.binary or build_emulator(a.machine, a.model_dir)
            if self.emu is None or self.emu.proc.poll() is not None:
                self.emu = Emulator(self.binary)
            self.link = self.emu.link()
        elif a.port == "qemu":
            from host.bench import build_qemu_image
            from host.qemu import QemuBoard, QemuError
            self.binary = self.binary or build_qemu_image(a.machine, a.model_dir)
            if self.qemu is None or self.qemu.proc.poll() is not None:
                try:
                    self.qemu = QemuBoard(self.binary)
                except QemuError as e:
                    raise LinkError(str(e)) from None
                self.link = self.qemu.link
            else:
                self.qemu.link.close()
                self.qemu.link = self.link = Link.open(f"socket://127.0.0.1:{self.qemu.port}")
        else:
            self.link = Link.open(a.port, a.baud)
            self.link.drain(0.2)
        return MonitorDevice(self.link, a.timeout, a.retries)

    def reopen(self) -> MonitorDevice:
        self.close_link()
        deadline = time.monotonic() + self.args.reconnect
        while True:
            try:
                return self.open()
            except LinkError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close_link(self) -> None:
        if self.link is not None:
            try:
                self.link.close()
            except Exception:  # a dead port may fail to close; it is dropped either way
                pass
            self.link = None

    def close(self) -> None:
        self.close_link()
        if self.emu is not None:
            self.emu.close()
        if self.qemu is not None:
            self.qemu.close()


# ---- the reference of each segment (--check) -------------------------------------------------

class SegmentReference:
    """The int8 reference windows of one segment, computed as its DECISIONs arrive."""

    def __init__(self, ref, ready: MonitorReady, start: int, source, stream_frames=None):
        from export.stream_reference import SegmentFrontEnd, StreamReference
        self.start = start
        self.source = source
        self.windows = StreamReference(ref, ready.hop_frames, ready.window_hops)
        self.front = None if stream_frames is not None else SegmentFrontEnd(ref)
        self.stream_frames = stream_frames
        self.fed = 0            # samples (PCM) or frames (FEATURES) given to the reference
        self._done: dict[int, object] = {}

    def window(self, end_frame: int):
        while end_frame not in self._done and self.windows.n_frames < end_frame:
            if not self._feed():
                return None
        return self._done.pop(end_frame, None)

    def _feed(self) -> bool:
        if self.stream_frames is not None:
            j = self.start // FRAME
            frames = self.stream_frames[j + self.fed:]
            self.fed += len(frames)
        else:
            pcm = self.source.history(self.start + self.fed, self.source.available())
            self.fed += len(pcm)
            frames = self.front.push(pcm)
        if len(frames) == 0:
            return False
        for w in self.windows.push(frames):
            self._done[w.end_frame] = w
        return True


# ---- the monitor -----------------------------------------------------------------------------

@dataclass
class Session:
    ready: MonitorReady
    start: int              # stream position of the session's first sample
    next_index: int = 0
    overruns: int = 0
    overrun_samples: int = 0


class Monitor:
    def __init__(self, args: argparse.Namespace, source, export: dict, ref, view: View,
                 fig: Figures, stream_frames=None):
        self.a, self.source, self.export, self.ref = args, source, export, ref
        self.view, self.fig = view, fig
        self.stream_frames = stream_frames        # FEATURES mode: the stream's int8 frames
        self.conn = Connection(args)
        self.dev: MonitorDevice | None = None
        self.session: Session | None = None
        self.pos = 0                               # stream position of the next sample to send
        self.last_end: int | None = None           # end_sample of the last row written
        self.rows = 0
        self.segments: dict[int, SegmentReference] = {}
        self.pending_cause = ""                    # why the next gap happens (reset, link)
        self.recoveries = 0                        # in a row, without progress between
        self._csv = None

    # -- output --------------------------------------------------------------------------
    def open_log(self) -> None:
        if self.a.log is None:
            return
        self.a.log.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.a.log, "w", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(COLUMNS + (CHECK_COLUMNS if self.a.check else []))

    def write_row(self, d: Decision) -> None:
        row = [d.end_sample / RATE, d.score, d.decision, d.load, self.rows,
               d.segment_start / RATE, d.overrun_samples]
        if self.a.check:
            w = self.reference(d)
            row += ["", ""] if w is None else [w.score, w.decision]
            if w is not None and w.decision != d.decision:
                self.fig.ref_mismatches += 1
        if self._csv is not None:
            self._csv.writerow([repr(float(v)) if isinstance(v, float) else v for v in row])
            self._file.flush()  # rows survive a killed run
        self.rows += 1

    def reference(self, d: Decision):
        seg = self.segments.get(d.segment_start)
        if seg is None:
            if self.stream_frames is None and not self._in_history(d.segment_start):
                return None
            seg = SegmentReference(self.ref, self.session.ready, d.segment_start, self.source,
                                   self.stream_frames)
            self.segments = {d.segment_start: seg}   # older segments are over
        return seg.window((d.end_sample - d.segment_start) // FRAME)

    def _in_history(self, start: int) -> bool:
        try:
            self.source.history(start, start + 1)
            return True
        except KeyError:
            return False

    # -- sessions ------------------------------------------------------------------------
    def check(self) -> None:
        from host.bench import check_device
        check_device(self.dev.info(), self.export, self.a.port, self.a.machine)

    def begin(self, start: int) -> None:
        mode = ClipMode.FEATURES if self.a.mode == "features" else ClipMode.PCM
        hf, wh = hop_window_params(self.a.hop, self.a.window, self._default_hop())
        ready = self.dev.begin(MonitorBegin(mode, self.a.live, hf, wh, start))
        if ready.start_sample != start:
            raise DeviceError(f"MONITOR_READY says start_sample {ready.start_sample}, "
                              f"not the {start} asked for")
        self.session = Session(ready, start)
        self.pos = start
        self.fig.hop_s = ready.hop_frames * FRAME / RATE
        self.fig.window_s = ready.window_frames * FRAME / RATE
        self.dev.decisions.clear()

    def _default_hop(self) -> int:
        """The device's default hop, asked for once when only --window is given."""
        if self.a.window is None or self.a.hop is not None:
            return 0
        if not hasattr(self, "_hop_default"):
            self._hop_default = self.dev.begin(MonitorBegin(start_sample=0)).hop_frames
        return self._hop_default

    def resume_position(self) -> int:
        """Where a new session starts after a loss. A replayable stream starts one window before
        the end of the next window it owes, so that window comes next: no row is missing. A live
        source cannot replay (nor can a file sent as one: replayed audio would arrive faster
        than real time): it goes on from where it stands, and the gap is reported."""
        if not self.source.seekable or self.a.live:
            return self.pos
        s = self.session
        if self.last_end is None or self.last_end < s.start:
            return s.start                 # nothing decided in this session: replay it all
        hop = s.ready.hop_frames * FRAME
        return max(0, self.last_end + hop - s.ready.window_frames * FRAME)

    def recover(self, what: str, reset: bool) -> None:
        """After a reset or a lost link: report, reconnect, begin a new session and resume."""
        self.recoveries += 1
        if self.recoveries > MAX_RECOVERIES:
            raise DeviceError(f"gave up after {MAX_RECOVERIES} resets and lost links in a row")
        self.collect(fetch=False)          # what arrived before the loss still counts
        resume = self.resume_position()
        self.view.event(f"{what} at stream {self.pos / RATE:.2f} s; resuming at "
                        f"{resume / RATE:.2f} s")
        if reset:                          # the link is intact: a new session on the device
            self.dev._queue.clear()
        else:
            self.dev = self.conn.reopen()
        self.check()
        self.begin(resume)
        self.pending_cause = what

    # -- decisions -----------------------------------------------------------------------
    def collect(self, fetch: bool = True) -> None:
        """Take the DECISIONs that arrived, in index order; ask a missing one again (not after
        a loss: the device that had it is gone, and the replayed stream brings it back)."""
        s = self.session
        got = sorted((Decision.unpack(f.body) for f in self.dev.decisions), key=lambda d: d.index)
        self.dev.decisions.clear()
        for d in got:
            if d.index < s.next_index:
                continue                   # a duplicate (asked for again meanwhile)
            while fetch and s.next_index < d.index:
                missing = self.dev.get_decision(s.next_index)
                self.fig.recovered += missing is not None
                if missing is not None:
                    self.view.event(f"decision {s.next_index} lost on the link; fetched again "
                                    f"with GET_DECISION")
                    self.accept(missing)
                s.next_index += 1
            self.accept(d)
            s.next_index = d.index + 1

    def accept(self, d: Decision) -> None:
        s = self.session
        if self.last_end is not None and d.end_sample <= self.last_end:
            return                         # already written (a window replayed after a loss)
        overrun = self.note_overruns(d)
        hop = s.ready.hop_frames * FRAME
        if self.last_end is not None and d.end_sample != self.last_end + hop:
            cause = self.pending_cause or ("overrun" if overrun else
                                           "lost on the link and no longer kept by the device")
            self.gap(self.last_end + hop, d.end_sample - hop, cause)
        self.pending_cause = ""
        self.write_row(d)
        self.last_end = d.end_sample
        self.show(d)

    def gap(self, first_end: int, last_end: int, cause: str) -> None:
        n = (last_end - first_end) // (self.session.ready.hop_frames * FRAME) + 1
        text = (f"{n} decision(s) missing, windows ending {first_end / RATE:.2f} s - "
                f"{last_end / RATE:.2f} s ({cause})")
        self.fig.gaps.append(text)
        self.view.event(f"gap: {text}")

    def note_overruns(self, d: Decision) -> bool:
        """Report overrun events new in this DECISION (its counters are session totals)."""
        s = self.session
        if d.overruns <= s.overruns:
            return False
        new = d.overrun_samples - s.overrun_samples
        self.fig.overruns += d.overruns - s.overruns
        self.fig.overrun_samples += new
        self.view.event(f"overrun: the device dropped {new} samples (session total "
                        f"{d.overrun_samples}, {d.overruns} event(s)); new segment at "
                        f"{d.segment_start / RATE:.2f} s")
        s.overruns, s.overrun_samples = d.overruns, d.overrun_samples
        return True

    def show(self, d: Decision) -> None:
        f = self.fig
        f.scores.append(d.score)
        f.decisions += 1
        f.anomalous += d.decision
        if f.state is not None and d.decision != f.state:
            f.flips.append((d.end_sample / RATE, d.decision, d.score))
            self.view.flip(d.end_sample / RATE, d.decision, d.score)
        f.state, f.end_s, f.load = d.decision, d.end_sample / RATE, d.load
        f.history.append(((d.end_sample - d.window_frames * FRAME) / RATE, f.end_s, d.decision))
        f.max_load = max(f.max_load, d.load)
        self.view.update()

    # -- streaming -----------------------------------------------------------------------
    def send_next(self) -> bool:
        """One data frame from the stream position; False at the end of the stream."""
        if self.a.mode == "features":
            j = self.pos // FRAME
            chunk = self.stream_frames[j:j + FEATURE_CHUNK]
            if len(chunk) == 0:
                return False
            self.pace(self.pos + len(chunk) * FRAME)
            self.dev.request(MsgType.FEATURES, np.ascontiguousarray(chunk).tobytes(),
                             MsgType.ACK)
            self.pos += len(chunk) * FRAME
            return True
        chunk = self.source.take(self.pos, PCM_CHUNK)
        if chunk is None or len(chunk) == 0:
            return False
        if self.source.seekable:
            self.pace(self.pos + len(chunk))
        self.dev.request(MsgType.PCM, np.asarray(chunk, "<i2").tobytes(), MsgType.ACK)
        self.pos += len(chunk)
        return True

    def pace(self, until: int) -> None:
        """--realtime from files: a sample is not sent before its time in the stream."""
        if not self.a.paced:
            return
        due = self._t0 + until / RATE
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def run(self) -> str | None:
        """Stream to the end (or Ctrl-C); returns why it stopped early, or None."""
        self.open_log()
        self.dev = self.conn.open()
        self.check()
        self._t0 = time.monotonic()
        self.begin(0)
        self.fig.title = f"{self.a.machine} on {self.dev.link.name} ({self.a.mode})"
        try:
            while True:
                try:
                    while self.send_next():
                        self.collect()
                        self.recoveries = 0
                    self.finish_stream()
                    return None
                except DeviceReset:
                    self.fig.resets += 1
                    self.recover("device reset (HELLO)", reset=True)
                except (LinkError, DeviceTimeout) as e:
                    self.fig.reconnects += 1
                    self.recover(f"link lost ({e})", reset=False)
        except KeyboardInterrupt:
            self.end_quietly()
            return "interrupted"
        finally:
            self.close()

    def end_quietly(self) -> None:
        """Ctrl-C: leave MONITOR mode if the device still answers, without waiting long."""
        if self.dev is None:
            return
        try:
            self.dev.timeout, self.dev.retries = 0.5, 0
            self.dev.end()
        except (DeviceError, LinkError, KeyboardInterrupt):
            pass

    def finish_stream(self) -> None:
        """The last DECISIONs: a live device may still be processing its ring; a trailing one
        lost on the link is asked for until the device has no more."""
        if self.a.live:
            self.dev.listen(0.5)
        self.collect()
        while True:
            d = self.dev.get_decision(self.session.next_index)
            if d is None:
                break
            self.view.event(f"decision {d.index} lost on the link; fetched again with "
                            f"GET_DECISION")
            self.fig.recovered += 1
            self.accept(d)
            self.session.next_index = d.index + 1
        self.dev.end()

    def close(self) -> None:
        if self._csv is not None:
            self._file.close()
        self.conn.close()
        self.source.close()


def stream_int8_frames(pcm: np.ndarray, ref) -> np.ndarray:
    """FEATURES mode: the int8 frames of the whole stream, those a device would complete."""
    from export.stream_reference import segment_frames
    return segment_frames(pcm, ref)


def main(argv=None) -> int:
    args = parse_args(argv)
    check_machine_name(args.machine)
    if not (args.model_dir / "export.json").exists():
        raise UsageError(f"{args.model_dir}: no exported model; run `make export "
                         f"MACHINE={args.machine}`")
    from export.pipeline import load_export
    from export.reference import Int8Reference
    export, model, cfg = load_export(args.model_dir)
    ref = Int8Reference(model, cfg) if (args.check or args.mode == "features") else None
    if args.test_clips:
        args.wav, k = switch_clips(args.data_root, args.machine, args.test_clips)
        pcm = read_wavs(args.wav)
        switch = len(read_wavs(args.wav[:k]))
        args.switch_s = switch / RATE
        print(f"stream: {k} normal then {k} anomalous test clips of {args.machine} "
              f"({len(pcm) / RATE:.1f} s); anomalous from {switch / RATE:.2f} s", flush=True)
        source = WavSource(pcm)
    elif args.wav:
        source = WavSource(read_wavs(args.wav))
    else:
        source = MicSource(keep=60 * RATE)
    stream_frames = stream_int8_frames(source.pcm, ref) if args.mode == "features" else None
    fig = Figures(threshold=cfg.threshold)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    live = {"auto": None, "live": True, "lines": False}[args.view]
    with View(fig, live) as view:
        mon = Monitor(args, source, export, ref, view, fig, stream_frames)
        try:
            stopped = mon.run()
        except (DeviceError, LinkError) as e:
            raise UsageError(f"{args.port}: {e}") from None
    if args.screen:
        args.screen.write_text(screen_text(fig))
    for line in summary_lines(fig) + (switch_lines(fig, args.switch_s) if args.test_clips
                                      else []):
        print(line)
    if args.check:
        print(f"decisions equal to the int8 reference's: {fig.decisions - fig.ref_mismatches} "
              f"of {fig.decisions}")
    if args.log:
        print(f"log: {args.log} ({mon.rows} rows)")
    if stopped:
        print(f"stopped early ({stopped})", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    cli.run(main)
