"""`python -m export.table DIR...`: a markdown table of export.json reports (float vs int8 vs
pruned int8), for docs/export.md. Each DIR is searched for export.json files."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = ("machine", "model", "variant", "stage", "AUC src", "AUC tgt", "pAUC", "official",
           "MACs/inference", "params", "model bytes", "arena bytes")


def rows_of(report: dict) -> list[list[str]]:
    variant = f"pruned {report['prune']:g}" if report.get("prune") else "unpruned"
    stages = [("float", report.get("float")), ("int8", report.get("int8"))]
    if report.get("prune"):
        stages.insert(0, ("float before pruning", report["unpruned"]))
    out = []
    for stage, m in stages:
        if not m or "auc_source" not in m:
            continue
        before = stage == "float before pruning"
        macs = report["unpruned"]["macs_per_inference"] if before else report["macs_per_inference"]
        params = report["unpruned"]["params"] if before else report["params"]
        out.append([report["machine"], report["model"], variant, stage,
                    *(f"{m[k]:.4f}" for k in ("auc_source", "auc_target", "pauc",
                                              "official_score")),
                    f"{macs:,}", f"{params:,}",
                    "" if before else f"{report['model_bytes']:,}",
                    "" if before else f"{report['arena_bytes']:,}"])
    return out


def markdown(reports: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in sorted(reports, key=lambda r: (r["machine"], r["model"], bool(r.get("prune")))):
        lines += ["| " + " | ".join(row) + " |" for row in rows_of(r)]
    def drop(a: dict, b: dict) -> float:
        return 100 * (a["official_score"] - b["official_score"])

    def line(what: str, drops: list[float]) -> str:
        worst = max(drops)  # drops are float - int8 (or unpruned - pruned): negative is a gain
        head = f"largest drop {worst:.2f} points" if worst > 0 else "no drop in any"
        return (f"{what}: {head}, mean {sum(drops) / len(drops):.2f} points over {len(drops)} "
                f"exports.")

    done = [r for r in reports if r.get("float") and r.get("int8")]
    plain = [drop(r["float"], r["int8"]) for r in done if not r.get("prune")]
    pruned = [r for r in done if r.get("prune") and "official_score" in r["unpruned"]]
    lines.append("")
    if plain:
        lines.append(line("int8 vs float (unpruned)", plain))
    if pruned:
        lines.append(line("pruned int8 vs pruned float", [drop(r["float"], r["int8"])
                                                          for r in pruned]))
        lines.append(line("pruned int8 vs unpruned float", [drop(r["unpruned"], r["int8"])
                                                            for r in pruned]))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dirs", nargs="+", type=Path)
    args = ap.parse_args()
    reports = [json.loads(p.read_text()) for d in args.dirs for p in sorted(d.rglob("export.json"))]
    print(markdown(reports), end="")


if __name__ == "__main__":
    main()
