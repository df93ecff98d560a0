"""`python -m host.frontend_check --machine X [--data-root data] [--limit N]`: how closely the
firmware's front end (C, float32, built as firmware/build/tools/logmel-tool) reproduces the
host's librosa log-mel on real clips, and how often the int8 model inputs are identical.

The int8 comparison uses the frame quantization of the exported model in firmware/models/X/: its
input quantization (ae, cls), or the frame constants of a stats model.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np

from asd import cli
from asd.dataset import list_clips, load_pcm16
from asd.features import FEATURES, logmel, quantize

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "firmware/build/tools/logmel-tool"


def device_logmel(pcm: np.ndarray) -> np.ndarray:
    r = subprocess.run([str(TOOL), "1024"], input=pcm.astype("<i2").tobytes(),
                       capture_output=True, check=True)
    return np.frombuffer(r.stdout, np.float32).reshape(-1, FEATURES.n_mels)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--data-root", type=Path, default=ROOT / "data")
    ap.add_argument("--model-dir", type=Path)
    ap.add_argument("--limit", type=int, default=20)
    a = ap.parse_args()
    subprocess.run(["make", "-s", "-C", str(ROOT / "firmware"), "-f", "dsp/dsp.mk",
                    "logmel-tool"], check=True)
    model_dir = a.model_dir or ROOT / "firmware/models" / a.machine
    from export import tflm
    from export.pipeline import load_export
    from export.reference import frame_quant
    _, model, cfg = load_export(model_dir)
    scale, zero = frame_quant(cfg, tflm.io_quant(model)[0])
    clips = list_clips(a.data_root, a.machine, "test")[:a.limit]
    worst = worst_loud = 0.0
    same = total = max_step = 0
    for c in clips:
        pcm = load_pcm16(c.path)
        dev, ref = device_logmel(pcm), logmel(pcm.astype(np.float32) / 32768)
        diff = np.abs(dev - ref)
        worst = max(worst, float(diff.max()))
        worst_loud = max(worst_loud, float(diff[ref >= ref.max() - 80].max()))
        q_dev, q_ref = quantize(dev, scale, zero), quantize(ref, scale, zero)
        same += int(np.sum(q_dev == q_ref))
        max_step = max(max_step, int(np.abs(q_dev.astype(int) - q_ref.astype(int)).max()))
        total += q_ref.size
    print(f"{a.machine}: {len(clips)} test clips, {total:,} log-mel values")
    print(f"  max |device - librosa| {worst:.2e} dB (within 80 dB of each clip's maximum: "
          f"{worst_loud:.2e} dB)")
    print(f"  int8 inputs identical: {same / total:.6%} (scale {scale:.4f} dB per step, "
          f"zero point {zero}); {total - same} differ, by at most {max_step} step(s)")
    return 0


if __name__ == "__main__":
    cli.run(main)
