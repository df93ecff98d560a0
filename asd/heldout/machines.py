"""Sound models of the held-out family, written from numpy/scipy only (nothing from asd.synth).

Each model draws an operating condition for a domain (`condition`: attribute pairs for the file
name and hidden parameters) and renders the normal machine sound (`render`), returning the signal
and a context dict (time axis, cycle phase, event times, envelopes) that the faults in
`asd.heldout.faults` use to place their component where the physics puts it. A fault may also
have set keys in the parameters before rendering (slower build, speed dips, stalls, ...).

The signal primitives at the top are shared with faults.py and ambience.py.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import scipy.fft

SR = 16000
TAU = 2.0 * np.pi


# ---------------------------------------------------------------------------------------------
# primitives (vectorised; no per-sample Python loops)

def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def unit(x: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(np.square(x))))
    return x if r == 0.0 else x / r


def axis(n: int) -> np.ndarray:
    return np.arange(n) / SR


def wander(rng, n: int, rate: float, sigma: float = 1.0) -> np.ndarray:
    """A slow random curve (Gaussian knots `rate` per second, raised-cosine interpolation)."""
    x = np.arange(n) * (rate / SR)
    knots = rng.normal(0.0, sigma, int(x[-1]) + 3)
    i = x.astype(np.int64)
    w = 0.5 - 0.5 * np.cos(np.pi * (x - i))
    return knots[i] * (1.0 - w) + knots[i + 1] * w


def _grid(m: int) -> np.ndarray:
    f = np.fft.rfftfreq(m, 1.0 / SR)
    f[0] = 1e-3
    return f


def band(f, lo=None, hi=None, order=2):
    """Butterworth-like magnitude between lo and hi (either may be None)."""
    m = np.ones_like(f)
    if lo:
        m = m / np.sqrt(1.0 + (lo / f) ** (2 * order))
    if hi:
        m = m / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return m


def hump(f, centre, octaves, gain_db):
    g = 10.0 ** (gain_db / 20.0) - 1.0
    return 1.0 + g * np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / centre) / octaves) ** 2)


def slope(f, db_per_octave, ref=1000.0):
    return (np.maximum(f, 20.0) / ref) ** (db_per_octave / 6.0206)


def noise(rng, n: int, shape) -> np.ndarray:
    """Gaussian noise with magnitude response shape(f) (a callable on the rfft frequencies)."""
    f = _grid(n)
    return scipy.fft.irfft(scipy.fft.rfft(rng.standard_normal(n)) * shape(f), n)


def ring(x: np.ndarray, modes, tail: float = 0.35) -> np.ndarray:
    """x through parallel resonances [(freq, q, gain)], zero-padded by `tail` so nothing wraps."""
    n = len(x)
    m = scipy.fft.next_fast_len(n + int(tail * SR), real=True)
    f = _grid(m)
    h = np.zeros(len(f), dtype=complex)
    for fr, q, g in modes:
        h += g / (1.0 + 1j * q * (f / fr - fr / f))
    return scipy.fft.irfft(scipy.fft.rfft(x, m) * h, m)[:n]


def pulses(n: int, times, amps=1.0) -> np.ndarray:
    times = np.asarray(times, dtype=float)
    idx = np.round(times * SR).astype(np.int64)
    w = np.broadcast_to(np.asarray(amps, dtype=float), idx.shape)
    ok = (idx >= 0) & (idx < n)
    return np.bincount(idx[ok], weights=w[ok], minlength=n).astype(float)


def at_phase(ph: np.ndarray, targets) -> np.ndarray:
    """Times at which the (increasing) cycle count ph reaches each target."""
    targets = np.asarray(targets, dtype=float)
    targets = targets[(targets >= ph[0]) & (targets <= ph[-1])]
    return np.interp(targets, ph, axis(len(ph)))


def cycles_through(ph: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Integer cycle numbers k (plus offset) within the span of ph."""
    return np.arange(np.floor(ph[0]) - 1, np.ceil(ph[-1]) + 1) + offset


