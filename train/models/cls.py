"""A compact depthwise-separable CNN embedding log-mel patches, and its training-only margin head.

Exported network (`Embedder`): [N, 1, 32, 128] log-mel patch (dB, unnormalised) -> [N, emb_dim]
whitened embedding.
Only ops that become int8 TFLite builtins: Conv2d (regular and depthwise), BatchNorm (folded by
export), ReLU, mean over time (MEAN), reshape, Linear (FULLY_CONNECTED), add.

Why these choices:
* the first convolution has no padding, so any affine change of the input (dB offset, scale) is
  absorbed by it and the BatchNorm after it: no input normalisation layer is needed;
* frequency position matters for machine sounds, so frequency is not averaged away: a depthwise
  convolution whose kernel spans the whole remaining frequency axis ("global depthwise", as in
  MobileFaceNet) weighs every band separately, then only time is averaged;
* a spectrum branch (default on: config `spectrum_branch`) adds a linear embedding of the patch's
  mean log-mel spectrum (MEAN over time -> Linear -> BatchNorm1d) to the CNN's embedding; the
  CNN alone was blind to many synthetic anomalies (dev types: official score 0.60 -> 0.75,
  docs/results.md); a Linear on raw dB is fine because the BatchNorm after it absorbs offsets;
* a final, frozen Linear whitens the embedding (identity during training; fitted after it on
  the source training clips): the margin loss shapes a few directions that tell the classes
  apart, and anomalies move the embedding mostly along the others, which whitening lets count
  (dev types: official score 0.66 -> 0.77, docs/results.md);
* budget (checked by tests with thop): ~83 k parameters, ~2.2 M MACs per patch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn_relu(cin: int, cout: int, k, stride=1, padding=0, groups=1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=padding, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU()]


class SeparableBlock(nn.Module):
    """Depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN (-> + input when shapes match) -> ReLU."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.dw = nn.Sequential(*_conv_bn_relu(cin, cin, 3, stride, 1, groups=cin))
        self.pw = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(x))
        return F.relu(y + x if self.residual else y)


def _spectrum_branch(kind: str, n_mels: int, emb_dim: int) -> nn.Module | None:
    if kind == "off":
        return None
    if kind == "linear":
        return nn.Sequential(nn.Linear(n_mels, emb_dim), nn.BatchNorm1d(emb_dim))
    if kind == "mlp":
        return nn.Sequential(nn.Linear(n_mels, 128), nn.BatchNorm1d(128), nn.ReLU(),
                             nn.Linear(128, emb_dim), nn.BatchNorm1d(emb_dim))
    raise ValueError(f"spectrum branch must be off, linear or mlp, not {kind!r}")


