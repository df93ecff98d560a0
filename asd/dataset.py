"""The DCASE 2025 Task 2 data layout: find machines, parse file names, read ground truth and wavs.

Layout (official, and written identically by asd.synth):
    <root>/dev_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
    <root>/eval_data/raw/<machine>/{train,test,supplemental}/*.wav, attributes_00.csv
    <root>/eval_data/ground_truth_data/ground_truth_<machine>_section_00_test.csv    file,0|1 (anomaly)
    <root>/eval_data/ground_truth_domain/ground_truth_<machine>_section_00_test.csv  file,0|1 (target)

Any machine folder works: a machine is whatever folder sits under dev_data/raw/ or eval_data/raw/,
and whether it is a development or an evaluation type is where its folder is (`machine_part`), not
its name. `check_machine_name` is the one place a machine name is validated.

Every problem with the tree raises DataError with the file, the problem and the fix.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SPLITS = ("train", "test", "supplemental")
DOMAINS = ("source", "target")
LABELS = ("normal", "anomaly")
SUPPLEMENTAL_KINDS = ("clean", "noise")

_LABELLED = re.compile(
    r"^section_(?P<section>\d{2})_(?P<domain>source|target)_(?P<split>train|test)_"
    r"(?P<label>normal|anomaly)_(?P<index>\d{4})(?:_(?P<attrs>.+))?\.wav$")
_RENAMED = re.compile(r"^section_(?P<section>\d{2})_(?P<index>\d{4})\.wav$")
_SUPPLEMENTAL = re.compile(
    r"^section_(?P<section>\d{2})_(?:(?P<domain>source|target)_)?(?:supplemental|supp)_"
    r"(?P<kind>clean|noise)_(?P<index>\d{4})(?:_(?P<attrs>.+))?\.wav$")


class DataError(Exception):
    """A data tree or file that does not fit; the message names the file, the problem and the fix."""


MAX_NAME = 40
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
PARTS = ("dev", "eval")


def check_machine_name(name: str) -> str:
    """The one check of a machine name (it becomes a folder name, a C string in the firmware and
    part of report file names): 1-40 ASCII letters, digits, '_', '-' or '.', not starting with '.'
    or '-'.
    Returns the name; DataError saying what is wrong otherwise."""
    rule = (f"a machine name is its folder's name: 1-{MAX_NAME} ASCII letters, digits, '_', '-' "
            f"or '.' ('.' and '-' not first), e.g. ToyCar or Pump")
    if not isinstance(name, str) or not name:
        raise DataError(f"empty machine name; {rule}")
    if _NAME.fullmatch(name) and len(name) <= MAX_NAME:
        return name
    if len(name) > MAX_NAME:
        problem = f"is {len(name)} characters long"
    elif not name.isascii():
        problem = "has non-ASCII characters"
    elif "/" in name or "\\" in name:
        problem = "has a path separator"
    elif name[0] in ".-":
        problem = f"starts with {name[0]!r}"
    elif any(c.isspace() for c in name):
        problem = "has white space"
    elif any(c in "'\"`" for c in name):
        problem = "has a quote"
    else:
        bad = "".join(sorted({c for c in name if not (c.isalnum() or c in "_-.")}))
        problem = f"has {bad!r}"
    raise DataError(f"machine name {name!r} {problem}; {rule}")


@dataclass(frozen=True)
class Clip:
    path: Path
    machine: str
    section: str
    split: str                   # train | test | supplemental
    domain: str | None           # source | target | None (evaluation test clip without ground truth)
    label: str | None            # normal | anomaly | None (unknown)
    index: int
    attributes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    kind: str | None = None      # supplemental only: clean | noise

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_anomaly(self) -> bool | None:
        return None if self.label is None else self.label == "anomaly"


def parse_attributes(text: str | None) -> dict[str, str]:
    """`car_A1_spd_28V_mic_1` -> {'car': 'A1', 'spd': '28V', 'mic': '1'}; `noAttribute` -> {}."""
    if not text or text == "noAttribute":
        return {}
    tokens = text.split("_")
    if len(tokens) % 2:
        tokens.append("")  # a trailing key without value: keep it rather than reject real data
    return dict(zip(tokens[0::2], tokens[1::2]))


def parse_name(path: Path, machine: str, split: str) -> Clip:
    """Parse one official file name into a Clip (labels of renamed evaluation clips stay None)."""
    path = Path(path)
    name = path.name
    pattern = _SUPPLEMENTAL if split == "supplemental" else _LABELLED
    m = pattern.match(name)
    if m is None and split == "test":
        m = _RENAMED.match(name)
    if m is None:
        raise DataError(f"{path}: file name does not follow the DCASE 2025 Task 2 pattern for "
                        f"{split}/ (expected e.g. {_example(split)}); rename or remove the file")
    g = m.groupdict()
    if g.get("split") and g["split"] != split:
        raise DataError(f"{path}: a '{g['split']}' clip inside {split}/; move it to {g['split']}/")
    attrs = parse_attributes(g.get("attrs"))
    label = g.get("label") or ("normal" if split != "test" and split != "supplemental" else None)
    return Clip(path=path, machine=machine, section=g["section"], split=split,
                domain=g.get("domain"), label=label, index=int(g["index"]),
                attributes=attrs, kind=g.get("kind"))


def _example(split: str) -> str:
    if split == "supplemental":
        return "section_00_source_supplemental_noise_0000_noAttribute.wav"
    if split == "test":
        return "section_00_target_test_anomaly_0003_car_A1_spd_28V_mic_1.wav or section_00_0007.wav"
    return "section_00_source_train_normal_0000_car_A1_spd_28V_mic_1.wav"


def available_machines(root: Path) -> list[str]:
    """Every machine folder under `<root>/dev_data/raw/` and `<root>/eval_data/raw/` (any name;
    hidden folders skipped), sorted."""
    root = Path(root)
    found = set()
    for part in ("dev_data", "eval_data"):
        raw = root / part / "raw"
        if raw.is_dir():
            found.update(p.name for p in raw.iterdir()
                         if p.is_dir() and not p.name.startswith("."))
    return sorted(found)


def machine_dir(root: Path, machine: str) -> Path:
    """`<root>/dev_data/raw/<machine>` or `<root>/eval_data/raw/<machine>`, whichever exists.

    Any folder name that passes check_machine_name is a machine; a missing one is a DataError
    listing the machines the root does hold."""
    return _find(root, machine)[1]


def machine_part(root: Path, machine: str) -> str:
    """'dev' when the machine's folder is under `<root>/dev_data/raw/`, 'eval' when it is under
    `<root>/eval_data/raw/`: decided by where the data is, not by the machine's name."""
    return _find(root, machine)[0]


