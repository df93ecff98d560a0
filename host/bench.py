"""Stream test clips to a device and compare its scores, MACs and AUC with the float and int8
references.

    python host/bench.py --port PORT --machine NAME [--data-root DIR]
        [--model-dir firmware/models/NAME] [--mode pcm|features] [--baud 921600] [--limit N]
        [--out DIR] [--resume]

PORT: a serial device (/dev/ttyACM0), any pyserial URL (socket://127.0.0.1:4444 for a QEMU
started by hand), `emu`, which builds and starts the x86 emulated firmware for the machine, or
`qemu`, which builds the qemu board image for the machine and runs it in QEMU (netduinoplus2,
-icount shift=0) on a free local TCP port; QEMU is stopped at the end, on Ctrl-C and on errors.
Under QEMU the cycle counts are instructions executed.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from asd import cli
from asd.cli import UsageError
from asd.dataset import Clip, check_machine_name, list_clips, load_pcm16
from asd.features import FEATURES, logmel
from host import report
from host.device import Device, DeviceError, feature_chunks, pcm_chunks
from host.link import DEFAULT_BAUD, Emulator, Link, LinkError, port_kind
from host.protocol import PROTOCOL_VERSION, ClipMode, Info

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--data-root", type=Path, default=ROOT / "data")
    ap.add_argument("--model-dir", type=Path)
    ap.add_argument("--mode", choices=("pcm", "features"), default="pcm")
    ap.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    ap.add_argument("--limit", type=int, help="a balanced subset of N test clips")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per frame (default 10)")
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--elf", type=Path, help="firmware image for flash/RAM figures")
    a = ap.parse_args(argv)
    a.model_dir = a.model_dir or ROOT / "firmware/models" / a.machine
    a.out = a.out or ROOT / "reports" / a.machine / port_kind(a.port)
    return a


def balanced(clips: list[Clip], limit: int | None) -> list[Clip]:
    """Round-robin over (domain, label) groups, so a small subset still has every kind."""
    if not limit or limit >= len(clips):
        return clips
    groups: dict = {}
    for c in clips:
        groups.setdefault((c.domain or "", c.label or ""), []).append(c)
    queues = [groups[k] for k in sorted(groups)]
    picked: list[Clip] = []
    while len(picked) < limit:
        for q in queues:
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    return sorted(picked, key=lambda c: c.name)


def check_device(info: Info, export: dict, port: str, machine: str) -> None:
    """The device must run the exported model with our features and protocol."""
    if info.protocol != PROTOCOL_VERSION:
        raise UsageError(f"{port}: device speaks protocol {info.protocol}, this host "
                         f"{PROTOCOL_VERSION}; rebuild and flash the firmware")
    if info.feature_key != FEATURES.key():
        raise UsageError(f"{port}: device computes features {info.feature_key}, the host "
                         f"{FEATURES.key()}; re-export and flash (`make flash MACHINE={machine}`)")
    if info.model_sha256.hex() != export["sha256"]:
        raise UsageError(
            f"{port}: the board runs model {info.model_name!r} (sha256 "
            f"{info.model_sha256.hex()[:16]}...), not the exported {machine} model "
            f"({export['sha256'][:16]}...). Flash it: `make flash BOARD=<board> MACHINE={machine}`"
            + (" (or rebuild the emulator)" if info.board == "emu" else ""))


def build_emulator(machine: str, model_dir: Path) -> Path:
    r = subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=emu",
                        f"MACHINE={machine}", f"MODEL_DIR={model_dir.resolve()}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise UsageError(f"building the emulator failed:\n{r.stderr.strip()[-2000:]}")
    return ROOT / "firmware/build/emu" / machine / "firmware-emu"


def build_qemu_image(machine: str, model_dir: Path) -> Path:
    """The qemu board firmware for the machine (make rebuilds only what changed)."""
    r = subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "BOARD=qemu",
                        f"MACHINE={machine}", f"MODEL_DIR={model_dir.resolve()}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise UsageError(f"building the qemu board image failed:\n"
                         f"{(r.stderr or r.stdout).strip()[-2000:]}")
    return ROOT / "firmware/build/qemu" / machine / "firmware.elf"


def cycle_unit(board: str) -> str:
    """What the device's cycle counter counts (docs/boards.md)."""
    return {"emu": "host nanoseconds", "qemu": "instructions"}.get(board, "core cycles")


def default_elf(board: str, machine: str) -> Path:
    if board == "emu":
        return ROOT / "firmware/build/emu" / machine / "firmware-emu"
    return ROOT / "firmware/build" / board / machine / "firmware.elf"


