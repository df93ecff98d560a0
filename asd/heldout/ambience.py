"""Backgrounds of the held-out family (their own models, nothing from asd.synth.background).

hall: an indoor production hall: ventilation noise with a low-mid hump, slowly swelling, long
      reverberant distant bangs, now and then a forklift's reversing beeper.
yard: outdoors: gusty wind (low, strongly modulated), distant road traffic swelling and fading,
      sometimes birdsong (upward or downward chirps of 3-5 kHz).
room: a quiet office or kitchen: air-conditioning hiss, speech-like babble from next door
      (formant-shaped noise with syllable-rate modulation), occasional clatter of cups/keys.
Every call renders one instance at unit RMS.
"""
from __future__ import annotations

import numpy as np

from asd.heldout.machines import (SR, TAU, axis, band, hump, noise, pulses, ring, slope, unit,
                                  wander)

PROFILES = ("hall", "yard", "room")


def _hall(rng, n):
    vent = noise(rng, n, lambda f: band(f, 25, 7500) * slope(f, -4.5)
                 * hump(f, rng.uniform(150, 250), 0.8, 8))
    vent *= 1 + 0.15 * wander(rng, n, 0.2)
    nb = rng.poisson(1.5)
    bangs = ring(pulses(n, rng.uniform(0, n / SR, nb), rng.lognormal(0, 0.5, nb)),
                 [(rng.uniform(100, 900), rng.uniform(40, 80), 1.0) for _ in range(4)], 0.8)
    x = unit(vent) + (0.5 * unit(bangs) if nb else 0.0)
    if rng.random() < 0.35:
        t = axis(n)
        start, dur = rng.uniform(0, n / SR), rng.uniform(2, 5)
        on = ((t - start) % 0.6 < 0.3) & (t >= start) & (t < start + dur)
        beep = np.cos(TAU * rng.uniform(1000, 1300) * t) * on
        x = x + 0.2 * np.sqrt(np.mean(on)) * unit(beep) if on.any() else x
    return x


def _yard(rng, n):
    wind = noise(rng, n, lambda f: band(f, 20, 500) * slope(f, -6, 100))
    wind *= np.exp(0.6 * wander(rng, n, 0.3))
    traffic = noise(rng, n, lambda f: band(f, 40, 1200) * hump(f, 90, 1.0, 6))
    traffic *= np.exp(0.4 * wander(rng, n, 0.1))
    x = 0.8 * unit(wind) + unit(traffic)
    if rng.random() < 0.5:
        birds = np.zeros(n)
        for _ in range(int(rng.integers(3, 9))):
            m = int(rng.uniform(0.06, 0.15) * SR)
            i0 = int(rng.integers(0, max(1, n - m)))
            f0, f1 = rng.uniform(3000, 5000, 2)
            o = np.arange(m) / m
            ph = np.cumsum(f0 + (f1 - f0) * o) / SR
            birds[i0:i0 + m] += np.sin(np.pi * o) ** 2 * np.sin(TAU * ph) * rng.uniform(0.5, 1)
        x = x + 0.2 * unit(birds) * np.sqrt(np.mean(birds != 0))
    return x


def _room(rng, n):
    hvac = noise(rng, n, lambda f: band(f, 60, 6000) * slope(f, -3) * hump(f, 250, 1.0, 4))
    talk = noise(rng, n, lambda f: band(f, 200, 3500) * hump(f, 500, 0.4, 10)
                 * hump(f, 1500, 0.3, 6) * hump(f, 2500, 0.3, 4))
    syll = np.clip(wander(rng, n, 4.0), 0, None) ** 1.5 * np.clip(wander(rng, n, 0.3) + 0.5, 0, 1)
    nc = rng.poisson(0.3 * n / SR)
    clatter = ring(pulses(n, rng.uniform(0, n / SR, nc), rng.lognormal(0, 0.5, nc)),
                   [(rng.uniform(2000, 5000), 30, 1.0) for _ in range(3)])
    x = unit(hvac) + 0.4 * unit(talk * syll if syll.any() else talk)
    return x + (0.3 * unit(clatter) if nc else 0.0)


def render(rng, n: int, profile: str) -> np.ndarray:
    try:
        fn = {"hall": _hall, "yard": _yard, "room": _room}[profile]
    except KeyError:
        raise ValueError(f"unknown ambience {profile!r}; known: {', '.join(PROFILES)}") from None
    return unit(fn(rng, n))
