"""Training loops (ae, cls) with per-epoch checkpoints, and fitting of the scoring constants.

Determinism: `seed_everything` makes every random draw come from the run's seed and forces
deterministic kernels with a fixed thread count; the shuffling generator's state is saved in each
checkpoint, so an interrupted run resumes to the same result as an uninterrupted one.
Only `TrainData` (train/ and supplemental/) reaches this module: nothing here can see test/.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from train import score as scoring
from train.config import TrainConfig
from train.data import TrainData, class_key, pad_frames, patches, vectors
from train.models import ArcFace, build
from train.models.stats import clip_stats, standardise
from train.models.cls import SubClusterAdaCos
from train.stats import fit_stats

THREADS = 1  # fixed: results depend on it; and on a shared 2-core machine 2 threads ran 4-14x
             # slower than 1 (oversubscription), so one thread per run, runs side by side
CHECKPOINT = "checkpoint.pt"


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(THREADS)
    return torch.Generator().manual_seed(seed)


@dataclass
class Fitted:
    model: torch.nn.Module
    history: list[dict] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)   # cls only


# ---------------------------------------------------------------------------------------------
# checkpoints

def _save_checkpoint(run_dir: Path, epoch: int, modules: dict, opt, gen, history) -> None:
    state = {"epoch": epoch, "gen": gen.get_state(), "opt": opt.state_dict(), "history": history,
             "modules": {k: m.state_dict() for k, m in modules.items()}}
    tmp = run_dir / (CHECKPOINT + ".tmp")
    torch.save(state, tmp)
    tmp.replace(run_dir / CHECKPOINT)  # atomic: a kill never leaves half a checkpoint


def _load_checkpoint(run_dir: Path, modules: dict, opt, gen) -> tuple[int, list]:
    path = run_dir / CHECKPOINT
    if not path.exists():
        return 0, []
    state = torch.load(path, weights_only=False)
    for k, m in modules.items():
        m.load_state_dict(state["modules"][k])
    opt.load_state_dict(state["opt"])
    gen.set_state(state["gen"])
    return state["epoch"], state["history"]


# ---------------------------------------------------------------------------------------------
# autoencoder

def _split_clips(n: int, fraction: float, gen: torch.Generator) -> tuple[list[int], list[int]]:
    """Hold out `fraction` of the training clips (whole clips, so frames of one clip never
    straddle train and validation); none when too few clips."""
    order = torch.randperm(n, generator=gen).tolist()
    n_val = int(round(n * fraction)) if n >= 10 else 0
    return sorted(order[n_val:]), sorted(order[:n_val])


def fit_ae(cfg: TrainConfig, data: TrainData, run_dir: Path, progress: bool = True) -> Fitted:
    gen = seed_everything(cfg.seed)
    lms = data.train.logmels
    fit_idx, val_idx = _split_clips(len(lms), cfg.val_fraction, gen)
    x = torch.from_numpy(np.concatenate([vectors(lms[i]) for i in fit_idx]))
    xv = torch.from_numpy(np.concatenate([vectors(lms[i]) for i in val_idx])) if val_idx else None
    model = build(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.ae_lr)
    start, history = _load_checkpoint(run_dir, {"model": model}, opt, gen)
    bar = tqdm(range(start, cfg.epochs), desc=f"{cfg.machine} ae", unit="epoch",
               disable=not progress, initial=start, total=cfg.epochs)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(0, len(x), cfg.ae_batch):
            batch = x[order[b:b + cfg.ae_batch]]
            if len(batch) < 2:
                continue  # BatchNorm needs two samples
            loss = F.mse_loss(model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        row = {"epoch": epoch + 1, "loss": total / len(x)}
        if xv is not None:
            row["val_loss"] = _eval_mse(model, xv)
        history.append(row)
        bar.set_postfix({k: f"{v:.2f}" for k, v in row.items() if k != "epoch"})
        _save_checkpoint(run_dir, epoch + 1, {"model": model}, opt, gen, history)
    model.eval()
    return Fitted(model, history)


@torch.no_grad()
def _eval_mse(model, x: torch.Tensor) -> float:
    model.eval()
    return float(F.mse_loss(model(x), x))


# ---------------------------------------------------------------------------------------------
# classification model

def _cls_training_set(cfg: TrainConfig, data: TrainData):
    """Clips to sample patches from, their class labels, and noise clips for mixing."""
    clips, lms = list(data.train.clips), list(data.train.logmels)
    noise = []
    if cfg.supplemental == "classes":
        clips += data.supplemental.clips
        lms += data.supplemental.logmels
    elif cfg.supplemental == "mix":
        noise = [lm for c, lm in zip(data.supplemental.clips, data.supplemental.logmels)
                 if c.kind == "noise"]
    keys = [class_key(c) for c in clips]
    classes = sorted(set(keys))
    labels = np.array([classes.index(k) for k in keys])
    classes += [f"{k} shifted {s:+d}" for s in cfg.shift_classes for k in sorted(set(keys))]
    lms = [pad_frames(lm, cfg.patch_frames) for lm in lms]
    noise = [pad_frames(lm, cfg.patch_frames) for lm in noise]
    return lms, labels, classes, noise


def _random_patch(lm: np.ndarray, frames: int, gen: torch.Generator) -> np.ndarray:
    s = int(torch.randint(0, lm.shape[0] - frames + 1, (1,), generator=gen))
    return lm[s:s + frames]


def _mix_noise(patch: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add a noise patch in the power domain at a given patch-level SNR (log-mel in dB)."""
    p, n = 10.0 ** (patch / 10.0), 10.0 ** (noise / 10.0)
    gain = p.mean() / max(n.mean(), 1e-30) / 10.0 ** (snr_db / 10.0)
    return (10.0 * np.log10(p + gain * n)).astype(np.float32)


