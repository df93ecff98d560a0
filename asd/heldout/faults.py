"""Fault (anomaly) models of the held-out family.

A fault has up to two parts: `before` changes the machine's parameters before it is rendered
(slower pressure build, speed dips, stalls, a restricted intake), `component` returns a sound to
add, placed by the machine's context (cycle phase, events, envelopes). The added component is
scaled to NOMINAL_DB[kind] + severity dB relative to the machine's RMS; parameter changes scale
by the factor 10 ** (severity / 20). The fault's random draws never depend on the severity, so
one clip rendered at two severities differs only in how strong its fault is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asd.heldout.machines import (SR, TAU, at_phase, band, cycles_through, hump, noise, pulses,
                                  ring, unit, wander, window)


@dataclass
class Fault:
    kind: str
    severity_db: float
    rng: np.random.Generator

    @property
    def factor(self) -> float:
        return 10.0 ** (self.severity_db / 20.0)


# level of the added component relative to the machine's RMS at severity 0 (None: no component)
NOMINAL_DB = {
    "valve_leak": -14.0, "rod_knock": -18.0, "intake_restriction": None,
    "roller_wear": -23.0, "belt_slip": -22.0, "edge_rub": -19.0,
    "discharge": -24.0, "loose_core": -23.0, "dc_bias": -13.0,
    "missed_steps": None, "dry_rail": -27.0, "loose_platen": -22.0,
    "cavitation": -20.0, "internal_leak": -17.0, "relief_chatter": -22.0,
    "scale": -14.0, "lid_rattle": -13.0, "sizzle": -16.0,
}

DESCRIPTION = {
    "valve_leak": "leaking discharge valve: jet hiss (2.5-7.5 kHz, a whistle hump) while the "
                  "valve should be shut, strongest in suction, fading as compression nears "
                  "the discharge pressure",
    "rod_knock": "worn connecting-rod bearing: a sharp knock just after top dead centre on "
                 "most cycles, a weaker one at bottom dead centre (1-2.4 kHz)",
    "intake_restriction": "clogged intake filter: the suction flow noise gains a whistle "
                          "resonance that moves down in frequency (a filter shift, nothing added)",
    "roller_wear": "worn idler bearing: impacts at the outer-race defect rate (3.05 x the "
                   "roller speed) through 2.8-6.5 kHz resonances, load-zone modulated, plus "
                   "modulated high-band noise",
    "belt_slip": "drive pulley slipping: three speed dips per clip (events slow down) with a "
                 "friction squeal (0.6-1.1 kHz and harmonics, stick-slip vibrato) while slipping",
    "edge_rub": "mistracking belt rubbing the frame once per belt revolution: band friction "
                "noise with 30-60 Hz stick-slip flutter",
    "discharge": "partial discharge in the oil: bursts of tiny broadband pulses clustered at "
                 "the mains voltage peaks (twice per cycle), through 3-7 kHz tank resonances",
    "loose_core": "loose core clamping: a part struck on the 100-Hz vibration peaks whenever "
                  "the vibration exceeds its gap (intermittent buzz, 0.6-4 kHz)",
    "dc_bias": "DC magnetisation (half-cycle saturation): odd harmonics of the mains "
               "(50, 150, 250 ... Hz) join the even magnetostriction series",
    "missed_steps": "carriage stepper losing steps: on some lines the carriage stalls for "
                    "40-150 ms during acceleration, the coil buzzing at 150-280 Hz, then "
                    "re-starts (irregular line rhythm; nothing added)",
    "dry_rail": "dry carriage rail: stick-slip squeak (1.5-3 kHz tone bursts at 25-60 Hz) "
                "whenever the carriage moves, following its speed",
    "loose_platen": "loose platen: a third of the pin impacts make the platen rattle "
                    "(secondary hits 3-12 ms later through 0.5-1.4 kHz resonances)",
    "cavitation": "pump cavitation: bursts of dense impulsive crackle (2.5-7 kHz) during the "
                  "high-flow phases (approach, return)",
    "internal_leak": "worn piston seals: the pressure builds slower (a longer, slower cycle, "
                     "lower peak) and a leak hiss (jet hump 3.5-5 kHz) follows the pressure",
    "relief_chatter": "relief valve chattering at the end of the build and during the hold: "
                      "clicks at 40-90 Hz through 1.5-3 kHz resonances",
    "scale": "limescale on the element: fewer fine collapse crackles, and loud low pops "
             "(300-700 Hz) of vapour trapped under the scale",
    "lid_rattle": "loose lid rattling in clusters of 3-10 hits at 25-40 Hz when the boiling "
                  "is vigorous (plastic resonances 0.9-3.5 kHz)",
    "sizzle": "dry spot on the element: flickering high-band sizzle (4-7.5 kHz), on and off",
}


def before(f: Fault, p: dict, n: int) -> dict:
    """The machine's parameters as the fault changes them (a copy)."""
    p = dict(p)
    r, k = f.rng, f.kind
    if k == "intake_restriction":
        p["intake"] = min(2.0, 0.45 * f.factor)
    elif k == "belt_slip":
        t = np.arange(n) / SR
        centres = r.uniform(0.1, 0.9, 3) * n / SR
        widths = r.uniform(0.25, 0.6, 3)
        dip = np.zeros(n)
        for c, w in zip(centres, widths):
            dip = np.maximum(dip, np.exp(-0.5 * ((t - c) / w) ** 2))
        p["speed"] = 1.0 - min(0.5, 0.05 * f.factor) * dip
        p["slip"] = dip
    elif k == "missed_steps":
        p["stall"] = dict(prob=min(0.9, 0.35 * f.factor), u=r.random(64),
                          dur=np.minimum(0.4, r.uniform(0.04, 0.15, 64) * f.factor ** 0.5))
    elif k == "internal_leak":
        p["slow"] = 1.0 + 0.5 * f.factor
        p["pmax"] = max(0.6, 1.0 - 0.05 * f.factor)
    elif k == "scale":
        p["crackle"] = max(0.3, 1.0 - 0.15 * f.factor)
    return p