def window(frac: np.ndarray, a: float, b: float, edge: float = 0.03) -> np.ndarray:
    """Smooth gate on a cycle fraction in [a, b) (wrapping), raised-cosine edges."""
    width = (b - a) % 1.0
    d = (frac - a) % 1.0
    inside = d < width
    w = np.minimum(d, width - d) / edge
    w = np.clip(w, 0.0, 1.0)
    return np.where(inside, np.sin(0.5 * np.pi * w) ** 2, 0.0)


def gate(n: int, segments, fade: float = 0.02) -> np.ndarray:
    """1 inside each (start, stop) segment in seconds, raised-cosine fades, 0 elsewhere."""
    env = np.zeros(n)
    k = max(1, int(fade * SR))
    for s, e in segments:
        i0, i1 = max(0, int((s - fade) * SR)), min(n, int((e + fade) * SR) + 1)
        if i1 <= i0:
            continue
        t = np.arange(i0, i1) / SR
        u = np.clip(np.minimum(t - (s - fade), (e + fade) - t) * SR / k, 0.0, 1.0)
        env[i0:i1] = np.maximum(env[i0:i1], np.sin(0.5 * np.pi * u) ** 2)
    return env


def curve(n: int, points) -> np.ndarray:
    """Piecewise-linear curve through (time, value) points, held at the ends."""
    p = np.asarray(points, dtype=float)
    return np.interp(axis(n), p[:, 0], p[:, 1])


def grains(n: int, times, freqs, taus, amps, length: float = 0.03, glide: float = 0.0):
    """A damped sinusoid per event (own frequency, decay, amplitude; frequency gliding by
    `glide` over the grain), scatter-added into one signal."""
    times = np.asarray(times, dtype=float)
    if times.size == 0:
        return np.zeros(n)
    m = int(length * SR)
    o = np.arange(m) / SR
    fr = np.asarray(freqs, dtype=float)[:, None]
    g = (np.asarray(amps, dtype=float)[:, None] * np.exp(-o / np.asarray(taus)[:, None])
         * np.sin(TAU * fr * (o + glide * o * o / (2.0 * length))))
    idx = np.round(times * SR).astype(np.int64)[:, None] + np.arange(m)
    ok = (idx >= 0) & (idx < n)
    return np.bincount(idx[ok], weights=g[ok], minlength=n)


def modes(rng, spec, spread: float = 0.05):
    """[(freq, q, gain)] with each nominal frequency moved by +-spread (the unit's tolerance)."""
    return [(f * rng.uniform(1 - spread, 1 + spread), q, g) for f, q, g in spec]


# ---------------------------------------------------------------------------------------------

class Machine(ABC):
    """One held-out machine type: draws an operating condition, renders its normal sound."""
    name = ""
    hidden = False                         # noAttribute in file names
    supplemental = "clean"                 # clean machine or noise-only supplemental clips
    kinds: tuple = ()                      # fault kinds (asd.heldout.faults)
    ambience = {"source": "hall", "target": "hall"}
    snr = {"source": (6.0, 14.0), "target": (6.0, 14.0)}   # machine to background, dB
    level_db = -30.0
    sound = ""
    shift = ""

    @abstractmethod
    def condition(self, rng, domain: str):
        """(attribute pairs for the file name, hidden parameters) of one clip's condition."""

    @abstractmethod
    def render(self, rng, n: int, p: dict):
        """n samples of the normal machine sound for condition p."""


