"""MONITOR mode of the emulated firmware (docs/protocol.md, "MONITOR mode"), message by message:
decisions over an endless stream against the host's int8 reference computed here window by
window from the spec, positions, parameters and their refusals, GET_DECISION, leaving the mode,
and overruns of a live stream on a deliberately slow device."""
import time
from pathlib import Path

import numpy as np
import pytest

from asd.features import logmel
from export import carray
from export.reference import Int8Reference, score_from_outputs, windows
from host.device import Device, DeviceError, feature_chunks, pcm_chunks
from host.link import Emulator
from host.messages import struct_for
from host.protocol import (Decision, MonitorBegin, MonitorReady, MsgType, clip_begin_body,
                           ClipMode)
from tests.support import AD01, ad01_config, tone_clip

ROOT = Path(__file__).resolve().parents[3]
CFG = ad01_config()
HOP = 512


@pytest.fixture(scope="module")
def ad01_model(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models") / "ad01"
    carray.write(model_dir, AD01.read_bytes(), CFG)
    return model_dir


@pytest.fixture(scope="module")
def ad01_binary(ad01_model):
    from tests.firmware.emu.test_emulator import build_emulator
    return build_emulator(ad01_model, sanitize=False)


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "asan-ubsan"])
def ad01(request, ad01_model):
    from tests.firmware.emu.test_emulator import build_emulator
    with Emulator(build_emulator(ad01_model, request.param)) as emu:
        link = emu.link()
        dev = Device(link, timeout=20)
        dev.info()
        yield dev
        link.close()
        assert emu.proc.poll() is None, "the emulator died"


@pytest.fixture(scope="module")
def reference():
    return Int8Reference(AD01.read_bytes(), CFG)


def begin(dev: Device, **kw) -> MonitorReady:
    dev.decisions.clear()
    return MonitorReady.unpack(dev.request(MsgType.MONITOR_BEGIN, MonitorBegin(**kw).pack(),
                                           MsgType.MONITOR_READY).body)


def decisions(dev: Device) -> list[Decision]:
    return [Decision.unpack(f.body) for f in dev.decisions]


def window_reference(ref: Int8Reference, frames: np.ndarray, hop: int, hops: int):
    """(F, score) of every window, from the spec: for a window model the inferences of the
    session's schedule that complete at frames F - W ... F - 1."""
    w, cfg = hop * hops, ref.cfg
    if cfg.input_kind == "stats":
        return [(f, ref.score_frames(frames[f - w:f])) for f in range(w, len(frames) + 1, hop)]
    inputs = windows(frames, cfg)
    outputs = np.stack([ref._invoke(x) for x in inputs])
    done = np.arange(len(inputs)) * cfg.window_hop + cfg.window_frames - 1  # completion frame
    out = []
    for f in range(w, len(frames) + 1, hop):
        sel = (done >= f - w) & (done <= f - 1)
        out.append((f, score_from_outputs(inputs[sel], outputs[sel], cfg, ref.in_q, ref.out_q)))
    return out


def stream_features(dev, frames):
    for chunk in feature_chunks(frames):
        dev.request(MsgType.FEATURES, chunk, MsgType.ACK)


def check_against_reference(got: list[Decision], want, start: int, w: int, threshold: float,
                            rel: float):
    assert [d.index for d in got] == list(range(len(want)))
    for d, (f, score) in zip(got, want):
        assert (d.end_sample, d.segment_start, d.window_frames) == (start + f * HOP, start, w)
        assert d.score == pytest.approx(score, rel=rel), f"window ending at frame {f}"
        assert d.decision == int(d.score > threshold)
        assert d.budget_cycles > 0 and d.overrun_samples == 0


def test_features_windows_equal_the_reference(ad01, reference):
    frames = reference.frames(logmel(tone_clip(3.0, seed=1).astype(np.float32) / 32768))
    ready = begin(ad01, mode=ClipMode.FEATURES, hop_frames=4, window_hops=3, start_sample=10**10)
    assert (ready.hop_frames, ready.window_hops, ready.frame_samples, ready.start_sample) == \
        (4, 3, HOP, 10**10)  # a start beyond 2^32 samples: positions are 64-bit
    stream_features(ad01, frames)
    want = window_reference(reference, frames, 4, 3)
    check_against_reference(decisions(ad01), want, 10**10, 12, CFG.threshold, rel=1e-6)
    # ad01's window is 5 frames, hop 1: the first window holds completions at frames 4..11
    assert decisions(ad01)[0].inferences == 8 and decisions(ad01)[1].inferences == 12


