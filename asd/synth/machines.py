"""One parametric sound model per DCASE 2025 Task 2 machine type.

Each model draws an operating condition for a domain (`condition`: the attributes shown in file
names plus hidden parameters) and renders the machine sound for it (`render`), returning the
signal and an `Aux` that tells the anomalies where the machine rotates, rings and rubs.
Source and target domains differ in operating condition (speed, load, pattern, surface or
background); see docs/data.md ("Synthetic data") for a table.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from asd.synth import dsp
from asd.synth.anomalies import Anomaly, Aux, speed_mod
from asd.synth.dsp import Grid, db, unit


def pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def peak(x: np.ndarray) -> np.ndarray:
    """x scaled to peak 1 (for sparse events, whose RMS says little about how loud they sound)."""
    m = float(np.max(np.abs(x)))
    return x if m == 0.0 else x * np.float32(1.0 / m)


class Model(ABC):
    name = ""
    supplemental = "clean"               # clean machine clips or noise-only clips
    kinds: tuple = ()                    # anomaly kinds that make sense for this machine
    background = {"source": "factory-a", "target": "factory-a"}
    level_db = -30.0                     # playback level of the mix, dBFS RMS (headroom for peaks)
    snr = {"source": (4.0, 12.0), "target": (4.0, 12.0)}   # machine-to-background, dB
    shift = ""                           # what differs between source and target (docs)
    sound = ""                           # one-line description (docs)

    @abstractmethod
    def condition(self, rng: np.random.Generator, domain: str) -> tuple[list, dict]:
        """Draw an operating condition: (attribute pairs for the name, hidden parameters)."""

    @abstractmethod
    def render(self, rng: np.random.Generator, g: Grid, p: dict,
               anom: Anomaly | None) -> tuple[np.ndarray, Aux]:
        """The normal machine sound for condition p (with the anomaly's speed change, if any)."""


# ----------------------------------------------------------------------------------------------
# shared parts

def dc_motor(rng, g: Grid, f: np.ndarray, slots: int, n_comm: int = 5, brush_db: float = -14.0,
             rot_db: float = -6.0):
    """Brushed DC motor: rotation harmonics, commutation whine (2 x slots per revolution) and
    brush noise rippling at the commutation rate. Returns (signal, rotor phase)."""
    ph = dsp.phase(f, g)
    rot = dsp.random_harmonics(rng, ph, 4, 6.0)
    comm = dsp.random_harmonics(rng, ph, n_comm, 5.0, first=2 * slots, step=2 * slots)
    brush = dsp.coloured_noise(rng, g, dsp.band(g, 2500.0, 7000.0, 2))
    brush *= 1.0 + 0.5 * dsp.harmonics(ph, [2 * slots], [1.0])
    return unit(rot) * db(rot_db) + unit(comm) + unit(brush) * db(brush_db), ph


def induction_motor(rng, g: Grid, f: np.ndarray, mains: float = 50.0, slot_order: int = 28):
    """AC motor: rotation harmonics, 2 x mains magnetic hum, rotor-slot whine."""
    ph = dsp.phase(f, g)
    rot = dsp.random_harmonics(rng, ph, 5, 5.0)
    hum = dsp.harmonics(dsp.phase(2 * mains, g), [1, 2, 3], [1.0, 0.4, 0.2],
                        rng.uniform(0, dsp.TWO_PI, 3))
    slot = dsp.random_harmonics(rng, ph, 2, 6.0, first=slot_order, step=slot_order)
    return unit(rot) + unit(hum) * db(-6.0) + unit(slot) * db(-12.0), ph


def shaped(rng, g: Grid, lo: float, hi: float, tilt_db: float = -3.0, centre: float | None = None,
           gain_db: float = 6.0):
    """Broadband noise between lo and hi with a tilt and an optional resonance bump."""
    mag = dsp.band(g, lo, hi, 2) * dsp.tilt(g, tilt_db)
    if centre:
        mag = mag * dsp.bump(g, centre, 0.7, gain_db)
    return dsp.coloured_noise(rng, g, mag)


def impacts(rng, g: Grid, times, freqs, q=(8.0, 25.0), amp_sigma: float = 0.3):
    amps = rng.lognormal(0.0, amp_sigma, len(times))
    h = dsp.resonators(g, freqs, rng.uniform(*q, len(freqs)), rng.uniform(0.5, 1.0, len(freqs)))
    return dsp.filt(dsp.pulses(g, times, amps), h, g)


def cycle_segments(rng, g: Grid, period: float, on: float, jitter: float = 0.05):
    """(start, stop) of a machine that runs `on` seconds every `period` seconds."""
    t = -rng.uniform(0.0, period)
    segs = []
    while t < g.seconds:
        start = t + rng.normal(0.0, jitter)
        segs.append((start, start + on * rng.uniform(0.95, 1.05)))
        t += period * rng.uniform(0.97, 1.03)
    return segs


# ----------------------------------------------------------------------------------------------
# development types

class ToyCar(Model):
    name = "ToyCar"
    supplemental = "clean"
    kinds = ("bearing_defect", "rattle", "friction", "extra_harmonic", "wobble")
    shift = "motor voltage (speed): source 28/29/31/32 V, target 30 V (a speed never trained on)"
    sound = ("brushed DC motor (rotation harmonics, commutation whine, brush noise), pinion gear "
             "mesh with sidebands, tyres rolling on a roller (band noise rippling at wheel rate)")
    CARS = {"A1": (3, 9, (1100.0, 2300.0, 3900.0)), "A2": (5, 12, (900.0, 1900.0, 3300.0))}

    def condition(self, rng, domain):
        car = pick(rng, ("A1", "A2"))
        volt = pick(rng, (28, 29, 31, 32) if domain == "source" else (30,))
        mic = pick(rng, (1, 2))
        return [("car", car), ("spd", f"{volt}V"), ("mic", str(mic))], dict(car=car, volt=volt,
                                                                              mic=mic)

    def render(self, rng, g, p, anom):
        slots, teeth, res = self.CARS[p["car"]]
        f = dsp.speed_curve(rng, g, p["volt"] * 5.0 * rng.uniform(0.98, 1.02), 0.006)
        f = f * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, slots)
        gear = dsp.mesh(ph, teeth, [1.0, 0.5, 0.25], 0.2, rng)
        wheel = dsp.harmonics(ph, [1.0 / 8.0], [1.0], [rng.uniform(0, dsp.TWO_PI)])
        rolling = shaped(rng, g, 300.0, 3000.0, -2.0, res[0], 6.0) * (1.0 + 0.3 * wheel)
        sig = motor + unit(gear) * db(-6.0) + unit(rolling) * db(-3.0)
        return sig, Aux(ph, f, res_mid=res, hiss=(2500.0, 6500.0), orders=(0.5, 1.5, 2.5))