class Compressor(Machine):
    name = "Compressor"
    kinds = ("valve_leak", "rod_knock", "intake_restriction")
    sound = ("single-cylinder reciprocating air compressor: suction and discharge valve-plate "
             "impacts at crank angles set by the pressure ratio (polytropic compression and "
             "re-expansion), piston slap at the dead centres, intake and discharge flow noise "
             "during the open phases, discharge-pipe pulsation through quarter-wave modes, "
             "motor hum")
    shift = "discharge pressure: source 6/8 bar, target 9 bar (later discharge, stronger valves)"

    def condition(self, rng, domain):
        rpm = pick(rng, (600, 720))
        bar = pick(rng, (6, 8)) if domain == "source" else 9
        return [("rpm", str(rpm)), ("bar", str(bar))], dict(rpm=rpm, bar=bar)

    def render(self, rng, n, p):
        bar = p["bar"]
        r, clear, k = bar + 1.0, 0.05, 1.3
        v_do = (1 + clear) * r ** (-1 / k) - clear            # volume fraction at discharge
        th_do = 1.0 - np.arccos(1 - 2 * v_do) / TAU
        v_so = clear * (r ** (1 / k) - 1)                     # re-expansion until suction
        th_so = np.arccos(1 - 2 * v_so) / TAU
        fc = p["rpm"] / 60.0 * (1 - 0.004 * (bar - 6)) * rng.uniform(0.99, 1.01)
        f0 = fc * (1 + 0.004 * wander(rng, n, 0.5)) * p.get("speed", 1.0)
        ph0 = np.cumsum(f0) / SR
        f = f0 * (1 + 0.02 * bar / 8 * np.cos(TAU * ph0 + rng.uniform(0, TAU)))
        ph = np.cumsum(f) / SR + rng.uniform(0, 1)
        frac = ph % 1.0
        jit = lambda m: rng.normal(0, 0.004, m)  # noqa: E731
        load = bar / 8.0

        def events(th, amp):
            ks = cycles_through(ph, th)
            ks = ks + jit(len(ks))
            ts = at_phase(ph, ks)
            return ts, amp * rng.lognormal(0, 0.15, len(ts))

        t1, a1 = events(th_so, 0.6)
        t2, a2 = events(0.52, 1.0)
        suction = ring(pulses(n, np.r_[t1, t2], np.r_[a1, a2]),
                       modes(rng, [(3400, 18, 1.0), (4700, 18, 0.7), (1250, 8, 0.3)]))
        t3, a3 = events(th_do, 0.8 * load)
        t4, a4 = events(1.005, 1.0 * load)
        discharge = ring(pulses(n, np.r_[t3, t4], np.r_[a3, a4]),
                         modes(rng, [(2600, 15, 1.0), (5600, 15, 0.6), (1700, 9, 0.3)]))
        t5, a5 = events(0.02, 0.6)
        t6, a6 = events(0.5, 0.4)
        slap = ring(pulses(n, np.r_[t5, t6], np.r_[a5, a6]),
                    modes(rng, [(320, 4, 1.0), (610, 4, 0.6)]))
        shift = p.get("intake", 0.0)      # a restricted intake (fault): a whistle, lower modes
        f_in = rng.uniform(1300, 1500) * (1 - 0.15 * min(shift, 2.0))
        intake = noise(rng, n, lambda fr: band(fr, 400, 2500) * hump(fr, f_in, 0.2, 9 * shift))
        intake *= 1.0 + shift                      # faster flow through the restriction
        intake *= window(frac, th_so, 0.52, 0.04) * (1 + 0.2 * wander(rng, n, 20))
        flow = noise(rng, n, lambda fr: band(fr, 900, 5000) * hump(fr, 2500, 0.6, 4))
        flow *= window(frac, th_do, 1.0, 0.02) * (1 + 0.2 * wander(rng, n, 25))
        fp = rng.uniform(62, 78)
        pulse = ring(window(frac, th_do, 1.0, 0.05) - (1 - th_do),
                     [(fp * (2 * j + 1), 6, 1.0 / (j + 1)) for j in range(4)])
        t = axis(n)
        hum = (np.cos(TAU * 100 * t + rng.uniform(0, TAU))
               + 0.4 * np.cos(TAU * 200 * t + rng.uniform(0, TAU)))
        sig = (unit(suction + discharge) + 0.5 * unit(slap) + 0.35 * unit(intake)
               + 0.4 * load * unit(flow) + 0.6 * unit(pulse) + 0.12 * unit(hum))
        return sig, dict(t=t, ph=ph, frac=frac, th_do=th_do, th_so=th_so, fc=fc)