class Embedder(nn.Module):
    def __init__(self, emb_dim: int = 128, frames: int = 32, n_mels: int = 128,
                 spectrum: str = "off"):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn_relu(1, 16, 3, stride=2))       # valid padding
        self.blocks = nn.Sequential(
            SeparableBlock(16, 32, 2),
            SeparableBlock(32, 64, 2),
            SeparableBlock(64, 128, 1),
            SeparableBlock(128, 128, 1),
        )
        with torch.no_grad():
            _, c, _, f = self.blocks(self.stem(torch.zeros(1, 1, frames, n_mels))).shape
        # global depthwise over frequency: one weight per (channel, band)
        self.freq = nn.Sequential(nn.Conv2d(c, c, (1, f), groups=c, bias=False),
                                  nn.BatchNorm2d(c))
        self.fc = nn.Linear(c, emb_dim)
        # optional spectrum branch: the patch's mean log-mel spectrum, linearly embedded and added
        # (MEAN, FULLY_CONNECTED with folded BatchNorm, ADD)
        self.spectrum = _spectrum_branch(spectrum, n_mels, emb_dim)
        # whitening of the embedding (FULLY_CONNECTED): identity while training, then set from
        # the source training clips by train.fit.fit_scoring (see train/score.py, fit_whitening)
        self.whiten = nn.Linear(emb_dim, emb_dim).requires_grad_(False)
        self.set_whitening(torch.eye(emb_dim), torch.zeros(emb_dim))
        self.emb_dim = emb_dim
        self.input_shape = (1, frames, n_mels)

    @torch.no_grad()
    def set_whitening(self, matrix, bias) -> None:
        """Make the last layer e -> matrix @ e + bias (identity: the raw embedding)."""
        self.whiten.weight.copy_(torch.as_tensor(matrix))
        self.whiten.bias.copy_(torch.as_tensor(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, frames, n_mels) -> (N, emb_dim)."""
        h = self.freq(self.blocks(self.stem(x)))    # (N, C, T', 1)
        h = h.mean(dim=2).flatten(1)                # average over time -> (N, C)
        e = self.fc(h)
        if self.spectrum is not None:
            e = e + self.spectrum(x.mean(dim=2).flatten(1))
        return self.whiten(e)


class ArcFace(nn.Module):
    """Additive angular margin head (Deng et al. 2019); used only in training, never exported."""

    def __init__(self, emb_dim: int, n_classes: int, margin: float, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, emb_dim))
        nn.init.xavier_uniform_(self.weight)
        self.margin, self.scale = margin, scale

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy loss of the margin-penalised cosine logits."""
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1 + 1e-6, 1 - 1e-6)
        theta = torch.acos(cos)
        # penalise only the true class's angle; cap at pi so the logit stays monotonic
        target = torch.cos(torch.clamp(theta + self.margin, max=math.pi))
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        logits = self.scale * (onehot * target + (1 - onehot) * cos)
        return F.cross_entropy(logits, labels)


class SubClusterAdaCos(nn.Module):
    """Sub-cluster AdaCos (Wilkinghoff 2021, after Zhang et al. 2019's AdaCos); training only.

    Every class owns `n_sub` fixed, random unit centres (not trained: trainable centres allow the
    trivial solution of collapsing everything); a class's probability is the sum of the softmax
    over its sub-clusters; the logit scale adapts to the batch instead of being a hyper-parameter.
    Accepts soft targets (mixup).
    """

    def __init__(self, emb_dim: int, n_classes: int, n_sub: int, generator: torch.Generator):
        super().__init__()
        w = torch.randn(n_classes * n_sub, emb_dim, generator=generator)
        self.register_buffer("centres", F.normalize(w, dim=1))
        self.register_buffer("s", torch.tensor(math.sqrt(2) * math.log(max(n_classes * n_sub - 1,
                                                                              2))))
        self.n_classes, self.n_sub = n_classes, n_sub

    def forward(self, emb: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """targets: (B,) class indices or (B, n_classes) probabilities."""
        if targets.dim() == 1:
            targets = F.one_hot(targets, self.n_classes).to(emb.dtype)
        cos = F.linear(F.normalize(emb), self.centres)                      # (B, K*C)
        with torch.no_grad():
            self._adapt_scale(cos, targets)
        logits = (self.s * cos).view(-1, self.n_classes, self.n_sub)
        class_logp = torch.logsumexp(logits, 2) - torch.logsumexp(logits.flatten(1), 1,
                                                                   keepdim=True)
        return -(targets * class_logp).sum(1).mean()

    def _adapt_scale(self, cos: torch.Tensor, targets: torch.Tensor) -> None:
        mask = (targets > 0).repeat_interleave(self.n_sub, dim=1)          # sub-clusters of y
        b_avg = torch.where(mask, torch.zeros_like(cos), torch.exp(self.s * cos)).sum(1).mean()
        # each sample's angle to the nearest sub-cluster of its class(es)
        best = torch.where(mask, cos, torch.full_like(cos, -1.0)).max(1).values
        theta_med = torch.acos(best.clamp(-1 + 1e-6, 1 - 1e-6)).median()
        self.s.copy_(torch.log(b_avg.clamp_min(1e-12)) /
                     torch.cos(torch.clamp(theta_med, max=math.pi / 4)))