def _shift_bands(patch: np.ndarray, shift: int) -> np.ndarray:
    """Move the spectrum up (shift > 0) or down by `shift` mel bands, repeating the edge band."""
    idx = np.clip(np.arange(patch.shape[1]) - shift, 0, patch.shape[1] - 1)
    return patch[:, idx]


def _epoch_patches(cfg, lms, labels, noise, gen):
    """One epoch's patches and labels. With shift_classes, half the patches are shifted and
    labelled `label + n_base * (1 + which shift)`."""
    xs, ys = [], []
    n_base = int(labels.max()) + 1
    for lm, base in zip(lms, labels):
        for _ in range(cfg.patches_per_clip):
            p, y = _random_patch(lm, cfg.patch_frames, gen), base
            if cfg.shift_classes and float(torch.rand(1, generator=gen)) < 0.5:
                j = int(torch.randint(0, len(cfg.shift_classes), (1,), generator=gen))
                p, y = _shift_bands(p, cfg.shift_classes[j]), base + n_base * (1 + j)
            if noise and float(torch.rand(1, generator=gen)) < 0.5:
                lo, hi = cfg.mix_snr_db
                snr = lo + (hi - lo) * float(torch.rand(1, generator=gen))
                k = int(torch.randint(0, len(noise), (1,), generator=gen))
                p = _mix_noise(p, _random_patch(noise[k], cfg.patch_frames, gen), snr)
            xs.append(p)
            ys.append(y)
    x = torch.from_numpy(np.stack(xs)[:, None].astype(np.float32))
    return x, torch.as_tensor(np.array(ys), dtype=torch.long)


def make_head(cfg: TrainConfig, n_classes: int, gen: torch.Generator) -> torch.nn.Module:
    if cfg.loss == "sc-adacos":
        return SubClusterAdaCos(cfg.emb_dim, n_classes, cfg.n_subclusters, gen)
    return ArcFace(cfg.emb_dim, n_classes, cfg.margin, cfg.scale)


def _batch_loss(cfg, model, head, x, y, n_classes, gen):
    """Margin loss of one batch; with probability cfg.mixup the batch is mixed with a shuffled
    copy of itself (log-mel domain, soft targets)."""
    if cfg.mixup > 0 and float(torch.rand(1, generator=gen)) < cfg.mixup:
        lam = float(torch.rand(1, generator=gen))
        perm = torch.randperm(len(x), generator=gen)
        onehot = F.one_hot(y, n_classes).float()
        return head(model(lam * x + (1 - lam) * x[perm]), lam * onehot + (1 - lam) * onehot[perm])
    return head(model(x), y)


