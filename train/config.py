"""One frozen dataclass per run: every hyper-parameter, defined once, serialised into RUN_DIR.

First-shot rule: the defaults below are the ONE configuration used for every machine type; nothing
here may depend on the machine or on test data. The CLI only overrides `epochs` and `seed`
(and, for experiments, `supplemental` and `pca_components`); anything else is changed here,
for all machines at once.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from asd.features import FEATURES

MODELS = ("stats", "ae", "ae-maha", "cls")   # the first is the default; train/kinds/ holds
DEFAULT_MODEL = MODELS[0]                    # what each kind is (KINDS[name])
SUPPLEMENTAL_MODES = ("off", "classes", "mix")
LOSSES = ("arcface", "sc-adacos")

# Epochs a 2-core CPU affords in about a minute per model on the demo preset (docs/results.md
# measures the effect against the official 100 AE epochs).
DEFAULT_EPOCHS = {"ae": 20, "ae-maha": 20, "cls": 10, "stats": 0}  # stats: nothing to train
NETWORKS = tuple(m for m in MODELS if DEFAULT_EPOCHS[m])  # the kinds trained by gradient descent


@dataclass(frozen=True)
class TrainConfig:
    machine: str
    model: str = "ae"
    epochs: int = 0                  # 0 = DEFAULT_EPOCHS[model]; resolved by `make_config`
    seed: int = 0
    features: str = FEATURES.key()   # a run is only valid with the features it was trained on
    false_alarm_rate: float = 0.1    # design rate: the decision threshold flags this fraction of
                                     # normal clips (fitted on held-out training scores for stats)

    # --- autoencoder (the official DCASE baseline) ---
    ae_batch: int = 256
    ae_lr: float = 1e-3
    val_fraction: float = 0.1        # of training clips, held out for the validation loss
    bn_momentum: float = 0.01        # PyTorch convention (= Keras 0.99, the baseline's value)
    bn_eps: float = 1e-3
    maha_ridge: float = 1e-3         # ridge added to covariances, relative to their mean variance

    # --- clip statistics (stats, the default) ---
    pca_components: int = 40         # the residual scorer joined to the Gaussian (train/stats.py):
                                     # residual outside this many principal components of the
                                     # 256 band statistics; 0 = the Gaussian alone

    # --- classification model (cls) ---
    patch_frames: int = 32           # 32 frames x 32 ms hop ~ 1 s
    patch_hop: int = 16              # hop between patches of one clip at scoring time
    emb_dim: int = 128
    spectrum_branch: str = "linear"  # off | linear | mlp: add an embedding of the patch's mean
                                     # log-mel spectrum to the CNN's (see models/cls.py)
    cls_batch: int = 64
    cls_lr: float = 1e-3
    patches_per_clip: int = 4        # random patches drawn from every training clip per epoch
    loss: str = "arcface"            # arcface | sc-adacos (sub-cluster AdaCos)
    margin: float = 0.2              # ArcFace additive angular margin (radians)
    scale: float = 16.0              # ArcFace logit scale
    shift_classes: tuple[int, ...] = (-2, 2)  # self-supervised extra classes: patches
                                     # shifted by these many mel bands (pitch-shift-like) form a
                                     # class of their own per original class
    n_subclusters: int = 16          # sc-adacos: fixed centres per class
    mixup: float = 0.0               # probability that a batch is mixed up (sc-adacos only)
    n_source_centres: int = 22       # k-means centres of source embeddings: with the 10 target
                                     # embeddings, 32 centres (16 KiB float on chip)
    whiten_ridge: float = 0.1        # the embedding is whitened with the source training clips'
                                     # covariance plus this ridge (relative to its mean variance)
                                     # before Euclidean scoring; see train/score.py
    supplemental: str = "off"        # off | classes (clean/noise as extra classes) | mix (noise
                                     # clips mixed into training clips as augmentation); off:
                                     # neither helped on the development types once the
                                     # embedding was whitened (docs/results.md)
    mix_snr_db: tuple[float, float] = (0.0, 20.0)  # SNR range when supplemental == "mix"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        d = dict(d)
        for key in ("mix_snr_db", "shift_classes"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    def diff(self, other: "TrainConfig") -> list[str]:
        """Human-readable differing fields, for the refuse-to-overwrite message."""
        a, b = dataclasses.asdict(self), dataclasses.asdict(other)
        return [f"{k}: {a[k]!r} != {b[k]!r}" for k in a if a[k] != b[k]]


def make_config(machine: str, model: str, epochs: int | None = None, seed: int = 0,
                **overrides) -> TrainConfig:
    """A run's config: the one set of defaults, with the CLI's few overrides."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    cfg = TrainConfig(machine=machine, model=model, seed=seed,
                      epochs=epochs if epochs else DEFAULT_EPOCHS[model], **overrides)
    if cfg.supplemental not in SUPPLEMENTAL_MODES:
        raise ValueError(f"supplemental must be one of {SUPPLEMENTAL_MODES}")
    if cfg.loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}")
    if cfg.mixup and cfg.loss != "sc-adacos":
        raise ValueError("mixup needs soft targets: use loss sc-adacos")
    if cfg.model in NETWORKS and cfg.epochs < 1:
        raise ValueError("epochs must be >= 1")
    if cfg.model not in NETWORKS and cfg.epochs:
        raise ValueError(f"{cfg.model} trains no network: it takes no epochs")
    if not 0.0 < cfg.false_alarm_rate < 1.0:
        raise ValueError("false_alarm_rate must be between 0 and 1")
    return cfg
