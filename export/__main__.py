"""`python -m export --run RUN_DIR --machine X [--prune R] [--data-root data] [--out DIR]`

Prune (optional), convert to int8, verify every test clip with TFLite Micro against float and
ONNX, and write the firmware's C files into firmware/models/<machine>/ (or --out).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from asd import cli  # noqa: E402
from asd.dataset import check_machine_name  # noqa: E402
from export.pipeline import STAGES, ExportOptions, check_drop, run_export  # noqa: E402


def parse_args(argv=None) -> ExportOptions:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="trained run directory")
    ap.add_argument("--machine", required=True)
    ap.add_argument("--data-root", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, help="default firmware/models/<machine>")
    ap.add_argument("--prune", type=float, help="fraction of MACs to keep, e.g. 0.5")
    ap.add_argument("--max-drop", type=float, default=1.0,
                    help="points of official score the int8 model may lose (default 1)")
    ap.add_argument("--calibration", type=int, default=500,
                    help="representative inputs drawn from training clips (default 500)")
    a = ap.parse_args(argv)
    return ExportOptions(a.run, a.machine, a.data_root, a.out, a.prune, a.max_drop, a.calibration)


def summary(report: dict) -> str:
    rows = [f"export {report['machine']} {report['model']}"
            + (f" pruned to {report['prune']:g} of MACs" if report.get("prune") else ""),
            f"  MACs/inference {report['macs_per_inference']:,} (int8 graph "
            f"{report['macs_int8_graph']:,}; unpruned {report['unpruned']['macs_per_inference']:,})"
            f"   params {report['params']:,}",
            f"  flash (model) {report['model_bytes']:,} B   arena {report['arena_bytes']:,} B "
            f"(TFLite Micro {report['arena_bytes_tflm']:,} B)   ops {len(report['ops'])}",
            f"  {'stage':8s} {'AUC src':>8s} {'AUC tgt':>8s} {'pAUC':>8s} {'official':>9s}"]
    for stage in ("unpruned",) + STAGES:
        m = report.get(stage)
        if m and "auc_source" in m:
            rows.append(f"  {stage:8s} {m['auc_source']:8.4f} {m['auc_target']:8.4f} "
                        f"{m['pauc']:8.4f} {m['official_score']:9.4f}")
    corr = report["score_correlation"]
    rows.append(f"  score rank correlation with float: onnx {corr['onnx']:.4f}, int8 "
                f"{corr['int8']:.4f}; |torch - onnx| max {report['onnx_max_abs_diff']:.1e}")
    return "\n".join(rows)


def main(argv=None) -> int:
    opts = parse_args(argv)
    check_machine_name(opts.machine)  # a folder name and a C string in model_config.h
    report = run_export(opts)
    out = opts.out_dir or Path("firmware/models") / opts.machine
    print(summary(report))
    print(f"  wrote {out}/ in {report['seconds']} s")
    check_drop(report, opts.max_drop, out)
    return 0


if __name__ == "__main__":
    cli.run(main)