class Bench:
    def __init__(self, args: argparse.Namespace):
        from export.pipeline import load_export
        from export.reference import FloatReference, Int8Reference
        self.args = args
        self.export, model, self.cfg = load_export(args.model_dir)
        self.int8 = Int8Reference(model, self.cfg)
        self.float = FloatReference(args.model_dir / "model.onnx", self.cfg)
        self.csv_path = args.out / "results.csv"
        self.meta_path = args.out / "bench.json"

    def clips(self) -> list[Clip]:
        return balanced(list_clips(self.args.data_root, self.args.machine, "test"),
                        self.args.limit)

    def prepare_output(self, info: Info) -> set[str]:
        """Files already measured (resume), after checking the earlier run is the same setup."""
        out = self.args.out
        out.mkdir(parents=True, exist_ok=True)
        meta = {"sha256": self.export["sha256"], "mode": self.args.mode, "board": info.board}
        if self.args.resume and self.csv_path.exists():
            old = json.loads(self.meta_path.read_text()) if self.meta_path.exists() else {}
            if old != meta:
                raise UsageError(f"{out}: the results there come from {old}, not {meta}; "
                                 f"resume only continues the same model, mode and board")
            return {r["file"] for r in report.read_rows(self.csv_path)}
        if self.csv_path.exists():  # keep the earlier results rather than overwrite them
            shutil.move(self.csv_path, out / "results.prev.csv")
        with open(self.csv_path, "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerow(report.COLUMNS)
        self.meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        return set()

    def measure(self, dev: Device, clip: Clip) -> dict:
        pcm = load_pcm16(clip.path)
        lm = logmel(pcm.astype(np.float32) / 32768.0)
        frames = self.int8.frames(lm)
        if self.args.mode == "pcm":
            result = dev.score(ClipMode.PCM, pcm_chunks(pcm))
        else:
            result = dev.score(ClipMode.FEATURES, feature_chunks(frames))
        flt, ref = self.float.verdict(lm), self.int8.verdict_frames(frames)
        return {"file": clip.name, "domain": clip.domain or "", "label": clip.label or "",
                "float_score": flt.score, "int8_ref_score": ref.score,
                "float_decision": int(flt.anomaly), "int8_ref_decision": int(ref.anomaly),
                "device_score": result.score, "decision": result.decision,
                "frames": result.frames, "inferences": result.inferences,
                "frontend_cycles": result.frontend_cycles,
                "inference_cycles": result.inference_cycles}

    def append(self, row: dict) -> None:
        with open(self.csv_path, "a", newline="") as f:  # one clip at a time: nothing is lost
            csv.writer(f, lineterminator="\n").writerow(
                [repr(row[c]) if isinstance(row[c], float) else row[c] for c in report.COLUMNS])

    def run(self, dev: Device) -> dict:
        info = dev.info()
        check_device(info, self.export, self.args.port, self.args.machine)
        done = self.prepare_output(info)
        todo = [c for c in self.clips() if c.name not in done]
        interrupted = None
        with tqdm(total=len(todo) + len(done), initial=len(done), unit="clip",
                  desc=f"{self.args.machine} on {info.board}") as bar:
            try:
                for clip in todo:
                    if CTRL_C.is_set():   # a Ctrl-C whose KeyboardInterrupt was swallowed
                        raise KeyboardInterrupt
                    self.append(self.measure(dev, clip))
                    bar.update(1)
                if CTRL_C.is_set():
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                interrupted = "interrupted"
            except DeviceError as e:
                interrupted = str(e)
        extra = {"link": dict(dev.stats.__dict__)}
        if interrupted:
            extra["interrupted"] = interrupted
        return self.finish(info, extra)

    def finish(self, info: Info, extra: dict) -> dict:
        rows = report.Rows(report.read_rows(self.csv_path))
        elf = self.args.elf or default_elf(info.board, self.args.machine)
        info_d = {"core_hz": info.core_hz, "board": info.board, "arena_bytes": info.arena_bytes}
        summary = report.summarize(rows, self.export, info_d, report.elf_memory(elf))
        summary.update(mode=self.args.mode, port=self.args.port, machine=self.args.machine,
                       cycle_unit=cycle_unit(info.board), **extra)
        report.write(self.args.out, rows, summary,
                     f"{self.args.machine} on {info.board} ({self.args.mode})")
        return summary


def open_device(args: argparse.Namespace):
    """(Device, closer): the emulator (`--port emu`) or QEMU (`--port qemu`) is built and
    started here; the closer stops it."""
    if args.port == "qemu":
        from host.qemu import QemuBoard, QemuError
        elf = build_qemu_image(args.machine, args.model_dir)
        args.elf = args.elf or elf
        try:
            board = QemuBoard(elf)   # stops QEMU itself when it cannot connect
        except QemuError as e:
            raise LinkError(str(e)) from None
        return Device(board.link, args.timeout, args.retries), board.close
    if args.port == "emu":
        emu = Emulator(build_emulator(args.machine, args.model_dir))
        link = emu.link()
        return Device(link, args.timeout, args.retries), lambda: (link.close(), emu.close())
    link = Link.open(args.port, args.baud)
    link.drain(0.2)  # boot messages or a half-sent frame from an earlier session
    return Device(link, args.timeout, args.retries), link.close


# Set by the SIGINT handler before it raises KeyboardInterrupt: Python prints and drops an
# exception raised inside a ctypes callback (numba's JIT compiles librosa's kernels through one
# while the first clip is measured), so the clip loop checks this flag too and a Ctrl-C is never
# lost.
CTRL_C = threading.Event()


def on_ctrl_c(signum, frame):
    CTRL_C.set()
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    check_machine_name(args.machine)  # it names the model, firmware build and report folders
    if not (args.model_dir / "export.json").exists():
        raise UsageError(f"{args.model_dir}: no exported model; run `make export "
                         f"MACHINE={args.machine}`")
    bench = Bench(args)
    # SIGTERM ends the run like Ctrl-C's SystemExit path: the `finally` below stops QEMU or the
    # emulator, so no child process outlives the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if SIGINT is ignored
        signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        dev, close = open_device(args)
    except LinkError as e:
        raise UsageError(str(e)) from None
    t0 = time.monotonic()
    try:
        summary = bench.run(dev)
    except (DeviceError, LinkError) as e:
        raise UsageError(str(e)) from None
    finally:
        close()
    print(report.table(summary))
    print(f"report: {args.out / 'report.md'} ({time.monotonic() - t0:.0f} s)")
    if "interrupted" in summary:
        print(f"stopped early ({summary['interrupted']}); `--resume` continues", file=sys.stderr)
        return 130 if summary["interrupted"] == "interrupted" else 1
    return 0


if __name__ == "__main__":
    cli.run(main)