def component(f: Fault, ctx: dict, n: int):
    """The sound the fault adds (any level; scaled by apply), or None."""
    r, k = f.rng, f.kind
    t = ctx["t"]
    if k == "valve_leak":
        frac, th = ctx["frac"], ctx["th_do"]
        w = np.where(frac < 0.5, 1.0, np.clip((th - frac) / (th - 0.5), 0.0, 1.0))
        w *= window(frac, 0.015, th - 0.01, 0.03)
        fc = r.uniform(3500, 6000)
        x = noise(r, n, lambda fr: band(fr, 2500, 7500) * hump(fr, fc, 0.25, 8))
        return x * w * (1 + 0.3 * wander(r, n, 30))
    if k == "rod_knock":
        ph = ctx["ph"]
        tdc = cycles_through(ph, r.uniform(0.03, 0.05))
        bdc = cycles_through(ph, 0.52)
        ks = np.r_[tdc, bdc]
        amp = np.r_[np.where(r.random(len(tdc)) < 0.8, 1.0, 0.0),
                    np.where(r.random(len(bdc)) < 0.5, 0.5, 0.0)]
        ks = ks + r.normal(0, 0.003, len(ks))
        inside = (ks >= ph[0]) & (ks <= ph[-1])
        amp = amp * r.lognormal(0, 0.3, len(ks))
        x = pulses(n, at_phase(ph, ks[inside]), amp[inside])
        return ring(x, [(r.uniform(1000, 1400), 20, 1.0), (r.uniform(1900, 2400), 20, 0.6)])
    if k == "roller_wear":
        roll = ctx["roll"]
        defect = roll * 3.05 * (1 + 0.01 * wander(r, n, 0.5)) + r.uniform(0, 1)
        hits = at_phase(defect, cycles_through(defect))
        zone = 1 + 0.6 * np.cos(TAU * (np.interp(hits, t, roll) + r.uniform(0, 1)))
        x = ring(pulses(n, hits, zone * r.lognormal(0, 0.2, len(hits))),
                 [(r.uniform(4500, 6500), 12, 1.0), (r.uniform(2800, 3500), 10, 0.5)])
        hb = noise(r, n, lambda fr: band(fr, 3000, 7000)) * (1 + 0.8 * np.cos(TAU * defect))
        return unit(x) + 0.5 * unit(hb)
    if k == "belt_slip":
        dip = ctx["p"]["slip"]
        f0 = r.uniform(600, 1100) * (1 + 0.03 * np.sin(TAU * r.uniform(5, 10) * t))
        ph = np.cumsum(f0) / SR
        sq = sum(a * np.cos(TAU * h * ph + r.uniform(0, TAU))
                 for h, a in ((1, 1.0), (2, 0.5), (3, 0.25)))
        return sq * dip ** 0.7
    if k == "edge_rub":
        loop = ctx["s"] / ctx["length"]
        contact = np.clip((np.cos(TAU * (loop + r.uniform(0, 1))) + 0.4 * wander(r, n, 0.3)
                           - 0.1) / 0.6, 0.0, 1.0)
        flutter = 1 + 0.8 * np.cos(TAU * r.uniform(30, 60) * t)
        fc = r.uniform(800, 1600)
        x = noise(r, n, lambda fr: band(fr, 400, 3000) * hump(fr, fc, 0.4, 8))
        return x * contact * flutter
    if k == "discharge":
        ph2 = 2 * ctx["mains"]
        half = cycles_through(ph2, 0.5)
        counts = r.poisson(1.5, len(half))
        pt = np.repeat(half, counts) + r.normal(0, 0.1, int(counts.sum()))
        pt = pt[(pt >= ph2[0]) & (pt <= ph2[-1])]
        times = at_phase(ph2, pt)
        episodes = wander(r, n, 0.7) > 0.2
        times = times[episodes[np.minimum((times * SR).astype(int), n - 1)]]
        x = pulses(n, times, r.exponential(1.0, len(times)))
        return ring(x, [(r.uniform(3000, 4500), 6, 1.0), (r.uniform(5500, 7000), 6, 0.7)])
    if k == "loose_core":
        ph2 = 2 * ctx["mains"]
        hits = at_phase(ph2, cycles_through(ph2, r.uniform(0, 1)))
        env = 1 + 0.3 * wander(r, n, 0.4)
        e = np.interp(hits, t, env)
        prob = np.clip((e - 1.0) / 0.3, 0.0, 1.0)
        keep = r.random(len(hits)) < prob
        amp = np.sqrt(np.maximum(e - 1.0, 0)) * r.lognormal(0, 0.2, len(hits))
        x = pulses(n, hits[keep], amp[keep])
        return ring(x, [(r.uniform(600, 900), 15, 1.0), (r.uniform(1300, 1800), 15, 0.7),
                        (r.uniform(2500, 4000), 20, 0.4)])
    if k == "dc_bias":
        mains = ctx["mains"]
        return sum((2 * j + 1) ** -0.8 * r.lognormal(0, 0.2)
                   * np.cos(TAU * (2 * j + 1) * mains + r.uniform(0, TAU)) for j in range(6))
    if k == "dry_rail":
        fs = r.uniform(1500, 3000) * (1 + 0.01 * wander(r, n, 2))
        ph = np.cumsum(fs) / SR
        tone = np.cos(TAU * ph) + 0.4 * np.cos(TAU * 2 * ph + 1.0)
        stick = (0.5 + 0.5 * np.cos(TAU * r.uniform(25, 60) * t)) ** 4
        return tone * stick * ctx["speed"] * np.clip(wander(r, n, 1.0) + 0.8, 0, 1)
    if k == "loose_platen":
        it, ia = ctx["impacts"], ctx["impact_amps"]
        keep = r.random(len(it)) < 0.33
        dt = r.uniform(0.003, 0.012, len(it))
        amp = 0.5 * ia * r.lognormal(0, 0.3, len(it))
        x = pulses(n, (it + dt)[keep], amp[keep])
        return ring(x, [(r.uniform(500, 800), 20, 1.0), (r.uniform(1000, 1400), 20, 0.6)])
    if k == "cavitation":
        g = np.clip((ctx["Q"] - 0.4) / 0.4, 0.0, 1.0) * (wander(r, n, 2.0) > -0.2)
        hit = r.random(n) < 1500.0 / SR * g
        x = np.where(hit, r.exponential(1.0, n), 0.0)
        return ring(x, [(r.uniform(3000, 4000), 3, 1.0), (r.uniform(5500, 6500), 3, 0.7)])
    if k == "internal_leak":
        fc = r.uniform(3500, 5000)
        x = noise(r, n, lambda fr: band(fr, 2500, 6500) * hump(fr, fc, 0.2, 10))
        return x * np.clip((ctx["P"] - 0.3) / 0.5, 0.0, 1.0)
    if k == "relief_chatter":
        rate = r.uniform(40, 90)
        times = np.concatenate([np.arange(s - 0.1, e, 1 / rate) for s, e in ctx["holds"]]
                               or [np.zeros(0)])
        times = times + r.normal(0, 0.1 / rate, len(times))
        x = pulses(n, times, r.lognormal(0, 0.3, len(times)))
        return ring(x, [(r.uniform(1500, 3000), 12, 1.0), (r.uniform(500, 700), 5, 0.5)])
    if k == "scale":
        T = n / SR
        cand = np.sort(r.uniform(0, T, r.poisson(8 * T)))
        keep = r.random(len(cand)) < (0.5 + np.interp(cand, t, ctx["stage"])) / 1.5
        amp = r.lognormal(0, 0.4, len(cand))
        x = pulses(n, cand[keep], amp[keep])
        return ring(x, [(r.uniform(300, 700), 8, 1.0), (r.uniform(1100, 1400), 4, 0.5)])
    if k == "lid_rattle":
        T = n / SR
        on = np.sort(r.uniform(0, T, r.poisson(2 * T)))
        keep = r.random(len(on)) < np.interp(on, t, ctx["vigour"])
        count = r.integers(3, 11, len(on))
        gap = 1 / r.uniform(25, 40, len(on))
        j = np.arange(10)
        times = on[:, None] + j[None, :] * gap[:, None]
        amp = (0.85 ** j)[None, :] * (j[None, :] < count[:, None]) * keep[:, None]
        amp = amp * r.lognormal(0, 0.2, amp.shape)
        x = pulses(n, times.ravel(), amp.ravel())
        return ring(x, [(r.uniform(900, 2000), 5, 1.0), (r.uniform(3000, 3500), 8, 0.5)])
    if k == "sizzle":
        x = noise(r, n, lambda fr: band(fr, 4000, 7500, 3))
        flicker = np.clip(2 * wander(r, n, 60) + 0.5, 0, 1)
        return x * flicker * np.clip(wander(r, n, 0.5) + 0.3, 0, 1)
    if k in ("intake_restriction", "missed_steps"):
        return None
    raise ValueError(f"unknown fault kind {k!r}")


def apply(f: Fault, sig: np.ndarray, ctx: dict, n: int) -> np.ndarray:
    """The machine sound (unit RMS) with the fault's component added at its level."""
    x = component(f, ctx, n)
    if x is None or NOMINAL_DB[f.kind] is None or not np.any(x):
        return sig
    return sig + unit(x) * 10.0 ** ((NOMINAL_DB[f.kind] + f.severity_db) / 20.0)