def _find(root: Path, machine: str) -> tuple[str, Path]:
    check_machine_name(machine)
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data root not found; run `make data` for the synthetic set, "
                        f"`make download` for the official one, or pass --data-root")
    found = [(part, root / f"{part}_data" / "raw" / machine) for part in PARTS]
    found = [(part, d) for part, d in found if d.is_dir()]
    if len(found) == 2:
        raise DataError(f"{root}: machine {machine!r} is under both dev_data/raw/ and "
                        f"eval_data/raw/; keep one of {found[0][1]} and {found[1][1]}")
    if found:
        return found[0]
    have = available_machines(root)
    hint = (f"this root has: {', '.join(have)}" if have else
            "this root holds no machine folders (run `make data` or `make download`)")
    raise DataError(f"{root}: machine {machine!r} not found under dev_data/raw/ or eval_data/raw/; "
                    f"{hint}")


def list_clips(root: Path, machine: str, split: str) -> list[Clip]:
    """All clips of one split, sorted by file name, with ground truth joined for renamed tests."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    folder = machine_dir(root, machine) / split
    if not folder.is_dir():
        if split == "supplemental":
            return []
        raise DataError(f"{folder}: folder missing; the machine needs {split}/ with .wav clips")
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    except PermissionError:
        raise DataError(f"{folder}: permission denied; make the folder readable") from None
    clips = [parse_name(p, machine, split) for p in files]
    if split == "train" and not clips:
        raise DataError(f"{folder}: no training clips; the folder must hold "
                        f"section_00_<source|target>_train_normal_*.wav files")
    if split == "test" and any(c.label is None for c in clips):
        clips = _join_ground_truth(Path(root), machine, clips)
    return clips


def ground_truth_paths(root: Path, machine: str) -> tuple[Path, Path]:
    """Where the evaluator's label and domain CSVs for an evaluation machine are expected."""
    name = f"ground_truth_{machine}_section_00_test.csv"
    base = Path(root) / "eval_data"
    return base / "ground_truth_data" / name, base / "ground_truth_domain" / name


