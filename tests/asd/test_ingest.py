"""asd.ingest: own recordings -> the official layout. Conversions are checked against
independent references (scipy's polyphase resampler, numpy means and FFTs), names against
hand-written expectations, and every refusal on its own."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from asd.cli import UsageError
from asd.dataset import DataError, list_clips, load_pcm16, load_wav, read_attributes_csv
from asd.ingest.__main__ import main
from asd.ingest.layout import clip_name
from tests.support import ROOT, run_py

SR = 16000


def sine(freq, seconds, sr, amp=0.3, phase=0.0):
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t + phase)


def write(path: Path, data, sr, subtype=None, format=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sr, subtype=subtype, format=format)
    return path


def ingest(tmp_path, capsys, *args, machine="MyPump"):
    root = tmp_path / "data"
    main(["--data-root", str(root), "--machine", machine, *map(str, args)])
    out = capsys.readouterr().out
    return root, root / "dev_data/raw" / machine, out


def wavs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav"))


def peak_hz(y: np.ndarray, sr: int = SR) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spec)])


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def check_format(path: Path) -> None:
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 1, "PCM_16", "WAV")


# ---- conversions ------------------------------------------------------------------------------

def test_long_44k1_stereo_cut_into_clips_tail_dropped_and_said(tmp_path, capsys):
    sr = 44100
    left, right = sine(1000, 25, sr, 0.4), sine(1000, 25, sr, 0.2, phase=0.5)
    src = write(tmp_path / "rec" / "Take 01 (final).wav", np.stack([left, right], 1), sr,
                subtype="PCM_16")
    root, mdir, out = ingest(tmp_path, capsys, "--normal", src, "--seconds", "10")
    clips = wavs(mdir / "train")
    assert [c.name for c in clips] == [f"section_00_source_train_normal_{i:04d}_noAttribute.wav"
                                       for i in range(2)]
    for c in clips:
        check_format(c)
        assert sf.info(str(c)).frames == 10 * SR
    assert out.count(f"note {src}: the last 5.00 s dropped") == 1
    # independent reference: the channel mean of what was written, polyphase-resampled by scipy
    stereo, _ = sf.read(str(src), dtype="float64")
    ref = resample_poly(stereo.mean(axis=1), 160, 441)
    got = np.concatenate([load_wav(c) for c in clips]).astype(np.float64)
    mid = slice(2000, len(got) - 2000)
    assert np.max(np.abs(got[mid] - ref[:len(got)][mid])) < 2e-3
    assert abs(peak_hz(got) - 1000) < 2
    # the mean of 0.4 sin(x) and 0.2 sin(x + 0.5) is a sine of amplitude |0.2 + 0.1 e^0.5i|
    assert np.std(got[mid]) == pytest.approx(abs(0.2 + 0.1 * np.exp(0.5j)) / np.sqrt(2), rel=1e-4)


def test_48k_stereo_two_tones_mono_is_channel_mean(tmp_path, capsys):
    sr = 48000
    data = np.stack([sine(440, 10, sr, 0.5), sine(3000, 10, sr, 0.5)], 1)
    src = write(tmp_path / "x" / "weird-name.v2.WAV", data, sr, subtype="PCM_24")
    _, mdir, out = ingest(tmp_path, capsys, "--normal", src)
    (clip,) = wavs(mdir / "train")
    check_format(clip)
    y = load_wav(clip).astype(np.float64)
    assert len(y) == 10 * SR and "dropped" not in out
    spec = np.abs(np.fft.rfft(y)) * 2 / len(y)
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    for f in (440, 3000):           # each channel's tone at half its amplitude: the mean
        assert spec[np.argmin(np.abs(freqs - f))] == pytest.approx(0.25, abs=0.005)
    others = spec.copy()
    for f in (440, 3000):
        others[np.abs(freqs - f) < 5] = 0
    assert others.max() < 1e-3
    ref = resample_poly(sf.read(str(src), dtype="float64")[0].mean(axis=1), 1, 3)
    assert np.max(np.abs(y[2000:-2000] - ref[2000:len(y) - 2000])) < 2e-3


def test_16k_stereo_mean_is_exact_and_16k_mono_passes_unchanged(tmp_path, capsys):
    rng = np.random.default_rng(1)
    lr = rng.integers(-20000, 20000, size=(12 * SR, 2), dtype=np.int16)
    stereo = write(tmp_path / "a" / "stereo.wav", lr, SR, subtype="PCM_16")
    mono_in = rng.integers(-32768, 32767, size=10 * SR, dtype=np.int16)
    mono = write(tmp_path / "b" / "mono.wav", mono_in, SR, subtype="PCM_16")
    _, mdir, _ = ingest(tmp_path, capsys, "--normal", stereo, "--test-normal", mono)
    (train,) = wavs(mdir / "train")
    expected = np.round((lr[:, 0].astype(np.int64) + lr[:, 1]) / 2).astype(np.int16)[:10 * SR]
    np.testing.assert_array_equal(load_pcm16(train), expected)
    (test,) = wavs(mdir / "test")
    np.testing.assert_array_equal(load_pcm16(test), mono_in)


@pytest.mark.parametrize("name,sr,subtype,fmt,freq", [
    ("clip.flac", 22050, "PCM_16", None, 1234),
    ("float.wav", 32000, "FLOAT", None, 2500),
    ("eight-bit.wav", 8000, "PCM_U8", None, 1000),
    ("deep.wav", 96000, "PCM_24", None, 6000),
    ("vorbis.ogg", 44100, "VORBIS", None, 700),
])
def test_formats_resampled_to_16k_mono_pcm16_frequency_kept(tmp_path, capsys, name, sr, subtype,
                                                            fmt, freq):
    src = write(tmp_path / "rec" / name, sine(freq, 10.5, sr, 0.5), sr, subtype=subtype,
                format=fmt)
    _, mdir, out = ingest(tmp_path, capsys, "--normal", src)
    (clip,) = wavs(mdir / "train")
    check_format(clip)
    y = load_wav(clip).astype(np.float64)
    assert len(y) == 10 * SR
    assert abs(peak_hz(y) - freq) < 2
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert "the last 0.50 s dropped" in out


def test_float_beyond_full_scale_is_clipped_and_said(tmp_path, capsys):
    src = write(tmp_path / "r" / "loud.wav", sine(300, 10, SR, 1.5), SR, subtype="FLOAT")
    _, mdir, out = ingest(tmp_path, capsys, "--normal", src)
    y = load_pcm16(wavs(mdir / "train")[0])
    assert y.max() == 32767 and y.min() == -32768
    assert "samples beyond full scale clipped" in out


def test_short_recording_kept_whole_if_half_a_clip_else_skipped(tmp_path, capsys):
    keep = write(tmp_path / "r" / "a_six.wav", sine(500, 6, 48000), 48000)
    drop = write(tmp_path / "r" / "b_four.wav", sine(500, 4, 48000), 48000)
    ten = write(tmp_path / "r" / "c_ten.wav", sine(500, 10, 48000), 48000)
    _, mdir, out = ingest(tmp_path, capsys, "--normal", keep, drop, ten)
    clips = wavs(mdir / "train")
    assert [sf.info(str(c)).frames for c in clips] == [6 * SR, 10 * SR]
    assert f"note {keep}: 6.00 s, kept whole as one clip shorter than 10 s" in out
    assert f"skipped {drop}: too short (4.00 s" in out
    assert "dropped" not in out


def test_seconds_option_and_time_order_within_a_file(tmp_path, capsys):
    sr = 16000
    steps = np.concatenate([np.full(2 * sr, v) for v in (0.1, 0.2, 0.3, 0.4)])  # 8 s
    src = write(tmp_path / "r" / "steps.wav", steps, sr, subtype="FLOAT")
    _, mdir, out = ingest(tmp_path, capsys, "--normal", src, "--seconds", "2")
    clips = wavs(mdir / "train")
    assert [round(float(load_wav(c).mean()), 3) for c in clips] == [0.1, 0.2, 0.3, 0.4]
    assert all(sf.info(str(c)).frames == 2 * sr for c in clips)


# ---- names, attributes, layout ----------------------------------------------------------------

def test_subfolder_attributes_and_attributes_csv(tmp_path, capsys):
    rec = tmp_path / "rec"
    for rel in ("speed_1500/x.wav", "speed_1500/load_2/y.wav", "morning/z.wav",
                "my run #2/w.wav", "a/b/v.wav", "x_y_z/r.wav", "speed_1500_load_3/u.wav",
                "###/t.wav", ".hidden/s.wav", ".DS_Store"):
        (rec / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".wav"):
            write(rec / rel, sine(440, 10, SR), SR)
        else:
            (rec / rel).write_bytes(b"\0\1")
    loose = write(tmp_path / "loose.wav", sine(440, 10, SR), SR)
    _, mdir, out = ingest(tmp_path, capsys, "--normal", rec, "--target", loose)
    names = [c.name for c in wavs(mdir / "train")]
    stem = "section_00_source_train_normal_"
    # sorted source paths: ### a/ morning/ my run #2/ speed_1500/ (load_2/y, x) speed_1500_load_3/
    # x_y_z/
    assert names == [
        f"{stem}0000_noAttribute.wav",
        f"{stem}0001_folder_a_folder2_b.wav",
        f"{stem}0002_folder_morning.wav",
        f"{stem}0003_folder_my-run-2.wav",
        f"{stem}0004_speed_1500_load_2.wav",
        f"{stem}0005_speed_1500.wav",
        f"{stem}0006_speed_1500_load_3.wav",
        f"{stem}0007_folder_x-y-z.wav",
        "section_00_target_train_normal_0000_noAttribute.wav",
    ]
    assert "hidden" not in out and "DS_Store" not in out
    csv_text = (mdir / "attributes_00.csv").read_text()
    assert csv_text == (
        "file_name,d1p,d1v,d2p,d2v\n"
        f"MyPump/train/{stem}0000_noAttribute.wav,noAttribute,,,\n"
        f"MyPump/train/{stem}0001_folder_a_folder2_b.wav,folder,a,folder2,b\n"
        f"MyPump/train/{stem}0002_folder_morning.wav,folder,morning,,\n"
        f"MyPump/train/{stem}0003_folder_my-run-2.wav,folder,my-run-2,,\n"
        f"MyPump/train/{stem}0004_speed_1500_load_2.wav,speed,1500,load,2\n"
        f"MyPump/train/{stem}0005_speed_1500.wav,speed,1500,,\n"
        f"MyPump/train/{stem}0006_speed_1500_load_3.wav,speed,1500,load,3\n"
        f"MyPump/train/{stem}0007_folder_x-y-z.wav,folder,x-y-z,,\n"
        "MyPump/train/section_00_target_train_normal_0000_noAttribute.wav,noAttribute,,,\n")
    clips = list_clips(tmp_path / "data", "MyPump", "train")
    assert clips[4].attributes == {"speed": "1500", "load": "2"}
    assert clips[3].attributes == {"folder": "my-run-2"}
    assert read_attributes_csv(mdir)[clips[1].name] == {"folder": "a", "folder2": "b"}
    assert [c.domain for c in clips] == ["source"] * 8 + ["target"]


def test_labelled_test_target_variants_and_supplemental(tmp_path, capsys):
    mk = lambda rel: write(tmp_path / rel, sine(440, 10, SR), SR)  # noqa: E731
    args = ["--normal", mk("n/a.wav"), "--target", mk("t/a.wav"),
            "--test-normal", mk("tn/a.wav"), "--test-anomaly", mk("ta/a.wav"), mk("ta/b.wav"),
            "--test-normal-target", mk("tnt/a.wav"), "--test-anomaly-target", mk("tat/a.wav"),
            "--supplemental-clean", mk("sc/mic_1/a.wav"), "--supplemental-noise", mk("sn/a.wav")]
    root, mdir, out = ingest(tmp_path, capsys, *args)
    assert [c.name for c in wavs(mdir / "test")] == [
        "section_00_source_test_anomaly_0000_noAttribute.wav",
        "section_00_source_test_anomaly_0001_noAttribute.wav",
        "section_00_source_test_normal_0000_noAttribute.wav",
        "section_00_target_test_anomaly_0000_noAttribute.wav",
        "section_00_target_test_normal_0000_noAttribute.wav"]
    assert [c.name for c in wavs(mdir / "supplemental")] == [
        "section_00_source_supplemental_clean_0000_noAttribute.wav",   # a file given: no attrs
        "section_00_source_supplemental_noise_0000_noAttribute.wav"]
    test = list_clips(root, "MyPump", "test")
    assert sorted((c.domain, c.label) for c in test) == [
        ("source", "anomaly"), ("source", "anomaly"), ("source", "normal"),
        ("target", "anomaly"), ("target", "normal")]
    supp = list_clips(root, "MyPump", "supplemental")
    assert [c.kind for c in supp] == ["clean", "noise"]
    assert "no --target" not in out and "metrics:" not in out
    marker = json.loads((mdir / "ingest.json").read_text())
    assert marker["written_by"] == "asd.ingest" and marker["clips"]["test_anomaly"] == 2


def test_unlabelled_test_renamed_no_ground_truth_eval_part(tmp_path, capsys):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    write(tmp_path / "u/b.wav", sine(300, 20, SR), SR)            # two clips, in time order
    write(tmp_path / "u/a/speed_3/c.wav", sine(200, 10, SR), SR)
    root = tmp_path / "data"
    main(["--data-root", str(root), "--machine", "Own", "--eval", "--normal",
          str(tmp_path / "n"), "--test", str(tmp_path / "u")])
    capsys.readouterr()
    mdir = root / "eval_data/raw/Own"
    assert not (root / "dev_data/raw/Own").exists()
    names = [c.name for c in wavs(mdir / "test")]
    # numbered from 0001, as the official evaluation data and asd.synth / asd.heldout
    assert names == ["section_00_0001.wav", "section_00_0002.wav", "section_00_0003.wav"]
    # sorted paths: u/a/speed_3/c.wav before u/b.wav; then b's two clips in time order
    assert abs(peak_hz(load_wav(mdir / "test/section_00_0001.wav")) - 200) < 2
    b, _ = sf.read(str(tmp_path / "u/b.wav"), dtype="int16")
    np.testing.assert_array_equal(load_pcm16(mdir / "test/section_00_0003.wav"), b[10 * SR:])
    assert not (root / "eval_data/ground_truth_data").exists()
    assert not (root / "eval_data/ground_truth_domain").exists()
    lines = (mdir / "attributes_00.csv").read_text().splitlines()
    assert "Own/test/section_00_0001.wav,folder,a,speed,3" in lines
    assert "Own/test/section_00_0002.wav,noAttribute,,," in lines
    test = list_clips(root, "Own", "test")
    assert [(c.domain, c.label) for c in test] == [(None, None)] * 3
    assert test[0].attributes == {"folder": "a", "speed": "3"}


def test_numbering_renamed_from_0001_labelled_from_0000_four_digits():
    assert clip_name("test", None, None, 0, ()) == "section_00_0001.wav"
    assert clip_name("test", None, None, 9998, ()) == "section_00_9999.wav"
    assert clip_name("train", "source", "normal", 0, ()) == \
        "section_00_source_train_normal_0000_noAttribute.wav"
    assert clip_name("train", "source", "normal", 9999, ()).endswith("_9999_noAttribute.wav")
    with pytest.raises(UsageError, match="more than 9999 test clips"):
        clip_name("test", None, None, 9999, ())
    with pytest.raises(UsageError, match="more than 10000 train clips"):
        clip_name("train", "source", "normal", 10000, ())


def test_deterministic_bytes_and_sources_untouched(tmp_path, capsys):
    rng = np.random.default_rng(5)
    rec = tmp_path / "rec"
    write(rec / "speed_1/a.wav", 0.1 * rng.standard_normal((23 * 44100, 2)), 44100)
    write(rec / "speed_2/b.flac", 0.1 * rng.standard_normal(15 * 48000), 48000)
    write(rec / "c.wav", 0.1 * rng.standard_normal(11 * 8000), 8000, subtype="FLOAT")
    (rec / "broken.wav").write_bytes(b"RIFF\x10\0\0\0WAVEjunk")
    before = tree_hashes(rec)
    mtimes = {p: p.stat().st_mtime_ns for p in rec.rglob("*")}
    args = ["--normal", str(rec), "--test", str(rec / "speed_2"), "--seconds", "5"]
    with pytest.raises(UsageError, match="both --normal and --test"):
        main(["--data-root", str(tmp_path / "d1"), "--machine", "M", *args])
    args = ["--normal", str(rec / "speed_1"), str(rec / "c.wav"), str(rec / "broken.wav"),
            "--test", str(rec / "speed_2"), "--seconds", "5"]
    main(["--data-root", str(tmp_path / "d1"), "--machine", "M", *args])
    main(["--data-root", str(tmp_path / "d2"), "--machine", "M", *args])
    first = tree_hashes(tmp_path / "d1")
    assert len([k for k in first if k.endswith(".wav")]) == 4 + 2 + 3
    assert first == tree_hashes(tmp_path / "d2")
    main(["--data-root", str(tmp_path / "d1"), "--machine", "M", *args])   # replaces itself
    out = capsys.readouterr().out
    assert "replaced" in out
    assert tree_hashes(tmp_path / "d1") == first
    assert tree_hashes(rec) == before
    assert {p: p.stat().st_mtime_ns for p in rec.rglob("*")} == mtimes


def test_produced_tree_reads_with_dataset(tmp_path, capsys):
    rng = np.random.default_rng(2)
    mk = lambda rel, sr: write(tmp_path / rel, 0.1 * rng.standard_normal((12 * sr, 2)), sr)  # noqa
    root, _, _ = ingest(tmp_path, capsys, "--normal", mk("n/spd_1/a.wav", 44100),
                        "--test-normal", mk("tn/a.wav", 48000),
                        "--test-anomaly", mk("ta/a.flac", 22050),
                        "--supplemental-noise", mk("sn/a.wav", 16000))
    counts = {}
    for split in ("train", "test", "supplemental"):
        clips = list_clips(root, "MyPump", split)
        for c in clips:
            y = load_wav(c.path)
            assert y.dtype == np.float32 and len(y) == 10 * SR
        counts[split] = len(clips)
    assert counts == {"train": 1, "test": 2, "supplemental": 1}


def test_no_target_and_metrics_consequences_said(tmp_path, capsys):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    write(tmp_path / "t/a.wav", sine(440, 10, SR), SR)
    _, mdir, out = ingest(tmp_path, capsys, "--normal", tmp_path / "n",
                          "--test-normal", tmp_path / "t")
    assert "no --target: there are no target-domain training clips" in out
    assert "scored against the source domain only" in out
    assert "no metrics" in out
    assert (mdir / "test").is_dir()


def test_summary_table(tmp_path, capsys):
    write(tmp_path / "n/a.wav", sine(440, 25, 44100), 44100)
    write(tmp_path / "n/b.wav", sine(440, 10, 44100), 44100)
    (tmp_path / "n/c.wav").write_bytes(b"")
    _, _, out = ingest(tmp_path, capsys, "--normal", tmp_path / "n")
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("train"))
    assert row == ["train", "source", "normal", "3", "30.0", "2", "1"]
    assert "skipped 1 file(s) (1 empty file)" in out


# ---- refusals ---------------------------------------------------------------------------------

def broken_inputs(folder: Path) -> dict[str, str]:
    """Bad files of every kind, with the reason each should be skipped for."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garbage.wav").write_bytes(np.random.default_rng(0).bytes(5000))
    (folder / "empty.wav").write_bytes(b"")
    write(folder / "header-only.wav", np.zeros((0, 1)), 44100, subtype="PCM_16")
    write(folder / "short.wav", sine(440, 2, 44100), 44100)
    nan = sine(440, 10, 32000)
    nan[1234] = np.nan
    write(folder / "nan.wav", nan, 32000, subtype="FLOAT")
    inf = sine(440, 10, 32000)
    inf[-5] = np.inf
    write(folder / "inf.wav", inf, 32000, subtype="DOUBLE")
    (folder / "notes.txt").write_text("take 3 was noisy\n")
    return {"garbage.wav": "not readable audio", "empty.wav": "empty file (0 bytes)",
            "header-only.wav": "no audio samples (header only)",
            "short.wav": "too short (2.00 s", "nan.wav": "NaN or infinite samples",
            "inf.wav": "NaN or infinite samples", "notes.txt": "not readable audio"}


