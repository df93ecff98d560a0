"""The `cls` kind: a small CNN embedder trained to tell the training classes apart (attribute
combinations, plus band-shifted copies of them as classes of their own), scored by the distance
of a clip's whitened embedding to the nearest normal centre.

Network: Embedder (train/models/cls.py) on patches of patch_frames log-mel frames, hop patch_hop
at scoring time; its last layer whitens the embedding.
Training (train/fit.py's loop runs the epochs; the steps are here):
* training set: the training clips (with supplemental="classes", the supplemental clips too, as
  classes of their own; with "mix", the noise clips for mixing), each labelled by its
  attributes (train/data.py class_key), padded to one patch;
* head: an ArcFace margin (or, loss="sc-adacos", sub-cluster AdaCos), built after the network;
* every epoch: patches_per_clip random patches from every clip; half of them moved by one of
  shift_classes mel bands and labelled as that shift's class; with "mix", half mixed with a
  noise patch at an SNR drawn from mix_snr_db;
* every batch (cls_batch, Adam at cls_lr): the head's margin loss of the embeddings; with mixup,
  the batch is mixed with a shuffled copy of itself (soft targets).
Scoring fit (training clips only): the whitening layer from the source clips' embeddings, then
k-means centres and per-domain scales (train/score.py fit_centres).
Export: windows of patch_frames frames, hop patch_hop, embedding scoring with the centres;
pruned copies are fine-tuned towards the unpruned network's whitened embeddings.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asd.features import FEATURES
from train import score as scoring
from train.data import TrainData, class_key, pad_frames, patch_starts, patches
from train.kinds.base import NetworkKind, centre_fields, outputs_of
from train.models.cls import ArcFace, Embedder, SubClusterAdaCos

if TYPE_CHECKING:
    from train.config import TrainConfig


class PatchSource(NamedTuple):
    """What the epochs draw patches from."""
    logmels: list[np.ndarray]   # padded to one patch at least
    labels: np.ndarray          # class index of each clip
    classes: list[str]          # the clips' classes, then one per (shift, class)
    noise: list[np.ndarray]     # noise clips to mix in (supplemental="mix")


class ClassifierKind(NetworkKind):
    name = "cls"

    # --- network ---
    def build(self, cfg: TrainConfig) -> nn.Module:
        return Embedder(cfg.emb_dim, cfg.patch_frames, FEATURES.n_mels,
                        spectrum=cfg.spectrum_branch)

    def example_input(self, cfg: TrainConfig, n: int = 1) -> torch.Tensor:
        return torch.zeros(n, 1, cfg.patch_frames, FEATURES.n_mels)

    def inputs(self, cfg: TrainConfig, lm: np.ndarray, constants: dict | None = None) -> np.ndarray:
        return patches(lm, cfg.patch_frames, cfg.patch_hop)

    def inferences_per_clip(self, cfg: TrainConfig, frames: int) -> int:
        return len(patch_starts(frames, cfg.patch_frames, cfg.patch_hop))

    # --- training ---
    def lr(self, cfg: TrainConfig) -> float:
        return cfg.cls_lr

    def batch_size(self, cfg: TrainConfig) -> int:
        return cfg.cls_batch

    def training_set(self, cfg: TrainConfig, data: TrainData, gen: torch.Generator) -> PatchSource:
        return training_set(cfg, data)

    def heads(self, cfg: TrainConfig, ts: PatchSource, gen: torch.Generator) -> dict:
        return {"head": make_head(cfg, len(ts.classes), gen)}

    def epoch_examples(self, cfg: TrainConfig, ts: PatchSource, gen: torch.Generator):
        return epoch_patches(cfg, ts.logmels, ts.labels, ts.noise, gen)

    def batch_loss(self, cfg: TrainConfig, model: nn.Module, heads: dict, x: torch.Tensor,
                   y: torch.Tensor | None, ts: PatchSource, gen: torch.Generator) -> torch.Tensor:
        """Margin loss of one batch; with probability cfg.mixup the batch is mixed with a
        shuffled copy of itself (log-mel domain, soft targets)."""
        head = heads["head"]
        if cfg.mixup > 0 and float(torch.rand(1, generator=gen)) < cfg.mixup:
            lam = float(torch.rand(1, generator=gen))
            perm = torch.randperm(len(x), generator=gen)
            onehot = F.one_hot(y, len(ts.classes)).float()
            return head(model(lam * x + (1 - lam) * x[perm]),
                        lam * onehot + (1 - lam) * onehot[perm])
        return head(model(x), y)

    def classes(self, ts: PatchSource) -> list[str]:
        return ts.classes

    # --- scoring ---
    def fit_scoring(self, cfg: TrainConfig, model: nn.Module,
                    data: TrainData) -> tuple[dict, np.ndarray, None]:
        """Also fits the network's whitening layer (train/score.py says why)."""
        is_target = data.train.is_target
        ins = [self.inputs(cfg, lm) for lm in data.train.logmels]
        model.set_whitening(np.eye(cfg.emb_dim), np.zeros(cfg.emb_dim))
        outs = fit_whitening_layer(model, outputs_of(model, ins), is_target, cfg.whiten_ridge)
        emb = np.stack([scoring.clip_embedding(y) for y in outs])
        constants, s_src, s_tgt = scoring.fit_centres(emb[~is_target], emb[is_target],
                                                      cfg.n_source_centres, cfg.seed)
        train_scores = np.zeros(len(data.train.clips))
        train_scores[~is_target], train_scores[is_target] = s_src, s_tgt
        return constants, train_scores, None

    def score(self, inputs: np.ndarray, outputs: np.ndarray, constants: dict,
              band: np.ndarray | None = None) -> float:
        return scoring.cls_score(outputs, constants)

    # --- export ---
    def device_fields(self, cfg: TrainConfig, constants: dict) -> dict:
        return dict(model_kind="cls", score_kind="embedding", window_frames=cfg.patch_frames,
                    window_hop=cfg.patch_hop, **centre_fields(constants))

    def protected_layers(self, cfg: TrainConfig, model: nn.Module) -> list[nn.Module]:
        """The embedding: both branches that add up to it, and the whitening layer."""
        return [m for m in model.modules()
                if isinstance(m, nn.Linear) and m.out_features == cfg.emb_dim]

    def distillation_target(self, teacher: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The unpruned network's whitened embeddings: the space scoring uses."""
        with torch.no_grad():
            return teacher(x)


# ---------------------------------------------------------------------------------------------
# training steps

def training_set(cfg: TrainConfig, data: TrainData) -> PatchSource:
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
    return PatchSource(lms, labels, classes, noise)


def make_head(cfg: TrainConfig, n_classes: int, gen: torch.Generator) -> nn.Module:
    if cfg.loss == "sc-adacos":
        return SubClusterAdaCos(cfg.emb_dim, n_classes, cfg.n_subclusters, gen)
    return ArcFace(cfg.emb_dim, n_classes, cfg.margin, cfg.scale)


def epoch_patches(cfg: TrainConfig, lms, labels, noise, gen: torch.Generator):
    """One epoch's patches and labels. With shift_classes, half the patches are shifted and
    labelled `label + n_base * (1 + which shift)`."""
    xs, ys = [], []
    n_base = int(labels.max()) + 1
    for lm, base in zip(lms, labels):
        for _ in range(cfg.patches_per_clip):
            p, y = random_patch(lm, cfg.patch_frames, gen), base
            if cfg.shift_classes and float(torch.rand(1, generator=gen)) < 0.5:
                j = int(torch.randint(0, len(cfg.shift_classes), (1,), generator=gen))
                p, y = shift_bands(p, cfg.shift_classes[j]), base + n_base * (1 + j)
            if noise and float(torch.rand(1, generator=gen)) < 0.5:
                lo, hi = cfg.mix_snr_db
                snr = lo + (hi - lo) * float(torch.rand(1, generator=gen))
                k = int(torch.randint(0, len(noise), (1,), generator=gen))
                p = mix_noise(p, random_patch(noise[k], cfg.patch_frames, gen), snr)
            xs.append(p)
            ys.append(y)
    x = torch.from_numpy(np.stack(xs)[:, None].astype(np.float32))
    return x, torch.as_tensor(np.array(ys), dtype=torch.long)


def random_patch(lm: np.ndarray, frames: int, gen: torch.Generator) -> np.ndarray:
    s = int(torch.randint(0, lm.shape[0] - frames + 1, (1,), generator=gen))
    return lm[s:s + frames]


def mix_noise(patch: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add a noise patch in the power domain at a given patch-level SNR (log-mel in dB)."""
    p, n = 10.0 ** (patch / 10.0), 10.0 ** (noise / 10.0)
    gain = p.mean() / max(n.mean(), 1e-30) / 10.0 ** (snr_db / 10.0)
    return (10.0 * np.log10(p + gain * n)).astype(np.float32)


def shift_bands(patch: np.ndarray, shift: int) -> np.ndarray:
    """Move the spectrum up (shift > 0) or down by `shift` mel bands, repeating the edge band."""
    idx = np.clip(np.arange(patch.shape[1]) - shift, 0, patch.shape[1] - 1)
    return patch[:, idx]


# ---------------------------------------------------------------------------------------------
# scoring fit

@torch.no_grad()
def fit_whitening_layer(model, raw: list[np.ndarray], is_target: np.ndarray,
                        ridge: float) -> list[np.ndarray]:
    """Fit the Embedder's last layer to whiten the source training clips' embeddings, given the
    clips' patch outputs with that layer at identity; returns the outputs passed through it (no
    second pass through the network)."""
    source = np.stack([scoring.clip_embedding(y) for y, t in zip(raw, is_target) if not t])
    model.set_whitening(*scoring.fit_whitening(source, ridge))
    return [model.whiten(torch.from_numpy(y)).numpy() for y in raw]
