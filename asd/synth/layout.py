"""Names, per-clip seeds and CSVs of the synthetic set, in the exact DCASE 2025 Task 2 layout.

    DIR/dev_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
    DIR/eval_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
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

Every clip's randomness comes from (seed, machine, domain, split, label, index) through a SHA-256
hash into numpy's SeedSequence, so the output never depends on --jobs or scheduling.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asd.machines import HIDDEN_ATTRIBUTES, SECTION, dataset_of
from asd.synth.machines import MODELS


@dataclass(frozen=True)
class Counts:
    train: int = 990          # source-domain training clips
    target_train: int = 10    # target-domain training clips
    test: int = 50            # test clips per domain and label
    supplemental: int = 100   # supplemental clips (90 % source, 10 % target)

    def supplemental_split(self) -> dict[str, int]:
        target = self.supplemental // 10
        return {"source": self.supplemental - target, "target": target}


@dataclass
class ClipSpec:
    machine: str
    domain: str               # source | target
    split: str                # train | test | supplemental
    label: str                # normal | anomaly, or clean | noise for supplemental
    index: int
    attrs: tuple              # true attributes, ((key, value), ...)
    params: dict = field(repr=False)
    name: str = ""            # file name as written (renamed for evaluation test clips)

    @property
    def relpath(self) -> str:
        return f"{self.machine}/{self.split}/{self.name}"


def stable_int(*parts) -> int:
    """A 128-bit integer from the parts' text, the same on every run and platform."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:16], "little")


def clip_seeds(seed: int, machine: str, domain: str, split: str, label: str, index: int):
    """Four independent SeedSequences: condition, machine, anomaly, background."""
    ss = np.random.SeedSequence([seed, stable_int(machine, domain, split, label, index)])
    return ss.spawn(4)


def attrs_text(machine: str, attrs) -> str:
    if machine in HIDDEN_ATTRIBUTES or not attrs:
        return "noAttribute"
    for k, v in attrs:
        if "_" in k or "_" in v or not k or not v:
            raise ValueError(f"{machine}: attribute {k}={v} must be non-empty and free of '_'")
    return "_".join(f"{k}_{v}" for k, v in attrs)


def labelled_name(machine, domain, split, label, index, attrs) -> str:
    return f"section_{SECTION}_{domain}_{split}_{label}_{index:04d}_{attrs_text(machine, attrs)}.wav"


def machine_root(out: Path, machine: str) -> Path:
    return Path(out) / f"{dataset_of(machine)}_data" / "raw" / machine


def ground_truth_files(out: Path, machine: str) -> tuple[Path, Path, Path]:
    """ground_truth_data/, ground_truth_domain/, ground_truth_attributes/ CSVs."""
    name = f"ground_truth_{machine}_section_{SECTION}_test.csv"
    base = Path(out) / "eval_data"
    return (base / "ground_truth_data" / name, base / "ground_truth_domain" / name,
            base / "ground_truth_attributes" / name)


def plan_machine(machine: str, counts: Counts, seed: int) -> list[ClipSpec]:
    """Every clip of one machine, with its condition drawn and its final file name."""
    model = MODELS[machine]
    groups = [("source", "train", "normal", counts.train),
              ("target", "train", "normal", counts.target_train)]
    for domain in ("source", "target"):
        for label in ("normal", "anomaly"):
            groups.append((domain, "test", label, counts.test))
    for domain, k in counts.supplemental_split().items():
        groups.append((domain, "supplemental", model.supplemental, k))
    specs = []
    for domain, split, label, k in groups:
        for i in range(k):
            cond_ss = clip_seeds(seed, machine, domain, split, label, i)[0]
            attrs, params = model.condition(np.random.default_rng(cond_ss), domain)
            attrs = tuple(attrs)
            specs.append(ClipSpec(machine, domain, split, label, i, attrs, params,
                                  labelled_name(machine, domain, split, label, i, attrs)))
    if dataset_of(machine) == "eval":
        tests = [s for s in specs if s.split == "test"]
        order = np.random.default_rng(
            np.random.SeedSequence([seed, stable_int(machine, "eval-test-order")])
        ).permutation(len(tests))
        for new_index, j in enumerate(order):
            tests[j].name = f"section_{SECTION}_{new_index + 1:04d}.wav"   # 0001 first
    return specs


def write_csvs(out: Path, machine: str, specs: list[ClipSpec]) -> list[Path]:
    """attributes_00.csv, and for evaluation types the three ground-truth CSVs."""
    root = machine_root(out, machine)
    hidden = machine in HIDDEN_ATTRIBUTES
    width = 1 if hidden else max(len(s.attrs) for s in specs)
    header = ["file_name"] + [f"d{i}{c}" for i in range(1, width + 1) for c in "pv"]
    order = {"train": 0, "test": 1, "supplemental": 2}
    rows = []
    for s in sorted(specs, key=lambda s: (order[s.split], s.name)):
        if hidden:
            vals = ["noAttribute", ""]
        else:
            vals = [x for kv in s.attrs for x in kv]
        rows.append([s.relpath] + vals + [""] * (2 * width - len(vals)))
    written = [root / "attributes_00.csv"]
    _write_rows(written[0], [header] + rows)
    if dataset_of(machine) == "eval":
        tests = sorted((s for s in specs if s.split == "test"), key=lambda s: s.name)
        gt_label, gt_domain, gt_attrs = ground_truth_files(out, machine)
        _write_rows(gt_label, [[s.name, int(s.label == "anomaly")] for s in tests])
        _write_rows(gt_domain, [[s.name, int(s.domain == "target")] for s in tests])
        _write_rows(gt_attrs, [attribute_row(machine, s) for s in tests])
        written += [gt_label, gt_domain, gt_attrs]
    return written


def attribute_row(machine: str, s: ClipSpec) -> list[str]:
    """One ground_truth_attributes row of a renamed test clip, in the official evaluator's
    shape: evaluation name, labelled name (same number, without .wav), and for hidden
    attributes the labelled name with the true ones."""
    number = int(s.name[-8:-4])
    row = [s.name, labelled_name(machine, s.domain, "test", s.label, number, s.attrs)[:-4]]
    if machine in HIDDEN_ATTRIBUTES and s.attrs:
        true = "_".join(f"{k}_{v}" for k, v in s.attrs)
        row.append(f"section_{SECTION}_{s.domain}_test_{s.label}_{number:04d}_{true}.wav")
    return row


def _write_rows(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
