"""Names, per-clip seeds and CSVs of the synthetic set, in the exact DCASE 2025 Task 2 layout.

    DIR/dev_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
    DIR/eval_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
    DIR/eval_data/ground_truth_data/ground_truth_<machine>_section_00_test.csv    file,1=anomaly
    DIR/eval_data/ground_truth_domain/ground_truth_<machine>_section_00_test.csv  file,1=target
    DIR/eval_data/ground_truth_attributes/ground_truth_<machine>_section_00_test.csv
        evaluation name,labelled name without .wav[,labelled name with the true attributes.wav]

The names, seeds and CSVs themselves are asd/family_layout.py's (shared with asd.heldout): here
the choices of this family. Clip seeds are clip_seeds(seed, machine, domain, split, label, index),
four children: condition, machine, anomaly, background.
"""
from __future__ import annotations

from pathlib import Path

from asd import family_layout
from asd.machines import HIDDEN_ATTRIBUTES, dataset_of
from asd.family_layout import ClipSpec, Counts, clip_seeds  # noqa: F401  (asd.synth API)
from asd.synth.machines import MODELS


def machine_root(out: Path, machine: str) -> Path:
    return Path(out) / f"{dataset_of(machine)}_data" / "raw" / machine


def plan_machine(machine: str, counts: Counts, seed: int) -> list[ClipSpec]:
    """Every clip of one machine, with its condition drawn and its final file name (the test
    clips of evaluation types renamed)."""
    evaluation = dataset_of(machine) == "eval"
    return family_layout.plan(MODELS[machine], counts, seed, (), machine in HIDDEN_ATTRIBUTES,
                              (machine, "eval-test-order") if evaluation else None)


def write_csvs(out: Path, machine: str, specs: list[ClipSpec]) -> list[Path]:
    """attributes_00.csv, and for evaluation types the three ground-truth CSVs."""
    return family_layout.write_csvs(out, machine_root(out, machine),
                                    machine in HIDDEN_ATTRIBUTES, specs,
                                    ground_truth=dataset_of(machine) == "eval")
