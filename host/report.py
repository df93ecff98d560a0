"""Bench reports: metrics per stage, timing and memory figures, plots, report.md and summary.json.

Everything is computed from the per-clip CSV, so a partial run (Ctrl-C, a crash) still yields a
valid report of what was measured.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import hmean, spearmanr

from asd.metrics import decision_rates, section_metrics

STAGES = ("float", "int8_ref", "device")
COLUMNS = ("file", "domain", "label", "float_score", "int8_ref_score", "device_score",
           "decision", "frames", "inferences", "frontend_cycles", "inference_cycles",
           "float_decision", "int8_ref_decision")
REFERENCE_DECISIONS = ("float_decision", "int8_ref_decision")  # absent in older results.csv


@dataclass
class Rows:
    """The per-clip results, column-wise."""
    rows: list[dict]

    def col(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows])

    def scores(self, stage: str) -> np.ndarray:
        return self.col(f"{stage}_score").astype(np.float64)


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("float_score", "int8_ref_score", "device_score"):
            r[k] = float(r[k])
        for k in ("decision", "frames", "inferences", "frontend_cycles", "inference_cycles"):
            r[k] = int(r[k])
        for k in REFERENCE_DECISIONS:
            if r.get(k) in (None, ""):
                r.pop(k, None)
            else:
                r[k] = int(r[k])
    return rows


def stage_metrics(rows: Rows, stage: str) -> dict | None:
    labelled = [i for i, r in enumerate(rows.rows) if r["label"] and r["domain"]]
    if not labelled:
        return None
    sub = [rows.rows[i] for i in labelled]
    try:
        m = section_metrics([r[f"{stage}_score"] for r in sub],
                            [r["label"] == "anomaly" for r in sub], [r["domain"] for r in sub])
    except ValueError:  # a subset without some class: the metric is undefined
        return None
    out = m.as_dict()
    out["official_score"] = float(hmean([m.auc_source, m.auc_target, m.pauc]))
    return out


RATES = ("false_alarm_source", "false_alarm_target", "detection_source", "detection_target")


def stage_decision_rates(rows: Rows, stage: str, threshold: float) -> dict | None:
    """False-alarm rate (normal clips flagged) and detection rate (anomalies flagged) per domain
    of a stage's decisions on the labelled clips: the device's own decisions (score > the
    threshold of model_config.h for the clip's domain, compared in float32 on the chip), for
    the other stages the decisions their references took with the same thresholds (results
    written before those columns: their scores against the one float32 threshold). None
    without labels; a domain without normal (or anomalous) clips gives None for that rate."""
    sub = [r for r in rows.rows if r["label"] and r["domain"]]
    if not sub:
        return None
    key = "decision" if stage == "device" else f"{stage}_decision"
    if all(key in r for r in sub):
        decisions = [bool(r[key]) for r in sub]
    else:
        thr = np.float32(threshold)
        decisions = [bool(np.float32(r[f"{stage}_score"]) > thr) for r in sub]
    rates = decision_rates(decisions, [r["label"] == "anomaly" for r in sub],
                           [r["domain"] for r in sub])
    return {k: (None if np.isnan(v) else float(v)) for k, v in rates.items()}


def summarize(rows: Rows, export: dict, info: dict, memory: dict) -> dict:
    dev, ref, flt = rows.scores("device"), rows.scores("int8_ref"), rows.scores("float")
    inferences = int(rows.col("inferences").sum()) if rows.rows else 0
    cycles = int(rows.col("inference_cycles").sum()) if rows.rows else 0
    macs = int(export["macs_per_inference"])
    per_inf = cycles / inferences if inferences else None
    out = {stage: stage_metrics(rows, stage) for stage in STAGES}
    out["decision_rates"] = {stage: stage_decision_rates(rows, stage, export["threshold"])
                             for stage in STAGES}
    out.update({
        "clips": len(rows.rows),
        "max_abs_device_minus_int8_ref": float(np.max(np.abs(dev - ref))) if len(dev) else None,
        "max_rel_device_minus_int8_ref": float(np.max(np.abs(dev - ref) / np.maximum(
            np.abs(ref), 1e-12))) if len(dev) else None,
        "clips_device_equal_int8_ref": int(np.sum(dev == ref)),
        "rank_correlation_device_vs_float": float(spearmanr(dev, flt).statistic)
        if len(dev) > 2 else None,
        "decisions_anomalous": int(rows.col("decision").sum()) if rows.rows else 0,
        "model_kind": export.get("model"),
        "inferences_per_clip": inferences / len(rows.rows) if rows.rows else None,
        "macs_per_inference": macs, "macs_per_inference_int8_graph": export.get("macs_int8_graph"),
        "macs_per_clip": macs * inferences / len(rows.rows) if rows.rows else None,
        "cycles_per_inference": per_inf,
        "frontend_cycles_per_frame": float(rows.col("frontend_cycles").sum()
                                           / max(1, rows.col("frames").sum()))
        if rows.rows else None,
        "core_hz": info["core_hz"], "board": info["board"],
        "ms_per_inference": 1000 * per_inf / info["core_hz"] if per_inf else None,
        "cycles_per_mac": per_inf / macs if per_inf else None,
        "arena_bytes": info["arena_bytes"], "model_bytes": export["model_bytes"],
        "threshold": export["threshold"], "threshold_target": export.get("threshold_target"),
        "sha256": export["sha256"],
    })
    out.update(memory)
    return out


def elf_memory(elf: Path | None) -> dict:
    """Flash (text + rodata + data initialisers) and static RAM (data + bss) of a firmware ELF."""
    if elf is None or not Path(elf).exists():
        return {"flash_bytes": None, "ram_bytes": None, "elf": None}
    from elftools.elf.elffile import ELFFile
    flash = ram = 0
    with open(elf, "rb") as f:
        for s in ELFFile(f).iter_sections():
            flags = s["sh_flags"]
            if not flags & 0x2:  # SHF_ALLOC: occupies memory at run time
                continue
            size = s["sh_size"]
            if s["sh_type"] == "SHT_NOBITS":
                ram += size
            elif flags & 0x1:    # SHF_WRITE: initialised data lives in flash and RAM
                flash += size
                ram += size
            else:
                flash += size
    return {"flash_bytes": flash, "ram_bytes": ram, "elf": str(elf)}


def _fmt(v, digits=4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _thresholds(summary: dict) -> str:
    if summary.get("threshold_target") is None:
        return f"threshold {_fmt(summary.get('threshold'), 6)}"
    return (f"threshold {_fmt(summary.get('threshold'), 6)} (source-like clips) / "
            f"{_fmt(summary['threshold_target'], 6)} (target-like clips, by the model's "
            f"domain discriminant)")


def table(summary: dict) -> str:
    lines = [f"{'stage':9s} {'AUC src':>8s} {'AUC tgt':>8s} {'pAUC':>8s} {'official':>9s}   "
             f"{'FA src':>7s} {'FA tgt':>7s} {'det src':>7s} {'det tgt':>7s}"]
    for stage in STAGES:
        m = summary.get(stage) or {}
        d = (summary.get("decision_rates") or {}).get(stage) or {}
        lines.append(f"{stage:9s} " + " ".join(f"{_fmt(m.get(k)):>8s}" for k in
                                              ("auc_source", "auc_target", "pauc")) +
                     f" {_fmt(m.get('official_score')):>9s}   " +
                     " ".join(f"{_fmt(d.get(k), 3):>7s}" for k in RATES))
    lines.append(f"FA = false-alarm rate (normal clips flagged), det = detection rate (anomalies "
                 f"flagged), per domain, at {_thresholds(summary)} (model_config.h; device: its "
                 f"own decisions)")
    lines.append(f"clips {summary['clips']}   max |device - int8 ref| "
                 f"{_fmt(summary['max_abs_device_minus_int8_ref'], 6)}   rank corr. device/float "
                 f"{_fmt(summary['rank_correlation_device_vs_float'])}")
    if summary.get("clips_device_equal_int8_ref") is not None:
        lines.append(f"device score == int8 ref score on {summary['clips_device_equal_int8_ref']} "
                     f"of {summary['clips']} clips")
    if summary.get("model_kind") and summary.get("inferences_per_clip") is not None:
        lines.append(f"model {summary['model_kind']}: {summary['inferences_per_clip']:.4g} "
                     f"inference(s) per clip, {_fmt(round(summary['macs_per_clip']))} MACs "
                     f"per clip")
    unit = "instructions" if summary["board"] == "qemu" else "cycles"
    lines.append(f"MACs/inference {_fmt(summary['macs_per_inference'])}   {unit}/inference "
                 f"{_fmt(summary['cycles_per_inference'], 0)} at {summary['core_hz']:,} Hz = "
                 f"{_fmt(summary['ms_per_inference'], 3)} ms   {unit}/MAC "
                 f"{_fmt(summary['cycles_per_mac'], 2)}")
    if summary["board"] == "emu":
        lines.append("(emu: the counter is the x86 host's nanoseconds, not MCU cycles)")
    elif summary["board"] == "qemu":
        lines.append("(qemu: under -icount shift=0 the \"cycles\" are instructions executed, "
                     "deterministic, not Cortex-M4 cycles; the Hz and ms are QEMU's virtual time)")
    lines.append(f"flash {_fmt(summary['flash_bytes'])} B   RAM {_fmt(summary['ram_bytes'])} B   "
                 f"arena {_fmt(summary['arena_bytes'])} B   model {_fmt(summary['model_bytes'])} B")
    return "\n".join(lines)


def plots(rows: Rows, summary: dict, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve
    made = []
    labelled = [r for r in rows.rows if r["label"]]
    if labelled and len({r["label"] for r in labelled}) == 2:
        y = [r["label"] == "anomaly" for r in labelled]
        fig, ax = plt.subplots(figsize=(5, 5))
        for stage, style in (("float", "-"), ("device", "--")):
            fpr, tpr, _ = roc_curve(y, [r[f"{stage}_score"] for r in labelled])
            ax.plot(fpr, tpr, style, label=stage)
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, all clips")
        ax.legend()
        made.append(_save(fig, out / "roc.png"))
    if rows.rows:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(rows.scores("float"), rows.scores("device"), s=8)
        ax.set(xlabel="float score", ylabel="device score", title="device vs float")
        made.append(_save(fig, out / "scatter.png"))
        fig, ax = plt.subplots(figsize=(6, 4))
        for dom in ("source", "target"):
            for lab in ("normal", "anomaly"):
                s = [r["device_score"] for r in rows.rows if r["domain"] == dom and r["label"] == lab]
                if s:
                    ax.hist(s, bins=20, alpha=0.5, label=f"{dom} {lab}")
        ax.axvline(summary["threshold"], color="k", linestyle="--", label="threshold")
        if summary.get("threshold_target") is not None:
            ax.axvline(summary["threshold_target"], color="k", linestyle=":",
                       label="threshold, target-like clips")
        ax.set(xlabel="device score", ylabel="clips", title="device scores per domain")
        ax.legend(fontsize=8)
        made.append(_save(fig, out / "hist.png"))
    return made


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def write(out: Path, rows: Rows, summary: dict, header: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    tmp.replace(out / "summary.json")
    pngs = plots(rows, summary, out)
    md = [f"# Bench report: {header}", "", "```", table(summary), "```", "",
          "Per-clip results: `results.csv`; all figures: `summary.json`.", ""]
    md += [f"![{p.stem}]({p.name})" for p in pngs]
    (out / "report.md").write_text("\n".join(md) + "\n")