def test_each_broken_file_skipped_with_one_line_and_run_continues(tmp_path, capsys):
    bad = tmp_path / "rec"
    reasons = broken_inputs(bad)
    write(bad / "zz_good.wav", sine(440, 10, 44100), 44100)
    _, mdir, out = ingest(tmp_path, capsys, "--normal", bad)
    for name, reason in reasons.items():
        lines = [line for line in out.splitlines() if line.startswith(f"skipped {bad / name}:")]
        assert len(lines) == 1 and reason in lines[0], (name, out)
    assert f"skipped {len(reasons)} file(s)" in out
    assert len(wavs(mdir / "train")) == 1


def test_all_broken_normal_is_a_clear_error_exit_2(tmp_path):
    bad = tmp_path / "rec"
    broken_inputs(bad)
    root = tmp_path / "data"
    r = run_py("-m", "asd.ingest", "--data-root", str(root), "--machine", "MyPump",
               "--normal", str(bad))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--normal" in errors[0] and "usable" in errors[0]
    assert r.stdout.count("skipped ") >= 7
    assert not (root / "dev_data/raw/MyPump").exists()
    assert list((root / "dev_data").iterdir()) == [root / "dev_data/raw"]   # no temporary left


def test_missing_src_is_one_line_error_naming_it(tmp_path):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    missing = tmp_path / "no" / "such-folder"
    r = run_py("-m", "asd.ingest", "--data-root", str(tmp_path / "data"), "--machine", "M",
               "--normal", str(tmp_path / "n"), "--test-anomaly", str(missing))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"error: --test-anomaly {missing}: no such file or folder"