class ToyTrain(Model):
    name = "ToyTrain"
    supplemental = "noise"
    kinds = ("rattle", "friction", "wobble", "bearing_defect")
    shift = "train speed and track layout: source speed levels 1-3, target level 4 with " \
            "shorter rail sections (more frequent joint clicks)"
    sound = ("small DC motor with worm-gear whine, wheel-rail rumble, double clicks at rail "
             "joints (two bogies) through rail resonances")

    def condition(self, rng, domain):
        level = pick(rng, (1, 2, 3) if domain == "source" else (4,))
        joint = rng.uniform(0.9, 1.3) if domain == "source" else rng.uniform(0.7, 0.9)
        return [("speed", str(level))], dict(level=level, joint=joint)

    def render(self, rng, g, p, anom):
        f = dsp.speed_curve(rng, g, 56.0 + 3.0 * p["level"], 0.01, rate=0.4) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 3, brush_db=-10.0)
        worm = dsp.mesh(ph, 1, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.6], 0.3, rng)
        rumble = shaped(rng, g, 80.0, 1500.0, -4.0, 300.0)
        period = p["joint"] * (60.0 / (56.0 + 3.0 * p["level"]))
        t0 = np.arange(-rng.uniform(0, period), g.seconds, period)
        spacing = 0.18 * period
        times = np.concatenate([t0, t0 + spacing]) + rng.normal(0, 0.004, 2 * len(t0))
        clicks = impacts(rng, g, times, (650.0, 1500.0, 3100.0), (10.0, 30.0))
        sig = motor + unit(worm) * db(-8.0) + unit(rumble) * db(-2.0) + peak(clicks) * db(12.0)
        return sig, Aux(ph, f, res_mid=(800.0, 1800.0, 2700.0), hiss=(3000.0, 6500.0))