class Conveyor(Machine):
    name = "Conveyor"
    supplemental = "noise"
    kinds = ("roller_wear", "belt_slip", "edge_rub")
    ambience = {"source": "hall", "target": "yard"}
    sound = ("belt conveyor: idler-roller bearing noise rippling at each roller's rotation, belt "
             "rolling noise, the belt splice bumping over each idler once per belt revolution, "
             "items dropped onto the belt at random (soft thuds, some metallic), drive rumble")
    shift = ("site and speed: source indoor hall at 1.0/1.4 m/s, target outdoor yard (wind, "
             "traffic) at 1.2 m/s")
    LENGTH = 6.0            # belt loop, m
    DIAMETER = 0.089        # idler, m
    IDLERS = (0.0, 0.8, 1.6, 2.4, 3.5, 5.0)   # positions along the loop that the mic hears

    def condition(self, rng, domain):
        spd = pick(rng, ("1.0", "1.4")) if domain == "source" else "1.2"
        load = pick(rng, ("light", "medium"))
        return [("spd", spd), ("load", load)], dict(spd=float(spd), load=load)

    def render(self, rng, n, p):
        t = axis(n)
        v = p["spd"] * (1 + 0.003 * wander(rng, n, 0.4)) * p.get("speed", 1.0)
        s = np.cumsum(v) / SR + rng.uniform(0, self.LENGTH)
        roll = s / (np.pi * self.DIAMETER)                   # idler revolutions
        rollers = np.zeros(n)
        for fr in rng.uniform(1800, 4200, 3):
            x = noise(rng, n, lambda f, fr=fr: band(f, 800, 7000) * hump(f, fr, 0.3, 10))
            rollers += x * (1 + 0.4 * np.cos(TAU * (roll * rng.uniform(0.98, 1.02))
                                              + rng.uniform(0, TAU)))
        belt = noise(rng, n, lambda f: band(f, 80, 1500) * slope(f, -3))
        belt *= (1 + 0.1 * wander(rng, n, 1.0)) * (v / 1.2) ** 1.5
        loop = s / self.LENGTH                               # belt revolutions
        k = cycles_through(loop)
        pos = np.array(self.IDLERS) / self.LENGTH
        near = np.exp(-0.5 * ((np.array(self.IDLERS) - 1.6) / 1.5) ** 2)
        targ = (k[:, None] + pos[None, :]).ravel()
        ok = (targ >= loop[0]) & (targ <= loop[-1])
        tb, ab = at_phase(loop, targ[ok]), np.tile(near, len(k))[ok]
        splice = ring(pulses(n, tb, ab * rng.lognormal(0, 0.1, len(tb))),
                      modes(rng, [(180, 5, 1.0), (420, 5, 0.6), (900, 6, 0.3)]))
        rate = {"light": 0.5, "medium": 1.0}[p["load"]] * p["spd"]
        drops = np.sort(rng.uniform(0, n / SR, rng.poisson(rate * n / SR)))
        hard = rng.random(len(drops)) < 0.2
        amps = rng.lognormal(0, 0.5, len(drops))
        soft = ring(pulses(n, drops[~hard], amps[~hard]),
                    modes(rng, [(160, 2.5, 1.0), (330, 3, 0.7), (520, 3, 0.4)], 0.15))
        metal = ring(pulses(n, drops[hard], 0.6 * amps[hard]),
                     modes(rng, [(1500, 25, 1.0), (2700, 25, 0.7)], 0.3))
        drive = noise(rng, n, lambda f: band(f, 30, 150)) + 0.3 * np.cos(TAU * 100 * t)
        items = soft + metal
        sig = (0.5 * unit(rollers) + 0.6 * unit(belt) + 0.6 * unit(splice)
               + (0.7 * unit(items) if len(drops) else 0.0) + 0.4 * unit(drive))
        return sig, dict(t=t, v=v, s=s, roll=roll, length=self.LENGTH)


