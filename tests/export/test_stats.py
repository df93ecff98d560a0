"""The stats model through the chain on the tiny set: export (int8 within bound, the constants in
model_config.h / model_stats.h / model_scoring.h, refusals), and the emulated firmware scoring
every test clip exactly as the host's int8 reference does, in FEATURES and PCM mode, plain and
ASan+UBSan builds, with a clip of no frames answered by an error. The default run has the
residual scorer (pca_components = 20): its constants reach the headers and the score is the
distance times the residual; a run without it (pca_components = 0) still exports and the
emulator matches its reference."""
import json
import re
import subprocess

import numpy as np
import pytest

from asd.dataset import list_clips, load_pcm16
from asd.features import FEATURES, logmel
from export import carray, tflm
from export.pipeline import check_drop, load_export
from export.reference import Int8Reference, n_inferences
from train.run import load_run

from tests.support import AD01, MACHINE, ROOT, run_py


def test_export_report_and_int8_bound(stats_export):
    out, report = stats_export
    # the export's bound (1 point of official score); on these 20 clips one swapped pair of
    # scores moves it by about 0.7 points, so the 0.5-point figure is measured on data-all
    # (docs/export.md); here the int8 scores must also rank the clips almost exactly as float
    check_drop(report, 1.0, out)
    assert report["model"] == "stats" and report["ops"] == ["FULLY_CONNECTED"]
    assert report["macs_per_inference"] == report["macs_int8_graph"] == 128 * 128
    assert report["inferences_per_10s_clip"] == 1
    assert report["score_correlation"]["int8"] > 0.99
    saved = json.loads((out / "export.json").read_text())
    dev = saved["device"]
    assert dev["input_kind"] == "stats" and dev["score_kind"] == "embedding"
    assert (dev["window_frames"], dev["window_hop"]) == (0, 0)
    for f in ("model_config.h", "model_scoring.h", "model_stats.h", "model_data.c"):
        assert (out / f).exists(), f


def test_device_config_round_trips_the_run_constants(stats_export, stats_run):
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    c = load_run(stats_run).constants
    assert cfg.input_kind == "stats" and cfg.model_kind == "stats"
    assert np.float32(cfg.frame_scale) == np.float32(c["frame_scale"])
    assert cfg.frame_zero == int(c["frame_zero"])
    np.testing.assert_array_equal(cfg.stats_mean, np.asarray(c["stats_mean"], np.float32))
    np.testing.assert_array_equal(cfg.stats_std, np.asarray(c["stats_std"], np.float32))
    np.testing.assert_array_equal(cfg.centres, np.asarray(c["centres"], np.float32))
    np.testing.assert_array_equal(cfg.centre_inv_scale,
                                  (1.0 / np.asarray(c["scales"])).astype(np.float32))
    assert not cfg.centre_offset.any()
    assert (n_inferences(0, cfg), n_inferences(1, cfg), n_inferences(313, cfg)) == (0, 1, 1)


PROBE = r"""
#include <stdio.h>
#include "model_config.h"
#include "model_stats.h"
#include "model_scoring.h"
int main(void) {
#ifdef FS_MODEL_WINDOW_FRAMES
    printf("window defined\n");
#endif
    printf("input_kind %d\nbands %d\nframe_scale %.9g\nframe_zero %d\nkind %s\n",
           FS_MODEL_INPUT_KIND, FS_MODEL_STATS_BANDS, (double)FS_MODEL_FRAME_SCALE,
           FS_MODEL_FRAME_ZERO_POINT, FS_MODEL_KIND);
    printf("in_scale %.9g\nin_zero %d\nout_size %d\nscore_kind %d\ncentres %d\n",
           (double)FS_MODEL_INPUT_SCALE, FS_MODEL_INPUT_ZERO_POINT, FS_MODEL_OUTPUT_SIZE,
           FS_MODEL_SCORE_KIND, FS_MODEL_N_CENTRES);
    printf("mean");
    for (int i = 0; i < 2 * FS_MODEL_STATS_BANDS; i++) printf(" %.9g", (double)fs_model_stats_mean[i]);
    printf("\nstd");
    for (int i = 0; i < 2 * FS_MODEL_STATS_BANDS; i++) printf(" %.9g", (double)fs_model_stats_std[i]);
    printf("\ncentre");
    for (int i = 0; i < FS_MODEL_OUTPUT_SIZE; i++) printf(" %.9g", (double)fs_model_centres[1][i]);
    printf("\n");
    (void)fs_model_centre_offset;
    (void)fs_model_centre_inv_scale;
    return 0;
}
"""


