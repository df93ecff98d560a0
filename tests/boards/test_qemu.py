"""The qemu board (QEMU netduinoplus2, STM32F405) in CI: the same clips through the x86
emulator and through the ARM build under QEMU must give bit-identical results, equal to the
host's int8 reference (FEATURES mode: float rounding; PCM: the float32 front end vs librosa)."""
import hashlib
import struct
import time

import numpy as np
import pytest

from asd.features import FEATURES, logmel
from export.reference import Int8Reference
from host.device import Device, feature_chunks, pcm_chunks
from host.link import Emulator
from host.protocol import ClipMode, ErrorMsg, FrameDecoder, Info, MsgType, encode_frame

from tests.support import tone_clip

from .conftest import AD01, CFG, MACHINE, make_firmware, qemu_app


@pytest.fixture(scope="module")
def qemu_device(model_dir, build_dir):
    yield from qemu_app(model_dir, build_dir)


@pytest.fixture(scope="module")
def emu_device(model_dir, build_dir):
    make_firmware("emu", model_dir, build_dir)
    with Emulator(build_dir / "emu" / MACHINE / "firmware-emu") as emu:
        link = emu.link()
        yield Device(link, timeout=20)
        link.close()


@pytest.fixture(scope="module")
def reference():
    return Int8Reference(AD01.read_bytes(), CFG)



def _bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def test_info_identifies_board_and_matches_emulator(qemu_device, emu_device):
    q, e = qemu_device.info(), emu_device.info()
    assert q.board == "qemu" and e.board == "emu"
    assert q.core_hz == 1_000_000_000   # TIM2 at 1 GHz virtual: instructions under -icount 0
    assert q.model_sha256.hex() == hashlib.sha256(AD01.read_bytes()).hexdigest() == \
        e.model_sha256.hex()
    assert q.feature_key == e.feature_key == FEATURES.key()
    assert (q.protocol, q.model_name, q.sample_rate, q.n_fft, q.hop, q.n_mels,
            q.context_frames, q.max_body) == \
        (e.protocol, e.model_name, e.sample_rate, e.n_fft, e.hop, e.n_mels, e.context_frames,
         e.max_body)
    # 32-bit pointers make the records smaller than on x86-64, but the Cortex-M4 kernels
    # (KERNELS=cm4, the default) add scratch for expanded activations: 1280 bytes for ad01. Both
    # stay within TFLite Micro's own allocation for ad01 (3984 bytes), which sizes the arena.
    assert 0 < q.arena_bytes <= e.arena_bytes + 1280 and q.arena_bytes <= 3984


def test_pcm_clip_bit_identical_to_emulator(qemu_device, emu_device, reference):
    pcm = tone_clip(1.0, seed=11)
    q = qemu_device.score(ClipMode.PCM, pcm_chunks(pcm))
    e = emu_device.score(ClipMode.PCM, pcm_chunks(pcm))
    frames = FEATURES.n_frames(len(pcm))
    assert (q.frames, q.inferences) == (e.frames, e.inferences) == (frames, frames - 4)
    assert _bits(q.score) == _bits(e.score), (q.score, e.score)   # newlib vs glibc log10f too
    assert q.decision == e.decision == int(q.score > CFG.threshold)
    host = reference.score(logmel(pcm.astype(np.float32) / 32768))
    assert q.score == pytest.approx(host, rel=1e-4)
    assert q.frontend_cycles > 0 and q.inference_cycles > 0


def test_feature_clip_bit_identical_to_emulator_and_reference(qemu_device, emu_device, reference):
    frames = reference.frames(logmel(tone_clip(1.0, seed=12).astype(np.float32) / 32768))
    q = qemu_device.score(ClipMode.FEATURES, feature_chunks(frames))
    e = emu_device.score(ClipMode.FEATURES, feature_chunks(frames))
    assert _bits(q.score) == _bits(e.score), (q.score, e.score)
    assert (q.frames, q.inferences) == (e.frames, e.inferences)
    assert q.score == pytest.approx(reference.score_frames(frames), rel=1e-6)
    assert q.frontend_cycles == 0


def test_instruction_counts_are_deterministic(qemu_device, reference):
    """Under -icount shift=0 the same work costs the same instruction count, run after run:
    what `make perf` relies on."""
    frames = reference.frames(logmel(tone_clip(0.4, seed=13).astype(np.float32) / 32768))
    a = qemu_device.score(ClipMode.FEATURES, feature_chunks(frames))
    b = qemu_device.score(ClipMode.FEATURES, feature_chunks(frames))
    assert a.inference_cycles == b.inference_cycles > 0
    per_inference = a.inference_cycles / a.inferences
    assert CFG.macs < per_inference < 50 * CFG.macs   # plausible instructions per inference


def test_garbage_and_oversize_frames_then_still_answers(qemu_device):
    link = qemu_device.link
    dec = FrameDecoder()

    def answers(timeout=20.0):
        got, deadline = [], time.monotonic() + timeout
        while not got and time.monotonic() < deadline:
            got = [f for f in dec.feed(link.read()) if hasattr(f, "body")]
        assert got, "no answer from the qemu board"
        return got

    link.send(b"\x13\x37garbage\xff\xfe\x00")
    assert ErrorMsg.unpack(answers()[0].body).label in ("bad_frame", "bad_crc")
    link.send(b"\x01" * 5000 + b"\x00")        # longer than the 4 KiB receive ring
    assert ErrorMsg.unpack(answers()[0].body).label == "oversize"
    link.send(encode_frame(MsgType.GET_INFO, 77))
    f = answers()[0]
    assert f.type == MsgType.INFO and Info.unpack(f.body).board == "qemu"