class Bearing(Model):
    name = "bearing"
    supplemental = "clean"
    kinds = ("bearing_defect", "bearing_defect", "friction", "imbalance")
    shift = "load: source 20/24/28/32 Hz at light load, target 24/28 Hz at a heavier one"
    sound = ("shaft rotation harmonics, drive-motor hum, smooth rolling noise through the housing's "
             "structural resonances, modulated at the cage rate")

    def condition(self, rng, domain):
        if domain == "source":
            vel, load = pick(rng, (20, 24, 28, 32)), rng.uniform(0.2, 0.5)
        else:
            vel, load = pick(rng, (24, 28)), rng.uniform(0.5, 0.7)
        return [("vel", str(vel))], dict(vel=vel, load=load)

    def render(self, rng, g, p, anom):
        f0 = p["vel"]
        f = dsp.speed_curve(rng, g, f0 * rng.uniform(0.99, 1.01), 0.003) * speed_mod(anom)
        motor, ph = induction_motor(rng, g, f)
        res = (1200.0 * rng.uniform(0.95, 1.05), 2600.0 * rng.uniform(0.95, 1.05), 4300.0)
        h = np.abs(dsp.resonators(g, res, (4.0, 5.0, 6.0), (1.0, 0.8, 0.5))) + 0.15
        roll = dsp.coloured_noise(rng, g, h * dsp.band(g, 200.0, 7000.0, 2))
        cage = dsp.harmonics(ph, [0.4], [1.0])
        roll *= 1.0 + 0.15 * cage
        sig = motor + unit(roll) * db(-4.0 + 4.0 * p["load"])
        return sig, Aux(ph, f, res_hi=res, hiss=(1500.0, 5000.0))


class Fan(Model):
    name = "fan"
    supplemental = "noise"
    kinds = ("imbalance", "bearing_defect", "clog", "rattle")
    background = {"source": "factory-a", "target": "factory-b"}
    snr = {"source": (4.0, 10.0), "target": (4.0, 10.0)}
    shift = "background noise: source factory A, target factory B (SNR 4-10 dB in both)"
    sound = ("blade-pass tone and harmonics (5-7 blades), weak rotation harmonics, motor hum, "
             "turbulent broadband with a resonance hump, rippling at the blade-pass rate")

    def condition(self, rng, domain):
        rpm = pick(rng, (1200, 1350, 1500))
        bg = "A" if domain == "source" else "B"
        return [("rpm", str(rpm)), ("bg", bg)], dict(rpm=rpm, blades=pick(rng, (5, 6, 7)))

    def render(self, rng, g, p, anom):
        f = dsp.speed_curve(rng, g, p["rpm"] / 60.0 * rng.uniform(0.99, 1.01), 0.004)
        f = f * speed_mod(anom)
        ph = dsp.phase(f, g)
        b = p["blades"]
        bpf = dsp.random_harmonics(rng, ph, 5, 5.0, first=b, step=b)
        rot = dsp.random_harmonics(rng, ph, 3, 6.0)
        hum = dsp.harmonics(dsp.phase(100.0, g), [1, 2], [1.0, 0.3], rng.uniform(0, 6.28, 2))
        turb = shaped(rng, g, 60.0, 7000.0, -3.5, rng.uniform(400.0, 1200.0), 8.0)
        turb *= 1.0 + 0.2 * dsp.harmonics(ph, [b], [1.0])
        sig = unit(bpf) + unit(rot) * db(-14.0) + unit(hum) * db(-16.0) + unit(turb) * db(1.0)
        return sig, Aux(ph, f, res_mid=(700.0, 1500.0, 2900.0), orders=(1.0, 2.0, b + 1.0))


