"""Export end to end on a tiny model: C arrays, TFLite Micro, model_config.h in C, refusals."""
import json
import re
import subprocess

import numpy as np
import pytest

from asd.cli import UsageError
from asd.features import FEATURES
from export import carray, tflm
from export.pipeline import ExportOptions, check_drop, load_export, run_export
from export.reference import Int8Reference

from tests.support import MACHINE, ROOT, run_py


def _c_array_bytes(path) -> bytes:
    text = path.read_text()
    body = text[text.index("{") + 1:text.rindex("}")]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_c_array_is_exactly_the_tflite(exports, model):
    out, report = exports[model]
    tfl = (out / "model.tflite").read_bytes()
    assert _c_array_bytes(out / "model_data.c") == tfl
    assert f"#define FS_MODEL_DATA_LEN {len(tfl)}u" in (out / "model_data.h").read_text()
    assert "alignas(16) const unsigned char fs_model_data" in (out / "model_data.c").read_text()
    assert report["model_bytes"] == len(tfl) and report["sha256"] == carray.sha256(tfl)


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_int8_model_runs_in_tflite_micro(exports, model):
    out, report = exports[model]
    tfl = (out / "model.tflite").read_bytes()
    inp, outq = tflm.io_quant(tfl)
    assert inp.dtype == outq.dtype == "int8"
    x = np.random.default_rng(0).integers(-128, 127, (2, *inp.shape[1:]), dtype=np.int8)
    y = tflm.run(tfl, x)
    assert y.shape[0] == 2 and y.dtype == np.int8
    assert report["macs_int8_graph"] == report["macs_per_inference"]  # thop agrees with the graph
    assert tflm.arena_bytes(tfl) == report["arena_bytes_tflm"] <= report["arena_bytes"]


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_report_has_every_stage(exports, model):
    out, report = exports[model]
    saved = json.loads((out / "export.json").read_text())
    for stage in ("float", "onnx", "int8"):
        assert set(saved[stage]) >= {"auc_source", "auc_target", "pauc", "official_score"}
    for key in ("macs_per_inference", "params", "model_bytes", "arena_bytes", "sha256"):
        assert key in saved
    assert saved["onnx_max_abs_diff"] <= 1e-4
    assert saved["score_correlation"]["onnx"] > 0.999


def _config_probe(out, model: str) -> dict:
    """Compile a C program against model_config.h and read back what the firmware would see."""
    src = out / "probe.c"
    src.write_text("""
#include <stdio.h>
#include "model_config.h"
int main(void) {
    printf("name %s\\nkind %s\\nsha %s\\nscale %.9g\\nzero %d\\noscale %.9g\\nozero %d\\n",
           FS_MODEL_NAME, FS_MODEL_KIND, FS_MODEL_SHA256, (double)FS_MODEL_INPUT_SCALE,
           FS_MODEL_INPUT_ZERO_POINT, (double)FS_MODEL_OUTPUT_SCALE, FS_MODEL_OUTPUT_ZERO_POINT);
    printf("window %d\\nhop %d\\nthreshold %.9g\\narena %u\\nmacs %u\\nmels %d\\nkey %s\\n",
           FS_MODEL_WINDOW_FRAMES, FS_MODEL_WINDOW_HOP, (double)FS_MODEL_THRESHOLD,
           FS_MODEL_ARENA_BYTES, FS_MODEL_MACS, FS_FEAT_N_MELS, FS_FEAT_KEY);
    return 0;
}
""")
    exe = out / "probe"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{out}", str(src), "-o", str(exe)],
                   check=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in lines.strip().splitlines())


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_model_config_compiles_and_holds_the_python_values(exports, model):
    out, report = exports[model]
    got = _config_probe(out, model)
    tfl = (out / "model.tflite").read_bytes()
    inp, outq = tflm.io_quant(tfl)
    assert got["name"] == MACHINE and got["kind"] == model and got["sha"] == report["sha256"]
    assert np.float32(got["scale"]) == np.float32(inp.scale) and int(got["zero"]) == inp.zero_point
    assert np.float32(got["oscale"]) == np.float32(outq.scale)
    assert int(got["ozero"]) == outq.zero_point
    assert np.float32(got["threshold"]) == np.float32(report["threshold"])
    assert int(got["arena"]) == report["arena_bytes"] and int(got["macs"]) == report["macs_per_inference"]
    assert got["key"] == FEATURES.key() and int(got["mels"]) == FEATURES.n_mels
    window = (5, 1) if model == "ae" else (32, 16)
    assert (int(got["window"]), int(got["hop"])) == window