def test_pcm_stream_equals_the_reference_of_its_frames(ad01, reference):
    pcm = tone_clip(2.5, seed=2)
    begin(ad01, mode=ClipMode.PCM, hop_frames=5, window_hops=4)
    for chunk in pcm_chunks(pcm[:30001]):  # odd tail: a partial hop stays in the ring
        ad01.request(MsgType.PCM, chunk, MsgType.ACK)
    # the device completes frames 0 .. N//512 - 1 of the centred framing: no end padding
    frames = reference.frames(logmel(pcm[:30001].astype(np.float32) / 32768))[:30001 // HOP]
    want = window_reference(reference, frames, 5, 4)
    got = decisions(ad01)
    assert len(got) == len(want) == 1 + (30001 // HOP - 20) // 5
    check_against_reference(got, want, 0, 20, CFG.threshold, rel=1e-4)  # float32 front end


def test_defaults_come_from_model_config(ad01):
    ready = begin(ad01)
    assert (ready.hop_frames, ready.window_hops) == (carray.MONITOR_HOP_FRAMES,
                                                    CFG.monitor_window_hops)
    assert ready.max_hops >= ready.window_hops and ready.audio_ring_samples == 4096


@pytest.mark.parametrize("kw, text", [
    (dict(window_hops=17), "max_hops"),
    (dict(hop_frames=1, window_hops=4), "shorter than the model's input window"),
    (dict(mode=ClipMode.FEATURES, live=1), "live needs PCM"),
    (dict(mode=2), "mode must be"),
    (dict(live=2), "live must be"),
])
def test_parameters_the_device_cannot_honour_are_refused(ad01, kw, text):
    with pytest.raises(DeviceError, match=f"bad_param: .*{text}"):
        begin(ad01, **kw)
    size = struct_for("MONITOR_BEGIN").size  # the message table's size, in app.c's text
    with pytest.raises(DeviceError, match=f"bad_length: MONITOR_BEGIN body is {size} bytes"):
        ad01.request(MsgType.MONITOR_BEGIN, b"\x00" * (size - 1), MsgType.MONITOR_READY)


def test_get_decision_resends_kept_ones_only(ad01, reference):
    frames = reference.frames(logmel(tone_clip(3.0, seed=3).astype(np.float32) / 32768))
    begin(ad01, mode=ClipMode.FEATURES, hop_frames=2, window_hops=3)
    stream_features(ad01, frames)
    got = decisions(ad01)
    assert len(got) > 20
    again = ad01.request(MsgType.GET_DECISION, (len(got) - 1).to_bytes(4, "little"),
                         MsgType.DECISION)
    assert Decision.unpack(again.body) == got[-1]
    for gone in (len(got) - 17, len(got)):  # older than the last 16, and not yet made
        with pytest.raises(DeviceError, match="bad_param: decision not kept"):
            ad01.request(MsgType.GET_DECISION, gone.to_bytes(4, "little"), MsgType.DECISION)


def test_leaving_the_mode(ad01, reference):
    frames = reference.frames(logmel(tone_clip(1.0, seed=4).astype(np.float32) / 32768))
    begin(ad01, mode=ClipMode.FEATURES, hop_frames=4, window_hops=2)
    with pytest.raises(DeviceError, match="out_of_order"):  # the session's mode only
        ad01.request(MsgType.PCM, b"\x00\x00", MsgType.ACK)
    ad01.request(MsgType.MONITOR_END, b"", MsgType.ACK)
    with pytest.raises(DeviceError, match="out_of_order"):
        ad01.request(MsgType.FEATURES, frames[:1].tobytes(), MsgType.ACK)
    with pytest.raises(DeviceError, match="out_of_order"):
        ad01.request(MsgType.MONITOR_END, b"", MsgType.ACK)
    begin(ad01, mode=ClipMode.FEATURES, hop_frames=4, window_hops=2)
    ad01.request(MsgType.CLIP_BEGIN, clip_begin_body(ClipMode.FEATURES), MsgType.ACK)
    r = ad01.score(ClipMode.FEATURES, feature_chunks(frames))  # a clip as before
    assert r.score == pytest.approx(reference.score_frames(frames), rel=1e-6)
    assert not ad01.decisions


def _drain_decisions(dev: Device, quiet: float = 1.5) -> list[Decision]:
    """A live session decides in the background: ask GET_INFO (answered at once) until no new
    DECISION has come for `quiet` seconds."""
    last, n = time.monotonic(), -1
    while time.monotonic() - last < quiet:
        dev.request(MsgType.GET_INFO, b"", MsgType.INFO)
        if len(dev.decisions) != n:
            n, last = len(dev.decisions), time.monotonic()
        time.sleep(0.05)
    return decisions(dev)


def test_live_stream_faster_than_the_device_overruns_and_says_so(ad01_binary, monkeypatch,
                                                                reference):
    monkeypatch.setenv("FIRSTSHOT_EMU_SLOW_US", "20000")  # 20 ms per 32-ms hop: real time, no more
    pcm = tone_clip(4.0, seed=5)
    with Emulator(ad01_binary) as emu:
        dev = Device(emu.link(), timeout=20)
        dev.info()
        begin(dev, mode=ClipMode.PCM, live=1, hop_frames=4, window_hops=2)
        chunks = pcm_chunks(pcm)
        for k, chunk in enumerate(chunks):
            dev.request(MsgType.PCM, chunk, MsgType.ACK)
            if k >= len(chunks) - 16:  # the last second in real time: the device keeps up
                time.sleep(0.064)       # (before it, as fast as the ACKs come: overruns)
        got = _drain_decisions(dev)
        assert got and got[-1].overruns > 0 and got[-1].overrun_samples > 0
        # a segment restarts after every overrun, at the end of a dropped frame (1024 samples)
        for seg in sorted({d.segment_start for d in got}):
            assert seg > 0 and seg % 1024 == 0
            frames = reference.frames(logmel(pcm[seg:].astype(np.float32) / 32768))
            want = dict(window_reference(reference, frames[:(len(pcm) - seg) // HOP], 4, 2))
            for d in (d for d in got if d.segment_start == seg):  # scored on its own frames
                assert d.score == pytest.approx(want[(d.end_sample - seg) // HOP], rel=1e-4)
        assert emu.proc.poll() is None


def test_the_same_live_stream_on_a_device_fast_enough_has_no_overrun(ad01_binary, reference):
    pcm = tone_clip(1.0, seed=6)
    with Emulator(ad01_binary) as emu:
        dev = Device(emu.link(), timeout=20)
        dev.info()
        begin(dev, mode=ClipMode.PCM, live=1, hop_frames=4, window_hops=2)
        for k, chunk in enumerate(pcm_chunks(pcm)):
            dev.request(MsgType.PCM, chunk, MsgType.ACK)
            time.sleep(0.064)  # real time: 1024 samples every 64 ms
        got = _drain_decisions(dev)
        assert len(got) == 1 + (len(pcm) // HOP - 8) // 4
        assert all(d.overruns == 0 and d.segment_start == 0 for d in got)


def test_stats_model_windows_equal_clip_scores_bit_for_bit(stats_export):
    """The default model kind: a window's score is the clip score of its W frames, exactly."""
    from export.pipeline import load_export
    from tests.export.test_stats import _build
    model_dir, _ = stats_export
    _, model, cfg = load_export(model_dir)
    ref = Int8Reference(model, cfg)
    frames = ref.frames(logmel(tone_clip(4.0, seed=7).astype(np.float32) / 32768))
    with Emulator(_build(model_dir, sanitize=False)) as emu:
        dev = Device(emu.link(), timeout=20)
        dev.info()
        ready = begin(dev)  # the export's defaults: 2-s training clips are 2 hops of 31 frames
        assert (ready.hop_frames, ready.window_hops) == (31, 2) == \
            (carray.MONITOR_HOP_FRAMES, cfg.monitor_window_hops)
        ready = begin(dev, mode=ClipMode.FEATURES, hop_frames=7, window_hops=5)
        stream_features(dev, frames)
        want = window_reference(ref, frames, 7, 5)
        got = decisions(dev)
        check_against_reference(got, want, 0, 35, cfg.threshold, rel=0)
        assert all(d.inferences == 1 for d in got)