class Transformer(Machine):
    name = "Transformer"
    supplemental = "noise"
    kinds = ("discharge", "loose_core", "dc_bias")
    ambience = {"source": "yard", "target": "yard"}
    snr = {"source": (4.0, 12.0), "target": (4.0, 12.0)}
    sound = ("oil-immersed distribution transformer: core magnetostriction at even harmonics of "
             "the 50-Hz mains (100, 200, 300 Hz ...) shaped by the tank's modes, winding (load) "
             "noise growing with the square of the current, oil hiss; forced-air cooling fans "
             "(blade-pass tones and broadband air noise) in the ONAF stage")
    shift = ("load and cooling stage: source 30/50/70 % load, natural cooling (ONAN); target "
             "60/80 % load with the cooling fans on (ONAF)")

    def condition(self, rng, domain):
        if domain == "source":
            load, cool = pick(rng, (30, 50, 70)), "ONAN"
        else:
            load, cool = pick(rng, (60, 80)), "ONAF"
        return [("load", str(load)), ("cool", cool)], dict(load=load, cool=cool)

    def render(self, rng, n, p):
        t = axis(n)
        fm = 50.0 * (1 + 0.0004 * wander(rng, n, 0.2))
        mains = np.cumsum(fm) / SR + rng.uniform(0, 1)
        harm = np.arange(1, 11)
        tank = [(rng.uniform(120, 1100), 3.0, rng.uniform(0.5, 2.0)) for _ in range(4)]
        fh = 100.0 * harm
        gain = 1.0 + sum(g / np.abs(1 + 1j * q * (fh / fr - fr / fh)) for fr, q, g in tank)
        amp = harm ** -1.0 * gain * rng.lognormal(0, 0.2, len(harm))
        amp[0] += 0.6 * (p["load"] / 100.0) ** 2 * amp[0]           # winding (Lorentz) force
        core = np.zeros(n)
        for h, a in zip(harm, amp):
            core += a * (1 + 0.08 * wander(rng, n, 0.3)) * np.cos(TAU * 2 * h * mains
                                                               + rng.uniform(0, TAU))
        vib = np.cos(TAU * 2 * mains)
        oil = noise(rng, n, lambda f: band(f, 60, 3000) * slope(f, -3))
        sig = unit(core) + 0.05 * unit(oil)
        if p["cool"] == "ONAF":
            fans = np.zeros(n)
            for _ in range(2):
                rot = rng.uniform(11.5, 12.5) * (1 + 0.002 * wander(rng, n, 0.3))
                bp = np.cumsum(6 * rot) / SR
                fans += sum(np.cos(TAU * j * bp + rng.uniform(0, TAU)) / j for j in (1, 2, 3))
            air = noise(rng, n, lambda f: band(f, 150, 4000) * hump(f, 700, 0.8, 6))
            sig = sig + 0.25 * unit(fans) + 0.5 * unit(air)
        return sig, dict(t=t, mains=mains, vib=vib, load=p["load"])