@pytest.mark.parametrize("name", ["../evil", "a b", "", "-x", "x" * 41, "a/b", "ü", "ok\n"])
def test_invalid_machine_name_refused(tmp_path, name):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    with pytest.raises(DataError, match="machine name"):   # asd.dataset.check_machine_name
        main(["--data-root", str(tmp_path / "data"), f"--machine={name}",
              "--normal", str(tmp_path / "n")])
    assert not (tmp_path / "data").exists()


def test_existing_foreign_machine_folder_refused_own_replaced(tmp_path, capsys):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    root = tmp_path / "data"
    foreign = root / "dev_data/raw/ToyCar/train"
    foreign.mkdir(parents=True)
    (foreign / "keep.wav").write_bytes(b"x")
    with pytest.raises(UsageError, match="not written by asd.ingest"):
        main(["--data-root", str(root), "--machine", "ToyCar", "--normal", str(tmp_path / "n")])
    assert (foreign / "keep.wav").read_bytes() == b"x"
    (root / "eval_data/raw/Other").mkdir(parents=True)                 # the other part counts
    with pytest.raises(UsageError, match="not written by asd.ingest"):
        main(["--data-root", str(root), "--machine", "Other", "--normal", str(tmp_path / "n")])
    main(["--data-root", str(root), "--machine", "Mine", "--normal", str(tmp_path / "n")])
    stale = root / "dev_data/raw/Mine/train/stale.wav"
    stale.write_bytes(b"old")
    main(["--data-root", str(root), "--machine", "Mine", "--eval", "--normal",
          str(tmp_path / "n")])
    assert not (root / "dev_data/raw/Mine").exists()                   # moved to eval_data
    assert len(wavs(root / "eval_data/raw/Mine/train")) == 1
    assert f"removed {root / 'dev_data/raw/Mine'}" in capsys.readouterr().out