class Gearbox(Model):
    name = "gearbox"
    supplemental = "clean"
    kinds = ("tooth", "wobble", "bearing_defect", "rattle")
    shift = "load weight: source 0/30/90 g, target 60 g (slower, stronger mesh and sidebands)"
    sound = ("DC drive motor, two-stage gear mesh tones with harmonics and shaft-rate sidebands, "
             "load-dependent speed and mesh strength")

    def condition(self, rng, domain):
        volt = pick(rng, ("1.0", "1.3", "1.5"))
        wt = pick(rng, (0, 30, 90) if domain == "source" else (60,))
        return [("volt", volt), ("wt", str(wt))], dict(volt=float(volt), wt=wt)

    def render(self, rng, g, p, anom):
        f_in = 30.0 * p["volt"] * (1.0 - 0.0004 * p["wt"]) * rng.uniform(0.98, 1.02)
        f = dsp.speed_curve(rng, g, f_in, 0.004) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 3, brush_db=-16.0)
        load = 1.0 + p["wt"] / 150.0
        m1 = dsp.mesh(ph, 17, [1.0, 0.5, 0.3], 0.12 * load, rng)
        ph2 = dsp.phase(f * 17.0 / 43.0, g)
        m2 = dsp.mesh(ph2, 13, [1.0, 0.5], 0.15 * load, rng)
        case = shaped(rng, g, 100.0, 6000.0, -4.0, 1800.0, 6.0)
        sig = motor * db(-3.0) + unit(m1) * db(2.0 * load - 2.0) + unit(m2) * db(-6.0) + \
            unit(case) * db(-8.0)
        return sig, Aux(ph, f, res_mid=(17.0 * f_in * 2.1, 2400.0, 3300.0),
                        orders=(8.5, 17.5, 5.0))


class Slider(Model):
    name = "slider"
    supplemental = "noise"
    kinds = ("friction", "rattle", "bearing_defect")
    shift = "stroke timing: source period 1.6-2.0 s, top speed 35-45; target 1.3-1.5 s, 45-50"
    sound = ("servo motor and ball screw following a trapezoidal back-and-forth speed profile: "
             "motor harmonics and PWM whine scaling with speed, rolling noise, end-stop clicks")

    def condition(self, rng, domain):
        if domain == "source":
            return [("mode", "slow")], dict(period=rng.uniform(1.6, 2.0), vmax=rng.uniform(35, 45))
        return [("mode", "fast")], dict(period=rng.uniform(1.3, 1.5), vmax=rng.uniform(45, 50))

    def render(self, rng, g, p, anom):
        segs = cycle_segments(rng, g, p["period"] / 2.0, 0.75 * p["period"] / 2.0, 0.01)
        prof = dsp.on_off(g, segs, attack=0.12 * p["period"], release=0.12 * p["period"])
        f = p["vmax"] * prof * speed_mod(anom) + 1e-3
        ph = dsp.phase(f, g)
        mot = dsp.random_harmonics(rng, ph, 6, 4.0) * prof
        pwm = dsp.harmonics(dsp.phase(4000.0, g), [1.0], [1.0]) * (0.2 + prof)
        roll = shaped(rng, g, 400.0, 6000.0, -2.0, 2200.0, 6.0) * prof
        stops = np.array([s for seg in segs for s in seg])
        clicks = impacts(rng, g, stops, (1400.0, 3100.0), (10.0, 25.0))
        sig = unit(mot) + unit(pwm) * db(-20.0) + unit(roll) * db(-3.0) + peak(clicks) * db(8.0)
        return sig, Aux(ph, f, active=prof, res_mid=(1100.0, 2000.0, 3500.0),
                        hiss=(1800.0, 5000.0), defect=(2.0, 3.1, 4.4))


