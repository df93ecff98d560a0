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

The ground-truth CSVs follow nttcslab's official DCASE 2024/2025 Task 2 evaluator: no header,
rows sorted by the evaluation name; renamed test clips are numbered from 0001
(section_00_0001.wav); the labelled name of a renamed clip carries the same number and, as
released, `noAttribute` for machines whose attributes are hidden; the third column (hidden
attributes only) is the name with the true attributes, as the evaluator's own files have it for
the machines whose attributes were published later.

Each clip's randomness: numpy SeedSequence([seed, sha256("heldout", machine, domain, split,
label, index)]), four children (condition, machine, fault, ambience): independent of --jobs.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SECTION = "00"


@dataclass(frozen=True)
class Counts:
    train: int = 200          # source-domain training clips
    target_train: int = 10    # target-domain training clips
    test: int = 50            # test clips per domain and label
    supplemental: int = 20    # 90 % source, 10 % target

    def supplemental_split(self) -> dict[str, int]:
        target = self.supplemental // 10
        return {"source": self.supplemental - target, "target": target}


@dataclass
class Clip:
    machine: str
    domain: str               # source | target
    split: str                # train | test | supplemental
    label: str                # normal | anomaly | clean | noise
    index: int
    attrs: tuple
    params: dict = field(repr=False)
    name: str = ""

    @property
    def relpath(self) -> str:
        return f"{self.machine}/{self.split}/{self.name}"


def stable_int(*parts) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:16], "little")


def clip_seeds(seed: int, machine: str, domain: str, split: str, label: str, index: int):
    """Four independent SeedSequences: condition, machine, fault, ambience."""
    ss = np.random.SeedSequence([seed, stable_int("heldout", machine, domain, split, label,
                                                  index)])
    return ss.spawn(4)


def attrs_text(hidden: bool, attrs) -> str:
    if hidden or not attrs:
        return "noAttribute"
    for k, v in attrs:
        if not k or not v or "_" in k or "_" in v:
            raise ValueError(f"attribute {k}={v} must be non-empty and free of '_'")
    return "_".join(f"{k}_{v}" for k, v in attrs)


def labelled_name(hidden, domain, split, label, index, attrs) -> str:
    return (f"section_{SECTION}_{domain}_{split}_{label}_{index:04d}_"
            f"{attrs_text(hidden, attrs)}.wav")


def machine_root(out: Path, machine: str) -> Path:
    return Path(out) / "eval_data" / "raw" / machine


def ground_truth_files(out: Path, machine: str) -> tuple[Path, Path, Path]:
    """ground_truth_data/, ground_truth_domain/, ground_truth_attributes/ CSVs."""
    name = f"ground_truth_{machine}_section_{SECTION}_test.csv"
    base = Path(out) / "eval_data"
    return (base / "ground_truth_data" / name, base / "ground_truth_domain" / name,
            base / "ground_truth_attributes" / name)


def plan(model, counts: Counts, seed: int) -> list[Clip]:
    """Every clip of one machine with its condition drawn and its final name (tests renamed
    section_00_<NNNN>.wav in an order fixed by the seed)."""
    groups = [("source", "train", "normal", counts.train),
              ("target", "train", "normal", counts.target_train)]
    for domain in ("source", "target"):
        for label in ("normal", "anomaly"):
            groups.append((domain, "test", label, counts.test))
    for domain, k in counts.supplemental_split().items():
        groups.append((domain, "supplemental", model.supplemental, k))
    clips = []
    for domain, split, label, k in groups:
        for i in range(k):
            ss = clip_seeds(seed, model.name, domain, split, label, i)[0]
            attrs, params = model.condition(np.random.default_rng(ss), domain)
            attrs = tuple(attrs)
            clips.append(Clip(model.name, domain, split, label, i, attrs, params,
                              labelled_name(model.hidden, domain, split, label, i, attrs)))
    tests = [c for c in clips if c.split == "test"]
    order = np.random.default_rng(
        np.random.SeedSequence([seed, stable_int("heldout", model.name, "test-order")])
    ).permutation(len(tests))
    for new_index, j in enumerate(order):
        tests[j].name = f"section_{SECTION}_{new_index + 1:04d}.wav"   # 0001 first
    return clips


def write_csvs(out: Path, model, clips: list[Clip]) -> list[Path]:
    """attributes_00.csv and the three ground-truth CSVs (no header)."""
    root = machine_root(out, model.name)
    width = 1 if model.hidden else max(1, max(len(c.attrs) for c in clips))
    header = ["file_name"] + [f"d{i}{c}" for i in range(1, width + 1) for c in "pv"]
    order = {"train": 0, "test": 1, "supplemental": 2}
    rows = []
    for c in sorted(clips, key=lambda c: (order[c.split], c.name)):
        vals = ["noAttribute", ""] if model.hidden or not c.attrs else \
            [x for kv in c.attrs for x in kv]
        rows.append([c.relpath] + vals + [""] * (2 * width - len(vals)))
    attributes = root / "attributes_00.csv"
    _write_rows(attributes, [header] + rows)
    tests = sorted((c for c in clips if c.split == "test"), key=lambda c: c.name)
    gt_label, gt_domain, gt_attrs = ground_truth_files(out, model.name)
    _write_rows(gt_label, [[c.name, int(c.label == "anomaly")] for c in tests])
    _write_rows(gt_domain, [[c.name, int(c.domain == "target")] for c in tests])
    _write_rows(gt_attrs, [attribute_row(model.hidden, c) for c in tests])
    return [attributes, gt_label, gt_domain, gt_attrs]


def attribute_row(hidden: bool, c: Clip) -> list[str]:
    """One ground_truth_attributes row of a renamed test clip, in the official evaluator's
    shape: evaluation name, labelled name (same number, without .wav), and for hidden
    attributes the labelled name with the true ones."""
    number = int(c.name[-8:-4])
    row = [c.name, labelled_name(hidden, c.domain, "test", c.label, number, c.attrs)[:-4]]
    if hidden and c.attrs:
        true = "_".join(f"{k}_{v}" for k, v in c.attrs)
        row.append(f"section_{SECTION}_{c.domain}_test_{c.label}_{number:04d}_{true}.wav")
    return row


def _write_rows(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
