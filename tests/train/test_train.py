"""Training end to end on a tiny synthetic set: files and formats, determinism, resume, scoring
an obvious anomaly, and that training never reads test/."""
from __future__ import annotations

import builtins
import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import train
import train.models.stats
import train.fit
import train.score
from asd.cli import UsageError
from asd.dataset import list_clips
from asd.features import logmel
from train.__main__ import main
from train.config import TrainConfig, make_config
from train.pipeline import fit_run

EPOCHS = {"ae": "30", "ae-maha": "30", "cls": "3", "stats": None}  # stats trains no network


def train_cli(root, cache, out, model, machine="fan", seed=0, extra=()):
    argv = ["--data-root", str(root), "--machine", machine, "--model", model, "--out", str(out),
            *(["--epochs", EPOCHS[model]] if EPOCHS[model] else []), "--seed", str(seed),
            "--cache-dir", str(cache), "--no-progress", *extra]
    assert main(argv) == 0
    return out


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def runs(tiny_root, cache_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return {m: train_cli(tiny_root, cache_dir, base / m, m)
            for m in ("ae", "ae-maha", "cls", "stats")}


@pytest.mark.parametrize("model", ["ae", "ae-maha", "cls", "stats"])
def test_run_dir_holds_every_artefact(runs, tiny_root, model):
    d = runs[model]
    for name in ("config.json", "model.pt", "scoring.npz", "threshold.json", "train_scores.npy",
                 "complexity.json", "metrics.json", "result.csv", "result.md", "run.json",
                 "anomaly_score_fan_section_00_test.csv",
                 "decision_result_fan_section_00_test.csv"):
        assert (d / name).is_file(), name
    assert not (d / "checkpoint.pt").exists()
    tests = list_clips(tiny_root, "fan", "test")
    scores = read_csv(d / "anomaly_score_fan_section_00_test.csv")
    decisions = read_csv(d / "decision_result_fan_section_00_test.csv")
    assert [r[0] for r in scores] == [c.name for c in tests] == [r[0] for r in decisions]
    assert all(np.isfinite(float(r[1])) for r in scores)
    assert {r[1] for r in decisions} <= {"0", "1"}
    cfg = TrainConfig.load(d / "config.json")
    assert cfg == make_config("fan", model, int(EPOCHS[model] or 0), 0)
    thr = json.loads((d / "threshold.json").read_text())
    assert thr["percentile"] == 0.9 and np.isfinite(thr["threshold"])
    assert len(np.load(d / "train_scores.npy")) == len(list_clips(tiny_root, "fan", "train"))
    comp = json.loads((d / "complexity.json").read_text())
    assert comp["macs_per_10s_clip"] == comp["macs_per_inference"] * comp["inferences_per_10s_clip"]
    metrics = json.loads((d / "metrics.json").read_text())
    assert all(0.0 <= metrics[k] <= 1.0 for k in ("auc_source", "auc_target", "pauc"))


def test_stats_decides_each_domain_with_its_own_threshold(runs, tiny_root, cache_dir):
    """The stats run has a threshold per domain (the conformal quantile of the held-out scores
    of the training clips its discriminant puts in each domain); its decisions CSV compares
    each test clip's score with the threshold of the clip's discriminant domain. The other
    kinds keep one threshold."""
    from train.data import load_split
    from train.stats import is_target_like
    from train.score import clip_embedding
    thr = json.loads((runs["stats"] / "threshold.json").read_text())
    # fitted jointly on the true domains when both have enough clips (train/threshold.py)
    n_target = sum(c.domain == "target" for c in list_clips(tiny_root, "fan", "train"))
    assert thr["method"] == ("conformal-joint" if n_target >= 9 else "conformal-per-domain")
    assert np.isfinite(thr["threshold_target"])
    assert sum(thr["clips_per_domain"]) == len(list_clips(tiny_root, "fan", "train"))
    run = train.load_run(runs["stats"])
    assert (run.threshold, run.threshold_target) == (thr["threshold"], thr["threshold_target"])
    assert run.decide(thr["threshold_target"] + 1e-9, 1) and not run.decide(
        thr["threshold_target"] - 1e-9, 1)
    assert run.decide(thr["threshold"] + 1e-9, 0) and not run.decide(thr["threshold"] - 1e-9, 0)
    test = load_split(tiny_root, "fan", "test", cache_dir, False)
    csv_rows = read_csv(runs["stats"] / "decision_result_fan_section_00_test.csv")
    domains = []
    for lm, row in zip(test.logmels, csv_rows):
        score, domain = run.score_and_domain(lm)
        e = clip_embedding(run.outputs(run.inputs(lm)))
        assert domain == int(is_target_like(e, run.constants["domain_axis"]))
        want = score > (thr["threshold_target"] if domain else thr["threshold"])
        assert row[1] == str(int(want))
        domains.append(domain)
    assert set(domains) == {0, 1}
    for model in ("ae", "ae-maha", "cls"):
        assert train.load_run(runs[model]).threshold_target is None
        assert "threshold_target" not in json.loads((runs[model] / "threshold.json").read_text())


@pytest.mark.parametrize("model", ["ae", "ae-maha", "cls", "stats"])
def test_load_run_reproduces_the_csv_and_scores_from_outputs(runs, tiny_root, model):
    run = train.load_run(runs[model])
    assert not run.model.training
    clip = list_clips(tiny_root, "fan", "test")[0]
    lm = logmel(sf.read(str(clip.path), dtype="float32")[0])
    s = train.clip_score(run, lm)
    csv_score = float(read_csv(runs[model] / "anomaly_score_fan_section_00_test.csv")[0][1])
    assert s == pytest.approx(csv_score, rel=1e-6)
    x = run.inputs(lm)
    assert x.shape[1:] == {"cls": (1, 32, 128), "stats": (128,)}.get(model, (640,))
    # the score as a function of network outputs: what export feeds dequantized int8 outputs into
    y = run.outputs(x)
    assert run.score_outputs(x, y, lm) == pytest.approx(s, rel=1e-9)
    band = train.models.stats.band_stats(lm) if model == "stats" else None
    assert train.score_outputs(model, x, y, run.constants, band) == pytest.approx(s, rel=1e-9)
    if model == "stats":   # the residual scorer is on by default and needs the band statistics
        with pytest.raises(ValueError, match="band statistics"):
            run.score_outputs(x, y)
    if model == "cls":
        c = run.constants
        assert c["centres"].shape[0] <= 32 and c["centres"].shape[1] <= 128
        assert c["scales"].shape == (c["centres"].shape[0],)
        # the network's last layer whitens the source training clips' embeddings: zero mean,
        # at most unit variance in every direction (the ridge keeps it below 1)
        from train.data import load_split
        train_clips = load_split(tiny_root, "fan", "train", None, False)
        emb = np.stack([train.score.clip_embedding(run.outputs(run.inputs(lm)))
                        for c, lm in zip(train_clips.clips, train_clips.logmels)
                        if c.domain == "source"])
        assert np.abs(emb.mean(axis=0)).max() < 1e-4
        assert np.linalg.eigvalsh(np.cov(emb, rowvar=False)).max() < 1.0 + 1e-4


@pytest.mark.parametrize("model", ["ae", "cls", "stats"])
def test_same_seed_same_scores(runs, tiny_root, tmp_path, model):
    # a fresh cache: the AE would otherwise be reused from the network cache, not retrained
    cache_dir = tmp_path / "cache"
    again = train_cli(tiny_root, cache_dir, tmp_path / "again", model)
    name = "anomaly_score_fan_section_00_test.csv"
    assert read_csv(again / name) == read_csv(runs[model] / name)
    if model == "stats":
        # its seed only draws the cross-fitting folds, and the tiny set has fewer training
        # clips than train.stats.FOLDS: leave-one-out, the same for every seed
        return
    other = train_cli(tiny_root, cache_dir, tmp_path / "other", model, seed=1)
    assert read_csv(other / name) != read_csv(runs[model] / name)


def test_ae_maha_reuses_the_ae_network(runs):
    import torch
    a = torch.load(runs["ae"] / "model.pt", weights_only=True)
    b = torch.load(runs["ae-maha"] / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_run_resumes_to_the_same_result(runs, tiny_root, cache_dir, tmp_path,
                                                    monkeypatch):
    save = train.fit._save_checkpoint

    def save_then_die(run_dir, epoch, *args):
        save(run_dir, epoch, *args)
        if epoch == 2:  # of 3
            raise KeyboardInterrupt
    monkeypatch.setattr(train.fit, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_cli(tiny_root, cache_dir, tmp_path / "r", "cls")
    assert (tmp_path / "r" / "checkpoint.pt").exists()
    monkeypatch.setattr(train.fit, "_save_checkpoint", save)
    train_cli(tiny_root, cache_dir, tmp_path / "r", "cls")
    name = "anomaly_score_fan_section_00_test.csv"
    assert read_csv(tmp_path / "r" / name) == read_csv(runs["cls"] / name)


def _burst(lm: np.ndarray) -> np.ndarray:
    """An obvious anomaly: a loud white-noise burst (every band 20 dB over the clip's loudest
    bin) over the middle half of the clip."""
    out = lm.copy()
    n = len(lm)
    out[n // 4: 3 * n // 4] = lm.max() + 20.0
    return out


@pytest.mark.parametrize("model", ["ae", "ae-maha", "cls", "stats"])
def test_an_obvious_anomaly_scores_above_normal_clips(runs, tiny_root, model):
    run = train.load_run(runs[model])
    normals = [c for c in list_clips(tiny_root, "fan", "test") if c.label == "normal"]
    lms = [logmel(sf.read(str(c.path), dtype="float32")[0]) for c in normals]
    normal = [run.score(lm) for lm in lms]
    anomalous = [run.score(_burst(lm)) for lm in lms]
    assert min(anomalous) > max(normal)
    assert all(run.decide(s) for s in anomalous)


def test_training_never_reads_test(tiny_root, cache_dir, tmp_path, monkeypatch):
    """Fitting must not list, open or decode anything under test/. As root chmod does not stop
    reads, so every way in is wrapped to fail on test/ paths; as a user test/ is also chmod 000."""
    test_dir = (tiny_root / "dev_data/raw/fan/test").resolve()

    def guard(path):
        p = Path(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else None
        if p is not None and (p.resolve() == test_dir or test_dir in p.resolve().parents):
            raise AssertionError(f"training touched {p}")

    def wrap(fn):
        def wrapped(path, *a, **k):
            guard(path)
            return fn(path, *a, **k)
        return wrapped
    monkeypatch.setattr(builtins, "open", wrap(builtins.open))
    monkeypatch.setattr(sf, "read", wrap(sf.read))
    monkeypatch.setattr(sf, "SoundFile", wrap(sf.SoundFile))
    monkeypatch.setattr(os, "scandir", wrap(os.scandir))
    monkeypatch.setattr(os, "listdir", wrap(os.listdir))
    iterdir = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: (guard(self), iterdir(self))[1])
    mode = test_dir.stat().st_mode
    if os.geteuid() != 0:
        test_dir.chmod(0)
    try:
        for model in ("ae-maha", "cls", "stats"):
            cfg = make_config("fan", model, 1 if model != "stats" else None, 0)
            run = fit_run(cfg, tiny_root, tmp_path / model, cache_dir / "guarded", progress=False)
            assert (tmp_path / model / "model.pt").exists() and run.threshold > 0
    finally:
        test_dir.chmod(mode)
    # and the guard does catch a read of test/
    with pytest.raises(AssertionError, match="training touched"):
        list_clips(tiny_root, "fan", "test")


def test_a_run_from_an_older_network_is_refused_clearly(runs, tmp_path):
    """A cls run saved before the whitening layer existed: a message naming the fix, no
    traceback from load_state_dict."""
    old = tmp_path / "old"
    shutil.copytree(runs["cls"], old)
    state = torch.load(old / "model.pt", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("whiten.")}, old / "model.pt")
    with pytest.raises(UsageError, match=r"older version trained it: delete .*old"):
        train.load_run(old)