def test_usage_refusals(tmp_path, capsys):
    write(tmp_path / "n/a.wav", sine(440, 10, SR), SR)
    write(tmp_path / "t/a.wav", sine(440, 10, SR), SR)
    (tmp_path / "empty-folder").mkdir()
    root = tmp_path / "data"
    base = ["--data-root", str(root), "--machine", "M"]
    n, t = str(tmp_path / "n"), str(tmp_path / "t")
    cases = [
        (["--normal", n, "--test", t, "--test-normal", t], "cannot be combined"),
        (["--normal", n, "--test-anomaly", n + "/a.wav"], "both --normal and --test-anomaly"),
        (["--normal", n, "--target", str(tmp_path / "empty-folder")], "no files in this folder"),
        (["--test", t], "--normal SRC is required"),
        (["--normal", n, "--seconds", "0.5"], "1 to 3600 s"),
        (["--normal", n, "--seconds", "inf"], "1 to 3600 s"),
        (["--normal", n, "--seconds", "nan"], "1 to 3600 s"),
        (["--normal", str(root / "dev_data/raw/M/train")], "overlaps"),
        (["--normal", str(tmp_path)], "overlaps"),
    ]
    for args, message in cases:
        with pytest.raises(UsageError, match=message):
            main(base + args)
    assert not (root / "dev_data/raw/M").exists()


def test_all_broken_normal_raises_data_error_in_process(tmp_path, capsys):
    broken_inputs(tmp_path / "rec")
    with pytest.raises(DataError, match="none of its 7 file"):
        main(["--data-root", str(tmp_path / "data"), "--machine", "M",
              "--normal", str(tmp_path / "rec")])


def test_make_ingest_passes_the_options(tmp_path):
    import subprocess
    r = subprocess.run(["make", "-n", "--no-print-directory", "ingest", "MACHINE=Own",
                        "SRC=/r/a /r/b", "TEST_NORMAL=/r/tn", "TEST_ANOMALY=/r/ta",
                        "DATA=/d", "CLIP_SECONDS=5"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cmd = " ".join(r.stdout.replace("\\\n", " ").split())
    assert (".venv/bin/python -m asd.ingest --data-root /d --machine Own --normal /r/a /r/b "
            "--test-normal /r/tn --test-anomaly /r/ta --seconds 5") in cmd
