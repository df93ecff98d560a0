"""MONITOR mode's real-time budget under QEMU (`make perf`): the app firmware (BOARD=qemu,
KERNELS=cm4) listens to a stream with its default hop and window, and every DECISION reports the
instructions it spent on that hop (front end, inferences, window scoring). Instructions per second
of audio are their mean over the decisions divided by the hop's duration; the share of real time
on a board is that over the board's clock. As everywhere in docs/performance.md, instructions are
a lower bound of cycles (QEMU models no stalls), so the shares are lower bounds too."""
from __future__ import annotations

import numpy as np

from host.device import Device, pcm_chunks
from host.protocol import ClipMode, Decision, MonitorBegin, MonitorReady, MsgType
from host.qemu import QemuBoard

BOARD_HZ = {"nucleo-f446re": 180_000_000, "nucleo-l4r5zi": 120_000_000}
SAMPLE_RATE = 16000


def measure_monitor(elf, pcm: np.ndarray, decisions_wanted: int = 3) -> dict:
    """Stream pcm (long enough for a full window and `decisions_wanted` more hops) in waiting
    mode and summarise the DECISIONs' instruction counts."""
    with QemuBoard(elf) as board:
        dev = Device(board.link, timeout=300)
        dev.info()
        ready = MonitorReady.unpack(dev.request(
            MsgType.MONITOR_BEGIN, MonitorBegin(mode=ClipMode.PCM).pack(),
            MsgType.MONITOR_READY).body)
        hop_samples = ready.hop_frames * ready.frame_samples
        need = (ready.window_frames + (decisions_wanted - 1) * ready.hop_frames) * \
            ready.frame_samples
        if len(pcm) < need:
            raise SystemExit(f"perf: MONITOR needs {need / SAMPLE_RATE:.1f} s of audio for "
                             f"{decisions_wanted} decisions; got {len(pcm) / SAMPLE_RATE:.1f} s")
        for chunk in pcm_chunks(pcm[:need]):
            dev.request(MsgType.PCM, chunk, MsgType.ACK)
        dev.request(MsgType.MONITOR_END, b"", MsgType.ACK)
    got = [Decision.unpack(f.body) for f in dev.decisions]
    steady = got[1:] or got  # the first decision also paid for the window's first hops
    busy = float(np.mean([d.busy_cycles for d in steady]))
    per_second = busy * SAMPLE_RATE / hop_samples
    return {
        "hop_frames": ready.hop_frames, "window_hops": ready.window_hops,
        "decisions": len(got),
        "instructions_per_hop": round(busy),
        "instructions_per_second_of_audio": round(per_second),
        "max_instructions_per_hop": max(d.busy_cycles for d in steady),
        "real_time_share": {b: round(per_second / hz, 4) for b, hz in BOARD_HZ.items()},
    }


def markdown_lines(models: dict[str, dict]) -> list[str]:
    """docs/performance.md's MONITOR section from {model name: {"kind", "monitor": ...}}."""
    L = ["", "## MONITOR mode: the real-time budget", "",
         "Continuous monitoring (docs/monitor.md) with each model's default hop and window, "
         "PCM streamed to the QEMU build (KERNELS=cm4); every DECISION carries the instructions "
         "its hop took (front end, inferences, the window's score). Mean over the decisions "
         "after the first, per second of audio, and as a share of each board's clock: from "
         "the instructions (a lower bound: instructions are not cycles), and from the "
         "estimated cycles (the cycle model below, zero wait states: the front end's "
         "instructions at the front end's traced cycles per instruction, the rest at the "
         "inference's, both from the model's clip run). Goal: at most 10 % of the L4R5ZI's "
         "120 MHz.", "",
         "| model | kind | hop x window | instructions / s of audio | F446RE (180 MHz) | "
         "L4R5ZI (120 MHz) | estimated cycles / s of audio | F446RE, estimated | "
         "L4R5ZI, estimated | goal <= 10 % |", "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, m in models.items():
        d = m.get("monitor")
        if not d:
            continue
        share, est = d["real_time_share"], d.get("estimated_real_time_share", {})
        l4 = est.get("nucleo-l4r5zi")
        L.append(f"| {name} | {m.get('kind', '')} | {d['hop_frames']} frames x "
                 f"{d['window_hops']} | {d['instructions_per_second_of_audio']:,} | "
                 f"{100 * share['nucleo-f446re']:.1f} % | {100 * share['nucleo-l4r5zi']:.1f} % | "
                 f"{d.get('estimated_cycles_per_second_of_audio', 0):,} | "
                 f"{100 * est.get('nucleo-f446re', 0):.1f} % | {100 * (l4 or 0):.1f} % | "
                 f"{'met' if l4 is not None and l4 <= 0.10 else 'not met'} |")
    return L
