"""host/bench.py against the x86 emulator: reports, agreement with the int8 reference, and the
faults a serial link meets (garbage, lost frames, a board reset, a killed run, Ctrl-C)."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

from asd.dataset import list_clips, load_pcm16
from asd.features import logmel
from export.pipeline import load_export
from export.reference import Int8Reference
from host.device import Device, pcm_chunks
from host.link import Emulator
from host.protocol import ClipMode
from tests.support import MACHINE, ROOT, interruptible, run_py

BENCH = str(ROOT / "host/bench.py")


def bench_args(exports, data_root, out, *extra, model="ae"):
    return [BENCH, "--port", "emu", "--machine", MACHINE, "--data-root", str(data_root),
            "--model-dir", str(exports[model][0]), "--out", str(out), *extra]


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model,mode", [("ae", "pcm"), ("ae", "features"), ("cls", "pcm")])
def test_bench_report_and_agreement(exports, data_root, tmp_path, model, mode):
    out = tmp_path / "report"
    r = run_py(*bench_args(exports, data_root, out, "--mode", mode, "--limit", "6", model=model))
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    for stage in ("float", "int8_ref", "device"):
        assert set(summary[stage]) >= {"auc_source", "auc_target", "pauc", "official_score"}
    for key in ("max_abs_device_minus_int8_ref", "macs_per_inference", "cycles_per_inference",
                "flash_bytes", "ram_bytes", "arena_bytes"):
        assert summary[key] is not None, key
    rows = _rows(out)
    assert len(rows) == summary["clips"] == 6
    assert {(r["domain"], r["label"]) for r in rows} == {("source", "normal"), ("source", "anomaly"),
                                                         ("target", "normal"), ("target", "anomaly")}
    dev = np.array([float(r["device_score"]) for r in rows])
    ref = np.array([float(r["int8_ref_score"]) for r in rows])
    # FEATURES mode: the same int8 inputs, so only float rounding differs; PCM mode adds the
    # device's own float32 front end (a rare int8 feature one step off, see docs/firmware.md).
    np.testing.assert_allclose(dev, ref, rtol=1e-5 if mode == "features" else 1e-3)
    for png in ("roc.png", "scatter.png", "hist.png"):
        assert (out / png).stat().st_size > 1000
    assert "device" in (out / "report.md").read_text() and "official" in r.stdout


@pytest.mark.parametrize("mode", ["features", "pcm"])
def test_bench_stats_model(stats_export, data_root, tmp_path, mode):
    """The stats model: one inference per clip; in FEATURES mode (frames quantized with the
    frame constants) every device score equals the int8 reference's bit for bit."""
    out = tmp_path / "report"
    r = run_py(*bench_args({"stats": stats_export}, data_root, out, "--mode", mode,
                           model="stats"))
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    rows = _rows(out)
    assert len(rows) == summary["clips"] >= 10
    assert {int(r["inferences"]) for r in rows} == {1}
    assert summary["model_kind"] == "stats" and summary["inferences_per_clip"] == 1
    assert summary["macs_per_inference"] == summary["macs_per_clip"] == 128 * 128
    dev = np.array([float(r["device_score"]) for r in rows])
    ref = np.array([float(r["int8_ref_score"]) for r in rows])
    if mode == "features":
        np.testing.assert_array_equal(dev, ref)
        assert summary["clips_device_equal_int8_ref"] == len(rows)
        assert summary["max_abs_device_minus_int8_ref"] == 0.0
    else:  # the device's float32 front end: a log-mel value may land one int8 step away
        np.testing.assert_allclose(dev, ref, rtol=1e-3)
    assert summary["device"] == summary["int8_ref"] or mode == "pcm"
    assert f"int8 ref score on {summary['clips_device_equal_int8_ref']} of" in r.stdout
    # decision rates of the device's decisions (and the references'), per domain, in [0, 1]
    rates = summary["decision_rates"]
    for stage in ("float", "int8_ref", "device"):
        assert set(rates[stage]) == {"false_alarm_source", "false_alarm_target",
                                     "detection_source", "detection_target"}
        assert all(0.0 <= v <= 1.0 for v in rates[stage].values()), rates[stage]
    want = np.array([float(r["device_score"]) for r in rows], np.float32) > \
        np.float32(summary["threshold"])
    assert [int(r["decision"]) for r in rows] == want.astype(int).tolist()
    if mode == "features":
        assert rates["device"] == rates["int8_ref"]
    assert "FA src" in r.stdout and "det tgt" in r.stdout