class Valve(Model):
    name = "valve"
    supplemental = "clean"
    kinds = ("leak", "chatter", "stick", "clog")
    shift = "open/close pattern: source patterns 00/01, target patterns 02/03 (other timings)"
    sound = ("solenoid valve opening and closing in a pattern: open and close clicks through the "
             "body's resonances, flow hiss while open, a pump running behind")
    # pattern: (on seconds, off seconds)
    PATTERNS = {"00": (0.5, 0.7), "01": (0.25, 0.35), "02": (1.0, 0.5), "03": (0.15, 0.9)}

    def condition(self, rng, domain):
        pat = pick(rng, ("00", "01") if domain == "source" else ("02", "03"))
        return [("pat", pat)], dict(pat=pat)

    def render(self, rng, g, p, anom):
        on, off = self.PATTERNS[p["pat"]]
        segs = cycle_segments(rng, g, on + off, on, 0.01)
        stick = anom is not None and anom.kind == "stick"
        if stick:  # late, shorter openings on some cycles
            d = anom.depth(0.06)
            segs = [(s + d * rng.uniform(0.5, 1.5), e) if rng.uniform() < 0.6 else (s, e)
                    for s, e in segs]
        env = dsp.on_off(g, segs, 0.01, 0.02)
        body = (1800.0 * rng.uniform(0.97, 1.03), 3400.0, 5200.0)
        open_amp = np.ones(len(segs))
        if stick:
            open_amp *= 1.0 - 0.4 * dsp.db(anom.sev_db) * (rng.uniform(size=len(segs)) < 0.6)
        t_open = np.array([s for s, _ in segs])
        t_close = np.array([e for _, e in segs])
        clicks = impacts(rng, g, t_open, body, (15.0, 40.0)) + \
            1.4 * impacts(rng, g, t_close, (body[0] * 0.8, body[1] * 0.9, 900.0), (15.0, 40.0))
        lo, hi = (1000.0, 6500.0)
        if anom is not None and anom.kind == "clog":
            lo, hi = 1000.0 * (1.0 + anom.depth(0.5)), 6500.0 / (1.0 + anom.depth(0.5))
        hiss = shaped(rng, g, lo, hi, -1.0, 2500.0, 4.0) * env
        pump_ph = dsp.phase(dsp.speed_curve(rng, g, 24.5, 0.003), g)
        pump = dsp.random_harmonics(rng, pump_ph, 8, 3.0)
        sig = peak(clicks) * db(16.0) + unit(hiss) * db(-6.0) + unit(pump) * db(-10.0)
        return sig, Aux(pump_ph, np.full(g.n, 24.5), active=env, res_mid=body, events=segs)


# ----------------------------------------------------------------------------------------------
# additional / evaluation types

class AutoTrash(Model):
    name = "AutoTrash"
    supplemental = "noise"
    kinds = ("friction", "rattle", "wobble", "extra_harmonic")
    background = {"source": "room", "target": "room"}
    snr = {"source": (8.0, 16.0), "target": (8.0, 16.0)}
    shift = "lid weight / motor speed: source light lid (fast), target heavy lid (slower, longer)"
    sound = ("automatic trash can: geared lid motor running up and down with speed ramps "
             "(rotation and gear-mesh whine), a soft thud when the lid closes, quiet room behind")

    def condition(self, rng, domain):
        lid = "light" if domain == "source" else "heavy"
        return [("lid", lid)], dict(f=rng.uniform(95, 110) if lid == "light" else
                                    rng.uniform(92, 100), on=1.0 if lid == "light" else 1.1)

    def render(self, rng, g, p, anom):
        period = rng.uniform(3.0, 3.8)
        segs = []
        for s, _ in cycle_segments(rng, g, period, p["on"], 0.02):
            segs += [(s, s + p["on"]), (s + p["on"] + 0.6, s + 2 * p["on"] + 0.6)]
        prof = dsp.on_off(g, segs, 0.15, 0.15)
        f = p["f"] * (0.6 + 0.4 * prof) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 3, brush_db=-12.0)
        gear = dsp.mesh(ph, 11, [1.0, 0.4], 0.2, rng)
        thuds = impacts(rng, g, np.array([e + 0.1 for _, e in segs[1::2]]), (160.0, 420.0, 1300.0),
                        (3.0, 8.0))
        sig = (motor + unit(gear) * db(-6.0)) * prof + peak(thuds) * db(10.0)
        return sig, Aux(ph, f, active=prof, res_mid=(700.0, 1600.0, 2400.0), hiss=(2500.0, 6000.0),
                        orders=(1.5, 5.5, 11.5))


class BandSealer(Model):
    name = "BandSealer"
    supplemental = "clean"
    kinds = ("rattle", "friction", "bearing_defect", "wobble")
    shift = "belt speed: source speed 3/4, target 5"
    sound = ("continuous band sealer: belt drive motor with gear mesh, roller rotation harmonics, "
             "a click each time the belt joint passes, heater blower (blade-pass tone + airflow)")

    def condition(self, rng, domain):
        spd = pick(rng, (3, 4) if domain == "source" else (5,))
        mic = pick(rng, (1, 2))
        return [("spd", str(spd)), ("mic", str(mic))], dict(spd=spd, mic=mic)

    def render(self, rng, g, p, anom):
        f = dsp.speed_curve(rng, g, 8.0 * p["spd"], 0.004) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 4, brush_db=-18.0)
        gear = dsp.mesh(ph, 14, [1.0, 0.5], 0.1, rng)
        roller_ph = dsp.phase(f / 6.0, g)
        roller = dsp.random_harmonics(rng, roller_ph, 6, 4.0)
        belt_period = 24.0 / p["spd"] / 4.0
        joints = np.arange(-rng.uniform(0, belt_period), g.seconds, belt_period)
        clicks = impacts(rng, g, joints + rng.normal(0, 0.002, len(joints)), (900.0, 2100.0))
        fan_ph = dsp.phase(dsp.speed_curve(rng, g, 48.0, 0.002), g)
        blower = dsp.random_harmonics(rng, fan_ph, 3, 6.0, first=7, step=7)
        air = shaped(rng, g, 100.0, 7000.0, -4.0, 700.0, 6.0)
        sig = motor + unit(gear) * db(-6.0) + unit(roller) * db(-10.0) + \
            peak(clicks) * db(4.0) + unit(blower) * db(-8.0) + unit(air) * db(-2.0)
        return sig, Aux(ph, f, res_mid=(1200.0, 2500.0, 3600.0), hiss=(2000.0, 5500.0))