class Printer(Machine):
    name = "Printer"
    hidden = True
    kinds = ("missed_steps", "dry_rail", "loose_platen")
    ambience = {"source": "room", "target": "room"}
    snr = {"source": (8.0, 16.0), "target": (8.0, 16.0)}
    sound = ("9-pin dot-matrix printer, bidirectional: carriage stepper pulses whose rate ramps "
             "up and down at each end of the line (pitch ramps), pin impacts at the column rate "
             "in character patterns through head, platen and paper resonances, a line-feed "
             "stepper burst between lines, rail rolling noise")
    shift = ("job and paper: source text pages (35-80 characters a line, plain paper), target "
             "labels on multi-part forms (10-35 characters, duller paper resonance, double "
             "line feeds)")

    def condition(self, rng, domain):
        if domain == "source":
            return [], dict(chars=(35, 80), paper=900.0, double_lf=0.0)
        return [], dict(chars=(10, 35), paper=650.0, double_lf=0.4)

    def render(self, rng, n, p):
        T = n / SR
        col = 1800.0 * rng.uniform(0.99, 1.01)
        full, acc = col / 2, 0.05
        stall = p.get("stall")
        rate_pts, impact_t, impact_a, sweeps, lfs, stalls = [(0.0, 0.0)], [], [], [], [], []
        t = -rng.uniform(0, 0.8)
        line = 0
        while t < T:
            chars = int(rng.integers(*p["chars"]))
            sweep = chars * 12 / col
            a0 = t
            if stall is not None and stall["u"][line % len(stall["u"])] < stall["prob"]:
                d = stall["dur"][line % len(stall["dur"])]
                rate_pts += [(t, 0.0), (t + 0.6 * acc, 0.6 * full), (t + 0.6 * acc + 0.002, 0.0),
                             (t + 0.6 * acc + d, 0.0)]
                stalls.append((t + 0.6 * acc, t + 0.6 * acc + d))
                t += 0.6 * acc + d
            rate_pts += [(t, 0.0), (t + acc, full), (t + acc + sweep, full),
                         (t + 2 * acc + sweep, 0.0)]
            cols = t + acc + np.arange(int(sweep * col)) / col
            ink = (np.arange(len(cols)) % 12 < 9) & np.repeat(rng.random(chars + 1) > 0.15,
                                                              12)[:len(cols)]
            pins = rng.binomial(9, 0.3, len(cols)) * ink
            impact_t.append(cols[pins > 0])
            impact_a.append(np.sqrt(pins[pins > 0]) * rng.lognormal(0, 0.1, int((pins > 0).sum())))
            sweeps.append((a0, t + 2 * acc + sweep))
            t += 2 * acc + sweep + 0.02
            nlf = 2 if rng.random() < p["double_lf"] else 1
            lfs.append((t, t + 0.08 * nlf))
            t += 0.08 * nlf + rng.uniform(0.03, 0.15) + (0.5 if rng.random() < 0.08 else 0.0)
            line += 1
        rate_pts.append((T + 1, 0.0))
        rate = np.maximum(curve(n, sorted(rate_pts)), 0.0)
        ph = np.cumsum(rate) / SR
        steps = at_phase(ph + 1e-9 * np.arange(n), np.arange(1, int(ph[-1]) + 1))
        carriage = ring(pulses(n, steps, 1.0),
                        modes(rng, [(1300, 6, 1.0), (3500, 10, 0.5), (350, 3, 0.5)]))
        buzz = np.zeros(n)
        for s, e in stalls:          # a stalled stepper shakes at its pulse rate, no motion
            pt = np.arange(s, e, 1 / rng.uniform(150, 280))
            buzz += pulses(n, pt, 2.0 * rng.lognormal(0, 0.3, len(pt)))
        if stalls:
            carriage = carriage + ring(buzz, modes(rng, [(1300, 6, 1.0), (350, 3, 0.8)]))
        imp_t, imp_a = np.concatenate(impact_t), np.concatenate(impact_a)
        head = ring(pulses(n, imp_t, imp_a),
                    modes(rng, [(3400, 12, 1.0), (1100, 4, 0.6), (p["paper"], 3, 0.6)]))
        lf_t = np.concatenate([np.arange(s, e, 1 / 450.0) for s, e in lfs] or [np.zeros(0)])
        lf = ring(pulses(n, lf_t, rng.lognormal(0, 0.1, len(lf_t))),
                  modes(rng, [(450, 5, 1.0), (1800, 8, 0.5)]))
        speed = rate / full
        rail = noise(rng, n, lambda f: band(f, 300, 2500)) * speed
        floor = noise(rng, n, lambda f: band(f, 50, 6000) * slope(f, -3))
        sig = (1.0 * unit(head) + 0.5 * unit(carriage) + 0.4 * unit(lf) + 0.2 * unit(rail)
               + 0.03 * unit(floor))
        return sig, dict(t=axis(n), speed=speed, impacts=imp_t, impact_amps=imp_a,
                         sweeps=sweeps, lfs=lfs, steps=steps)


