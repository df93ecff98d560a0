"""Names for ingested clips: attributes from sub-folders, the official file names,
attributes_00.csv and the ingest.json marker. (Machine names: asd.dataset.check_machine_name.)"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path, PurePath

from asd.cli import UsageError
from asd.machines import SECTION

MARKER = "ingest.json"
WRITTEN_BY = "asd.ingest"

# Characters an attribute key or value may keep; everything else (space, '_', '/', ...) becomes '-'.
_OTHER = re.compile(r"[^A-Za-z0-9.+-]+")


def clean(text: str) -> str:
    """An attribute token safe inside the `_`-separated name: runs of other characters -> '-'."""
    return _OTHER.sub("-", text).strip("-")


def folder_attributes(parts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Attributes of a file from the sub-folders between its SRC folder and itself.

    A folder name of `key_value` pairs gives those pairs (`speed_1500` -> speed=1500,
    `speed_1500_load_2` -> speed=1500, load=2); any other name gives `folder=<name>`
    (`morning` -> folder=morning); nested folders add up in path order. A key seen before gets a
    number (`folder`, `folder2`, ...). Folders whose name is nothing but punctuation are ignored.
    """
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}

    def add(key: str, value: str) -> None:
        n = seen.get(key, 0) + 1
        seen[key] = n
        pairs.append((key if n == 1 else f"{key}{n}", value))

    for part in parts:
        tokens = [clean(t) for t in part.split("_")]
        if len(tokens) % 2 == 0 and all(tokens):
            for k, v in zip(tokens[0::2], tokens[1::2]):
                add(k, v)
        elif clean(part):
            add("folder", clean(part))
    return tuple(pairs)


def attrs_text(pairs) -> str:
    return "_".join(f"{k}_{v}" for k, v in pairs) if pairs else "noAttribute"


def clip_name(split: str, domain: str | None, label: str | None, index: int, pairs) -> str:
    """The official file name of the clip with 0-based `index` in its group; domain None is an
    unlabelled (renamed) test clip. Labelled names are numbered from 0000 and renamed ones from
    0001, as in the official data (and asd.synth, asd.heldout, the official evaluator)."""
    number = index + 1 if domain is None else index
    if number > 9999:
        most = 9999 if domain is None else 10000
        raise UsageError(f"more than {most} {split} clips of one domain and label; the official "
                         f"names have four-digit numbers: use fewer or longer clips (--seconds)")
    if domain is None:
        return f"section_{SECTION}_{number:04d}.wav"
    name = f"section_{SECTION}_{domain}_{split}_{label}_{number:04d}_{attrs_text(pairs)}.wav"
    if len(name.encode()) > 255:
        raise UsageError(f"the attributes {attrs_text(pairs)!r} make a file name longer than 255 "
                         f"bytes; use shorter or fewer sub-folder names")
    return name


def write_attributes_csv(folder: Path, machine: str, rows: list[tuple[str, str, tuple]]) -> Path:
    """`attributes_00.csv` as the official one: header `file_name,d1p,d1v,...`, one row per clip
    (`<machine>/<split>/<file>,key,value,...`, `noAttribute,` when it has none), train then
    test then supplemental, each sorted by file name."""
    order = {"train": 0, "test": 1, "supplemental": 2}
    width = max([len(p) for _, _, p in rows] + [1])
    header = ["file_name"] + [f"d{i}{c}" for i in range(1, width + 1) for c in "pv"]
    out = [header]
    for split, name, pairs in sorted(rows, key=lambda r: (order[r[0]], r[1])):
        vals = [x for kv in pairs for x in kv] if pairs else ["noAttribute", ""]
        out.append([f"{machine}/{split}/{name}"] + vals + [""] * (2 * width - len(vals)))
    path = Path(folder) / "attributes_00.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(out)
    return path


def written_by_ingest(folder: Path) -> bool:
    try:
        return json.loads((Path(folder) / MARKER).read_text()).get("written_by") == WRITTEN_BY
    except (OSError, ValueError, AttributeError):
        return False


def write_marker(folder: Path, record: dict) -> Path:
    path = Path(folder) / MARKER
    path.write_text(json.dumps({"written_by": WRITTEN_BY, **record}, indent=2) + "\n")
    return path


def relative_parts(file: Path, base: Path | None) -> tuple[str, ...]:
    """Sub-folder names between a SRC folder and a file in it (none for a file given directly)."""
    if base is None:
        return ()
    return PurePath(file).relative_to(base).parts[:-1]