class CoffeeGrinder(Model):
    name = "CoffeeGrinder"
    supplemental = "noise"
    kinds = ("clog", "rattle", "imbalance", "friction")
    background = {"source": "room", "target": "room"}
    snr = {"source": (10.0, 18.0), "target": (10.0, 18.0)}
    shift = "bean load: source 10/20 g, target 30/35 g (motor sags, denser grinding)"
    sound = ("universal motor at high speed (strong rotation harmonics, brush noise), burr grinding "
             "as dense random crackle through the burrs' resonances, speed sagging with load")

    def condition(self, rng, domain):
        load = pick(rng, (10, 20) if domain == "source" else (30, 35))
        mic = pick(rng, (1, 2))
        return [("load", f"{load}g"), ("mic", str(mic))], dict(load=load, mic=mic)

    def render(self, rng, g, p, anom):
        load = p["load"] / 50.0
        sag = 1.0 - 0.08 * load * (1.0 + 0.3 * dsp.smooth(rng, g, 0.5))
        f = dsp.speed_curve(rng, g, 260.0, 0.006, rate=2.0) * sag * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 6, n_comm=3, brush_db=-8.0, rot_db=2.0)
        rate = 300.0 + 500.0 * load
        times = dsp.poisson_times(rng, g, rate)
        crackle = impacts(rng, g, times, (2300.0, 3800.0, 5600.0), (3.0, 8.0), amp_sigma=0.8)
        crackle *= 1.0 + 0.4 * dsp.smooth(rng, g, 2.0)
        sig = motor + unit(crackle) * db(-4.0 + 4.0 * load)
        return sig, Aux(ph, f, res_mid=(900.0, 1700.0, 3000.0), hiss=(1000.0, 3000.0),
                        orders=(0.5, 1.5))


class HomeCamera(Model):
    name = "HomeCamera"
    supplemental = "clean"
    kinds = ("rattle", "friction", "extra_harmonic", "wobble")
    background = {"source": "room", "target": "room"}
    snr = {"source": (6.0, 14.0), "target": (6.0, 14.0)}
    shift = "movement: source pan, target tilt or patrol (other timing), speed 1/2 in both"
    sound = ("pan/tilt camera: stepper motor step-rate tones and harmonics with mechanical "
             "resonance, reduction-gear whine, moving in segments with pauses, quiet room")

    def condition(self, rng, domain):
        if domain == "source":
            mv, spd = "pan", pick(rng, (1, 2))
        else:
            mv, spd = pick(rng, ("tilt", "patrol")), pick(rng, (1, 2))
        return [("mv", mv), ("spd", str(spd))], dict(mv=mv, spd=spd)

    def render(self, rng, g, p, anom):
        spd = int(p["spd"])
        step = (150.0 + 100.0 * spd) * rng.uniform(0.97, 1.03)
        period, on = {"pan": ((1.5, 2.5), (0.8, 1.3)), "tilt": ((1.0, 1.5), (0.4, 0.7)),
                      "patrol": ((3.0, 4.0), (2.5, 3.0))}[p["mv"]]
        segs = cycle_segments(rng, g, rng.uniform(*period), rng.uniform(*on), 0.05)
        prof = dsp.on_off(g, segs, 0.05, 0.05)
        f = step * np.maximum(prof, 0.05) * speed_mod(anom)
        ph = dsp.phase(f, g)
        steps = dsp.random_harmonics(rng, ph, 5, 4.0) * prof
        res = impacts(rng, g, np.array([s for s, _ in segs]), (500.0, 1100.0), (5.0, 10.0))
        whine = dsp.harmonics(ph, [0.25, 0.5], [1.0, 0.5]) * prof
        sig = unit(steps) + unit(whine) * db(-8.0) + peak(res) * db(0.0)
        return sig, Aux(ph, f / 4.0, active=prof, res_mid=(1300.0, 2600.0, 3900.0),
                        hiss=(2500.0, 6500.0), orders=(0.5, 1.5))