def _read_flag_csv(path: Path) -> dict[str, int]:
    rows: dict[str, int] = {}
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if len(row) != 2 or row[1].strip() not in ("0", "1"):
                raise DataError(f"{path}:{lineno}: expected `file,0|1`, got {','.join(row)!r}")
            rows[Path(row[0].strip()).name] = int(row[1])
    return rows


def read_attributes_csv(folder: Path) -> dict[str, dict[str, str]]:
    """`attributes_00.csv` (`file_name,d1p,d1v,d2p,d2v,...`): file name -> attribute dict."""
    path = Path(folder) / "attributes_00.csv"
    if not path.exists():
        return {}
    out: dict[str, dict[str, str]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row.get("file_name"):
                raise DataError(f"{path}: a row without file_name; the header must start with "
                                f"`file_name,d1p,d1v`")
            pairs = [(row.get(f"d{i}p") or "", row.get(f"d{i}v") or "") for i in range(1, 64)
                     if f"d{i}p" in row]
            out[Path(row["file_name"]).name] = {k: v for k, v in pairs
                                                if k and k != "noAttribute"}
    return out


def _join_ground_truth(root: Path, machine: str, clips: list[Clip]) -> list[Clip]:
    label_csv, domain_csv = ground_truth_paths(root, machine)
    labels = _read_flag_csv(label_csv) if label_csv.exists() else {}
    domains = _read_flag_csv(domain_csv) if domain_csv.exists() else {}
    attributes = read_attributes_csv(machine_dir(root, machine))
    out = []
    for c in clips:
        if c.label is not None:
            out.append(c)
            continue
        if labels and c.name not in labels:
            raise DataError(f"{label_csv}: no row for {c.name}; the ground truth does not match "
                            f"the test/ folder")
        lab = labels.get(c.name)
        dom = domains.get(c.name)
        out.append(Clip(path=c.path, machine=c.machine, section=c.section, split=c.split,
                        domain=None if dom is None else DOMAINS[dom],
                        label=None if lab is None else LABELS[lab], index=c.index,
                        attributes=attributes.get(c.name, c.attributes)))
    return out


def _read(path: Path, sample_rate: int, dtype: str) -> np.ndarray:
    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise DataError(f"{path}: unreadable wav ({e}); re-download or regenerate the file") from None
    if sr != sample_rate:
        raise DataError(f"{path}: sample rate {sr} Hz, expected {sample_rate} Hz; resample it "
                        f"(e.g. `sox in.wav -r {sample_rate} out.wav`)")
    if data.shape[1] != 1:
        raise DataError(f"{path}: {data.shape[1]} channels, expected mono; mix down "
                        f"(e.g. `sox in.wav -c 1 out.wav`)")
    if data.shape[0] == 0:
        raise DataError(f"{path}: empty wav (no samples, only a header); re-download or "
                        f"regenerate the file, or remove it")
    need = min_samples()
    if data.shape[0] < need:
        raise DataError(f"{path}: only {data.shape[0]} samples ({data.shape[0] / sr:.3f} s); the "
                        f"features need at least {need} samples ({need / sample_rate:.3f} s); "
                        f"replace it with a full clip (re-download or regenerate it) or remove it")
    return data[:, 0]


def min_samples() -> int:
    """The shortest clip the reader accepts: asd.features.FEATURES.min_samples (one analysis
    window and enough frames for one context vector)."""
    from asd.features import FEATURES  # local import: features imports librosa, slow to load
    return FEATURES.min_samples


def load_wav(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """A mono clip as float32 in [-1, 1); DataError for anything that is not 16-kHz mono audio."""
    return _read(path, sample_rate, "float32")


def load_pcm16(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """The same clip as int16 samples (what a microphone front end delivers to the device);
    load_wav(path) == load_pcm16(path) / 32768 exactly for PCM_16 files."""
    return _read(path, sample_rate, "int16")
