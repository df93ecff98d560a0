"""`make perf`'s cycle estimates: which functions open which phase of the app firmware's trace
(host/cycle_trace.py), and the figures from the traced phases. Estimates, not measurements:
docs/performance.md ("The cycle model") says what the model leaves out."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from host.cycle_trace import Phase

# The app's phases: the model's invoke (its inference_cycles), the front end's entry points
# (its frontend_cycles, the stats input's end-of-clip statistics included), the score's update
# after each inference (its scoring_cycles, in neither of the two), and every operator's eval,
# reference or cm4 (fs_fully_connected_cm4_eval -> FULLY_CONNECTED).
INFERENCE_ROOTS = ("fs_model_invoke_profiled", "fs_model_invoke")
FRONTEND_ROOTS = ("fs_logmel_push", "fs_logmel_finish", "fs_clip_run_stats")
SCORING_ROOTS = ("fs_scoring_add",)
_EVAL = re.compile(r"^fs_(\w+?)(?:_cm4)?_eval$")


def app_roots(elf: Path) -> dict[int, str]:
    """Function address -> phase name, from the ELF's symbol table (Thumb bit cleared)."""
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    roots = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "Tt":
            continue
        addr, name = int(parts[0], 16) & ~1, parts[2]
        if name in INFERENCE_ROOTS:
            roots[addr] = "inference"
        elif name in FRONTEND_ROOTS:
            roots[addr] = "frontend"
        elif name in SCORING_ROOTS:
            roots[addr] = "scoring"
        elif m := _EVAL.match(name):
            roots[addr] = m.group(1).upper()
    return roots


def _sum(phases: dict[str, Phase], keep) -> Phase:
    out = Phase()
    for name, p in phases.items():
        if keep(name.split("/") if name else []):
            out.instructions += p.instructions
            out.cycles += p.cycles
            out.taken_branches += p.taken_branches
    return out


def inference(phases: dict[str, Phase]) -> Phase:
    return _sum(phases, lambda path: "inference" in path)


def frontend(phases: dict[str, Phase]) -> Phase:
    return _sum(phases, lambda path: path[:1] == ["frontend"] and "inference" not in path
                and "scoring" not in path)


def operator(phases: dict[str, Phase], op: str) -> Phase:
    return _sum(phases, lambda path: "inference" in path and path[-1] == op)


def _cpi(p: Phase) -> float:
    return p.cycles / p.instructions if p.instructions else 0.0


def inference_estimate(phases: dict[str, Phase], inferences: int, macs: int,
                       ops: dict[str, dict]) -> dict:
    """Estimated cycles per inference, per MAC and per operator kind (`ops`: ops_by_kind's
    table, whose instructions it sits next to) over `inferences` traced inferences."""
    inf = inference(phases)
    per_inf = inf.cycles / inferences
    by_op = {}
    for op, d in ops.items():
        c = operator(phases, op).cycles / inferences
        by_op[op] = {"estimated_cycles": round(c),
                     "estimated_cycles_per_mac": round(c / d["macs"], 3) if d["macs"] else None}
    return {
        "estimated_cycles_per_inference": round(per_inf),
        "estimated_cycles_per_mac": round(per_inf / macs, 3),
        "taken_branches_per_inference": round(inf.taken_branches / inferences),
        "ops": by_op,
    }


def app_estimate(phases: dict[str, Phase], measured: dict) -> dict:
    """The estimates next to measure_app's instruction counts (`measured`: its result), and
    the check that the trace saw the instructions the board's counter counted."""
    inf, fe = inference(phases), frontend(phases)
    n_inf, n_frames = measured["inferences"], measured["frames"]
    out = inference_estimate(phases, n_inf, measured["macs"], measured["ops"])
    out.update({
        "estimated_frontend_cycles_per_frame": round(fe.cycles / n_frames),
        "cycles_per_instruction": {"inference": round(_cpi(inf), 3),
                                   "frontend": round(_cpi(fe), 3)},
        "traced_instructions": {
            "inference": inf.instructions, "frontend": fe.instructions,
            "counted_inference": round(measured["instructions_per_inference"] * n_inf),
            "counted_frontend": round(measured["frontend_instructions_per_frame"] * n_frames)},
    })
    return out


FRAMES_PER_SECOND = 16000 / 512


def monitor_estimate(monitor: dict, cm4: dict, board_hz: dict[str, int]) -> dict:
    """MONITOR mode's estimated cycles per second of audio: its instructions (not traced: 14 s
    of audio) split into the front end's (frames per second x the clip run's instructions per
    frame) and the rest (inferences, scoring), each at the traced clip run's cycles per
    instruction of that part (`cm4`: measure_app's KERNELS=cm4 result with app_estimate's)."""
    per_s = monitor["instructions_per_second_of_audio"]
    fe = min(per_s, FRAMES_PER_SECOND * cm4["frontend_instructions_per_frame"])
    cpi = cm4["cycles_per_instruction"]
    cycles = fe * cpi["frontend"] + (per_s - fe) * cpi["inference"]
    return {"estimated_cycles_per_second_of_audio": round(cycles),
            "estimated_real_time_share": {b: round(cycles / hz, 4) for b, hz in board_hz.items()}}


def cycle_model_facts() -> dict:
    """The model's assumptions, for docs/performance.json."""
    from host import cycle_model as cm

    return {"source": "Cortex-M4 Technical Reference Manual instruction timings "
                      "(host/cycle_model.py)",
            "memory": "zero wait states: no flash wait states, no bus contention",
            "taken_branch_refill_P": {"immediate": cm.P_BRANCH, "register": cm.P_INDIRECT,
                                      "load_into_pc": cm.P_LOAD_PC},
            "sdiv_udiv_cycles": cm.DIV_CYCLES,
            "stream": "qemu-system-arm -d in_asm,exec,nochain of the same runs that count "
                      "the instructions (MONITOR mode: its instructions at the clip run's "
                      "cycles per instruction)"}
