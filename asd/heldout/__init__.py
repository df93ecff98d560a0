"""A second, independent family of synthetic machine sounds, for reports only (docs/heldout.md).

It shares no sound, fault or background model with asd.synth (numpy/scipy only) and exists to
check that a detector chosen on asd.synth's development types is not fitted to that generator.
Never take a decision on it.

One clip: the machine's condition (per domain) -> the fault's parameter change (anomalies) ->
the machine sound, normalised to unit RMS -> plus the fault's component at its level -> plus the
background at the clip's SNR -> played at the type's level +- GAIN_SPREAD_DB -> soft limiter
above KNEE -> 16-bit PCM.
"""
from __future__ import annotations

import numpy as np

from asd.heldout import ambience, faults
from asd.heldout.machines import MODELS, SR, unit
from asd.heldout.write import Clip, clip_seeds

# Per-type severity offset (dB) added to each fault's nominal level, calibrated with
# `python -m asd.heldout.calibrate --sweep ...` (docs/heldout.md).
SEVERITY_DB = {"Compressor": -3.0, "Conveyor": 2.0, "Transformer": -2.0, "Printer": 1.0,
               "HydraulicPress": 1.0, "Kettle": -1.0}
SPREAD_DB = 2.0         # per-clip severity spread, uniform +-
GAIN_SPREAD_DB = 1.5    # recording gain spread, uniform +-
KNEE, CEILING = 0.5, 0.98


def draw_fault(machine: str, rng: np.random.Generator, offset_db: float = 0.0) -> faults.Fault:
    kinds = MODELS[machine].kinds
    kind = kinds[int(rng.integers(len(kinds)))]
    sev = SEVERITY_DB[machine] + offset_db + rng.uniform(-SPREAD_DB, SPREAD_DB)
    return faults.Fault(kind, sev, rng)


def fault_of(clip: Clip, seed: int) -> str | None:
    """The fault kind an anomalous clip carries (replays its generator); None for others."""
    if clip.label != "anomaly":
        return None
    ss = clip_seeds(seed, clip.machine, clip.domain, clip.split, clip.label, clip.index)[2]
    return draw_fault(clip.machine, np.random.default_rng(ss)).kind


def soft_limit(y: np.ndarray, knee: float = KNEE, ceiling: float = CEILING) -> np.ndarray:
    """Magnitudes above knee bend smoothly (u / (1 + u)) towards ceiling; the rest untouched."""
    a = np.abs(y)
    over = a > knee
    if not over.any():
        return y
    span = ceiling - knee
    u = (a[over] - knee) / span
    y = y.copy()
    y[over] = np.sign(y[over]) * (knee + span * u / (1.0 + u))
    return y


def render(clip: Clip, seed: int, n: int, offset_db: float = 0.0,
           kind: str | None = None) -> np.ndarray:
    """One clip as int16 samples. offset_db shifts the fault severity (calibration sweeps);
    kind forces a fault kind (tests)."""
    model = MODELS[clip.machine]
    _, ss_m, ss_f, ss_b = clip_seeds(seed, clip.machine, clip.domain, clip.split, clip.label,
                                     clip.index)
    rng_m, rng_f, rng_b = (np.random.default_rng(s) for s in (ss_m, ss_f, ss_b))
    mix = np.zeros(n)
    if clip.label != "noise":
        p = dict(clip.params)
        fault = None
        if clip.label == "anomaly":
            fault = draw_fault(clip.machine, rng_f, offset_db)
            if kind is not None:
                fault.kind = kind
            p = faults.before(fault, p, n)
        sig, ctx = model.render(rng_m, n, p)
        ctx["p"] = p
        sig = unit(sig)
        if fault is not None:
            sig = faults.apply(fault, sig, ctx, n)
        mix += sig
    snr = rng_b.uniform(*model.snr[clip.domain])
    if clip.label != "clean":
        mix += ambience.render(rng_b, n, model.ambience[clip.domain]) * 10.0 ** (-snr / 20.0)
    level = model.level_db + rng_b.uniform(-GAIN_SPREAD_DB, GAIN_SPREAD_DB)
    y = soft_limit(mix * 10.0 ** (level / 20.0))
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)


__all__ = ["MODELS", "SR", "SEVERITY_DB", "render", "draw_fault", "fault_of"]
