"""One run end to end: prepare RUN_DIR, fit on train/ (+ supplemental/), then score test/.

`fit_run` and `evaluate` are separate on purpose: `fit_run` only ever receives TrainData, and the
test "nothing reads test/ during training" guards exactly that call.
"""
from __future__ import annotations

import dataclasses
import json
import hashlib
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from asd.cli import UsageError
from asd.dataset import DataError, list_clips
from asd.metrics import (decision_rates, format_markdown, result_table, section_metrics,
                         write_decisions, write_result_table, write_scores)
from train.complexity import complexity
from train.config import TrainConfig
from train.data import load_split, load_training
from train.fit import CHECKPOINT, Fitted
from train.kinds import kind_of
from train.run import (CLASSES, COMPLEXITY, CONFIG, HISTORY, METRICS, RUN_INFO, Run, is_trained,
                       load_run, save_run, write_json)
from train.threshold import threshold_for


def prepare_run_dir(run_dir: Path, cfg: TrainConfig) -> None:
    """Create RUN_DIR with config.json, or accept it when it holds the same config; refuse else."""
    path = run_dir / CONFIG
    if path.exists():
        try:
            old = TrainConfig.load(path)
        except (ValueError, TypeError) as e:
            raise UsageError(f"{path}: not a config of this version ({e}); "
                             f"use another --out or delete {run_dir}") from None
        if old != cfg:
            raise UsageError(f"{run_dir} holds a run with a different config "
                             f"({'; '.join(old.diff(cfg))}); use another --out or delete it")
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg.save(path)


def fit_run(cfg: TrainConfig, data_root: Path, run_dir: Path, cache_dir: Path | None,
            progress: bool = True) -> Run:
    """Train (or resume, or reuse a finished run) and write every training artefact."""
    prepare_run_dir(run_dir, cfg)
    fingerprint = training_fingerprint(data_root, cfg.machine)
    if is_trained(run_dir):
        info = run_dir / RUN_INFO
        old = json.loads(info.read_text()).get("data_fingerprint") if info.exists() else None
        if old is None:
            raise UsageError(f"{run_dir} does not record which training data it was trained on "
                             f"(an older version made it); delete it or use another --out")
        if old != fingerprint:
            raise UsageError(f"{run_dir} was trained on other training data than "
                             f"{data_root}/.../{cfg.machine} holds now (train/ or supplemental/ "
                             f"changed); use another --out or delete {run_dir}")
        print(f"{run_dir}: already trained with this config and data; reusing it")
        return load_run(run_dir)
    t0 = time.monotonic()
    data = load_training(data_root, cfg.machine, cache_dir, progress)
    if not any(c.domain == "source" for c in data.train.clips):
        raise DataError(f"{data.train.clips[0].path.parent}: no source-domain training clips; "
                        f"at least one section_00_source_train_normal_*.wav is needed")
    fitted = _fit_or_reuse(cfg, data, run_dir, cache_dir, progress)
    constants, train_scores, domains = kind_of(cfg).fit_scoring(cfg, fitted.model, data)
    threshold = threshold_for(cfg, train_scores, domains, data.train.is_target)
    run = Run(cfg, fitted.model, constants, threshold["threshold"], run_dir,
              threshold.get("threshold_target"))
    write_json(run_dir / COMPLEXITY, complexity(cfg, fitted.model))
    save_run(run_dir, run, train_scores, threshold)
    write_json(run_dir / HISTORY, fitted.history)
    if fitted.classes:
        write_json(run_dir / CLASSES, fitted.classes)
    write_json(run_dir / RUN_INFO, {
        "data_root": str(data_root), "fit_seconds": round(time.monotonic() - t0, 2),
        "train_clips": len(data.train), "supplemental_clips": len(data.supplemental),
        "data_fingerprint": fingerprint,
        "torch": torch.__version__, "python": platform.python_version()})
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return run


