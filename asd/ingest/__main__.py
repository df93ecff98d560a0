"""python -m asd.ingest --data-root DIR --machine NAME --normal SRC [--target SRC]
[--test-normal SRC] [--test-anomaly SRC] [--test-normal-target SRC] [--test-anomaly-target SRC]
[--test SRC] [--supplemental-clean SRC] [--supplemental-noise SRC] [--seconds 10] [--dev|--eval]

Your own recordings -> the official DCASE 2025 Task 2 layout (16 kHz, mono, PCM_16 clips).
Each SRC is a folder (searched recursively; its sub-folder names become attributes) or audio
files; an option may be repeated or take several paths. See docs/data.md ("Your own recordings").
"""
from __future__ import annotations

import argparse
from pathlib import Path

from asd import cli
from asd.ingest import GROUPS, Report, ingest, skipped_reasons, summary_rows

_HELP = {
    "normal": "source-domain normal training recordings (required)",
    "target": "target-domain normal training recordings",
    "test_normal": "labelled normal test recordings, source domain",
    "test_anomaly": "labelled anomalous test recordings, source domain",
    "test_normal_target": "labelled normal test recordings, target domain",
    "test_anomaly_target": "labelled anomalous test recordings, target domain",
    "test": "unlabelled test recordings (renamed section_00_<NNNN>.wav, no ground truth)",
    "supplemental_clean": "supplemental clips: the machine alone (source domain)",
    "supplemental_noise": "supplemental clips: background noise only (source domain)",
}


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__.split("\n\n")
    ap = argparse.ArgumentParser(prog="python -m asd.ingest", description="\n\n".join(doc[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, required=True, help="data root to write into")
    ap.add_argument("--machine", required=True, help="machine name (the folder under raw/)")
    for g in GROUPS:
        ap.add_argument(g.flag, dest=g.option, type=Path, nargs="+", action="extend",
                        metavar="SRC", help=_HELP[g.option])
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="clip length in seconds (default 10; 1 to 3600)")
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--dev", dest="part", action="store_const", const="dev",
                      help="write under dev_data/raw/ (default)")
    part.add_argument("--eval", dest="part", action="store_const", const="eval",
                      help="write under eval_data/raw/")
    ap.set_defaults(part="dev")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    sources = {g.option: getattr(args, g.option) for g in GROUPS if getattr(args, g.option)}
    report = ingest(args.data_root, args.machine, sources, args.seconds, args.part)
    print_report(report, args.seconds)
    print_consequences(report, sources)
    return 0


def print_report(report: Report, seconds: float) -> None:
    for path in report.replaced:
        print(f"replaced {path} (written by asd.ingest before)")
    for path in report.removed:
        print(f"removed {path} (written by asd.ingest before; the machine now lives in "
              f"{report.folder.parent})")
    print(f"\nwrote {report.folder} (16 kHz, mono, PCM_16, {seconds:g}-s clips)")
    print(f"  {'split':<13}{'domain':<8}{'label':<9}{'clips':>7}{'seconds':>10}{'files':>7}"
          f"{'skipped':>9}")
    total = [0, 0.0, 0, 0]
    for split, domain, label, *row in summary_rows(report):
        clips, secs, files, skipped = row
        print(f"  {split:<13}{domain:<8}{label:<9}{clips:>7}{secs:>10.1f}{files:>7}{skipped:>9}")
        total = [a + b for a, b in zip(total, row)]
    print(f"  {'total':<30}{total[0]:>7}{total[1]:>10.1f}{total[2]:>7}{total[3]:>9}")
    if report.skipped:
        why = ", ".join(f"{n} {r}" for r, n in sorted(skipped_reasons(report).items()))
        print(f"skipped {len(report.skipped)} file(s) ({why}); see the `skipped` lines above")
    else:
        print("skipped 0 files")


def print_consequences(report: Report, sources: dict) -> None:
    """What the data given means for training and scoring."""
    n = {g: w.clips for g, w in report.written.items()}
    if not n.get("target"):
        print("no --target: there are no target-domain training clips, so target test clips are "
              "scored against the source domain only (every model fits source statistics; "
              "stats, ae-maha and cls use the source ones for both domains)")
    labelled = sum(n.get(g, 0) for g in ("test_normal", "test_anomaly", "test_normal_target",
                                         "test_anomaly_target"))
    anomalies = n.get("test_anomaly", 0) + n.get("test_anomaly_target", 0)
    if labelled and not (n.get("test_normal") and n.get("test_normal_target") and anomalies):
        print("metrics: python -m train computes AUC(source), AUC(target) and pAUC only with "
              "normal test clips of both domains and anomalous ones; with these test clips it "
              "writes scores and decisions but no metrics")
    if not labelled and not n.get("test"):
        print("no test clips: test/ is empty, training works but there is nothing to score")


if __name__ == "__main__":
    cli.run(main)