def test_cls_scoring_constants_are_on_the_chip(exports):
    out, report = exports["cls"]
    text = (out / "model_scoring.h").read_text()
    _, tfl, cfg = load_export(out)
    assert "fs_model_centres[FS_MODEL_N_CENTRES][FS_MODEL_OUTPUT_SIZE]" in text
    assert cfg.centres.shape[1] == 128 and np.isfinite(cfg.centres).all()
    assert cfg.centres.nbytes <= 32 * 1024  # small enough for any of the boards


def test_int8_reference_reproduces_the_reported_scores(exports, data_root):
    out, report = exports["ae"]
    _, tfl, cfg = load_export(out)
    from train.data import load_split
    test = load_split(data_root, MACHINE, "test", None, False)
    ref = Int8Reference(tfl, cfg)
    scores = np.array([ref.score(lm) for lm in test.logmels])
    from export.pipeline import _metrics
    assert _metrics(scores, test.clips) == report["int8"]


def test_same_seed_and_data_give_identical_files(exports, runs, data_root, tmp_path):
    out, _ = exports["ae"]
    again = tmp_path / "again"
    run_export(ExportOptions(runs["ae"], MACHINE, data_root, again, calibration=100,
                             cache_dir=None, progress=False))
    for f in ("model.tflite", "model_data.c", "model_data.h", "model_config.h", "export.json",
              "feature_config.h", "feature_tables.h"):
        assert (again / f).read_bytes() == (out / f).read_bytes(), f


def test_corrupted_and_float_models_are_refused(exports, tmp_path):
    out, _ = exports["ae"]
    tfl = (out / "model.tflite").read_bytes()
    _, _, cfg = load_export(out)
    with pytest.raises(tflm.ModelError, match="TFL3"):
        carray.write(tmp_path / "a", b"\x00" * 64, cfg)
    broken = bytearray(tfl)
    broken[64:4096] = b"\xff" * (4096 - 64)
    with pytest.raises(tflm.ModelError):
        carray.write(tmp_path / "b", bytes(broken), cfg)
    import tensorflow as tf
    keras = tf.keras.Sequential([tf.keras.Input((640,)), tf.keras.layers.Dense(640)])
    float_model = tf.lite.TFLiteConverter.from_keras_model(keras).convert()
    with pytest.raises(tflm.ModelError, match="not int8"):
        carray.write(tmp_path / "c", float_model, cfg)
    assert not (tmp_path / "c" / "model_data.c").exists()


def test_cli_refuses_ae_maha_and_a_float_drop(runs, data_root, exports):
    r = run_py("-m", "export", "--run", str(runs["ae-maha"]), "--machine", MACHINE,
               "--data-root", str(data_root))
    assert r.returncode == 2 and "ae-maha" in r.stderr and "Traceback" not in r.stderr
    out, report = exports["ae"]
    fake = dict(report, float=dict(report["float"], official_score=1.0),
                int8=dict(report["int8"], official_score=0.5))
    with pytest.raises(UsageError, match="50.00 points below float"):
        check_drop(fake, 1.0, out)


@pytest.mark.parametrize("model", ["ae", "cls"])
def test_emulated_firmware_scores_exported_model_like_the_reference(exports, data_root, model):
    import soundfile as sf
    from asd.dataset import list_clips
    from asd.features import logmel
    from host.device import Device, feature_chunks, pcm_chunks
    from host.link import Emulator
    from host.protocol import ClipMode
    out, report = exports[model]
    _, tfl, cfg = load_export(out)
    machine = f"test-export-{model}"
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu",
                    f"MACHINE={machine}", f"MODEL_DIR={out}"], check=True,
                   stdout=subprocess.DEVNULL)
    ref = Int8Reference(tfl, cfg)
    with Emulator(ROOT / "firmware/build/emu" / machine / "firmware-emu") as emu:
        dev = Device(emu.link())
        assert dev.info().model_sha256.hex() == report["sha256"]
        for clip in list_clips(data_root, MACHINE, "test")[:3]:
            pcm, _ = sf.read(clip.path, dtype="int16")
            lm = logmel(pcm.astype(np.float32) / 32768)
            frames = ref.frames(lm)
            feat = dev.score(ClipMode.FEATURES, feature_chunks(frames))
            assert feat.score == pytest.approx(ref.score_frames(frames), rel=1e-5)
            assert feat.decision == int(feat.score > cfg.threshold)
            pcm_result = dev.score(ClipMode.PCM, pcm_chunks(pcm))
            assert pcm_result.score == pytest.approx(feat.score, rel=1e-3)