class FaultyLink:
    """Wraps a Link: drops chosen outgoing frames or incoming bytes, injects garbage."""

    def __init__(self, link, drop_sends=(), drop_reads=(), garbage_reads=()):
        self.link, self.name = link, link.name
        self.sends = self.reads = 0
        self.drop_sends, self.drop_reads, self.garbage_reads = \
            set(drop_sends), set(drop_reads), set(garbage_reads)

    def send(self, data: bytes) -> None:
        self.sends += 1
        if self.sends not in self.drop_sends:
            self.link.send(data)

    def read(self) -> bytes:
        data = self.link.read()
        if data:
            self.reads += 1
            if self.reads in self.drop_reads:
                return b""
            if self.reads in self.garbage_reads:
                return b"\x42\x13\xff\x00garbage\x00" + data
        return data


@pytest.fixture(scope="module")
def ae_emulator(exports):
    out, _ = exports["ae"]
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu",
                    "MACHINE=test-bench-ae", f"MODEL_DIR={out}"], check=True,
                   stdout=subprocess.DEVNULL)
    with Emulator(ROOT / "firmware/build/emu/test-bench-ae/firmware-emu") as emu:
        yield emu


@pytest.fixture(scope="module")
def clip_and_reference(exports, data_root):
    out, _ = exports["ae"]
    _, tfl, cfg = load_export(out)
    clip = list_clips(data_root, MACHINE, "test")[0]
    pcm = load_pcm16(clip.path)
    return pcm, Int8Reference(tfl, cfg).score(logmel(pcm.astype(np.float32) / 32768))


@pytest.mark.parametrize("faults", [
    dict(garbage_reads={1, 3, 5}),       # garbage before answers: the decoder resynchronises
    dict(drop_sends={3}),                # a data frame lost on the way: retransmitted
    dict(drop_reads={4}),                # an ACK lost: the retransmission is answered, not re-used
], ids=["garbage", "dropped-frame", "dropped-reply"])
def test_link_faults_lose_and_duplicate_nothing(ae_emulator, clip_and_reference, faults):
    pcm, expected = clip_and_reference
    link = FaultyLink(ae_emulator.link(), **faults)
    dev = Device(link, timeout=0.5, retries=3)
    dev.info()
    result = dev.score(ClipMode.PCM, pcm_chunks(pcm))
    assert result.frames == 1 + len(pcm) // 512       # every sample counted exactly once
    assert result.score == pytest.approx(expected, rel=1e-3)
    if "garbage_reads" not in faults:
        assert dev.stats.retries >= 1
    link.link.close()


def test_board_reset_restarts_the_clip(ae_emulator, clip_and_reference):
    pcm, expected = clip_and_reference
    link = ae_emulator.link()
    dev = Device(link, timeout=2, retries=3)
    dev.info()
    chunks = pcm_chunks(pcm)

    class ResetMidClip(list):
        def __iter__(self):
            for i, c in enumerate(super().__iter__()):
                if i == 2 and dev.stats.resets == 0:
                    os.kill(ae_emulator.proc.pid, signal.SIGUSR1)  # the reset button
                    time.sleep(0.2)
                yield c

    result = dev.score(ClipMode.PCM, ResetMidClip(chunks))
    assert dev.stats.resets == 1
    assert result.frames == 1 + len(pcm) // 512
    assert result.score == pytest.approx(expected, rel=1e-3)
    link.close()


def _wait_rows(out: Path, n: int, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "results.csv").exists() and len(_rows(out)) >= n:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("bench made no progress")


def test_killed_run_resumes_without_loss_or_duplicates(exports, data_root, tmp_path):
    out = tmp_path / "report"
    args = bench_args(exports, data_root, out, "--limit", "10")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_rows(out, 3, proc)
    proc.kill()
    proc.wait()
    kept = [r["file"] for r in _rows(out)]
    r = run_py(*args, "--resume")
    assert r.returncode == 0, r.stderr
    files = [row["file"] for row in _rows(out)]
    assert files[:len(kept)] == kept                   # nothing measured was lost
    assert len(files) == len(set(files)) == 10         # nor duplicated
    assert json.loads((out / "summary.json").read_text())["clips"] == 10


