"""What both synthetic families (asd.synth and asd.heldout) write besides the audio: clip counts,
per-clip seeds, file names and the CSVs of the official DCASE 2025 Task 2 layout.

The ground-truth CSVs follow nttcslab's official DCASE 2024/2025 Task 2 evaluator: no header,
rows sorted by the evaluation name; renamed test clips are numbered from 0001
(section_00_0001.wav); the labelled name of a renamed clip carries the same number and, as
released, `noAttribute` for machines whose attributes are hidden; the third column (hidden
attributes only) is the name with the true attributes, as the evaluator's own files have it for
the machines whose attributes were published later.

Every clip's randomness comes from its key parts (family tag, machine, domain, split, label,
index) through a SHA-256 hash into numpy's SeedSequence, so the output never depends on --jobs
or scheduling.
"""
from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing as mp
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asd.machines import SECTION

SPLIT_ORDER = {"train": 0, "test": 1, "supplemental": 2}   # rows of attributes_00.csv


@dataclass(frozen=True)
class Counts:
    """Clips per machine (asd.synth's defaults: the real task's counts)."""
    train: int = 990          # source-domain training clips
    target_train: int = 10    # target-domain training clips
    test: int = 50            # test clips per domain and label
    supplemental: int = 100   # supplemental clips (90 % source, 10 % target)

    def supplemental_split(self) -> dict[str, int]:
        target = self.supplemental // 10
        return {"source": self.supplemental - target, "target": target}

    def groups(self, supplemental_label: str) -> list[tuple[str, str, str, int]]:
        """(domain, split, label, clip count) in the order clips are planned."""
        groups = [("source", "train", "normal", self.train),
                  ("target", "train", "normal", self.target_train)]
        for domain in ("source", "target"):
            for label in ("normal", "anomaly"):
                groups.append((domain, "test", label, self.test))
        for domain, k in self.supplemental_split().items():
            groups.append((domain, "supplemental", supplemental_label, k))
        return groups


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


def clip_seeds(seed: int, *parts):
    """Four independent SeedSequences of the clip that `parts` name (each family's module says
    what the four are for)."""
    return np.random.SeedSequence([seed, stable_int(*parts)]).spawn(4)


def attrs_text(hidden: bool, attrs, who: str = "") -> str:
    """The attribute part of a file name; `who` prefixes the error."""
    if hidden or not attrs:
        return "noAttribute"
    for k, v in attrs:
        if not k or not v or "_" in k or "_" in v:
            raise ValueError(f"{who}attribute {k}={v} must be non-empty and free of '_'")
    return "_".join(f"{k}_{v}" for k, v in attrs)


def labelled_name(hidden, domain, split, label, index, attrs, who: str = "") -> str:
    return (f"section_{SECTION}_{domain}_{split}_{label}_{index:04d}_"
            f"{attrs_text(hidden, attrs, who)}.wav")


def ground_truth_files(out: Path, machine: str) -> tuple[Path, Path, Path]:
    """ground_truth_data/, ground_truth_domain/, ground_truth_attributes/ CSVs."""
    name = f"ground_truth_{machine}_section_{SECTION}_test.csv"
    base = Path(out) / "eval_data"
    return (base / "ground_truth_data" / name, base / "ground_truth_domain" / name,
            base / "ground_truth_attributes" / name)


def plan(model, counts: Counts, seed: int, tag: tuple, hidden: bool,
         order_parts: tuple | None) -> list[ClipSpec]:
    """Every clip of one machine (model.name), with its condition drawn from child 0 of
    clip_seeds(seed, *tag, machine, domain, split, label, index) and its final file name.
    order_parts: the stable_int parts that seed the renaming of the test clips to
    section_00_<NNNN>.wav, None to keep their labelled names (development types)."""
    machine, who = model.name, f"{model.name}: "
    specs = []
    for domain, split, label, k in counts.groups(model.supplemental):
        for i in range(k):
            ss = clip_seeds(seed, *tag, machine, domain, split, label, i)[0]
            attrs, params = model.condition(np.random.default_rng(ss), domain)
            attrs = tuple(attrs)
            specs.append(ClipSpec(machine, domain, split, label, i, attrs, params,
                                  labelled_name(hidden, domain, split, label, i, attrs, who)))
    if order_parts is not None:
        tests = [s for s in specs if s.split == "test"]
        order = np.random.default_rng(
            np.random.SeedSequence([seed, stable_int(*order_parts)])).permutation(len(tests))
        for new_index, j in enumerate(order):
            tests[j].name = f"section_{SECTION}_{new_index + 1:04d}.wav"   # 0001 first
    return specs


