"""What training may read: a machine's train/ and supplemental/ clips, as log-mels. Never test/.

Everything that builds network inputs from a log-mel lives here too, so training, scoring,
export and bench cut clips into vectors/patches the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asd.dataset import Clip, list_clips
from asd.features import FEATURES, context_vectors, extract


@dataclass
class ClipSet:
    clips: list[Clip]
    logmels: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def is_target(self) -> np.ndarray:
        """Each clip's true domain from its name (True: target)."""
        return np.array([c.domain == "target" for c in self.clips], bool)


@dataclass
class TrainData:
    train: ClipSet
    supplemental: ClipSet


def load_split(data_root: Path, machine: str, split: str, cache_dir: Path | None,
               progress: bool | None = None) -> ClipSet:
    clips = list_clips(data_root, machine, split)
    logmels = extract([c.path for c in clips], cache_dir=cache_dir, progress=progress,
                      desc=f"{machine} {split} features")
    return ClipSet(clips, logmels)


def load_training(data_root: Path, machine: str, cache_dir: Path | None,
                  progress: bool | None = None) -> TrainData:
    """train/ (source and target) and supplemental/ log-mels; the only data fitting may touch."""
    return TrainData(load_split(data_root, machine, "train", cache_dir, progress),
                     load_split(data_root, machine, "supplemental", cache_dir, progress))


def vectors(lm: np.ndarray) -> np.ndarray:
    """AE network inputs of one clip: (n_frames - 4, 640) context vectors."""
    return context_vectors(lm, FEATURES)


def pad_frames(lm: np.ndarray, frames: int) -> np.ndarray:
    """Clips shorter than one patch are repeated (wrap) up to `frames`; real clips never are."""
    if lm.shape[0] >= frames:
        return lm
    return np.pad(lm, ((0, frames - lm.shape[0]), (0, 0)), mode="wrap")


def patch_starts(n_frames: int, frames: int, hop: int) -> np.ndarray:
    """Start frames of a clip's scoring patches: every `hop` frames, full patches only.

    A 10-s clip (313 frames) with frames=32, hop=16 gives 18 patches (starts 0..272).
    """
    n = max(n_frames, frames)
    return np.arange(0, n - frames + 1, hop)


def patches(lm: np.ndarray, frames: int, hop: int) -> np.ndarray:
    """cls network inputs of one clip: (P, 1, frames, n_mels) float32."""
    lm = pad_frames(lm, frames)
    starts = patch_starts(lm.shape[0], frames, hop)
    out = np.stack([lm[s:s + frames] for s in starts])
    return np.ascontiguousarray(out[:, None], dtype=np.float32)


def class_key(clip: Clip) -> str:
    """Auxiliary classification label: attribute combination when given, else the domain.

    Supplemental clips are their own classes (`supplemental-clean`, `supplemental-noise`).
    """
    if clip.split == "supplemental":
        return f"supplemental-{clip.kind}"
    attrs = "_".join(f"{k}_{v}" for k, v in sorted(clip.attributes.items()))
    return f"{clip.domain}:{attrs}" if attrs else str(clip.domain)
