"""Your own recordings in the official DCASE 2025 Task 2 layout (`python -m asd.ingest`).

Every SRC (a folder searched recursively, or audio files) is read with soundfile, mixed to mono
(mean of the channels), resampled to 16 kHz with soxr and cut into clips of --seconds, written as
PCM_16 under <root>/<dev|eval>_data/raw/<machine>/ with the official names, attributes_00.csv and
an ingest.json marker. Clip indices follow the sorted source paths, then time within a file, so
the same arguments give the same bytes. Nothing under SRC is changed. docs/data.md ("Your own
recordings") describes the rules.
"""
from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import soundfile as sf

from asd.cli import UsageError
from asd.dataset import DataError, check_machine_name, ground_truth_paths
from asd.ingest.audio import SAMPLE_RATE, Skip, convert
from asd.ingest.layout import (clip_name, folder_attributes, relative_parts, write_attributes_csv,
                               write_marker, written_by_ingest)


@dataclass(frozen=True)
class Group:
    option: str               # argparse dest, e.g. test_anomaly (--test-anomaly)
    split: str
    domain: str | None        # None: unlabelled test clips, renamed section_00_<NNNN>.wav
    label: str | None         # normal | anomaly, clean | noise for supplemental

    @property
    def flag(self) -> str:
        return "--" + self.option.replace("_", "-")


GROUPS = (
    Group("normal", "train", "source", "normal"),
    Group("target", "train", "target", "normal"),
    Group("test_normal", "test", "source", "normal"),
    Group("test_anomaly", "test", "source", "anomaly"),
    Group("test_normal_target", "test", "target", "normal"),
    Group("test_anomaly_target", "test", "target", "anomaly"),
    Group("test", "test", None, None),
    Group("supplemental_clean", "supplemental", "source", "clean"),
    Group("supplemental_noise", "supplemental", "source", "noise"),
)
MIN_SECONDS = 1.0
MAX_SECONDS = 3600.0


@dataclass
class Written:
    clips: int = 0
    samples: int = 0
    files: int = 0            # source files used
    skipped: int = 0          # source files skipped


@dataclass
class Report:
    folder: Path
    written: dict[str, Written] = field(default_factory=dict)      # by Group.option
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)    # the earlier tree, now rewritten
    removed: list[Path] = field(default_factory=list)     # the earlier tree in the other part


def find_files(flag: str, sources: list[Path]) -> list[tuple[Path, Path | None]]:
    """(file, SRC folder or None) for every file a group's SRCs name, in sorted path order.
    Hidden files and folders (a name starting with '.') are left out."""
    found: dict[Path, tuple[Path, Path | None]] = {}
    for src in sources:
        src = Path(src)
        if src.is_dir():
            files = [p for p in src.rglob("*") if p.is_file()
                     and not any(s.startswith(".") for s in p.relative_to(src).parts)]
            if not files:
                raise UsageError(f"{flag} {src}: no files in this folder")
            for p in files:
                found.setdefault(p.resolve(), (p, src))
        elif src.is_file():
            found.setdefault(src.resolve(), (src, None))
        else:
            raise UsageError(f"{flag} {src}: no such file or folder")
    return sorted(found.values(), key=lambda fb: Path(os.path.abspath(fb[0])).parts)


def plan(root: Path, machine: str, sources: dict[str, list[Path]]) -> dict[str, list]:
    """The files of every group; refuses a missing SRC, a file named by two options and a SRC
    that overlaps the machine folders ingest writes or replaces."""
    if not sources.get("normal"):
        raise UsageError("--normal SRC is required: the models need source-domain training clips")
    if sources.get("test") and any(sources.get(g.option) for g in GROUPS
                                   if g.split == "test" and g.domain):
        raise UsageError("--test (unlabelled clips, renamed section_00_<NNNN>.wav) cannot be "
                         "combined with --test-normal/--test-anomaly[-target]: give one or the "
                         "other")
    outs = [(Path(root) / part / "raw" / machine).resolve() for part in ("dev_data", "eval_data")]
    files: dict[str, list] = {}
    owner: dict[Path, str] = {}
    for g in GROUPS:
        for src in sources.get(g.option) or []:
            s = Path(src).resolve()
            for out in outs:
                if s == out or out in s.parents or s in out.parents:
                    raise UsageError(f"{g.flag} {src} overlaps {out}, which ingest writes or "
                                     f"replaces; keep the recordings outside the data root")
        files[g.option] = find_files(g.flag, sources.get(g.option) or [])
        for path, _ in files[g.option]:
            first = owner.setdefault(path.resolve(), g.flag)
            if first != g.flag:
                raise UsageError(f"{path} is given to both {first} and {g.flag}; a recording "
                                 f"belongs to one split and label")
    return files