def test_model_headers_hold_the_stats_constants(stats_export, tmp_path):
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    (tmp_path / "probe.c").write_text(PROBE)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{out}",
                    str(tmp_path / "probe.c"), "-o", str(exe)], check=True)
    text = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got = dict(line.split(" ", 1) for line in text.strip().splitlines())
    assert "window" not in got  # no window in a stats model
    inp, outq = tflm.io_quant(tfl)
    assert (int(got["input_kind"]), int(got["bands"])) == (1, FEATURES.n_mels // 2)
    assert np.float32(got["frame_scale"]) == np.float32(cfg.frame_scale)
    assert int(got["frame_zero"]) == cfg.frame_zero and got["kind"] == "stats"
    assert np.float32(got["in_scale"]) == np.float32(inp.scale)
    assert int(got["in_zero"]) == inp.zero_point and int(got["out_size"]) == 128
    assert int(got["score_kind"]) == 1 and int(got["centres"]) == len(cfg.centres)
    np.testing.assert_array_equal(np.float32(got["mean"].split()), cfg.stats_mean)
    np.testing.assert_array_equal(np.float32(got["std"].split()), cfg.stats_std)
    np.testing.assert_array_equal(np.float32(got["centre"].split()), cfg.centres[1])


def test_refusals(stats_export, stats_run, data_root, tmp_path):
    r = run_py("-m", "export", "--run", str(stats_run), "--machine", MACHINE, "--data-root",
               str(data_root), "--out", str(tmp_path / "pruned"), "--prune", "0.5")
    assert r.returncode == 2 and "nothing to prune" in r.stderr and "Traceback" not in r.stderr
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    with pytest.raises(tflm.ModelError, match="128 clip statistics"):
        carray.write(tmp_path / "a", AD01.read_bytes(), cfg)  # a window model (640 inputs)
    from dataclasses import replace
    with pytest.raises(tflm.ModelError, match="stats_mean"):
        carray.write(tmp_path / "b", tfl, replace(cfg, stats_mean=None))
    with pytest.raises(tflm.ModelError, match="frame_zero"):
        carray.write(tmp_path / "c", tfl, replace(cfg, frame_zero=200))


# ---- the emulated firmware -----------------------------------------------------------------

def _build(model_dir, sanitize: bool, machine: str = "test-export-stats"):
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu", f"MACHINE={machine}",
                    f"MODEL_DIR={model_dir}"] + (["SANITIZE=1"] if sanitize else []),
                   check=True, stdout=subprocess.DEVNULL)
    return ROOT / "firmware/build" / ("emu-san" if sanitize else "emu") / machine / "firmware-emu"


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "asan-ubsan"])
def stats_device(request, stats_export):
    from host.device import Device
    from host.link import Emulator
    out, report = stats_export
    with Emulator(_build(out, request.param)) as emu:
        link = emu.link()
        dev = Device(link, timeout=20)
        assert dev.info().model_sha256.hex() == report["sha256"]
        yield dev
        link.close()
        assert emu.proc.poll() is None, "the emulator died"


@pytest.fixture(scope="module")
def logmel_tool():
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "-f", "dsp/dsp.mk",
                    "logmel-tool"], check=True)
    return ROOT / "firmware/build/tools/logmel-tool"


def _device_logmel(tool, pcm) -> np.ndarray:
    """The firmware front end's own float32 log-mel (the same C code the emulator runs)."""
    r = subprocess.run([str(tool), "1024"], input=pcm.astype("<i2").tobytes(),
                       capture_output=True, check=True)
    return np.frombuffer(r.stdout, np.float32).reshape(-1, FEATURES.n_mels)