def write_csvs(out: Path, root: Path, hidden: bool, specs: list[ClipSpec],
               ground_truth: bool) -> list[Path]:
    """root/attributes_00.csv, and with ground_truth the three ground-truth CSVs (no header)."""
    width = 1 if hidden else max(1, max(len(s.attrs) for s in specs))
    header = ["file_name"] + [f"d{i}{c}" for i in range(1, width + 1) for c in "pv"]
    rows = []
    for s in sorted(specs, key=lambda s: (SPLIT_ORDER[s.split], s.name)):
        vals = ["noAttribute", ""] if hidden or not s.attrs else [x for kv in s.attrs for x in kv]
        rows.append([s.relpath] + vals + [""] * (2 * width - len(vals)))
    written = [root / "attributes_00.csv"]
    _write_rows(written[0], [header] + rows)
    if ground_truth:
        tests = sorted((s for s in specs if s.split == "test"), key=lambda s: s.name)
        gt_label, gt_domain, gt_attrs = ground_truth_files(out, specs[0].machine)
        _write_rows(gt_label, [[s.name, int(s.label == "anomaly")] for s in tests])
        _write_rows(gt_domain, [[s.name, int(s.domain == "target")] for s in tests])
        _write_rows(gt_attrs, [attribute_row(hidden, s) for s in tests])
        written += [gt_label, gt_domain, gt_attrs]
    return written


def clear_machines(out: Path, roots: list[Path], generator: str, marker: str,
                   error: type[Exception]) -> None:
    """Create out; remove the machine folders `roots` about to be written and their
    ground-truth CSVs, but only in a tree this generator wrote (it leaves `marker` in out):
    a foreign tree holding one of them raises error."""
    out.mkdir(parents=True, exist_ok=True)
    ours = (out / marker).exists()
    for root in roots:
        if root.exists():
            if not ours:
                raise error(f"{root} exists and {out} was not written by {generator} "
                            f"(no {marker}); choose an empty --out")
            shutil.rmtree(root)
        for gt in ground_truth_files(out, root.name):
            if gt.exists() and ours:
                gt.unlink()


def read_marker(path: Path, **fields) -> dict:
    """The generator's marker file (a JSON object, {} when absent) with `fields` set and a
    "machines" entry."""
    meta = json.loads(path.read_text()) if path.exists() else {}
    meta.update(fields)
    meta.setdefault("machines", {})
    return meta


def write_marker(path: Path, meta: dict) -> None:
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


@contextmanager
def worker_pool(jobs: int):
    """A pool of `jobs` forked workers for render_all (None for one job), closed and joined
    when the block ends."""
    pool = mp.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        yield pool
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def render_all(root: Path, specs: list[ClipSpec], work, seed: int, n: int, pool,
               chunksize: int) -> list:
    """Every clip through work((spec, seed, n, path)), path root/<split>/<name> (the folders
    made first), in the pool when there is one: the results, in any order."""
    for split in SPLIT_ORDER:
        if any(s.split == split for s in specs):
            (root / split).mkdir(parents=True, exist_ok=True)
    items = [(s, seed, n, str(root / s.split / s.name)) for s in specs]
    if pool is None:
        return [work(w) for w in items]
    return list(pool.imap_unordered(work, items, chunksize=chunksize))


def attribute_row(hidden: bool, s: ClipSpec) -> list[str]:
    """One ground_truth_attributes row of a renamed test clip, in the official evaluator's
    shape: evaluation name, labelled name (same number, without .wav), and for hidden
    attributes the labelled name with the true ones."""
    number = int(s.name[-8:-4])
    row = [s.name, labelled_name(hidden, s.domain, "test", s.label, number, s.attrs)[:-4]]
    if hidden and s.attrs:
        true = "_".join(f"{k}_{v}" for k, v in s.attrs)
        row.append(f"section_{SECTION}_{s.domain}_test_{s.label}_{number:04d}_{true}.wav")
    return row


def _write_rows(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
