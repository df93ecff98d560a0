"""Anomaly kinds, applied to a machine sound at a subtle, per-clip random severity.

An anomaly acts in up to two places:
  * before rendering, as a multiplicative speed modulation (`speed_mod`: wobble, clog) that the
    machine model folds into its rotation frequencies (models may also read `kind` themselves,
    e.g. the valve's `stick`);
  * after rendering, in `apply`, on the machine signal normalised to unit RMS: modulation
    (imbalance) or an added component (impulses, hiss, tones) at a level relative to the machine.

Severity is one number in dB, `sev_db`: additive parts sit at `BASE_DB[kind] + sev_db` relative to
the machine's RMS, modulation depths scale by 10**(sev_db/20). The generator draws
`sev_db = SEVERITY_DB[machine] + U(-SPREAD_DB, +SPREAD_DB)` per clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asd.synth import dsp
from asd.synth.dsp import Grid

# Nominal level (dB re machine RMS) of the added part, or nominal depth, per kind.
BASE_DB = {
    "imbalance": -24.0,       # 1x rotation tone; plus AM of the machine at the rotation rate
    "extra_harmonic": -24.0,  # a tone at a non-nominal order of the rotation
    "bearing_defect": -22.0,  # impulses at a defect frequency through high resonances
    "friction": -24.0,        # band noise rubbing once per revolution
    "rattle": -21.0,          # irregular impacts of a loose part on some revolutions
    "tooth": -21.0,           # a damaged gear tooth: one impact per shaft revolution
    "clog": -22.0,            # load surges: speed dips plus low rumble
    "leak": -26.0,            # valve: flow hiss while closed
    "chatter": -18.0,         # valve: bounce clicks after opening/closing
}
DEPTH = {
    "imbalance": 0.06,        # AM depth at the rotation rate
    "wobble": 0.010,          # relative speed deviation
    "clog": 0.025,            # relative speed drop during a surge
}
# Kinds the machine model implements itself (it reads anomaly.kind / anomaly.depth).
MODEL_KINDS = {"stick", "jam"}
KINDS = tuple(sorted(set(BASE_DB) | set(DEPTH) | MODEL_KINDS))
SPREAD_DB = 3.0


@dataclass
class Aux:
    """What a machine model tells the anomalies about itself."""
    ph: np.ndarray                    # rotation phase (rad, wrapped) of the main rotating part
    freq: np.ndarray                  # its frequency (Hz), per sample
    active: np.ndarray | None = None  # 0..1 where the machine runs; None: always
    res_mid: tuple = (900.0, 1700.0, 2600.0)    # resonances excited by loose parts / teeth
    res_hi: tuple = (2800.0, 4200.0, 5600.0)    # resonances excited by bearing defects
    hiss: tuple = (2000.0, 6000.0)              # band of friction noise
    orders: tuple = (1.5, 2.5, 3.5)             # candidate non-nominal orders
    defect: tuple = (3.05, 3.58, 4.9, 5.42)     # candidate defect frequencies (x rotation)
    events: list = field(default_factory=list)  # (start, stop) s of on-phases (valve, cycles)


@dataclass
class Anomaly:
    kind: str
    sev_db: float
    rng: np.random.Generator
    g: Grid
    speed_mod: np.ndarray | None = None
    surge: np.ndarray | None = None   # clog: 0..1 envelope of the load surges

    def level(self, base_db: float) -> float:
        return dsp.db(base_db + self.sev_db)

    def depth(self, base: float) -> float:
        return base * dsp.db(self.sev_db)


def make(kind: str, sev_db: float, rng: np.random.Generator, g: Grid) -> Anomaly:
    """An anomaly with its pre-render parts (speed modulation) drawn."""
    if kind not in KINDS:
        raise ValueError(f"unknown anomaly kind {kind!r}")
    a = Anomaly(kind, sev_db, rng, g)
    if kind == "wobble":
        rate = rng.uniform(0.6, 4.0)
        d = a.depth(DEPTH["wobble"])
        a.speed_mod = 1.0 + d * (0.7 * np.sin(dsp.TWO_PI * rate * g.t + rng.uniform(0, dsp.TWO_PI))
                                 + 0.5 * dsp.smooth(rng, g, 3.0))
    elif kind == "clog":
        k = max(1, rng.poisson(0.4 * g.seconds))
        starts = np.sort(rng.uniform(0.0, g.seconds, k))
        segs = [(s, s + rng.uniform(0.4, 1.5)) for s in starts]
        a.surge = dsp.on_off(g, segs, attack=0.15, release=0.3)
        a.speed_mod = 1.0 - a.depth(DEPTH["clog"]) * a.surge
    return a


def speed_mod(anom: Anomaly | None) -> np.ndarray | float:
    return 1.0 if anom is None or anom.speed_mod is None else anom.speed_mod


def _active(aux: Aux, g: Grid) -> np.ndarray:
    return np.ones(g.n) if aux.active is None else aux.active


def _impacts(rng, g: Grid, times, freqs, q_range, decay_jitter=0.3) -> np.ndarray:
    amps = rng.lognormal(0.0, 0.35, len(times)) * rng.choice([-1.0, 1.0], len(times))
    x = dsp.pulses(g, times, amps)
    fr = np.asarray(freqs) * rng.uniform(1 - decay_jitter / 10, 1 + decay_jitter / 10, len(freqs))
    h = dsp.resonators(g, fr, rng.uniform(*q_range, len(freqs)), rng.uniform(0.5, 1.0, len(freqs)))
    return dsp.filt(x, h, g)


def _add(sig: np.ndarray, part: np.ndarray, gain: float) -> np.ndarray:
    r = dsp.rms(part)
    return sig if r < 1e-12 else sig + part * (gain / r)


def apply(anom: Anomaly, sig: np.ndarray, aux: Aux) -> np.ndarray:
    """The anomalous clip: `sig` (unit RMS machine sound) with the anomaly's post-render part."""
    rng, g, kind = anom.rng, anom.g, anom.kind
    act = _active(aux, g)
    if kind == "imbalance":
        p0 = rng.uniform(0, dsp.TWO_PI)
        m = anom.depth(DEPTH["imbalance"])
        sig = sig * (1.0 + m * act * np.cos(aux.ph + p0))
        tone = dsp.harmonics(aux.ph, [1.0], [1.0], [p0]) * act
        return _add(sig, tone, anom.level(BASE_DB[kind]))
    if kind == "extra_harmonic":
        k = rng.choice(aux.orders)
        tone = dsp.harmonics(aux.ph, [k], [1.0], [rng.uniform(0, dsp.TWO_PI)])
        tone *= act * (1.0 + 0.3 * dsp.smooth(rng, g, 1.0))
        return _add(sig, tone, anom.level(BASE_DB[kind]))
    if kind == "bearing_defect":
        ratio = rng.choice(aux.defect) * rng.uniform(0.98, 1.02)
        times = dsp.cycle_times(dsp.cycles(aux.freq * ratio, g, rng.uniform()), g)
        times = times + rng.normal(0.0, 0.0004, len(times))  # slip
        x = _impacts(rng, g, times, aux.res_hi, (8.0, 25.0))
        if ratio > 5.0:  # inner race: modulated by the load zone once per revolution
            x *= 0.6 + 0.4 * np.cos(aux.ph)
        return _add(sig, x * act, anom.level(BASE_DB[kind]))
    if kind in ("rattle", "tooth"):
        if kind == "tooth":
            times = dsp.cycle_times(dsp.cycles(aux.freq, g, rng.uniform()), g)
        else:
            rate = np.clip(aux.freq, 1.0, None) * rng.uniform(0.5, 2.0)
            times = dsp.cycle_times(dsp.cycles(rate, g, rng.uniform()), g)
            times = times[rng.uniform(size=len(times)) < rng.uniform(0.15, 0.5)]
            times = times + rng.normal(0.0, 0.003, len(times))
        x = _impacts(rng, g, times, aux.res_mid, (6.0, 20.0))
        return _add(sig, x * act, anom.level(BASE_DB[kind]))
    if kind == "friction":
        lo, hi = aux.hiss
        lo, hi = lo * rng.uniform(0.8, 1.25), hi * rng.uniform(0.8, 1.25)
        x = dsp.coloured_noise(rng, g, dsp.band(g, lo, hi, 2))
        rub = ((1.0 + np.cos(aux.ph + rng.uniform(0, dsp.TWO_PI))) * 0.5) ** rng.uniform(1.0, 4.0)
        x *= (0.35 + 0.65 * rub) * act * (1.0 + 0.3 * dsp.smooth(rng, g, 0.8))
        return _add(sig, x, anom.level(BASE_DB[kind]))
    if kind == "clog":
        x = dsp.coloured_noise(rng, g, dsp.band(g, 40.0, 400.0, 2))
        return _add(sig, x * anom.surge * act, anom.level(BASE_DB[kind]))
    if kind == "leak":
        lo = rng.uniform(1500.0, 3000.0)
        x = dsp.coloured_noise(rng, g, dsp.band(g, lo, lo * rng.uniform(2.0, 3.0), 3))
        closed = 1.0 - np.clip(act, 0.0, 1.0)
        return _add(sig, x * (0.3 + closed), anom.level(BASE_DB[kind]))
    if kind == "chatter":
        times = []
        for start, stop in aux.events:
            for t0 in (start, stop):
                k = rng.integers(1, 4)
                times.extend(t0 + np.cumsum(rng.uniform(0.008, 0.03, k)))
        x = _impacts(rng, g, np.asarray(times), aux.res_mid, (10.0, 30.0))
        return _add(sig, x, anom.level(BASE_DB[kind]))
    return sig  # wobble, stick, jam: already in the rendering