class HydraulicPress(Machine):
    name = "HydraulicPress"
    kinds = ("cavitation", "internal_leak", "relief_chatter")
    sound = ("hydraulic press cycle: fast approach, pressure build (gear-pump whine growing "
             "louder and brighter while the motor slows), ram contact thud, hold with relief "
             "hiss, decompression burst, return stroke, idle; solenoid-valve clacks at each "
             "change; hydraulic flow hiss following the flow")
    shift = "press force: source 40/60 t, target 80 t (longer, higher pressure build)"

    def condition(self, rng, domain):
        force = pick(rng, (40, 60)) if domain == "source" else 80
        return [("force", str(force))], dict(force=force)

    def render(self, rng, n, p):
        T = n / SR
        pmax = p["force"] / 80.0 * p.get("pmax", 1.0)
        P, Q, holds, builds, contacts, clacks, bangs = [], [], [], [], [], [], []
        t = -rng.uniform(0, 3.0)
        while t < T + 0.5:
            ap = rng.uniform(0.45, 0.55)
            bu = (0.35 + 0.006 * p["force"]) * rng.uniform(0.95, 1.05) * p.get("slow", 1.0)
            ho, de, re, idle = rng.uniform(0.25, 0.35), 0.1, rng.uniform(0.6, 0.7), \
                rng.uniform(0.4, 0.9)
            t1, t2, t3, t4, t5, t6 = (t + ap, t + ap + bu, t + ap + bu + ho,
                                      t + ap + bu + ho + de, t + ap + bu + ho + de + re,
                                      t + ap + bu + ho + de + re + idle)
            P += [(t, 0.05), (t + 0.05, 0.12), (t1, 0.12), (t1 + 0.6 * bu, 0.12 + 0.35 * pmax),
                  (t2, pmax), (t3, pmax), (t4, 0.1), (t4 + 0.05, 0.2), (t5, 0.2), (t5 + 0.05, 0.05)]
            Q += [(t, 0.1), (t + 0.05, 1.0), (t1, 1.0), (t1 + 0.05, 0.6), (t2, 0.2),
                  (t2 + 0.03, 0.05), (t3, 0.05), (t4, 0.3), (t4 + 0.05, 0.9), (t5, 0.9),
                  (t5 + 0.05, 0.1)]
            holds.append((t2, t3))
            builds.append((t1, t2))
            contacts.append(t1)
            clacks += [t, t1, t3, t4, t5]
            bangs.append(t3)
            t = t6
        P, Q = curve(n, P), curve(n, Q)
        fs = 24.5 * (1 - 0.03 * P) * (1 + 0.002 * wander(rng, n, 0.5))
        tooth = 11 * np.cumsum(fs) / SR
        whine = np.zeros(n)
        lvl = 0.3 + 0.7 * P
        for h in range(1, 7):
            whine += (rng.uniform(0.5, 1.0) / h * lvl ** (0.4 + 0.25 * h)
                      * np.cos(TAU * h * tooth + rng.uniform(0, TAU)))
        hold = gate(n, holds, 0.02)
        hiss = noise(rng, n, lambda f: band(f, 1500, 7000) * hump(f, 3000, 0.5, 5))
        hiss *= 0.1 + 0.5 * Q + 0.9 * hold * P
        force = p["force"] / 60.0
        thud = ring(pulses(n, contacts, force * rng.lognormal(0, 0.1, len(contacts))),
                    modes(rng, [(90, 4, 1.0), (210, 4, 0.7), (1800, 20, 0.3)]))
        clack = ring(pulses(n, clacks, rng.lognormal(0, 0.2, len(clacks))),
                     modes(rng, [(2400, 10, 1.0), (3700, 10, 0.6)]))
        env = np.zeros(n)
        for b in bangs:
            i0 = int(b * SR)
            if 0 <= i0 < n:
                m = min(n - i0, int(0.25 * SR))
                env[i0:i0 + m] += np.exp(-np.arange(m) / (0.03 * SR)) * pmax
        bang = noise(rng, n, lambda f: band(f, 100, 3000)) * env
        t_ax = axis(n)
        motor = np.cos(TAU * 100 * t_ax) + 0.5 * noise(rng, n, lambda f: band(f, 20, 120))
        sig = (unit(whine) + 0.5 * unit(hiss) + 0.6 * unit(thud) + 0.3 * unit(clack)
               + 0.4 * unit(bang) + 0.15 * unit(motor))
        return sig, dict(t=t_ax, P=P, Q=Q, hold=hold, builds=builds, holds=holds, tooth=tooth)


