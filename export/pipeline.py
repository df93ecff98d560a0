"""One export: (prune + fine-tune) -> ONNX -> int8 TFLite -> verify on every test clip with
TFLite Micro -> C arrays in firmware/models/<machine>/, with export.json beside them."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.stats import hmean, spearmanr

from asd.cli import UsageError
from asd.metrics import section_metrics
from export import carray, convert, tflm
from export.carray import DeviceConfig
from export.prune import fine_tune, prune_to
from export.reference import Int8Reference
from train.complexity import complexity
from train.data import load_split, load_training
from train.kinds import KINDS
from train.run import Run, load_run, write_json
from train.threshold import threshold_for

STAGES = ("float", "onnx", "int8")


@dataclass(frozen=True)
class ExportOptions:
    run_dir: Path
    machine: str
    data_root: Path = Path("data")
    out_dir: Path | None = None          # default firmware/models/<machine>
    prune: float | None = None           # fraction of MACs kept
    max_drop: float = 1.0                # points of official score int8 may lose vs float
    calibration: int = 500               # representative inputs from training clips
    cache_dir: Path | None = Path(".cache/features")
    progress: bool = True


class ExportFailed(UsageError):
    """The int8 model lost more than the allowed bound; files were still written for inspection."""


def device_config(run: Run, macs: int) -> DeviceConfig:
    """The firmware's configuration of a run: the kind's fields (train/kinds/), or UsageError
    for a kind that does not export."""
    kind = run.kind
    if kind.export_refusal:
        exporting = [name for name, k in KINDS.items() if not k.export_refusal]
        raise UsageError(f"{kind.name}: only {', '.join(exporting[:-1])} and {exporting[-1]} "
                         f"export to the chip ({kind.export_refusal})")
    return DeviceConfig(machine=run.config.machine, threshold=run.threshold, macs=macs,
                        threshold_target=run.threshold_target,
                        **kind.device_fields(run.config, run.constants))


def _representative(run: Run, logmels: list[np.ndarray], n: int, seed: int) -> np.ndarray:
    pool = np.concatenate([run.inputs(lm) for lm in logmels])
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))
    rep = pool[pick]
    if run.kind.calibration_scales:  # unscaled rows first: the ONNX check uses rep[:64]
        rep = np.concatenate([rep * np.float32(f) for f in run.kind.calibration_scales])
    return rep


def _prune(run: Run, keep: float, logmels, data, progress: bool) -> Run:
    cfg = run.config
    student = prune_to(cfg, run.model, keep)
    inputs = np.concatenate([run.inputs(lm) for lm in logmels])
    student = fine_tune(cfg, student, run.model, inputs, progress=progress)
    constants, train_scores, domains = run.kind.fit_scoring(cfg, student, data)
    threshold = threshold_for(cfg, train_scores, domains, data.train.is_target)
    return Run(cfg, student, constants, threshold["threshold"], run.run_dir,
               threshold.get("threshold_target"))


def _scores(run: Run, onnx_path: Path, ref: Int8Reference, logmels) -> dict[str, np.ndarray]:
    out = {k: [] for k in STAGES}
    for lm in logmels:
        x = run.inputs(lm)
        out["float"].append(run.score_outputs(x, run.outputs(x), lm))
        out["onnx"].append(run.score_outputs(x, convert.onnx_outputs(onnx_path, x), lm))
        out["int8"].append(ref.score(lm))
    return {k: np.asarray(v) for k, v in out.items()}


def _metrics(scores: np.ndarray, clips) -> dict | None:
    if any(c.label is None or c.domain is None for c in clips):
        return None  # evaluation clips without ground truth
    m = section_metrics(scores, [c.label == "anomaly" for c in clips], [c.domain for c in clips])
    d = m.as_dict()
    d["official_score"] = float(hmean([m.auc_source, m.auc_target, m.pauc]))
    return d


def run_export(opts: ExportOptions) -> dict:
    t0 = time.monotonic()
    run = load_run(opts.run_dir)
    if run.config.machine != opts.machine:
        raise UsageError(f"{opts.run_dir} was trained on {run.config.machine}, not {opts.machine}")
    device_config(run, 0)  # refuse ae-maha before any work
    if run.kind.prune_refusal and opts.prune is not None:
        raise UsageError(run.kind.prune_refusal)
    out_dir = Path(opts.out_dir or Path("firmware/models") / opts.machine)
    work = Path(opts.run_dir) / "export"
    data = load_training(opts.data_root, opts.machine, opts.cache_dir, opts.progress)
    cfg = run.config
    before = complexity(cfg, run.model)
    report: dict = {"machine": opts.machine, "model": cfg.model, "prune": opts.prune,
                    "unpruned": {"macs_per_inference": before["macs_per_inference"],
                                 "params": before["params"]}}
    test = load_split(opts.data_root, opts.machine, "test", opts.cache_dir, opts.progress)
    if opts.prune is not None and opts.prune < 1:
        report["unpruned"].update(_metrics(np.array([run.score(lm) for lm in test.logmels]),
                                           test.clips) or {})
        run = _prune(run, opts.prune, data.train.logmels, data, opts.progress)
    after = complexity(cfg, run.model)
    rep = _representative(run, data.train.logmels, opts.calibration, cfg.seed)
    model, onnx_path, onnx_diff = convert.convert(run.model, run.kind.example_input(cfg), rep[:64], rep,
                                                  work)
    clip_frames = int(np.median([lm.shape[0] for lm in data.train.logmels]))
    dcfg = replace(device_config(run, after["macs_per_inference"]),
                   monitor_window_hops=carray.monitor_window_hops(clip_frames))
    facts = carray.write(out_dir, model, dcfg)  # refuses a model the firmware cannot run
    ref = Int8Reference(model, dcfg)
    scores = _scores(run, onnx_path, ref, test.logmels)
    names = [c.name for c in test.clips]
    for stage, s in scores.items():
        _write_stage_csv(work / f"scores_{stage}.csv", names, s)
    report.update({stage: _metrics(s, test.clips) for stage, s in scores.items()})
    report.update({
        "macs_per_inference": after["macs_per_inference"], "params": after["params"],
        "macs_int8_graph": tflm.count_macs(model),
        "inferences_per_10s_clip": after["inferences_per_10s_clip"],
        "model_bytes": facts["model_bytes"], "arena_bytes": facts["arena_bytes"],
        "arena_bytes_tflm": facts["arena_bytes_tflm"], "sha256": facts["sha256"],
        "ops": facts["ops"], "threshold": float(run.threshold),
        **({} if run.threshold_target is None else
           {"threshold_target": float(run.threshold_target)}),
        "onnx_max_abs_diff": onnx_diff, "test_clips": len(names),
        "score_correlation": {"onnx": _spearman(scores["float"], scores["onnx"]),
                              "int8": _spearman(scores["float"], scores["int8"])},
        "device": _device_json(dcfg),
    })
    (out_dir / "model.tflite").write_bytes(model)
    shutil.copyfile(onnx_path, out_dir / "model.onnx")
    write_json(out_dir / "export.json", report)
    report["seconds"] = round(time.monotonic() - t0, 1)
    return report


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(a, b).statistic) if len(a) > 1 else 1.0


def _write_stage_csv(path: Path, names, scores) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{n},{float(s)!r}\n" for n, s in zip(names, scores)))


def _device_json(d: DeviceConfig) -> dict:
    out = {k: getattr(d, k) for k in ("machine", "model_kind", "score_kind", "window_frames",
                                      "window_hop", "threshold", "macs",
                                      "monitor_window_hops")}
    if d.centres is not None:
        out.update(centres=np.asarray(d.centres).tolist(),
                   centre_offset=np.asarray(d.centre_offset).tolist(),
                   centre_inv_scale=np.asarray(d.centre_inv_scale).tolist())
    if d.input_kind != "window":  # ae and cls exports keep their keys (and bytes) unchanged
        out.update(input_kind=d.input_kind, stats_mean=np.asarray(d.stats_mean).tolist(),
                   stats_std=np.asarray(d.stats_std).tolist(), frame_scale=d.frame_scale,
                   frame_zero=d.frame_zero)
    if d.n_pca:
        out.update(pca_mean=np.asarray(d.pca_mean).tolist(),
                   pca_components=np.asarray(d.pca_components).tolist(),
                   pca_inv_scale=np.asarray(d.pca_inv_scale).tolist(),
                   domain_axis=np.asarray(d.domain_axis).tolist())
    if d.threshold_target is not None:   # exports with one threshold keep their keys
        out["threshold_target"] = d.threshold_target
    return out


DEVICE_ARRAYS = ("centres", "centre_offset", "centre_inv_scale", "stats_mean", "stats_std",
                 "pca_mean", "pca_components", "pca_inv_scale", "domain_axis")


def device_config_from_json(d: dict) -> DeviceConfig:
    arrays = {k: np.asarray(d[k], np.float32) for k in DEVICE_ARRAYS if k in d}
    extra = {k: d[k] for k in ("input_kind", "frame_scale", "frame_zero", "monitor_window_hops",
                               "threshold_target") if k in d}
    return DeviceConfig(d["machine"], d["model_kind"], d["score_kind"], d["window_frames"],
                        d["window_hop"], d["threshold"], d["macs"], **arrays, **extra)


def check_drop(report: dict, max_drop: float, out_dir: Path) -> None:
    """ExportFailed when the int8 model lost more than `max_drop` points of official score."""
    f, q = report.get("float"), report.get("int8")
    if not f or not q:
        return
    drop = 100 * (f["official_score"] - q["official_score"])
    report["int8_drop_points"] = round(drop, 3)
    if drop > max_drop:
        raise ExportFailed(f"int8 official score {q['official_score']:.4f} is {drop:.2f} points "
                           f"below float {f['official_score']:.4f} (bound {max_drop:g}; "
                           f"--max-drop to change). Files for inspection: {out_dir}")


def load_export(model_dir: Path) -> tuple[dict, bytes, DeviceConfig]:
    """export.json, the .tflite and the device config of an exported model directory."""
    model_dir = Path(model_dir)
    meta = model_dir / "export.json"
    if not meta.exists():
        raise UsageError(f"{model_dir}: no export.json; run `make export MACHINE=<machine>`")
    report = json.loads(meta.read_text())
    device = report["device"]
    if "pca_components" in device and "domain_axis" not in device:   # before the discriminant
        raise UsageError(f"{meta}: exported before the stats model's domain discriminant "
                         f"(no domain_axis); export it again with `make export "
                         f"MACHINE={report.get('machine', '<machine>')}`")
    return report, (model_dir / "model.tflite").read_bytes(), device_config_from_json(device)
