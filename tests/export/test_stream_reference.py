"""export.stream_reference: the windows of a monitoring session, their scores, and the frames a
PCM segment gives, against hand-built cases (indices written out here, not taken from the code)."""
from __future__ import annotations

import numpy as np
import pytest

from asd.dataset import list_clips, load_pcm16
from asd.features import logmel
from export.pipeline import load_export
from export.reference import Int8Reference, score_from_outputs, windows
from export.stream_reference import (SegmentFrontEnd, StreamReference, segment_frames,
                                     session_windows)
from tests.support import MACHINE


def _reference(model_dir) -> Int8Reference:
    _, tfl, cfg = load_export(model_dir)
    return Int8Reference(tfl, cfg)


@pytest.fixture(scope="module")
def stream(data_root) -> np.ndarray:
    """Two normal then two anomalous test clips back to back (2 s each: 250 frames)."""
    clips = list_clips(data_root, MACHINE, "test")
    normal = [c for c in clips if c.label == "normal"][:2]
    anomalous = [c for c in clips if c.label == "anomaly"][:2]
    return np.concatenate([load_pcm16(c.path) for c in normal + anomalous])


@pytest.fixture(scope="module")
def stats_ref(stats_export) -> Int8Reference:
    return _reference(stats_export[0])


def test_stats_window_is_the_clip_score_of_its_frames(stats_ref, stream):
    frames = segment_frames(stream, stats_ref)
    hop, hops = 10, 4                                   # W = 40 frames
    got = session_windows(stats_ref, frames, hop, hops)
    n = len(frames)
    assert len(got) == (n - 40) // 10 + 1
    for i, w in enumerate(got):
        assert (w.index, w.end_frame, w.frames, w.inferences) == (i, 40 + 10 * i, 40, 1)
        clip = frames[10 * i:10 * i + 40]               # frames F - W ... F - 1
        assert w.score == stats_ref.score_frames(clip)
        assert w.decision == int(np.float32(w.score) > np.float32(stats_ref.cfg.threshold))
    assert got[-1].end_sample(16000) == 16000 + got[-1].end_frame * 512


def test_frames_pushed_in_pieces_give_the_same_windows(stats_ref, exports, stream):
    """The bounded state (trimmed frames, cached inferences) loses nothing a window needs."""
    rng = np.random.default_rng(0)
    for ref in (stats_ref, _reference(exports["cls"][0])):
        frames = segment_frames(stream, ref)
        whole = session_windows(ref, frames, 7, 5)
        sr = StreamReference(ref, 7, 5)
        cuts = np.sort(rng.choice(np.arange(1, len(frames)), 12, replace=False))
        pieces = []
        for part in np.split(frames, cuts):
            pieces += sr.push(part)
        assert pieces == whole
        assert len(sr._frames) <= 35 + ref.cfg.window_frames + 7  # bounded, not the stream


def test_window_model_scores_the_inferences_that_complete_in_the_window(exports, stream):
    """ae: one inference per frame (window_frames 5, hop 1). With hop 4 frames and 4 hops
    (W = 16): the window ending at F = 16 has the inferences completing at frames 0..15, i.e.
    starting at 0..11 (12), the next (F = 20) those starting at 0..15 (16), then 4..19."""
    ref = _reference(exports["ae"][0])
    assert (ref.cfg.window_frames, ref.cfg.window_hop) == (5, 1)
    frames = segment_frames(stream, ref)
    got = session_windows(ref, frames, 4, 4)
    expect = {0: (0, 16), 1: (0, 20), 2: (4, 24)}       # window -> its inferences' frames
    for i, (lo, hi) in expect.items():
        inputs = windows(frames[lo:hi], ref.cfg)
        outputs = np.stack([ref._invoke(x) for x in inputs])
        assert got[i].inferences == len(inputs) == [12, 16, 16][i]
        assert got[i].score == score_from_outputs(inputs, outputs, ref.cfg, ref.in_q, ref.out_q)
    # with a hop of 1 inference, a window's inferences are a clip's: score_frames agrees
    for w in got[2:6]:
        clip = frames[w.end_frame - 16 - 4:w.end_frame]
        assert w.score == pytest.approx(ref.score_frames(clip), rel=1e-12)


