"""The official DCASE baseline autoencoder: dense 640-128-128-128-128-8-128-128-128-128-640.

Every layer but the last is Linear -> BatchNorm1d -> ReLU, so export can fold each BatchNorm into
its Linear and the network becomes FULLY_CONNECTED ops only.
"""
from __future__ import annotations

import torch
from torch import nn

WIDTHS = (128, 128, 128, 128, 8, 128, 128, 128, 128)


class AutoEncoder(nn.Module):
    def __init__(self, dim: int = 640, momentum: float = 0.01, eps: float = 1e-3):
        super().__init__()
        layers: list[nn.Module] = []
        prev = dim
        for w in WIDTHS:
            layers += [nn.Linear(prev, w), nn.BatchNorm1d(w, momentum=momentum, eps=eps),
                       nn.ReLU()]
            prev = w
        layers.append(nn.Linear(prev, dim))
        self.net = nn.Sequential(*layers)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 640) context vectors -> (N, 640) reconstructions."""
        return self.net(x)