class GatedRelay:
    """A TCP port in front of an emulator's pty that passes the host's bytes on only while the
    gate is open: closing it holds the bench mid-run, however fast the emulator and however busy
    the machine (a bench talking to the emulator directly could finish before a signal lands)."""

    def __init__(self, pty: str):
        self.gate = threading.Event()
        self.gate.set()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._dev = serial.Serial(pty, timeout=0.02)
        self._threads = [threading.Thread(target=self._serve, daemon=True)]
        self._threads[0].start()

    def _serve(self) -> None:
        self._server.settimeout(30)
        try:
            conn, _ = self._server.accept()
        except OSError:  # no bench came (it failed first): the test reports why
            return
        conn.settimeout(0.02)
        up = threading.Thread(target=self._host_to_device, args=(conn,), daemon=True)
        up.start()
        self._threads.append(up)
        with conn, contextlib.suppress(OSError):  # the bench hung up: done
            while not self._stop.is_set():
                data = self._dev.read(4096)
                if data:
                    conn.sendall(data)

    def _host_to_device(self, conn) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                if not self.gate.is_set():
                    time.sleep(0.01)
                    continue
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                if not data:
                    return
                self._dev.write(data)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._dev.close()
        self._server.close()


def test_ctrl_c_leaves_a_valid_partial_report(ae_emulator, exports, data_root, tmp_path):
    out = tmp_path / "report"
    with Emulator(Path(ae_emulator.proc.args[0])) as emu:  # its own: left mid-clip at the end
        relay = GatedRelay(emu.pty)
        args = bench_args(exports, data_root, out)
        args[args.index("emu")] = relay.url
        try:
            with interruptible(*args) as proc:
                _wait_rows(out, 2, proc)
                relay.gate.clear()   # the bench now waits for an answer that cannot come...
                time.sleep(0.2)
                proc.send_signal(signal.SIGINT)  # ...and Ctrl-C reaches it there
                _, err = proc.communicate(timeout=60)
        finally:
            relay.close()
    assert proc.returncode == 130, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "interrupted" and summary["clips"] == len(_rows(out)) >= 2
    assert "--resume" in err and "Traceback" not in err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallow
def test_ctrl_c_swallowed_inside_a_ctypes_callback_still_stops(ae_emulator, exports, data_root,
                                                              tmp_path, monkeypatch):
    """A SIGINT whose KeyboardInterrupt is raised inside a ctypes callback (numba's JIT via
    librosa, while the first clip is measured) is printed and dropped by Python; the bench still
    stops after that clip, exits 130 and keeps the clip it measured."""
    import ctypes

    from host import bench

    callback = ctypes.CFUNCTYPE(None)(lambda: os.kill(os.getpid(), signal.SIGINT))
    measure = bench.Bench.measure

    def measure_then_ctrl_c(self, dev, clip):
        row = measure(self, dev, clip)
        callback()   # the handler runs in the callback: its KeyboardInterrupt is swallowed
        return row

    monkeypatch.setattr(bench.Bench, "measure", measure_then_ctrl_c)
    bench.CTRL_C.clear()
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal gives it (pytest in
    out = tmp_path / "report"                                   # a background job: ignored)
    try:
        code = bench.main(["--port", ae_emulator.pty, *bench_args(exports, data_root, out)[3:]])
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    assert bench.CTRL_C.is_set() and code == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "interrupted" and summary["clips"] == len(_rows(out)) == 1


def test_model_mismatch_and_missing_port_are_clear(exports, data_root, tmp_path, ae_emulator):
    r = run_py(BENCH, "--port", ae_emulator.pty, "--machine", MACHINE, "--data-root",
               str(data_root), "--model-dir", str(exports["cls"][0]), "--out", str(tmp_path))
    assert r.returncode == 2 and "the board runs model" in r.stderr and "make flash" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_py(BENCH, "--port", "/dev/ttyNOPE0", "--machine", MACHINE, "--data-root",
               str(data_root), "--model-dir", str(exports["ae"][0]), "--out", str(tmp_path))
    assert r.returncode == 2 and "no such port" in r.stderr and "Traceback" not in r.stderr