def test_emulator_scores_every_clip_exactly_as_the_reference(stats_export, data_root,
                                                             stats_device, logmel_tool):
    from host.device import feature_chunks, pcm_chunks
    from host.protocol import ClipMode
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    ref = Int8Reference(tfl, cfg)
    in_q, _ = tflm.io_quant(tfl)
    assert (ref.frame_scale, ref.frame_zero) == (cfg.frame_scale, cfg.frame_zero) != \
        (in_q.scale, in_q.zero_point)  # FEATURES frames: the frame constants, not the input's
    clips = list_clips(data_root, MACHINE, "test")
    assert len(clips) >= 10
    for clip in clips:
        pcm = load_pcm16(clip.path)
        frames = ref.frames(logmel(pcm.astype(np.float32) / 32768))
        feat = stats_device.score(ClipMode.FEATURES, feature_chunks(frames))
        want = ref.verdict_frames(frames)
        assert feat.score == want.score, clip.name                       # bit for bit
        assert (feat.frames, feat.inferences) == (len(frames), 1)
        assert feat.decision == int(want.anomaly), clip.name
        assert feat.inference_cycles > 0
        got = stats_device.score(ClipMode.PCM, pcm_chunks(pcm))
        # the device's own front end gives the device's frames: with those, exact as well
        assert got.score == ref.score(_device_logmel(logmel_tool, pcm)), clip.name
        assert got.score == pytest.approx(feat.score, rel=1e-3)  # a rare frame one step off
        assert (got.frames, got.inferences) == (FEATURES.n_frames(len(pcm)), 1)


def test_the_device_decides_each_domain_with_its_threshold(stats_export, data_root, tmp_path):
    """The export carries a threshold per domain; the device compares a clip's score with the
    one of the domain its discriminant gives the clip. With the source threshold above every
    score and the target one below, the device flags exactly the clips the reference puts in
    the target domain (both domains occur among the test clips)."""
    import shutil

    from host.device import Device, feature_chunks
    from host.link import Emulator
    from host.protocol import ClipMode
    out, report = stats_export
    _, tfl, cfg = load_export(out)
    assert cfg.threshold_target is not None and report["threshold_target"] == cfg.threshold_target
    assert f"#define FS_MODEL_THRESHOLD_TARGET " in (out / "model_config.h").read_text()
    model = tmp_path / "model"
    shutil.copytree(out, model)
    text = (model / "model_config.h").read_text()
    text = re.sub(r"#define FS_MODEL_THRESHOLD \S+", "#define FS_MODEL_THRESHOLD 3.0e38f", text)
    text = re.sub(r"#define FS_MODEL_THRESHOLD_TARGET \S+",
                  "#define FS_MODEL_THRESHOLD_TARGET -1.0f", text)
    (model / "model_config.h").write_text(text)
    ref = Int8Reference(tfl, cfg)
    domains, flagged = [], []
    with Emulator(_build(model, False, "test-export-stats-domains")) as emu:
        dev = Device(emu.link(), timeout=20)
        for clip in list_clips(data_root, MACHINE, "test"):
            frames = ref.frames(logmel(load_pcm16(clip.path).astype(np.float32) / 32768))
            domains.append(ref.verdict_frames(frames).domain)
            flagged.append(dev.score(ClipMode.FEATURES, feature_chunks(frames)).decision)
    assert set(domains) == {0, 1}
    assert flagged == domains


def test_clip_without_frames_is_an_error_not_a_crash(stats_export, stats_device, logmel_tool):
    from host.device import DeviceError, feature_chunks, pcm_chunks
    from host.protocol import ClipMode
    with pytest.raises(DeviceError, match="clip_too_short.*no log-mel frames"):
        stats_device.score(ClipMode.FEATURES, [])
    # still responsive: one frame is a clip (its std is 0)
    _, tfl, cfg = load_export(stats_export[0])
    ref = Int8Reference(tfl, cfg)
    one = ref.frames(np.full((1, FEATURES.n_mels), -20.0, np.float32))
    r = stats_device.score(ClipMode.FEATURES, feature_chunks(one))
    assert (r.frames, r.inferences) == (1, 1) and r.score == ref.score_frames(one)
    # PCM without a sample still gives the front end's one zero-padded frame
    empty = np.zeros(0, np.int16)
    r = stats_device.score(ClipMode.PCM, pcm_chunks(empty))
    assert (r.frames, r.inferences) == (1, 1)
    assert r.score == ref.score(_device_logmel(logmel_tool, empty))
    with pytest.raises(ValueError, match="no frames"):
        ref.score_frames(np.zeros((0, FEATURES.n_mels), np.int8))