def fit_cls(cfg: TrainConfig, data: TrainData, run_dir: Path, progress: bool = True) -> Fitted:
    gen = seed_everything(cfg.seed)
    lms, labels, classes, noise = _cls_training_set(cfg, data)
    model = build(cfg)
    head = make_head(cfg, len(classes), gen)
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=cfg.cls_lr)
    modules = {"model": model, "head": head}
    start, history = _load_checkpoint(run_dir, modules, opt, gen)
    bar = tqdm(range(start, cfg.epochs), desc=f"{cfg.machine} cls", unit="epoch",
               disable=not progress, initial=start, total=cfg.epochs)
    for epoch in bar:
        model.train()
        x, y = _epoch_patches(cfg, lms, labels, noise, gen)
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(0, len(x), cfg.cls_batch):
            idx = order[b:b + cfg.cls_batch]
            if len(idx) < 2:
                continue
            loss = _batch_loss(cfg, model, head, x[idx], y[idx], len(classes), gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        row = {"epoch": epoch + 1, "loss": total / len(x)}
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}")
        _save_checkpoint(run_dir, epoch + 1, modules, opt, gen, history)
    model.eval()
    return Fitted(model, history, classes)


def fit_network(cfg: TrainConfig, data: TrainData, run_dir: Path, progress: bool = True) -> Fitted:
    if cfg.model == "stats":   # nothing to train: fit_scoring sets the whitening
        return Fitted(build(cfg).eval())
    if cfg.model == "cls":
        return fit_cls(cfg, data, run_dir, progress)
    return fit_ae(cfg, data, run_dir, progress)


# ---------------------------------------------------------------------------------------------
# scoring constants and training-clip scores (training data only)

@torch.no_grad()
def network_outputs(model: torch.nn.Module, inputs: np.ndarray, batch: int = 512) -> np.ndarray:
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    return np.concatenate([model(x[b:b + batch]).numpy() for b in range(0, len(x), batch)])


def network_inputs(cfg: TrainConfig, lm: np.ndarray, constants: dict | None = None) -> np.ndarray:
    """A clip's network inputs (stats needs the run's standardisation constants)."""
    if cfg.model == "stats":
        return standardise(clip_stats(lm), constants["stats_mean"], constants["stats_std"])[None]
    if cfg.model == "cls":
        return patches(lm, cfg.patch_frames, cfg.patch_hop)
    return vectors(lm)


def fit_scoring(cfg: TrainConfig, model, data: TrainData) -> tuple[dict, np.ndarray]:
    """Scoring constants and the training clips' scores (order of data.train.clips). For cls,
    this also fits the network's whitening layer."""
    clips, lms = data.train.clips, data.train.logmels
    is_target = np.array([c.domain == "target" for c in clips])
    if cfg.model == "stats":
        gaussian, constants, held_out = fit_stats(lms, is_target, cfg.seed,
                                                  cfg.false_alarm_rate, cfg.pca_components)
        model.set_whitening(gaussian.matrix, np.zeros(len(gaussian.matrix)))
        return constants, held_out
    ins = [network_inputs(cfg, lm) for lm in lms]
    if cfg.model == "cls":
        model.set_whitening(np.eye(cfg.emb_dim), np.zeros(cfg.emb_dim))
    outs = [network_outputs(model, x) for x in ins]
    if cfg.model == "cls":
        outs = fit_whitening_layer(model, outs, is_target, cfg.whiten_ridge)
    if cfg.model == "ae":
        return {}, np.array([scoring.ae_score(x, y) for x, y in zip(ins, outs)])
    if cfg.model == "ae-maha":
        res = [x - y for x, y in zip(ins, outs)]
        pick = lambda want: np.concatenate([r for r, t in zip(res, is_target) if t == want]
                                           or [np.zeros((0, res[0].shape[1]))])
        constants = scoring.fit_maha(pick(False), pick(True), cfg.maha_ridge)
        return constants, np.array([scoring.maha_score(x, y, constants)
                                    for x, y in zip(ins, outs)])
    emb = np.stack([scoring.clip_embedding(y) for y in outs])
    constants, s_src, s_tgt = scoring.fit_centres(emb[~is_target], emb[is_target],
                                                  cfg.n_source_centres, cfg.seed)
    train_scores = np.zeros(len(clips))
    train_scores[~is_target], train_scores[is_target] = s_src, s_tgt
    return constants, train_scores


@torch.no_grad()
def fit_whitening_layer(model, raw: list[np.ndarray], is_target: np.ndarray,
                        ridge: float) -> list[np.ndarray]:
    """Fit the Embedder's last layer to whiten the source training clips' embeddings, given the
    clips' patch outputs with that layer at identity; returns the outputs passed through it (no
    second pass through the network)."""
    source = np.stack([scoring.clip_embedding(y) for y, t in zip(raw, is_target) if not t])
    model.set_whitening(*scoring.fit_whitening(source, ridge))
    return [model.whiten(torch.from_numpy(y)).numpy() for y in raw]
