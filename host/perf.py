"""`make perf`: instruction counts of the firmware under QEMU (-icount shift=0, deterministic),
with the portable kernels (KERNELS=ref) and the Cortex-M4 DSP kernels (KERNELS=cm4); writes
docs/performance.json and docs/performance.md. A benchmark, not a test (tests/boards/ has those).

For MLPerf Tiny's ad01 and every exported model in firmware/models/<machine>/, the app firmware
(BOARD=qemu) is booted in QEMU and scores one PCM clip over its UART: instructions per inference
and per front-end frame come from its RESULT, per-operator counts from PROFILE, the arena from
INFO, the stack high-water mark from the painted stack (read through QEMU's monitor), static RAM
and flash from the ELF. MLPerf Tiny's kws and resnet do not fit the app (another front end), so
they run in the runtime-only harness (RUNMODEL=1): instructions per inference and arena only.

Next to the instruction counts, estimated Cortex-M4 cycles: the app runs (and the harness with
the cm4 kernels) also log every executed translation block through a FIFO
(host/cycle_trace.py), costed by the Technical Reference Manual's instruction timings with
zero-wait-state memory (host/cycle_model.py); MONITOR mode's instructions are costed at the clip
run's cycles per instruction (host/perf_cycles.py).

    .venv/bin/python host/perf.py [--out docs] [--build firmware/build/perf] [--seconds 1.0]
    .venv/bin/python host/perf.py --markdown-only    # performance.md again from the .json
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from host.cycle_trace import traced
from host.device import Device, pcm_chunks
from host.perf_cycles import (app_estimate, app_roots, cycle_model_facts, inference_estimate,
                              monitor_estimate)
from host.perf_cycles_report import ad01_comparison, ad01_rows, estimate_table, model_section
from host.perf_monitor import BOARD_HZ, measure_monitor
from host.perf_monitor import markdown_lines as monitor_lines
from host.protocol import ClipMode
from host.qemu import (Job, QemuBoard, run_models, section_sizes, stack_high_water,
                       static_symbols)

ROOT = Path(__file__).resolve().parents[1]

FIRMWARE = ROOT / "firmware"
SHARED = ROOT / "third_party" / "mlperf-tiny"  # the MLPerf Tiny reference models
KERNELS = ("ref", "cm4")
# MLPerf Tiny v1.0, anomaly detection (ad01) on NUCLEO-L4R5ZI (Cortex-M4F, 120 MHz).
PUBLISHED = [("TensorFlow Lite Micro + CMSIS-NN", 10.05, 4.57),
             ("STM32Cube.AI (X-CUBE-AI 10.2)", 4.79, 2.18),
             ("Plumerai", 4.05, 1.84)]
# make demo's default: MACHINE=Polisher MODEL=stats, exported to firmware/models/Polisher.
DEFAULT_MODEL = "Polisher"
# Earlier front ends, measured the way measure_app measures it now (ad01, KERNELS=cm4); their
# code is gone, so the figures are kept here. docs/frontend.md says where the instructions go.
FRONTEND_BEFORE = [
    {"fft": "hand-written radix-2 FFT (firmware/dsp/rfft.c), newlib log10f",
     "instructions_per_frame": 145888,
     "measured": "host/perf.py's ad01 measurement on commit cd5ee4d, the last with rfft.c "
                 "(`git archive cd5ee4d`, same gcc and QEMU), 2026-12-02"},
    {"fft": "CMSIS-DSP arm_rfft_fast_f32 (cmsisdsp 1.10.3), newlib log10f",
     "instructions_per_frame": 104912,
     "measured": "make perf at 3c4db8a (issue 15)"},
    {"fft": "CMSIS-DSP arm_rfft_fast_f32 (cmsisdsp 1.10.3, -O2), int16 ring, Cortex-M4 windowing "
            "and mel dot products, polynomial log2; the autoencoder's scoring counted as front end",
     "instructions_per_frame": 79040,
     "measured": "make perf at 050283f, 2026-12-02"},
]
FRONTEND_FFT = ("CMSIS-DSP arm_rfft_fast_f32 (cmsisdsp 1.10.3; its butterflies and split -Os, "
                "its bit reversal -funroll-loops), int16 ring, Cortex-M4 windowing, power, mel "
                "bands and log2 in one pass, branch-free quantization; scoring counted apart")


# ---- model facts ---------------------------------------------------------------------------

def graph_macs(model: bytes) -> tuple[int, list[int]]:
    """Multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (output elements
    x filter taps per output), total and per operator, from the .tflite itself."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.Model.GetRootAsModel(model, 0)
    g = m.Subgraphs(0)
    per_op = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        out = g.Tensors(op.Outputs(0)).ShapeAsNumpy()
        w = g.Tensors(op.Inputs(1)).ShapeAsNumpy() if op.InputsLength() > 1 else None
        n_out = int(np.prod(out))
        if builtin == 9:        # FULLY_CONNECTED: weights [units, depth]
            per_op.append(n_out * int(w[-1]))
        elif builtin == 3:      # CONV_2D: filter [out, kh, kw, in/groups]
            per_op.append(n_out * int(w[1] * w[2] * w[3]))
        elif builtin == 4:      # DEPTHWISE_CONV_2D: filter [1, kh, kw, out]
            per_op.append(n_out * int(w[1] * w[2]))
        else:
            per_op.append(0)
    return sum(per_op), per_op