def test_model_check_at_start_up_refuses_a_window_model(stats_export, tmp_path):
    """A stats build whose model is not a 128-value int8 input (MLPerf Tiny's ad01, 640 values):
    every clip gets a model error that says why."""
    import shutil
    from host.device import Device, DeviceError
    from host.link import Emulator
    from host.protocol import ClipMode
    out, _ = stats_export
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    ad01 = AD01.read_bytes()
    (bad / "model_data.c").write_text(carray._array_text("fs_model_data", ad01))
    (bad / "model_data.h").write_text(carray._data_header(len(ad01), carray.sha256(ad01)))
    arena = carray.arena_with_margin(tflm.arena_bytes(ad01))
    c = bad / "model_config.h"
    c.write_text(re.sub(r"#define FS_MODEL_ARENA_BYTES \d+u", f"#define FS_MODEL_ARENA_BYTES {arena}u",
                        c.read_text()))
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu",
                    "MACHINE=test-export-stats-bad", f"MODEL_DIR={bad}"], check=True,
                   stdout=subprocess.DEVNULL)
    with Emulator(ROOT / "firmware/build/emu/test-export-stats-bad/firmware-emu") as emu:
        dev = Device(emu.link(), timeout=20)
        dev.info()
        with pytest.raises(DeviceError, match="model.*model input 640 / output 640 bytes"):
            dev.score(ClipMode.FEATURES, [bytes(128)])


# ---- the residual scorer (pca_components) ----------------------------------------------------

PCA_PROBE = r"""
#include <stdio.h>
#include "model_config.h"
#include "model_stats.h"
#include "model_scoring.h"
int main(void) {
    printf("k %d\n", FS_MODEL_PCA_COMPONENTS);
#if FS_MODEL_PCA_COMPONENTS > 0
    printf("mean");
    for (int i = 0; i < 2 * FS_FEAT_N_MELS; i++) printf(" %.9g", (double)fs_model_pca_mean[i]);
    printf("\nlast");
    for (int i = 0; i < 2 * FS_FEAT_N_MELS; i++)
        printf(" %.9g", (double)fs_model_pca_components[FS_MODEL_PCA_COMPONENTS - 1][i]);
    printf("\ninv %.9g %.9g\naxis", (double)fs_model_pca_inv_scale[0],
           (double)fs_model_pca_inv_scale[1]);
    for (int i = 0; i < FS_MODEL_OUTPUT_SIZE; i++) printf(" %.9g", (double)fs_model_domain_axis[i]);
    printf("\n");
#endif
    (void)fs_model_stats_mean;
    (void)fs_model_stats_std;
    (void)fs_model_centres;
    (void)fs_model_centre_offset;
    (void)fs_model_centre_inv_scale;
    return 0;
}
"""


def _pca_probe(out, tmp_path) -> dict:
    (tmp_path / "pca_probe.c").write_text(PCA_PROBE)
    exe = tmp_path / "pca_probe"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{out}",
                    str(tmp_path / "pca_probe.c"), "-o", str(exe)], check=True)
    text = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in text.strip().splitlines())


def test_export_carries_the_residual_scorer(stats_export, stats_run, tmp_path):
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    c = load_run(stats_run).constants
    assert "pca_components" in c and cfg.n_pca == len(c["pca_components"]) > 0
    np.testing.assert_array_equal(cfg.pca_mean, np.asarray(c["pca_mean"], np.float32))
    np.testing.assert_array_equal(cfg.pca_components, np.asarray(c["pca_components"], np.float32))
    np.testing.assert_array_equal(cfg.pca_inv_scale, np.asarray(c["pca_inv_scale"], np.float32))
    np.testing.assert_array_equal(cfg.domain_axis, np.asarray(c["domain_axis"], np.float32))
    got = _pca_probe(out, tmp_path)
    assert int(got["k"]) == cfg.n_pca
    np.testing.assert_array_equal(np.float32(got["mean"].split()), cfg.pca_mean)
    np.testing.assert_array_equal(np.float32(got["last"].split()), cfg.pca_components[-1])
    np.testing.assert_array_equal(np.float32(got["inv"].split()), cfg.pca_inv_scale)
    np.testing.assert_array_equal(np.float32(got["axis"].split()), cfg.domain_axis)
    from dataclasses import replace
    with pytest.raises(tflm.ModelError, match="together"):
        carray.write(tmp_path / "d", tfl, replace(cfg, pca_inv_scale=None))
    with pytest.raises(tflm.ModelError, match="pca_components"):
        carray.write(tmp_path / "e", tfl, replace(cfg, pca_components=cfg.pca_components[:, :9]))
    with pytest.raises(tflm.ModelError, match="domain_axis"):
        carray.write(tmp_path / "f", tfl, replace(cfg, domain_axis=cfg.domain_axis[:9]))
    with pytest.raises(tflm.ModelError, match="domain_axis"):
        carray.write(tmp_path / "g", tfl, replace(cfg, domain_axis=cfg.domain_axis * np.nan))
    with pytest.raises(tflm.ModelError, match="threshold_target must be a finite"):
        carray.write(tmp_path / "h", tfl, replace(cfg, threshold_target=float("inf")))
    with pytest.raises(tflm.ModelError, match="threshold_target needs the domain discriminant"):
        carray.write(tmp_path / "i", tfl, replace(cfg, pca_mean=None, pca_components=None,
                                                  pca_inv_scale=None, domain_axis=None))