def ingest(root: Path, machine: str, sources: dict[str, list[Path]], seconds: float = 10.0,
           part: str = "dev", log: Callable[[str], None] = print) -> Report:
    """Convert and write one machine; returns what was written. Raises UsageError/DataError."""
    check_machine_name(machine)
    if part not in ("dev", "eval"):
        raise ValueError(part)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds {seconds:g}: a clip is {MIN_SECONDS:g} to {MAX_SECONDS:g} s "
                         f"long")
    root = Path(root)
    clip_samples = int(round(seconds * SAMPLE_RATE))
    files = plan(root, machine, sources)
    part_dir = root / f"{part}_data"
    final = part_dir / "raw" / machine
    other = root / f"{'eval' if part == 'dev' else 'dev'}_data" / "raw" / machine
    for folder in (final, other):
        if folder.exists() and not written_by_ingest(folder):
            raise UsageError(f"{folder} exists and was not written by asd.ingest (it has no "
                             f"ingest.json); choose another --machine or move that folder away")
    report = Report(final)
    tmp = part_dir / f".ingest-{machine}.tmp"
    try:
        (part_dir / "raw").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        for split in ("train", "test"):
            (tmp / split).mkdir(parents=True)
        rows = _convert_all(tmp, files, clip_samples, seconds, report, log)
        write_attributes_csv(tmp, machine, rows)
        write_marker(tmp, {
            "machine": machine, "part": part, "seconds": seconds,
            "sources": {g.option: [str(p) for p in sources.get(g.option) or []] for g in GROUPS
                        if sources.get(g.option)},
            "clips": {g.option: report.written[g.option].clips for g in GROUPS
                      if sources.get(g.option)}})
        old = part_dir / f".ingest-{machine}.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
            report.replaced.append(final)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        if other.exists():
            shutil.rmtree(other)
            report.removed.append(other)
    except OSError as e:
        raise UsageError(f"--data-root {root}: cannot write ({e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if files["test"]:
        for gt in ground_truth_paths(root, machine):
            if gt.exists():
                log(f"note: {gt} exists: asd.dataset joins it with these unlabelled test clips; "
                    f"remove it unless it describes exactly these clips")
    return report


def _convert_all(tmp: Path, files: dict[str, list], clip_samples: int, seconds: float,
                 report: Report, log: Callable[[str], None]) -> list[tuple[str, str, tuple]]:
    rows = []
    for g in GROUPS:
        w = report.written[g.option] = Written()
        if g.split == "supplemental" and files[g.option]:
            (tmp / g.split).mkdir(exist_ok=True)
        for path, base in files[g.option]:
            try:
                conv = convert(path, clip_samples)
            except Skip as e:
                log(f"skipped {path}: {e}")
                report.skipped.append((path, str(e)))
                w.skipped += 1
                continue
            pairs = folder_attributes(relative_parts(path, base))
            for clip in conv.clips:
                name = clip_name(g.split, g.domain, g.label, w.clips, pairs)
                sf.write(str(tmp / g.split / name), clip, SAMPLE_RATE, subtype="PCM_16",
                         format="WAV")
                rows.append((g.split, name, pairs))
                w.clips += 1
                w.samples += len(clip)
            w.files += 1
            for note in conv.notes:
                log(f"note {path}: {note}")
            if conv.dropped:
                log(f"note {path}: the last {conv.dropped / SAMPLE_RATE:.2f} s dropped "
                    f"(shorter than one {seconds:g}-s clip)")
            if conv.short:
                log(f"note {path}: {conv.samples / SAMPLE_RATE:.2f} s, kept whole as one clip "
                    f"shorter than {seconds:g} s")
            if conv.clipped:
                log(f"note {path}: {conv.clipped} samples beyond full scale clipped")
        if g.option == "normal" and w.clips == 0:
            n = len(files["normal"])
            raise DataError(f"--normal: none of its {n} file(s) is usable audio (see the "
                            f"`skipped` lines); the models need at least one source training clip")
    return rows


def summary_rows(report: Report) -> list[tuple[str, str, str, int, float, int, int]]:
    """(split, domain, label, clips, seconds, files used, files skipped) of every group given."""
    return [(g.split, g.domain or "?", g.label or "?", w.clips, w.samples / SAMPLE_RATE, w.files,
             w.skipped)
            for g in GROUPS for w in [report.written.get(g.option)] if w and (w.files or w.skipped)]


def skipped_reasons(report: Report) -> Counter:
    return Counter(reason.split(" (")[0] for _, reason in report.skipped)