class Kettle(Machine):
    name = "Kettle"
    hidden = True
    supplemental = "noise"
    kinds = ("scale", "lid_rattle", "sizzle")
    ambience = {"source": "room", "target": "room"}
    snr = {"source": (8.0, 16.0), "target": (8.0, 16.0)}
    sound = ("electric kettle heating towards the boil: subcooled nucleate boiling (vapour "
             "bubbles collapsing at the element, a heavy-tailed crackle through the vessel's "
             "modes, densest half-way), growing numbers of ringing bubbles (Minnaert "
             "resonances gliding upwards) and convection rumble")
    shift = "fill: source 1.0/1.5 l, target 0.5 l (higher vessel modes, smaller bubbles)"

    def condition(self, rng, domain):
        vol = pick(rng, (1.0, 1.5)) if domain == "source" else 0.5
        return [], dict(vol=vol)

    def render(self, rng, n, p):
        t = axis(n)
        vol = p["vol"]
        s = np.clip(rng.uniform(0.3, 0.7) + 0.012 * t, 0, 1)
        lam = 2400 * 4 * s * (1 - s) * (1 + 0.3 * wander(rng, n, 3.0)) * p.get("crackle", 1.0)
        hit = rng.random(n) < np.maximum(lam, 0) / SR
        amps = np.zeros(n)
        amps[hit] = np.minimum(rng.pareto(2.2, int(hit.sum())) + 1, 30) * (0.6 + 0.6 * s[hit])
        mf = 1.1 - 0.1 * vol
        crackle = ring(amps, modes(rng, [(1400 * mf, 8, 1.0), (2600 * mf, 6, 0.8),
                                         (4100 * mf, 5, 0.5)]))
        mu = (20 + 500 * s ** 3)
        nb = rng.poisson(mu.mean() * n / SR)
        bt = np.sort(rng.uniform(0, n / SR, nb))
        keep = rng.random(nb) < np.interp(bt, t, mu) / mu.max()
        bt = bt[keep]
        bf = rng.lognormal(np.log(1100 * (1.1 - 0.1 * vol)), 0.35, len(bt))
        bub = grains(n, bt, bf, rng.uniform(0.002, 0.006, len(bt)),
                     rng.lognormal(0, 0.5, len(bt)) * (0.3 + np.interp(bt, t, s)), 0.03, 0.15)
        rumble = noise(rng, n, lambda f: band(f, 30, 300)) * (0.3 + s)
        sig = unit(crackle) + (0.6 * unit(bub) if len(bt) else 0.0) + 0.3 * unit(rumble)
        vigour = np.clip((lam / 2400 + s ** 2) / 2, 0, 1)
        return sig, dict(t=t, stage=s, vigour=vigour)


MODELS = {m.name: m for m in (Compressor(), Conveyor(), Transformer(), Printer(),
                              HydraulicPress(), Kettle())}
