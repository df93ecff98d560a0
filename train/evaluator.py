"""`python -m train.evaluator --evaluator-dir DIR --team T --system S RUN...`: lay out runs as
nttcslab's official DCASE 2024/2025 Task 2 evaluator (dcase2024_task2_evaluator) reads them.

    DIR/teams/<team>/<system>/anomaly_score_<machine>_section_00_test.csv   copied from the runs
    DIR/teams/<team>/<system>/decision_result_<machine>_section_00_test.csv
    DIR/ground_truth_data/ground_truth_<machine>_section_00_test.csv        file,1=anomaly
    DIR/ground_truth_domain/ground_truth_<machine>_section_00_test.csv      file,1=target
    DIR/ground_truth_attributes/ground_truth_<machine>_section_00_test.csv  eval name,labelled name

RUN: a run directory (or a folder searched for them) holding anomaly_score_*.csv and
decision_result_*.csv. The ground truth comes from the run's data root (run.json; --data-root
overrides): for an evaluation type the three CSVs under eval_data/ (asd.synth writes all three;
a missing attributes CSV is written as name -> name), for a development type from the test file
names the scores list (`_anomaly_`, `_target_`), with name -> name attribute rows. The evaluator
skips a machine silently unless all three exist, and pairs scores with ground truth by sorting
both by file name, so the ground truth written lists exactly the files the run scored.
Then, in a clone of the evaluator: `python dcase2024_task2_evaluator.py --teams_root_dir
DIR/teams` run from DIR (it reads ground_truth_* relative to its working directory).
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from asd import cli
from asd.dataset import DataError, machine_part
from asd.metrics import decision_csv_name, score_csv_name
from train.run import RUN_INFO

GT_KINDS = ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes")
_PREFIX, _SUFFIX = "anomaly_score_", "_section_00_test.csv"


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return [row for row in csv.reader(f) if row]


def _write(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def find_runs(paths: list[Path]) -> list[tuple[Path, str]]:
    """(run directory, machine) for every anomaly-score CSV under the paths."""
    found = []
    for p in map(Path, paths):
        if not p.exists():
            raise cli.UsageError(f"{p}: no such run directory")
        for f in sorted(p.glob(f"{_PREFIX}*{_SUFFIX}")) or sorted(p.rglob(f"{_PREFIX}*{_SUFFIX}")):
            found.append((f.parent, f.name[len(_PREFIX):-len(_SUFFIX)]))
    if not found:
        raise cli.UsageError(f"no {_PREFIX}<machine>{_SUFFIX} under "
                             f"{', '.join(map(str, paths))}; score the test clips first")
    return found


def data_root_of(run: Path, override: Path | None) -> Path | None:
    if override is not None:
        return override
    info = run / RUN_INFO
    root = json.loads(info.read_text()).get("data_root") if info.exists() else None
    return Path(root) if root else None


def ground_truth(run: Path, machine: str, files: list[str], data_root: Path | None) -> dict:
    """{kind: rows} for the scored files, sorted by name."""
    files = sorted(files)
    try:
        part = machine_part(data_root, machine) if data_root else None
    except DataError:
        part = None
    if part == "eval":
        base = Path(data_root) / "eval_data"
        name = f"ground_truth_{machine}_section_00_test.csv"
        tables = {}
        for kind in GT_KINDS:
            path = base / kind / name
            if path.exists():
                tables[kind] = {r[0]: r for r in _read(path)}
            elif kind == "ground_truth_attributes":
                tables[kind] = {f: [f, f[:-4]] for f in files}
            else:
                raise cli.UsageError(f"{path}: missing; the evaluator needs it for {machine} "
                                     f"(an evaluation type: its ground truth is not in the names)")
        missing = [f for f in files if any(f not in t for t in tables.values())]
        if missing:
            raise cli.UsageError(f"{run}: {len(missing)} scored file(s) not in {machine}'s "
                                 f"ground truth under {base}, e.g. {missing[0]}")
        return {kind: [t[f] for f in files] for kind, t in tables.items()}
    if not all("_test_" in f and ("_normal_" in f or "_anomaly_" in f) for f in files):
        where = f"in {data_root}" if data_root else "(no data root in run.json; --data-root)"
        raise cli.UsageError(f"{run}: {machine} is not a development type {where} and its file "
                             f"names carry no labels; the ground truth cannot be written")
    return {"ground_truth_data": [[f, int("_anomaly_" in f)] for f in files],
            "ground_truth_domain": [[f, int("_target_" in f)] for f in files],
            "ground_truth_attributes": [[f, f[:-4]] for f in files]}


def layout(out: Path, team: str, system: str, runs: list[Path],
           data_root: Path | None = None) -> list[Path]:
    """Write the evaluator's tree under `out`; returns the files written."""
    for label, v in (("team", team), ("system", system)):
        if not v or "/" in v or v in (".", ".."):
            raise cli.UsageError(f"--{label} {v!r}: a plain folder name")
    sysdir = Path(out) / "teams" / team / system
    written, seen = [], {}
    for run, machine in find_runs(runs):
        if machine in seen:
            raise cli.UsageError(f"{machine}: scored in both {seen[machine]} and {run}; one run "
                                 f"per machine and system")
        seen[machine] = run
        decisions = run / decision_csv_name(machine)
        if not decisions.exists():
            raise cli.UsageError(f"{decisions}: missing (the evaluator needs the decisions too)")
        scores = run / score_csv_name(machine)
        files = [r[0] for r in _read(scores)]
        if sorted(files) != sorted(r[0] for r in _read(decisions)):
            raise cli.UsageError(f"{run}: scores and decisions list different files")
        sysdir.mkdir(parents=True, exist_ok=True)
        for src in (scores, decisions):
            shutil.copyfile(src, sysdir / src.name)
            written.append(sysdir / src.name)
        for kind, rows in ground_truth(run, machine, files,
                                       data_root_of(run, data_root)).items():
            path = Path(out) / kind / f"ground_truth_{machine}_section_00_test.csv"
            rows = [[str(x) for x in r] for r in rows]
            if path.exists() and _read(path) != rows:
                raise cli.UsageError(f"{path}: exists with other ground truth (another data "
                                     f"set?); use another --evaluator-dir")
            _write(path, rows)
            written.append(path)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.evaluator", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--evaluator-dir", type=Path, required=True)
    ap.add_argument("--team", default="firstshot")
    ap.add_argument("--system", default="system1")
    ap.add_argument("--data-root", type=Path, help="instead of each run's run.json data_root")
    a = ap.parse_args(argv)
    written = layout(a.evaluator_dir, a.team, a.system, a.runs, a.data_root)
    machines = sorted({p.name[len("ground_truth_"):-len(_SUFFIX)] for p in written
                       if p.parent.name == "ground_truth_data"})
    print(f"{a.evaluator_dir}: teams/{a.team}/{a.system}/ with {len(machines)} machine(s) "
          f"({', '.join(machines)}) and the three ground-truth folders")
    return 0


if __name__ == "__main__":
    cli.run(main)
