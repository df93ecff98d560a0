"""Names, per-clip seeds and CSVs of the held-out set, in the DCASE 2025 Task 2 evaluation layout
that asd/dataset.py reads (every held-out type behaves like an unseen evaluation type):

    DIR/eval_data/raw/<machine>/train/
        section_00_<source|target>_train_normal_<NNNN>_<attrs>.wav
    DIR/eval_data/raw/<machine>/supplemental/
        section_00_<source|target>_supplemental_<clean|noise>_<NNNN>_<attrs>.wav
    DIR/eval_data/raw/<machine>/test/          section_00_<NNNN>.wav (shuffled, labels hidden)
    DIR/eval_data/raw/<machine>/attributes_00.csv                       file_name,d1p,d1v,...
    DIR/eval_data/ground_truth_data/ground_truth_<machine>_section_00_test.csv    file,1=anomaly
    DIR/eval_data/ground_truth_domain/ground_truth_<machine>_section_00_test.csv  file,1=target
    DIR/eval_data/ground_truth_attributes/ground_truth_<machine>_section_00_test.csv
        evaluation name,labelled name without .wav[,labelled name with the true attributes.wav]

The names, seeds and CSVs themselves are asd/family_layout.py's (shared with asd.synth, not
part of either family's sound): here the choices of this family. Each clip's randomness: numpy
SeedSequence([seed, sha256("heldout", machine, domain, split, label, index)]), four children
(condition, machine, fault, ambience): independent of --jobs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asd import family_layout
from asd.family_layout import ClipSpec as Clip

TAG = ("heldout",)   # first part of every clip's seed key: apart from asd.synth's clips


@dataclass(frozen=True)
class Counts(family_layout.Counts):
    """The held-out defaults: 200 source training clips, 20 supplemental (90 % source)."""
    train: int = 200
    supplemental: int = 20


def clip_seeds(seed: int, machine: str, domain: str, split: str, label: str, index: int):
    """Four independent SeedSequences: condition, machine, fault, ambience."""
    return family_layout.clip_seeds(seed, *TAG, machine, domain, split, label, index)


def machine_root(out: Path, machine: str) -> Path:
    return Path(out) / "eval_data" / "raw" / machine


def plan(model, counts: Counts, seed: int) -> list[Clip]:
    """Every clip of one machine with its condition drawn and its final name (tests renamed
    section_00_<NNNN>.wav in an order fixed by the seed)."""
    return family_layout.plan(model, counts, seed, TAG, model.hidden,
                              (*TAG, model.name, "test-order"))


def write_csvs(out: Path, model, clips: list[Clip]) -> list[Path]:
    """attributes_00.csv and the three ground-truth CSVs (no header)."""
    return family_layout.write_csvs(out, machine_root(out, model.name), model.hidden, clips,
                                    ground_truth=True)