class Polisher(Model):
    name = "Polisher"
    supplemental = "noise"
    kinds = ("imbalance", "bearing_defect", "friction", "wobble")
    shift = "speed setting and surface: source low speed on metal, target high speed on painted " \
            "panel (brighter pad noise)"
    sound = ("rotary polisher: motor harmonics and brush noise, gear reduction mesh to the pad, "
             "pad-on-surface friction noise swirling at pad rate")

    def condition(self, rng, domain):
        if domain == "source":
            return [("spd", "low")], dict(f=rng.uniform(95, 110), tilt=-5.0)
        return [("spd", "high")], dict(f=rng.uniform(104, 114), tilt=-4.5)

    def render(self, rng, g, p, anom):
        f = dsp.speed_curve(rng, g, p["f"], 0.008, rate=1.0) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 5, brush_db=-10.0)
        gear = dsp.mesh(ph, 9, [1.0, 0.4], 0.15, rng)
        pad_ph = dsp.phase(f / 4.0, g)
        pad = shaped(rng, g, 150.0, 6000.0, p["tilt"], 1200.0, 5.0)
        pad *= 1.0 + 0.25 * dsp.harmonics(pad_ph, [1.0], [1.0])
        sig = motor + unit(gear) * db(-6.0) + unit(pad) * db(0.0)
        return sig, Aux(pad_ph, f / 4.0, res_hi=(3000.0, 4500.0, 6000.0), hiss=(3000.0, 7000.0),
                        defect=(3.05 * 4, 3.58 * 4, 5.42 * 4))


class ScrewFeeder(Model):
    name = "ScrewFeeder"
    supplemental = "clean"
    kinds = ("jam", "rattle", "extra_harmonic")
    shift = "feed rate: source 20-35 screws/s, target 40-55 screws/s at higher drive amplitude"
    sound = ("vibratory screw feeder: electromagnetic drive at twice the mains frequency with "
             "harmonics, screws ticking along the track through metallic resonances, a pick-up "
             "click every second or so")

    def condition(self, rng, domain):
        if domain == "source":
            return [("rate", "low")], dict(rate=rng.uniform(20, 35), amp=0.0)
        return [("rate", "high")], dict(rate=rng.uniform(40, 55), amp=1.0)

    def render(self, rng, g, p, anom):
        f = np.full(g.n, 100.0) * speed_mod(anom)
        ph = dsp.phase(f, g)
        drive = dsp.harmonics(ph, [1, 2, 3, 4, 5], db(np.array([0, -6, -9, -14, -18]) +
                                                      rng.uniform(-3, 3, 5)),
                              rng.uniform(0, dsp.TWO_PI, 5))
        rate = np.full(g.n, p["rate"])
        if anom is not None and anom.kind == "jam":  # the track stalls now and then
            k = max(1, rng.poisson(0.3 * g.seconds))
            segs = [(s, s + rng.uniform(0.3, 0.9) * dsp.db(anom.sev_db))
                    for s in rng.uniform(0, g.seconds, k)]
            rate = rate * (1.0 - 0.9 * dsp.on_off(g, segs, 0.05, 0.05))
        times = dsp.cycle_times(dsp.cycles(rate * (1 + 0.3 * dsp.smooth(rng, g, 5.0)), g,
                                           rng.uniform()), g)
        times = times + rng.uniform(-0.004, 0.004, len(times))
        ticks = impacts(rng, g, times, (3100.0, 4700.0, 6200.0), (20.0, 50.0), amp_sigma=0.5)
        picks = impacts(rng, g, np.arange(-rng.uniform(0, 1.1), g.seconds, 1.1), (1200.0, 2400.0),
                        (10.0, 20.0))
        sig = unit(drive) * db(p["amp"]) + unit(ticks) * db(-5.0) + peak(picks) * db(6.0)
        return sig, Aux(ph, f, res_mid=(800.0, 1500.0, 2300.0), orders=(0.5, 1.5, 2.5))