def test_an_export_from_before_the_domain_discriminant_is_refused(stats_export, tmp_path):
    """An export.json whose residual scorer has no domain_axis (written by an older version)
    would score every clip with the source domain's scale: refused, naming the file and the
    command that writes it again."""
    import shutil

    from asd.cli import UsageError
    out, _ = stats_export
    old = tmp_path / "old"
    shutil.copytree(out, old)
    meta = json.loads((old / "export.json").read_text())
    del meta["device"]["domain_axis"]
    (old / "export.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match=r"export.json: exported before .*make export MACHINE="):
        load_export(old)


def test_int8_reference_is_distance_times_residual(stats_export, data_root):
    """The reference's score is the device-order product of the Gaussian distance, the residual
    of the int8 frames' band statistics and the clip's domain's scale; the residual is close to
    train's pca_residual, and the int8 score close to the float run's."""
    from dataclasses import replace
    from export.reference import score_in_device_order, stats_input, stats_residual
    from train.models.stats import device_band_stats, pca_residual
    out, _ = stats_export
    _, tfl, cfg = load_export(out)
    ref = Int8Reference(tfl, cfg)
    plain = Int8Reference(tfl, replace(cfg, pca_mean=None, pca_components=None,
                                       pca_inv_scale=None, domain_axis=None))
    for clip in list_clips(data_root, MACHINE, "test")[:4]:
        frames = ref.frames(logmel(load_pcm16(clip.path).astype(np.float32) / 32768))
        r = stats_residual(frames, cfg)
        band = device_band_stats(frames, cfg.frame_scale, cfg.frame_zero)
        assert r == pytest.approx(pca_residual(band, cfg.pca_mean, cfg.pca_components), rel=1e-9)
        y = ref._invoke(stats_input(frames, cfg, ref.in_q))[None]
        d = plain.score_frames(frames)        # the Gaussian score alone, as float32
        s = ref.score_frames(frames)
        assert s == score_in_device_order(y, cfg, ref.out_q, r)
        assert s != d
        # the product, up to the float32 rounding of d, with one of the two domain scales
        assert any(s == pytest.approx(d * r * float(v), rel=1e-6) for v in cfg.pca_inv_scale)


@pytest.fixture(scope="module")
def plain_stats_export(data_root, tmp_path_factory):
    """A stats run without the residual scorer (pca_components = 0), exported."""
    from export.pipeline import ExportOptions, run_export
    from train.config import make_config
    from train.pipeline import fit_run
    base = tmp_path_factory.mktemp("export-stats-pca0")
    fit_run(make_config(MACHINE, "stats", pca_components=0), data_root, base / "run", None,
            progress=False)
    out = base / "model"
    opts = ExportOptions(base / "run", MACHINE, data_root, out, calibration=100, cache_dir=None,
                         progress=False)
    return out, run_export(opts)


def test_run_without_residual_exports_and_the_emulator_matches(plain_stats_export, data_root,
                                                               tmp_path):
    from host.device import Device, feature_chunks
    from host.link import Emulator
    from host.protocol import ClipMode
    out, report = plain_stats_export
    check_drop(report, 1.0, out)
    _, tfl, cfg = load_export(out)
    assert cfg.n_pca == 0 and "pca_components" not in json.loads(
        (out / "export.json").read_text())["device"]
    assert _pca_probe(out, tmp_path) == {"k": "0"}
    assert cfg.threshold_target is None      # no discriminant: one threshold
    assert "FS_MODEL_THRESHOLD_TARGET" not in (out / "model_config.h").read_text()
    assert "fs_model_pca" not in (out / "model_stats.h").read_text() + \
        (out / "model_scoring.h").read_text()
    ref = Int8Reference(tfl, cfg)
    with Emulator(_build(out, False, "test-export-stats-pca0")) as emu:
        link = emu.link()
        dev = Device(link, timeout=20)
        for clip in list_clips(data_root, MACHINE, "test"):
            frames = ref.frames(logmel(load_pcm16(clip.path).astype(np.float32) / 32768))
            r = dev.score(ClipMode.FEATURES, feature_chunks(frames))
            assert r.score == ref.score_frames(frames), clip.name
        link.close()
