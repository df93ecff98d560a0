"""The one training loop of the network kinds (ae, ae-maha, cls), with per-epoch checkpoints.

What differs between the kinds (their training set, heads, examples and loss) is in the kind's
file, train/kinds/<kind>.py; this loop runs the epochs, batches and checkpoints they share.

Determinism: `seed_everything` makes every random draw come from the run's seed and forces
deterministic kernels with a fixed thread count; the shuffling generator's state is saved in each
checkpoint, so an interrupted run resumes to the same result as an uninterrupted one.
Only `TrainData` (train/ and supplemental/) reaches this module: nothing here can see test/.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from train.data import TrainData

if TYPE_CHECKING:
    from train.config import TrainConfig

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
# the one training loop of the network kinds

def train_network(kind, cfg: TrainConfig, data: TrainData, run_dir: Path,
                  progress: bool = True) -> Fitted:
    """Train `kind`'s network (a train.kinds.base.NetworkKind) for cfg.epochs, resuming from the
    last checkpoint. The kind supplies the steps: its training set, its heads (e.g. cls' margin
    loss), each epoch's examples, a batch's loss and the validation figures."""
    gen = seed_everything(cfg.seed)
    ts = kind.training_set(cfg, data, gen)
    model = kind.build(cfg)
    heads = kind.heads(cfg, ts, gen)
    params = list(model.parameters()) + [p for h in heads.values() for p in h.parameters()]
    opt = torch.optim.Adam(params, lr=kind.lr(cfg))
    modules = {"model": model, **heads}
    start, history = _load_checkpoint(run_dir, modules, opt, gen)
    bar = tqdm(range(start, cfg.epochs), desc=f"{cfg.machine} {kind.name}", unit="epoch",
               disable=not progress, initial=start, total=cfg.epochs)
    batch = kind.batch_size(cfg)
    for epoch in bar:
        model.train()
        x, y = kind.epoch_examples(cfg, ts, gen)
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(0, len(x), batch):
            idx = order[b:b + batch]
            if len(idx) < 2:
                continue  # BatchNorm needs two samples
            loss = kind.batch_loss(cfg, model, heads, x[idx], None if y is None else y[idx], ts,
                                   gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        row = {"epoch": epoch + 1, "loss": total / len(x), **kind.validation(model, ts)}
        history.append(row)
        bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k != "epoch"})
        _save_checkpoint(run_dir, epoch + 1, modules, opt, gen, history)
    model.eval()
    return Fitted(model, history, kind.classes(ts))


# ---------------------------------------------------------------------------------------------
# network outputs

@torch.no_grad()
def network_outputs(model: torch.nn.Module, inputs: np.ndarray, batch: int = 512) -> np.ndarray:
    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    return np.concatenate([model(x[b:b + batch]).numpy() for b in range(0, len(x), batch)])


def __getattr__(name: str):
    """The cls training helpers' old names (they live in train/kinds/cls.py now)."""
    if name in _MOVED:
        from train.kinds import cls
        return getattr(cls, _MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MOVED = {"_cls_training_set": "training_set", "_mix_noise": "mix_noise"}
