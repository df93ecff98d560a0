"""Factory-like background noise: coloured noise, mains hum, distant machinery, occasional clanks.

A profile names a kind of place; each clip draws its own instance (tilt, hum level, which distant
machines run, clank times) so no two backgrounds are alike. Output has unit RMS; the generator
scales it to the clip's SNR.
"""
from __future__ import annotations

import numpy as np

from asd.synth import dsp
from asd.synth.dsp import Grid

# name: (tilt dB/oct range, hum Hz, hum dB range, distant machines (count range), clanks per s,
#        bump centre range Hz)
PROFILES = {
    "factory-a": dict(tilt=(-4.5, -3.0), hum=50.0, hum_db=(-30, -18), machines=(1, 3),
                      clanks=(0.05, 0.4), bump=(150.0, 600.0)),
    "factory-b": dict(tilt=(-3.0, -1.5), hum=60.0, hum_db=(-26, -14), machines=(2, 4),
                      clanks=(0.3, 1.2), bump=(600.0, 2500.0)),
    "workshop": dict(tilt=(-5.0, -3.5), hum=50.0, hum_db=(-34, -24), machines=(0, 2),
                     clanks=(0.1, 0.6), bump=(250.0, 1200.0)),
    "room": dict(tilt=(-6.0, -4.5), hum=50.0, hum_db=(-40, -30), machines=(0, 1),
                 clanks=(0.0, 0.15), bump=(80.0, 300.0)),
    "outdoor": dict(tilt=(-6.5, -5.0), hum=50.0, hum_db=(-45, -35), machines=(0, 1),
                    clanks=(0.0, 0.1), bump=(60.0, 200.0)),
}


def render(rng: np.random.Generator, g: Grid, profile: str) -> np.ndarray:
    """One background clip of the given profile, unit RMS."""
    p = PROFILES[profile]
    mag = dsp.tilt(g, rng.uniform(*p["tilt"]), floor=30.0)
    mag *= dsp.bump(g, rng.uniform(*p["bump"]), rng.uniform(0.6, 1.5), rng.uniform(3.0, 10.0))
    mag *= dsp.band(g, 25.0, 7600.0, 3)
    spec = dsp.noise_spectrum(rng, g, mag)
    # occasional clanks: impacts through metallic resonances, mixed in the same spectrum
    times = dsp.poisson_times(rng, g, rng.uniform(*p["clanks"]))
    if len(times):
        x = dsp.pulses(g, times, rng.lognormal(0.0, 0.5, len(times)))
        k = 3
        h = dsp.resonators(g, rng.uniform(300.0, 4000.0, k), rng.uniform(15.0, 60.0, k),
                           rng.uniform(0.3, 1.0, k))
        clank = np.fft.rfft(x) * h
        # level: a clank peaks a few dB over the noise floor at its resonance
        spec += clank * (rng.uniform(0.5, 2.0) * np.sqrt(np.mean(np.abs(spec) ** 2))
                         / max(np.sqrt(np.mean(np.abs(clank) ** 2)), 1e-12) * 0.25)
    y = dsp.unit(dsp.to_time(spec, g))
    # mains hum with a few harmonics
    f_hum = p["hum"] * (1.0 + 0.001 * rng.standard_normal())
    ph = dsp.phase(f_hum, g)
    hum = dsp.harmonics(ph, [1, 2, 3, 4], dsp.db(np.array([0.0, -4.0, -10.0, -14.0])
                                                 + rng.uniform(-4, 4, 4)),
                        rng.uniform(0, dsp.TWO_PI, 4))
    y += dsp.unit(hum) * dsp.db(rng.uniform(*p["hum_db"]))
    # distant machinery: low harmonic series with slow level drift
    for _ in range(rng.integers(p["machines"][0], p["machines"][1] + 1)):
        f0 = rng.uniform(12.0, 60.0)
        ph = dsp.phase(dsp.speed_curve(rng, g, f0, wander=0.003), g)
        m = dsp.random_harmonics(rng, ph, 6, rng.uniform(3.0, 6.0), first=rng.integers(1, 4))
        m *= 1.0 + 0.3 * dsp.smooth(rng, g, 0.3)
        y += dsp.unit(m) * dsp.db(rng.uniform(-16.0, -6.0))
    return dsp.unit(y)
