"""The x86 emulated firmware over its pty, as the bench sees it: INFO, clips in PCM and FEATURES
mode against the host's int8 reference of the device pipeline, and every protocol error."""
import hashlib
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from asd.features import FEATURES, logmel
from export import carray
from export.reference import Int8Reference
from host.device import Device, DeviceError, feature_chunks, pcm_chunks
from host.link import Emulator
from tests.support import AD01, ad01_config, tone_clip
from host.protocol import (ClipMode, ErrorMsg, FrameDecoder, Info, MsgType, Result,
                           clip_begin_body, encode_frame)

ROOT = Path(__file__).resolve().parents[3]
CFG = ad01_config()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "ad01"
    carray.write(out, AD01.read_bytes(), CFG)
    return out


def build_emulator(model_dir: Path, sanitize: bool) -> Path:
    machine = "test-ad01"
    args = ["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu", f"MACHINE={machine}",
            f"MODEL_DIR={model_dir}"] + (["SANITIZE=1"] if sanitize else [])
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return ROOT / "firmware/build" / ("emu-san" if sanitize else "emu") / machine / "firmware-emu"


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "asan-ubsan"])
def emulator(request, model_dir):
    with Emulator(build_emulator(model_dir, request.param)) as emu:
        yield emu
        assert emu.proc.poll() is None, "the emulator died"


@pytest.fixture
def device(emulator):
    link = emulator.link()
    dev = Device(link, timeout=20)
    dev.info()  # starts a session
    yield dev
    link.close()


@pytest.fixture(scope="module")
def reference():
    return Int8Reference(AD01.read_bytes(), CFG)



def _host_logmel(pcm):
    return logmel(pcm.astype(np.float32) / 32768)


def test_info_identifies_model_features_and_board(device):
    info = device.info()
    model = AD01.read_bytes()
    assert info.protocol == 3 and info.board == "emu" and info.model_name == "ad01"
    assert info.model_sha256.hex() == hashlib.sha256(model).hexdigest()
    assert info.feature_key == FEATURES.key()
    assert (info.sample_rate, info.n_fft, info.hop, info.n_mels, info.context_frames) == \
        (16000, 1024, 512, 128, 5)
    from export import tflm
    assert 0 < info.arena_bytes <= tflm.arena_bytes(model)


def test_pcm_clip_scores_as_the_python_reference(device, reference):
    pcm = tone_clip(3.0, seed=1)
    r = device.score(ClipMode.PCM, pcm_chunks(pcm))
    frames = FEATURES.n_frames(len(pcm))
    assert (r.frames, r.inferences) == (frames, frames - 4)
    expected = reference.score(_host_logmel(pcm))
    assert r.score == pytest.approx(expected, rel=1e-4)  # float32 front end vs librosa
    assert r.decision == int(r.score > CFG.threshold)
    assert r.inference_cycles > 0 and r.frontend_cycles > 0


def test_feature_clip_equals_reference_to_float_rounding(device, reference):
    frames = reference.frames(_host_logmel(tone_clip(2.0, seed=2)))
    r = device.score(ClipMode.FEATURES, feature_chunks(frames))
    assert r.score == pytest.approx(reference.score_frames(frames), rel=1e-6)
    assert r.frontend_cycles == 0


def test_profile_lists_every_op(device, reference):
    frames = reference.frames(_host_logmel(tone_clip(0.5, seed=3)))
    device.score(ClipMode.FEATURES, feature_chunks(frames))
    prof = device.profile()
    assert [op.opcode for op in prof.ops] == [9] * 10  # FULLY_CONNECTED


class Raw:
    """Frames by hand, for the error cases."""

    def __init__(self, link):
        self.link, self.dec, self.queue = link, FrameDecoder(), []

    def send(self, type_, seq, body=b""):
        self.link.send(encode_frame(type_, seq, body))

    def recv(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.queue and time.monotonic() < deadline:
            self.queue += [f for f in self.dec.feed(self.link.read()) if hasattr(f, "body")]
        assert self.queue, "no answer"
        return self.queue.pop(0)

    def error(self, timeout=10.0):
        f = self.recv(timeout)
        assert f.type == MsgType.ERROR, f.describe()
        return ErrorMsg.unpack(f.body)


@pytest.fixture
def raw(emulator):
    link = emulator.link()
    r = Raw(link)
    r.send(MsgType.GET_INFO, 1)
    assert r.recv().type == MsgType.INFO
    yield r
    link.close()


def test_protocol_errors_and_recovery(raw):
    raw.send(MsgType.PCM, 2, b"\x00\x01")
    assert raw.error().label == "out_of_order"
    raw.send(0x55, 3)
    assert raw.error().label == "unknown_type"
    raw.send(MsgType.CLIP_BEGIN, 4, clip_begin_body(ClipMode.PCM))
    assert raw.recv().type == MsgType.ACK
    raw.send(MsgType.PCM, 5, b"\x01\x02\x03")
    assert raw.error().label == "bad_length"
    raw.send(MsgType.FEATURES, 6, bytes(128))
    assert raw.error().label == "out_of_order"  # wrong mode for this clip
    raw.send(MsgType.CLIP_END, 7)
    assert raw.error().label == "clip_too_short"
    raw.link.send(b"\x13\x37garbage\xff\xfe\x00")  # garbage up to a delimiter
    assert raw.error().label in ("bad_frame", "bad_crc")
    wire = encode_frame(MsgType.GET_INFO, 8)
    raw.link.send(wire[:-4] + b"\x00")  # truncated frame
    assert raw.error().label in ("bad_frame", "bad_crc")
    raw.link.send(b"\x01" * 5000 + b"\x00")  # oversize
    assert raw.error().label == "oversize"
    raw.send(MsgType.GET_INFO, 9)
    assert Info.unpack(raw.recv().body).board == "emu"  # still responsive


def test_retransmission_is_not_consumed_twice_and_new_clip_discards(raw, reference):
    pcm = tone_clip(1.0, seed=4)
    chunks = pcm_chunks(pcm)
    raw.send(MsgType.CLIP_BEGIN, 10, clip_begin_body(ClipMode.PCM))
    assert raw.recv().type == MsgType.ACK
    raw.send(MsgType.PCM, 11, chunks[0])       # a clip interrupted by a new CLIP_BEGIN
    assert raw.recv().type == MsgType.ACK
    raw.send(MsgType.CLIP_BEGIN, 12, clip_begin_body(ClipMode.PCM))
    assert raw.recv().type == MsgType.ACK
    seq = 13
    for chunk in chunks:
        for _ in range(2):                      # every data frame sent twice with its seq
            raw.send(MsgType.PCM, seq, chunk)
            assert raw.recv().type == MsgType.ACK
        seq += 1
    raw.send(MsgType.CLIP_END, seq)
    r = Result.unpack(raw.recv().body)
    assert r.frames == FEATURES.n_frames(len(pcm))
    assert r.score == pytest.approx(reference.score(_host_logmel(pcm)), rel=1e-4)


def test_device_error_is_reported(device):
    with pytest.raises(DeviceError, match="clip_too_short"):
        device.score(ClipMode.FEATURES, [bytes(128)])
