"""The challenge's metrics and its submission files.

AUC per domain: that domain's normal clips against all anomalous clips of the section.
pAUC: whole section, FPR <= 0.1, McClish-standardised (sklearn's roc_auc_score(max_fpr=0.1)).
Official score: harmonic mean of every machine type's AUC(source), AUC(target) and pAUC.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import hmean
from sklearn.metrics import roc_auc_score

MAX_FPR = 0.1
KEYS = ("auc_source", "auc_target", "pauc")


@dataclass(frozen=True)
class SectionScores:
    auc_source: float
    auc_target: float
    pauc: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in KEYS}


def section_metrics(scores: Sequence[float], is_anomaly: Sequence[bool],
                    domains: Sequence[str]) -> SectionScores:
    """AUC(source), AUC(target) and pAUC of one section; higher score = more anomalous."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_anomaly, dtype=bool)
    d = np.asarray(domains)
    if not (len(s) == len(y) == len(d)):
        raise ValueError("scores, labels and domains differ in length")
    if not y.any() or y.all():
        raise ValueError("metrics need both normal and anomalous clips")
    aucs = {}
    for dom in ("source", "target"):
        keep = y | (d == dom)
        if not (~y & keep).any():
            raise ValueError(f"no normal {dom} clips: AUC({dom}) is undefined")
        aucs[dom] = roc_auc_score(y[keep], s[keep])
    pauc = roc_auc_score(y, s, max_fpr=MAX_FPR)
    return SectionScores(float(aucs["source"]), float(aucs["target"]), float(pauc))


def decision_rates(decisions: Sequence[bool], is_anomaly: Sequence[bool],
                   domains: Sequence[str]) -> dict[str, float]:
    """What a monitoring device's decisions do, per domain: the false-alarm rate (normal clips
    flagged) and the detection rate (anomalous clips flagged); NaN where a domain has none."""
    d = np.asarray(decisions, bool)
    y = np.asarray(is_anomaly, bool)
    dom = np.asarray(domains)
    out = {}
    for name in ("source", "target"):
        for key, want in (("false_alarm", False), ("detection", True)):
            pick = (dom == name) & (y == want)
            out[f"{key}_{name}"] = float(d[pick].mean()) if pick.any() else float("nan")
    return out


def official_score(per_machine: Mapping[str, SectionScores]) -> float:
    """Harmonic mean over all machine types of AUC(source), AUC(target) and pAUC."""
    values = [v for m in per_machine.values() for v in (m.auc_source, m.auc_target, m.pauc)]
    if not values:
        raise ValueError("no machine results")
    return float(hmean(np.maximum(values, np.finfo(float).eps)))


def _write_rows(path: Path, files: Sequence[str], values: Sequence) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        for name, v in zip(files, values, strict=True):
            w.writerow([Path(name).name, v])


def score_csv_name(machine: str) -> str:
    return f"anomaly_score_{machine}_section_00_test.csv"


def decision_csv_name(machine: str) -> str:
    return f"decision_result_{machine}_section_00_test.csv"


def write_scores(out_dir: Path, machine: str, files: Sequence[str],
                 scores: Sequence[float]) -> Path:
    """`anomaly_score_<machine>_section_00_test.csv`: no header, `file,score` rows."""
    path = Path(out_dir) / score_csv_name(machine)
    _write_rows(path, files, [repr(float(s)) for s in scores])
    return path


def write_decisions(out_dir: Path, machine: str, files: Sequence[str],
                    decisions: Sequence[bool]) -> Path:
    """`decision_result_<machine>_section_00_test.csv`: no header, `file,0|1` rows (1 = anomaly)."""
    path = Path(out_dir) / decision_csv_name(machine)
    _write_rows(path, files, [int(bool(d)) for d in decisions])
    return path


def read_scores(path: Path) -> dict[str, float]:
    with open(path, newline="") as f:
        return {row[0]: float(row[1]) for row in csv.reader(f) if row}


def result_table(per_machine: Mapping[str, SectionScores]) -> list[list[str]]:
    """Rows in the official evaluator's shape: per machine, then arithmetic and harmonic means."""
    rows = [["machine", "AUC (source)", "AUC (target)", "pAUC"]]
    cols = {k: [] for k in KEYS}
    for machine, m in per_machine.items():
        rows.append([machine] + [f"{getattr(m, k):.4f}" for k in KEYS])
        for k in KEYS:
            cols[k].append(getattr(m, k))
    if per_machine:
        rows.append(["arithmetic mean"] + [f"{np.mean(cols[k]):.4f}" for k in KEYS])
        rows.append(["harmonic mean"] + [f"{hmean(np.maximum(cols[k], 1e-12)):.4f}" for k in KEYS])
        rows.append(["official score", f"{official_score(per_machine):.4f}", "", ""])
    return rows


def format_markdown(rows: list[list[str]]) -> str:
    head, body = rows[0], rows[1:]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def write_result_table(path: Path, per_machine: Mapping[str, SectionScores]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(result_table(per_machine))
    return path