class ToyPet(Model):
    name = "ToyPet"
    supplemental = "noise"
    kinds = ("rattle", "friction", "wobble", "extra_harmonic")
    background = {"source": "room", "target": "room"}
    snr = {"source": (8.0, 16.0), "target": (8.0, 16.0)}
    shift = "gait: source walk (step 0.6-0.8 s), target trot (step 0.5-0.6 s, slightly faster " \
            "servos)"
    sound = "robot pet: leg servo bursts (geared motor whine) in a gait cycle, footfall taps"

    def condition(self, rng, domain):
        if domain == "source":
            return [("gait", "walk")], dict(step=rng.uniform(0.6, 0.8), f=rng.uniform(140, 170))
        return [("gait", "trot")], dict(step=rng.uniform(0.5, 0.6), f=rng.uniform(150, 175))

    def render(self, rng, g, p, anom):
        segs = cycle_segments(rng, g, p["step"], 0.45 * p["step"], 0.02)
        prof = dsp.on_off(g, segs, 0.03, 0.04)
        f = p["f"] * (0.7 + 0.3 * prof) * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 3, n_comm=4, brush_db=-12.0)
        gear = dsp.mesh(ph, 10, [1.0, 0.5], 0.2, rng)
        taps = impacts(rng, g, np.array([e for _, e in segs]), (250.0, 700.0), (3.0, 6.0))
        sig = (motor + unit(gear) * db(-4.0)) * prof + peak(taps) * db(10.0)
        return sig, Aux(ph, f, active=prof, res_mid=(1100.0, 2300.0, 3400.0),
                        hiss=(2500.0, 6000.0), orders=(0.5, 2.5, 10.5))


class ToyRCCar(Model):
    name = "ToyRCCar"
    supplemental = "clean"
    kinds = ("bearing_defect", "rattle", "imbalance", "friction")
    background = {"source": "outdoor", "target": "outdoor"}
    shift = "surface: source tile/wood (rolling noise bright/dull), target carpet/grass " \
            "(in between)"
    sound = ("RC car: fast brushed motor, spur gear mesh, tyre rolling noise whose spectrum "
             "follows the surface, throttle varying as it drives")
    SURF = {"tile": (-1.0, 2500.0), "wood": (-2.0, 1500.0), "carpet": (-1.5, 1800.0),
            "grass": (-1.5, 2100.0)}

    def condition(self, rng, domain):
        surf = pick(rng, ("tile", "wood") if domain == "source" else ("carpet", "grass"))
        car = pick(rng, ("R1", "R2"))
        return [("car", car), ("surf", surf)], dict(car=car, surf=surf)

    def render(self, rng, g, p, anom):
        base = 330.0 if p["car"] == "R1" else 380.0
        throttle = 0.85 + 0.15 * np.tanh(dsp.smooth(rng, g, 0.4))
        f = dsp.speed_curve(rng, g, base, 0.004) * throttle * speed_mod(anom)
        motor, ph = dc_motor(rng, g, f, 3, n_comm=3, brush_db=-8.0)
        gear = dsp.mesh(ph, 1, [0.0] * 13 + [1.0], 0.1, rng)  # 14-tooth pinion
        tilt_db, centre = self.SURF[p["surf"]]
        roll = shaped(rng, g, 60.0, 7000.0, tilt_db, centre, 8.0) * throttle
        sig = motor + unit(gear) * db(-8.0) + unit(roll) * db(0.0)
        wheel = dsp.phase(f / 8.0, g)
        return sig, Aux(wheel, f / 8.0, res_mid=(1000.0, 2100.0, 3300.0),
                        res_hi=(3500.0, 5200.0, 6800.0), defect=(3.05 * 8, 3.58 * 8),
                        hiss=(3000.0, 7000.0))


MODELS: dict[str, Model] = {m.name: m for m in (
    ToyCar(), ToyTrain(), Bearing(), Fan(), Gearbox(), Slider(), Valve(), AutoTrash(),
    BandSealer(), CoffeeGrinder(), HomeCamera(), Polisher(), ScrewFeeder(), ToyPet(), ToyRCCar())}
