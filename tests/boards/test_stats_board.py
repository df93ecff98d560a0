"""A stats model (the tiny export of tests/conftest.py) on the Cortex-M boards: every board links
and fits, and under QEMU (software doubles on the Cortex-M4) the device scores clips exactly as
the host's int8 reference does."""
import re

import numpy as np
import pytest

from asd.dataset import list_clips, load_pcm16
from asd.features import logmel
from export.pipeline import load_export
from export.reference import Int8Reference
from host.device import DeviceError, feature_chunks, pcm_chunks
from host.protocol import ClipMode
from tests.support import MACHINE as DATA_MACHINE
from tests.support import tone_clip

from .conftest import make_firmware, qemu_app

MACHINE = "test-stats"


@pytest.mark.parametrize("board", ["qemu", "nucleo-f446re", "nucleo-l4r5zi"])
def test_stats_firmware_links_and_fits(stats_export, build_dir, board):
    r = make_firmware(board, stats_export[0], build_dir, machine=MACHINE)
    flash = re.search(r"FLASH +(\d+) / +(\d+) bytes", r.stdout)
    ram = re.search(r"RAM +(\d+) / +(\d+) bytes", r.stdout)
    assert flash and ram, r.stdout
    assert int(flash.group(1)) < int(flash.group(2)) and int(ram.group(1)) < int(ram.group(2))
    assert int(flash.group(1)) > stats_export[1]["model_bytes"]
    print(f"{board} with a stats model: flash {flash.group(1)}, RAM {ram.group(1)}")


@pytest.fixture(scope="module")
def qemu_stats(stats_export, build_dir):
    yield from qemu_app(stats_export[0], build_dir, machine=MACHINE)


def test_qemu_scores_exactly_as_the_reference(qemu_stats, stats_export, data_root):
    _, tfl, cfg = load_export(stats_export[0])
    ref = Int8Reference(tfl, cfg)
    assert qemu_stats.info().board == "qemu"
    for clip in list_clips(data_root, DATA_MACHINE, "test")[:3]:
        frames = ref.frames(logmel(load_pcm16(clip.path).astype(np.float32) / 32768))
        r = qemu_stats.score(ClipMode.FEATURES, feature_chunks(frames))
        assert r.score == ref.score_frames(frames), clip.name   # bit for bit
        assert (r.frames, r.inferences) == (len(frames), 1)
    pcm = tone_clip(0.5, seed=21)                  # the Cortex-M front end too (newlib log10f)
    r = qemu_stats.score(ClipMode.PCM, pcm_chunks(pcm))
    assert r.inferences == 1
    assert r.score == pytest.approx(ref.score(logmel(pcm.astype(np.float32) / 32768)), rel=1e-3)
    with pytest.raises(DeviceError, match="clip_too_short"):
        qemu_stats.score(ClipMode.FEATURES, [])


def test_qemu_monitor_windows_equal_the_reference(qemu_stats, stats_export):
    """MONITOR mode on the Cortex-M4 build: every window's score is the clip score of its frames
    (FEATURES, bit for bit), and a PCM stream decides on the same frames within the front end's
    float32 tolerance."""
    from host.protocol import Decision, MonitorBegin, MonitorReady, MsgType
    _, tfl, cfg = load_export(stats_export[0])
    ref = Int8Reference(tfl, cfg)
    pcm = tone_clip(2.0, seed=22)
    frames = ref.frames(logmel(pcm.astype(np.float32) / 32768))
    qemu_stats.info()  # a session (the boot HELLO is behind us)
    for mode, chunks, n_frames in ((ClipMode.FEATURES, feature_chunks(frames), len(frames)),
                                   (ClipMode.PCM, pcm_chunks(pcm), len(pcm) // 512)):
        qemu_stats.decisions.clear()
        ready = MonitorReady.unpack(qemu_stats.request(
            MsgType.MONITOR_BEGIN, MonitorBegin(mode=mode, hop_frames=8, window_hops=4).pack(),
            MsgType.MONITOR_READY).body)
        assert ready.window_frames == 32
        for c in chunks:
            qemu_stats.request(MsgType.FEATURES if mode == ClipMode.FEATURES else MsgType.PCM,
                               c, MsgType.ACK)
        got = [Decision.unpack(f.body) for f in qemu_stats.decisions]
        assert len(got) == 1 + (n_frames - 32) // 8
        for d in got:
            f = d.end_sample // 512
            want = ref.score_frames(frames[f - 32:f])
            if mode == ClipMode.FEATURES:
                assert d.score == want
            else:
                assert d.score == pytest.approx(want, rel=1e-3)
            assert 0 < d.busy_cycles < d.budget_cycles  # instructions: far faster than real time
        qemu_stats.request(MsgType.MONITOR_END, b"", MsgType.ACK)