def test_cls_schedule_counts_from_the_segment_start(exports, stream):
    """cls: inferences start every window_hop frames from the segment's frame 0, whatever the
    window; a window gets those whose last frame lies inside it."""
    ref = _reference(exports["cls"][0])
    wf, wh = ref.cfg.window_frames, ref.cfg.window_hop
    assert wh > 1
    sr = StreamReference(ref, wh + 1, 3)                # a hop that is not a multiple of wh
    W = 3 * (wh + 1)
    for end in (W, W + wh + 1, W + 5 * (wh + 1)):
        starts = [s for s in range(0, end, wh) if end - W <= s + wf - 1 <= end - 1]
        assert sr.inference_starts(end) == starts and starts
    frames = segment_frames(stream, ref)
    got = session_windows(ref, frames, wh + 1, 3)
    w = got[3]
    starts = [s for s in range(0, w.end_frame, wh) if w.end_frame - W <= s + wf - 1 < w.end_frame]
    inputs = np.stack([frames[s:s + wf].reshape(-1) for s in starts])
    outputs = np.stack([ref._invoke(x) for x in inputs])
    assert w.inferences == len(starts)
    assert w.score == score_from_outputs(inputs, outputs, ref.cfg, ref.in_q, ref.out_q)


def test_window_shorter_than_the_model_input_is_refused(exports):
    ref = _reference(exports["cls"][0])
    with pytest.raises(ValueError, match="shorter than the model's input"):
        StreamReference(ref, 1, ref.cfg.window_frames - 1)


def test_segment_frames_are_the_clip_front_end_but_the_last(stats_ref, data_root):
    """A segment holding one clip: its frames are the clip's log-mel frames 0 ... N//512 - 1
    (the clip's last centred frame needs samples the device has not had)."""
    pcm = load_pcm16(list_clips(data_root, MACHINE, "test")[0].path)
    clip_frames = stats_ref.frames(logmel(pcm.astype(np.float32) / 32768))
    seg = segment_frames(pcm, stats_ref)
    assert len(clip_frames) == 1 + len(pcm) // 512 and len(seg) == len(pcm) // 512
    np.testing.assert_array_equal(seg, clip_frames[:-1])
    # 700 samples short of a frame boundary: the frames completed so far, no more
    assert len(segment_frames(pcm[:-700], stats_ref)) == (len(pcm) - 700) // 512


def test_segment_mid_stream_restarts_the_framing(stats_ref, stream):
    """A segment starting at stream sample P = 512 j: its frame 0 is centred on P with zeros
    before it (a new session), its frames k >= 1 see the stream's samples of stream frame j + k."""
    j = 100
    whole = logmel(stream.astype(np.float32) / 32768)
    seg = logmel(stream[512 * j:].astype(np.float32) / 32768)
    fe = SegmentFrontEnd(stats_ref)
    got = fe.push(stream[512 * j:])
    np.testing.assert_array_equal(got, stats_ref.frames(seg[:len(got)]))
    np.testing.assert_allclose(seg[1:len(got)], whole[j + 1:j + len(got)], atol=1e-3)
    assert np.abs(seg[0] - whole[j]).max() > 1.0          # the zeros make frame 0 differ


def test_front_end_in_pieces_matches_the_one_shot_segment(stats_ref, stream):
    """Pieces of any size (a microphone's blocks) give the same frames as the whole segment,
    but for float32 rounding (an int8 value one step off in rare cases)."""
    rng = np.random.default_rng(1)
    fe = SegmentFrontEnd(stats_ref)
    cuts = np.sort(rng.choice(np.arange(1, len(stream)), 40, replace=False))
    parts = [fe.push(p) for p in np.split(stream, cuts)]
    got = np.concatenate(parts)
    want = segment_frames(stream, stats_ref)
    assert got.shape == want.shape and fe.frames_done == len(stream) // 512
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