def op_names(model: bytes) -> list[str]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    from export.tflm import BUILTIN_NAMES    # TFLite's schema: the one table of the names

    m = s.Model.GetRootAsModel(model, 0)
    g = m.Subgraphs(0)
    names = []
    for i in range(g.OperatorsLength()):
        code = m.OperatorCodes(g.Operators(i).OpcodeIndex())
        b = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        names.append(BUILTIN_NAMES.get(b, f"op{b}"))
    return names


def ops_by_kind(names: list[str], macs: list[int], counts: list[int]) -> dict:
    out: dict[str, dict] = {}
    for n, m, c in zip(names, macs, counts):
        d = out.setdefault(n, {"count": 0, "macs": 0, "instructions": 0})
        d["count"] += 1
        d["macs"] += m
        d["instructions"] += c
    for d in out.values():
        d["instructions_per_mac"] = round(d["instructions"] / d["macs"], 3) if d["macs"] else None
    return out


# ---- builds --------------------------------------------------------------------------------

def make_firmware(build: Path, machine: str, model_dir: Path, *extra: str) -> None:
    jobs = str(min(2, os.cpu_count() or 1))
    cmd = ["make", "-s", "-j", jobs, "-C", str(FIRMWARE), "BOARD=qemu", f"MACHINE={machine}",
           f"MODEL_DIR={model_dir}", f"BUILD={build}", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")


def ad01_model_dir(build: Path) -> Path:
    from export import carray

    out = build / "models" / "ad01"
    cfg = carray.DeviceConfig(machine="ad01", model_kind="ad01", score_kind="mse", window_frames=5,
                              window_hop=1, threshold=40.0, macs=264192)
    carray.write(out, (SHARED / "ad01_int8.tflite").read_bytes(), cfg)
    return out


def test_clip(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(2026)
    t = np.arange(int(seconds * 16000)) / 16000
    return np.round(2500 * np.sin(2 * np.pi * 440 * t) + rng.normal(0, 900, t.size)).astype(np.int16)


# ---- measurements --------------------------------------------------------------------------

def measure_app(build: Path, machine: str, model_dir: Path, kernels: str, clip: np.ndarray,
                model: bytes) -> dict:
    make_firmware(build, machine, model_dir, f"KERNELS={kernels}")
    elf = build / ("qemu" if kernels == "cm4" else "qemu-ref") / machine / "firmware.elf"
    sizes = section_sizes(elf)
    arena_reserved = int(next(line.split()[2].rstrip("u") for line in
                              (model_dir / "model_config.h").read_text().splitlines()
                              if line.startswith("#define FS_MODEL_ARENA_BYTES")))
    # The same run gives the instruction counts (the board's counter) and, from QEMU's log of
    # every executed block, the cycle estimate (host/cycle_trace.py).
    with traced(app_roots(elf)) as (log_args, trace):
        with QemuBoard(elf, extra=tuple(log_args)) as board:
            dev = Device(board.link, timeout=600)
            info = dev.info()
            res = dev.score(ClipMode.PCM, pcm_chunks(clip))
            prof = dev.profile()
            stack = stack_high_water(board, elf)
    macs, per_op_macs = graph_macs(model)
    per_inf = res.inference_cycles / res.inferences
    static_ram = sizes["data"] + sizes["bss"] - arena_reserved
    names = op_names(model)
    counts = [op.cycles for op in prof.ops][:len(names)]
    out = {
        "instructions_per_inference": round(per_inf),
        "instructions_per_mac": round(per_inf / macs, 3),
        "macs": macs,
        "frontend_instructions_per_frame": round(res.frontend_cycles / res.frames),
        # The score's update after each inference (the autoencoder's error): its own counter,
        # in neither the front end's nor the inference's (docs/frontend.md).
        "scoring_instructions_per_inference": round(res.scoring_cycles / res.inferences),
        "peak_ram_bytes": static_ram + info.arena_bytes + stack,
        "flash_bytes": sizes["flash"],
        "arena_bytes": info.arena_bytes,
        "arena_reserved_bytes": arena_reserved,
        "stack_high_water_bytes": stack,
        "static_ram_bytes": static_ram,
        "static_ram_symbols": {n: b for n, b in static_symbols(elf).items() if n != "arena"},
        "frames": res.frames,
        "inferences": res.inferences,
        "ops": ops_by_kind(names, per_op_macs, counts),
    }
    est = app_estimate(trace.phases, out)
    for op, d in est.pop("ops").items():
        out["ops"][op].update(d)
    return {**out, **est}


def _input_bytes(model: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.Model.GetRootAsModel(model, 0)
    g = m.Subgraphs(0)
    return int(np.prod(g.Tensors(g.Inputs(0)).ShapeAsNumpy()))


def tflm_arena_bytes(model: bytes) -> int:
    """TFLite Micro's arena for `model`: the "Arena allocation total" (head + tail: its planned
    activations and scratch plus its persistent allocations) of the tflite_micro Python
    interpreter's print_allocations() after loading it (x86-64, reference kernels; this version
    of the package has no arena_used_bytes()): export.tflm.arena_bytes."""
    from export.tflm import ModelError, arena_bytes

    try:
        return arena_bytes(model)
    except ModelError as e:
        raise SystemExit(f"perf: TFLite Micro's arena: {e}") from None


def add_tflm_arena(entry: dict, model: bytes) -> None:
    """TFLite Micro's arena for the model, and ours over it (arena_ratio_tflm), on the entry
    (its arena_bytes: the cm4 build's) and on each of its kernel builds."""
    tflm = tflm_arena_bytes(model)
    entry["tflm_arena_bytes"] = tflm
    for d in [entry, *entry.get("kernels", {}).values()]:
        if "arena_bytes" in d:
            d["arena_ratio_tflm"] = round(d["arena_bytes"] / tflm, 3)


def measure_harness(build: Path, model_dir: Path, models: dict[str, bytes]) -> dict:
    out: dict[str, dict] = {name: {"kernels": {}} for name in models}
    for kernels in KERNELS:
        make_firmware(build, "harness", model_dir, "RUNMODEL=1", f"KERNELS={kernels}")
        elf = build / ("qemu-runmodel" if kernels == "cm4" else "qemu-runmodel-ref") / "harness" / \
            "firmware.elf"
        jobs = []
        for name, model in models.items():
            rng = np.random.default_rng(7)
            n = _input_bytes(model)
            jobs.append(Job(model, rng.integers(-128, 128, size=2 * n).astype(np.int8).tobytes(),
                            2, profile=True, name=name))
        for r, phases in _run_harness(elf, jobs, traced_run=kernels == "cm4"):
            if r.status:
                raise SystemExit(f"{r.name}: refused by the runtime: {r.message}")
            macs, per_op = graph_macs(models[r.name])
            per_inf = sum(r.instructions) / len(r.instructions)
            out[r.name]["macs"] = macs
            d = out[r.name]["kernels"][kernels] = {
                "instructions_per_inference": round(per_inf),
                "instructions_per_mac": round(per_inf / macs, 3),
                "arena_bytes": r.arena,
                "stack_high_water_bytes": r.stack,
                "ops": ops_by_kind(op_names(models[r.name]), per_op, r.op_instructions),
            }
            if phases is not None:
                est = inference_estimate(phases, phases["inference"].entries, macs, d["ops"])
                for op, e in est.pop("ops").items():
                    d["ops"][op].update(e)
                d.update(est)
    for name, d in out.items():
        d.update({k: d["kernels"]["cm4"][k] for k in ("instructions_per_inference",
                                                       "instructions_per_mac", "arena_bytes")})
    return out


def _run_harness(elf: Path, jobs: list[Job], traced_run: bool):
    """(result, traced phases or None) per job. Traced: one QEMU per job (a trace cannot tell
    the jobs of one process apart), only for the cm4 kernels: the reference kernels' 280 M
    instructions of kws and resnet would take minutes to trace."""
    if not traced_run:
        return [(r, None) for r in run_models(elf, jobs)]
    out = []
    for job in jobs:
        with traced(app_roots(elf)) as (log_args, trace):
            (r,) = run_models(elf, [job], extra=tuple(log_args))
        out.append((r, trace.phases))
    return out


MONITOR_SECONDS = 14.0  # a 10-hop window of 0.992 s hops and three more decisions


def _model_kind(model_dir: Path) -> str:
    for line in (model_dir / "model_config.h").read_text().splitlines():
        if line.startswith("#define FS_MODEL_KIND"):
            return line.split('"')[1]
    return ""


def tool_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


# ---- report --------------------------------------------------------------------------------

def _frontend_lines(fe: dict, a: dict) -> list[str]:
    """The front end's cost per 512-sample hop (one log-mel frame), now and before."""
    after, inf = fe["instructions_per_frame"], a["instructions_per_inference"]
    rows = [f"| {b['fft']} (before; {b['measured']}) | {b['instructions_per_frame']:,} |"
            for b in fe["before"]]
    return ["", "### The front end", "",
            "Instructions per 512-sample hop (one log-mel frame: window, FFT, power, mel "
            "filterbank, log, and the app's int8 quantization of the frame), ad01's app "
            "firmware, KERNELS=cm4 (`frontend_cycles / frames` of the clip):", "",
            "| front end | instructions / hop |", "|---|---:|", *rows,
            f"| {fe['fft']} | **{after:,}** |", "",
            f"Estimated: {a['estimated_frontend_cycles_per_frame']:,} cycles per hop "
            f"({a['estimated_frontend_cycles_per_frame'] / after:.2f} per instruction; the "
            "cycle model, zero wait states).", "",
            f"The autoencoder's scoring after each inference (its error over the window) is "
            "counted apart, as RESULT's scoring_cycles: "
            f"{a['kernels']['cm4']['scoring_instructions_per_inference']:,} "
            "instructions per inference for ad01.", "",
            f"The front end is {100 * after / (after + inf):.0f} % of a frame's work with the "
            "DSP kernels (ad01's hop of one frame per inference). Per stage, and what each "
            "change did: docs/frontend.md. Its output is pinned by "
            "tests/firmware/dsp/test_frontend.py (against librosa) and the QEMU-vs-emulator "
            "bit-identity tests."]


def _est_op(d: dict) -> str:
    """An operator's estimated cycles: per MAC, or in all for operators without MACs."""
    if "estimated_cycles" not in d:
        return "-"
    per_mac = d.get("estimated_cycles_per_mac")
    return f"{per_mac}" if per_mac is not None else f"{d['estimated_cycles']:,} cycles"


def _arena_lines(data: dict) -> list[str]:
    """Our arena over TFLite Micro's, per model and kernel build (arena_ratio_tflm)."""
    every = {**data["models"], **data["runtime_only"]}
    L = ["", "## Arena against TFLite Micro", "",
         "Ours: `fs_model_arena_used()` on the Cortex-M4 build (activations, the kernels' "
         "scratch, the in-place operators' temps, residual blocks' row buffers (docs/firmware.md, "
         "\"Residual blocks run row by row\"), persistent records and parameters). TFLite "
         "Micro's: the \"Arena allocation total\" (head + tail) that the `tflite_micro` Python "
         "interpreter's `print_allocations()` reports after loading the same .tflite (x86-64, "
         "its reference kernels; `host/perf.py` `tflm_arena_bytes`), measured by each `make "
         "perf`. Goal (issue 16): at most 0.5.", "",
         "| model | TFLite Micro arena | KERNELS | arena | ratio |", "|---|---:|---|---:|---:|"]
    for name, m in every.items():
        if "tflm_arena_bytes" not in m:
            continue
        for k in KERNELS:
            d = m["kernels"][k]
            ratio = d.get("arena_ratio_tflm", round(d["arena_bytes"] / m["tflm_arena_bytes"], 3))
            L.append(f"| {name} | {m['tflm_arena_bytes']:,} | {k} | {d['arena_bytes']:,} | "
                     f"{ratio} |")
    return L


def _static_ram_lines(models: dict) -> list[str]:
    """The app image's largest RAM symbols (KERNELS=cm4), the arena's reserved array aside."""
    L = ["", "## Static RAM", "",
         "The app firmware's RAM symbols of 512 bytes or more (`arm-none-eabi-nm -S` of the "
         "KERNELS=cm4 image; the arena's reserved array is counted as arena above). "
         "docs/firmware.md, \"Static RAM\", says what each holds and why it is that size.", "",
         "| model | static RAM | symbols |", "|---|---:|---|"]
    for name, m in models.items():
        d = m["kernels"]["cm4"]
        syms = d.get("static_ram_symbols")
        if syms is None:
            continue
        L.append(f"| {name} | {d['static_ram_bytes']:,} | "
                 + ", ".join(f"`{n}` {b:,}" for n, b in syms.items()) + " |")
    return L


def write_markdown(path: Path, data: dict) -> None:
    L = []
    a = data["ad01"]
    L += ["# Performance", "",
          "Generated by `make perf` (`host/perf.py`); do not edit by hand. Measured "
          f"{data['date']} with {data['tools']['gcc']} and {data['tools']['qemu']}.", "",
          "## What is measured, and what it is not", "",
          "The qemu board build (`make -C firmware BOARD=qemu`, `-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 "
          "-mfloat-abi=hard -O2`) runs in QEMU's `netduinoplus2` machine with `-icount shift=0`: "
          "every guest instruction advances virtual time by 1 ns, and the board's timer (TIM2 at a "
          "virtual 1 GHz) counts **instructions executed**. These counts are exact and repeat run "
          "to run.", "",
          "**Instructions are not cycles.** QEMU models no pipeline, no flash wait states, no "
          "memory or bus stalls, no branch penalties; multi-cycle instructions (LDM/LDRD, SMLAD "
          "after a load, divisions, taken branches) count once. On a real Cortex-M4 the same code "
          "takes more cycles than instructions, how many more depends on the part, its clock and "
          "flash accelerator. So the column next to MLPerf Tiny's published cycles per MAC is a "
          "lower bound of the cycles this code would need, not a measurement of them; a Nucleo "
          "board (`make bench`) reports real cycles from DWT CYCCNT.", "",
          "**Estimated cycles** stand next to the instruction counts: a Cortex-M4 timing model "
          "(the Technical Reference Manual's instruction timings, zero-wait-state memory) "
          "applied to the instructions the same QEMU runs executed. They are labelled "
          "*estimated* everywhere; [The cycle model](#the-cycle-model) says how they are made, "
          "how they were validated and what they leave out.", "",
          "## MLPerf Tiny anomaly detection (ad01), 264,192 MACs per inference", "",
          "| implementation | where | per inference | per MAC |", "|---|---|---:|---:|"]
    for name, ms, cpm in PUBLISHED:
        L.append(f"| {name} (published) | NUCLEO-L4R5ZI, 120 MHz | {ms} ms = "
                 f"{round(ms * 120e3):,} cycles | {cpm} cycles |")
    for k in KERNELS:
        d = a["kernels"][k]
        L.append(f"| firstshot, KERNELS={k} | QEMU, -icount shift=0 | "
                 f"{d['instructions_per_inference']:,} instructions | "
                 f"{d['instructions_per_mac']} instructions |")
    L += ad01_rows(a, KERNELS)
    L += ["", f"Target: at most 1.6 instructions per MAC with the optimized kernels: "
          f"**{a['instructions_per_mac']}** "
          f"({'met' if a['instructions_per_mac'] <= 1.6 else 'NOT met'})."]
    L += ad01_comparison(a, PUBLISHED) + [""]

    L += ["## Every model", "",
          "Instructions per inference and per MAC (MACs of CONV_2D, DEPTHWISE_CONV_2D and "
          "FULLY_CONNECTED, counted from the .tflite); front end per log-mel frame (the float32 "
          "log-mel front end, which does not depend on the kernels); peak RAM = static RAM "
          "(.data + .bss without the arena's reserved array) + arena used + stack high-water "
          "mark; flash = code + constants + the model + .data's initial values.", "",
          "| model | MACs | KERNELS | instructions / inference | instructions / MAC | "
          "front end / frame | arena | stack | peak RAM | flash |",
          "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in data["models"].items():
        for k in KERNELS:
            d = m["kernels"][k]
            L.append(f"| {name} | {m['macs']:,} | {k} | {d['instructions_per_inference']:,} | "
                     f"{d['instructions_per_mac']} | {d['frontend_instructions_per_frame']:,} | "
                     f"{d['arena_bytes']:,} | {d['stack_high_water_bytes']:,} | "
                     f"{d['peak_ram_bytes']:,} | {d['flash_bytes']:,} |")
    L += estimate_table(data["models"], data["runtime_only"], KERNELS)
    L += _frontend_lines(data["frontend"], a)
    L += monitor_lines(data["models"])
    L += ["", "MLPerf Tiny's other int8 models do not take this front end's features, so they run "
          "in the runtime-only harness (`RUNMODEL=1`, `boards/qemu/qemu_run_model.c`: the "
          "runtime alone, the model in flash, random inputs); arena as `fs_model_arena_used()` "
          "on Cortex-M, TFLite Micro's own figure (x86-64, reference kernels) beside it.", "",
          "| model | MACs | KERNELS | instructions / inference | instructions / MAC | arena | "
          "TFLite Micro arena |", "|---|---:|---|---:|---:|---:|---:|"]
    for name, m in data["runtime_only"].items():
        for k in KERNELS:
            d = m["kernels"][k]
            L.append(f"| {name} | {m['macs']:,} | {k} | {d['instructions_per_inference']:,} | "
                     f"{d['instructions_per_mac']} | {d['arena_bytes']:,} | "
                     f"{m.get('tflm_arena_bytes', '')} |")
    L += _arena_lines(data)
    L += _static_ram_lines(data["models"])
    L += ["", "## Per operator kind", "",
          "Instructions per MAC of each operator kind (last inference, PROFILE), reference -> "
          "DSP kernels, and the estimated cycles per MAC (the traced inferences' mean of the "
          "operator's eval function, without the PROFILE timer reads around it that its "
          "instruction count includes; kws and resnet: cm4 only). A residual block run row by "
          "row (docs/firmware.md) is counted at its first CONV_2D: resnet's ADDs and its "
          "blocks' other convolutions show 0 instructions, their work is in that CONV_2D "
          "figure:", "",
          "| model | operator | count | MACs | ref | cm4 | ref, estimated cycles | "
          "cm4, estimated cycles |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    every = {**{n: m for n, m in data["models"].items()}, **data["runtime_only"]}
    for name, m in every.items():
        ref, cm4 = m["kernels"]["ref"]["ops"], m["kernels"]["cm4"]["ops"]
        for op, d in ref.items():
            est = f"{_est_op(d)} | {_est_op(cm4[op])}"
            if d["macs"]:
                L.append(f"| {name} | {op} | {d['count']} | {d['macs']:,} | "
                         f"{d['instructions_per_mac']} | {cm4[op]['instructions_per_mac']} | "
                         f"{est} |")
            else:
                L.append(f"| {name} | {op} | {d['count']} | - | {d['instructions']:,} instr | "
                         f"{cm4[op]['instructions']:,} instr | {est} |")
    L += model_section()
    L += ["", "## The Cortex-M4 kernels", "", data["kernels_note"], "",
          "## Reproduce", "", "```", "make perf", "```", "",
          "or `.venv/bin/python host/perf.py` (`--seconds` sets the clip length). The byte-exact "
          "tests of the kernels are `tests/boards/test_kernels_cm4.py`.", ""]
    path.write_text("\n".join(L))


KERNELS_NOTE = """`KERNELS=cm4` (the default of every Cortex-M board build; `KERNELS=ref` builds the
portable kernels only) adds `firmware/runtime/ops/cm4/<op>_cm4.c` for FULLY_CONNECTED, CONV_2D
and DEPTHWISE_CONV_2D, and the operator table (`runtime/fs_ops.c`) registers their prepare and
eval for those operators (`runtime/ops/cm4/kernels.mk` defines `FS_KERNELS_CM4`). Each cm4
prepare runs the reference prepare unchanged and records in the op's parameters which kernel its
eval runs: the DSP kernel where it applies, the reference kernel otherwise (e.g. depth multiplier
> 1, weights with a zero point). Outputs are byte-identical to the reference kernels (and to TFLite Micro): every golden
case, the kernel cases, the MLPerf Tiny models and the exported models are compared byte for byte
on QEMU by `tests/boards/test_kernels_cm4.py`.

* Activations are expanded once per row (FULLY_CONNECTED) or per output pixel (CONV_2D, the
  receptive field gathered as one column) into int16 with the input offset added, in the order
  SXTB16 splits a word of weights: (x0, x2), (x1, x3). Weights are read in place from flash,
  four per word, and SMLAD does two multiply-accumulates per instruction; two weight rows share
  each activation load. The inner loop (inline assembly) costs 40 instructions per 16 inputs
  and two rows when rows are word-aligned (LDRD), 44 otherwise: 1.25 to 1.38 instructions per
  MAC, plus requantization per output.
* Requantization is TFLite Micro's, computed with one 64-bit multiply-accumulate: the doubling
  high multiply's sign-dependent nudge and truncation equal `(x * m + 2^30) >> 31` for
  multipliers >= 0 (proved on edge cases and a million random products in the test).
* CONV_2D with the short requantization (every right shift >= 2, the full int8 range, a bias,
  kh * kw * in_c a multiple of 4) runs pixel tiles (`conv_tile_cm4.c`): one filter row against
  the expanded columns of four (or two) output pixels, each weight word split once for all of
  them, 13 instructions per 16 MACs, and a 4-instruction requantization from doubled sums;
  its columns stay within a budget of the operator's activations (docs/kernels.md).
* DEPTHWISE_CONV_2D (depth multiplier 1) runs channel planes: a whole channel's output rows in
  one assembly call, weights and bias doubled for a 4-instruction requantization; a filter that
  spans its input row with one output per row (the classifier's global 1x16) has a kernel of its
  own (`dw_global_cm4.c`). Other shapes keep the four-channels-per-word kernel (SXTAB16,
  SMLABB/SMLATT).
* No weight is copied or reordered; the extra arena is scratch for the expanded activations
  (columns, planes), within TFLite Micro's own allocation for every MLPerf Tiny model.
* Residual blocks (CONV_2D, CONV_2D, an optional projection, ADD) run row by row with these
  kernels on views of the rows (`runtime/fs_fuse.c`): the block's output goes over its input,
  so the block needs one tensor and a window of rows instead of three tensors (docs/firmware.md)."""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--build", type=Path, default=FIRMWARE / "build" / "perf")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--markdown-only", action="store_true",
                    help="only rewrite performance.md from the existing performance.json")
    args = ap.parse_args(argv)
    if args.markdown_only:
        data = json.loads((args.out / "performance.json").read_text())
        models = {n: data[n] for n in data["models"]}
        write_markdown(args.out / "performance.md", dict(data, models=models,
                                                         kernels_note=KERNELS_NOTE))
        return
    build = args.build.resolve()
    clip = test_clip(args.seconds)

    app_models = {"ad01": ad01_model_dir(build)}
    for d in sorted((FIRMWARE / "models").glob("*/model_config.h")):
        app_models[d.parent.name] = d.parent.resolve()
    models: dict[str, dict] = {}
    for name, mdir in app_models.items():
        tflite = mdir / "model.tflite"
        model = tflite.read_bytes() if tflite.exists() else (SHARED / "ad01_int8.tflite").read_bytes()
        entry = {"kernels": {}}
        for k in KERNELS:
            print(f"perf: {name} KERNELS={k} ...", flush=True)
            entry["kernels"][k] = measure_app(build, f"perf-{name}", mdir, k, clip, model)
        cm4 = entry["kernels"]["cm4"]
        for key in ("instructions_per_inference", "instructions_per_mac", "macs",
                    "frontend_instructions_per_frame", "scoring_instructions_per_inference",
                    "peak_ram_bytes", "flash_bytes",
                    "arena_bytes", "stack_high_water_bytes", "estimated_cycles_per_inference",
                    "estimated_cycles_per_mac", "estimated_frontend_cycles_per_frame"):
            entry[key] = cm4[key]
        print(f"perf: {name} MONITOR mode ...", flush=True)
        entry["kind"] = _model_kind(mdir)
        entry["monitor"] = measure_monitor(build / "qemu" / f"perf-{name}" / "firmware.elf",
                                           test_clip(MONITOR_SECONDS))
        entry["monitor"].update(monitor_estimate(entry["monitor"], cm4, BOARD_HZ))
        export_json = mdir / "export.json"
        if export_json.exists():
            entry["export_macs_per_inference"] = json.loads(export_json.read_text()).get(
                "macs_per_inference")
        add_tflm_arena(entry, model)
        models[name] = entry

    print("perf: kws, resnet (runtime-only harness) ...", flush=True)
    only = {"kws": (SHARED / "kws_ref_model.tflite").read_bytes(),
            "resnet": (SHARED / "pretrainedResnet_quant.tflite").read_bytes()}
    runtime_only = measure_harness(build, app_models["ad01"], only)
    for name, d in runtime_only.items():
        add_tflm_arena(d, only[name])

    data = {
        "generated_by": "make perf (host/perf.py)",
        "date": datetime.date.today().isoformat(),
        "units": "instructions executed under qemu-system-arm -icount shift=0 (not cycles); "
                 "estimated_* cycles: a Cortex-M4 timing model of the executed instructions, "
                 "zero wait states (host/cycle_model.py), an estimate, not a measurement",
        "cycle_model": cycle_model_facts(),
        "tools": {"gcc": tool_version(["arm-none-eabi-gcc", "--version"]),
                  "qemu": tool_version(["qemu-system-arm", "--version"])},
        "clip_seconds": args.seconds,
        "published_ad01_nucleo_l4r5zi": [
            {"implementation": n, "ms": ms, "cycles_per_mac": c} for n, ms, c in PUBLISHED],
        "frontend": {"fft": FRONTEND_FFT,
                     "instructions_per_frame": models["ad01"]["frontend_instructions_per_frame"],
                     "before": FRONTEND_BEFORE},
        **models,
        "models": list(models),
        "runtime_only": runtime_only,
        "default_model": DEFAULT_MODEL if DEFAULT_MODEL in models else None,
        "estimated_duty_cycle": {n: m["monitor"]["estimated_real_time_share"]
                                 for n, m in models.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "performance.json").write_text(json.dumps(data, indent=1) + "\n")
    md = dict(data, models=models, kernels_note=KERNELS_NOTE)
    write_markdown(args.out / "performance.md", md)
    print(f"perf: wrote {args.out / 'performance.json'} and {args.out / 'performance.md'}")
    a = models["ad01"]
    print(f"perf: ad01 {a['kernels']['ref']['instructions_per_mac']} -> "
          f"{a['instructions_per_mac']} instructions/MAC")


if __name__ == "__main__":
    main()