def training_fingerprint(data_root: Path, machine: str) -> str:
    """Hash of the names and bytes of every clip training may read (train/ and supplemental/):
    a finished run is reused only on the data it was trained on."""
    h = hashlib.sha256()
    for split in ("train", "supplemental"):
        for clip in list_clips(data_root, machine, split):
            h.update(f"{split}/{clip.name}".encode())
            h.update(hashlib.sha256(clip.path.read_bytes()).digest())
    return h.hexdigest()[:24]


def network_key(cfg: TrainConfig, data) -> str:
    """Identity of a trained network: its config (kinds that train the same network, ae and
    ae-maha, share a network_name, which replaces the model name) and the exact training
    log-mels."""
    norm = dataclasses.replace(cfg, model=kind_of(cfg).network_name or cfg.model)
    h = hashlib.sha256(norm.to_json().encode())
    for clip, lm in zip(data.train.clips, data.train.logmels):
        h.update(clip.name.encode())
        h.update(np.ascontiguousarray(lm).tobytes())
    return h.hexdigest()[:24]


def _fit_or_reuse(cfg: TrainConfig, data, run_dir: Path, cache_dir: Path | None,
                  progress: bool) -> Fitted:
    """Train, or reuse the identical network trained before (ae then ae-maha on one machine
    trains one network, not two). The cache is keyed by config and data, like the features;
    only kinds with a network_name use it."""
    kind = kind_of(cfg)
    if cache_dir is None or kind.network_name is None:
        return kind.fit(cfg, data, run_dir, progress)
    path = Path(cache_dir) / "networks" / f"{network_key(cfg, data)}.pt"
    if path.exists():
        state = torch.load(path, weights_only=False)
        model = kind.build(cfg)
        model.load_state_dict(state["model"])
        print(f"{cfg.machine} {cfg.model}: reusing the identical network trained before ({path})")
        return Fitted(model.eval(), state["history"])
    fitted = kind.fit(cfg, data, run_dir, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save({"model": fitted.model.state_dict(), "history": fitted.history}, tmp)
    tmp.replace(path)
    return fitted


def evaluate(run: Run, data_root: Path, cache_dir: Path | None,
             progress: bool = True) -> dict | None:
    """Score test/, write the two official CSVs, and metrics when the ground truth is known."""
    import json
    cfg, run_dir = run.config, run.run_dir
    t0 = time.monotonic()
    test = load_split(data_root, cfg.machine, "test", cache_dir, progress)
    verdicts = [run.score_and_domain(lm) for lm in test.logmels]
    scores = np.array([s for s, _ in verdicts])
    decisions = [run.decide(s, d) for s, d in verdicts]
    names = [c.name for c in test.clips]
    write_scores(run_dir, cfg.machine, names, scores)
    write_decisions(run_dir, cfg.machine, names, decisions)
    seconds = round(time.monotonic() - t0, 2)
    info_path = run_dir / RUN_INFO
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info["score_seconds"] = seconds
    write_json(info_path, info)
    if any(c.label is None or c.domain is None for c in test.clips):
        print(f"{cfg.machine}: test ground truth unknown; wrote scores and decisions only")
        return None
    labels = [c.label == "anomaly" for c in test.clips]
    try:
        m = section_metrics(scores, labels, [c.domain for c in test.clips])
    except ValueError as e:
        print(f"{cfg.machine}: no metrics ({e})")
        return None
    table = {cfg.machine: m}
    write_result_table(run_dir / "result.csv", table)
    (run_dir / "result.md").write_text(format_markdown(result_table(table)))
    metrics = {"machine": cfg.machine, "model": cfg.model, "seed": cfg.seed,
               "epochs": cfg.epochs, **m.as_dict(),
               "fit_seconds": info.get("fit_seconds"), "score_seconds": seconds,
               "decision_accuracy": float(np.mean(
                   [d == y for d, y in zip(decisions, labels)])),
               **decision_rates(decisions, labels, [c.domain for c in test.clips])}
    write_json(run_dir / METRICS, metrics)
    return metrics
