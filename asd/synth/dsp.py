"""Vectorised building blocks for the machine sound models (no per-sample Python loops).

Conventions: signals are float32 arrays of n samples at SR (the output is 16-bit, so float32 is
ample and twice as fast); phases are accumulated in float64, wrapped to [0, 2*pi) and stored as
float32 (fast SIMD cos; phase error < 1e-5 rad); frequency-domain filters act on complex64
`scipy.fft.rfft` spectra of length n // 2 + 1.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

SR = 16000
TWO_PI = 2.0 * np.pi


class Grid:
    """Time and frequency axes of one clip length, shared by the helpers below."""

    def __init__(self, n: int, sr: int = SR):
        self.n = n
        self.sr = sr
        self.t = np.arange(n, dtype=np.float64) / sr
        self.f = np.fft.rfftfreq(n, 1.0 / sr).astype(np.float32)
        self.f[0] = 1e-3  # keeps 1/f responses finite at DC
        self.seconds = n / sr


# ----------------------------------------------------------------------------------------------
# slow random curves and envelopes

def smooth(rng: np.random.Generator, g: Grid, rate: float) -> np.ndarray:
    """Zero-mean, unit-variance random curve with variations about `rate` times per second."""
    m = max(int(np.ceil(g.seconds * rate)) + 2, 3)
    pts = rng.standard_normal(m)
    return np.interp(g.t, np.linspace(0.0, g.seconds, m), pts).astype(np.float32)


def envelope(g: Grid, times, values) -> np.ndarray:
    """Piecewise-linear envelope through (time, value) breakpoints."""
    return np.interp(g.t, np.asarray(times, float), np.asarray(values, float)).astype(np.float32)


def on_off(g: Grid, segments, attack: float = 0.02, release: float = 0.05) -> np.ndarray:
    """0..1 envelope that is 1 inside each (start, stop) segment, with linear ramps."""
    if len(segments) == 0:
        return np.zeros(g.n, dtype=np.float32)
    bt, bv = [0.0], [0.0]
    for start, stop in segments:
        stop = max(stop, start + attack)
        bt += [start, start + attack, stop, stop + release]
        bv += [0.0, 1.0, 1.0, 0.0]
    order = np.argsort(bt, kind="stable")
    return envelope(g, np.asarray(bt)[order], np.asarray(bv)[order])


# ----------------------------------------------------------------------------------------------
# rotation: phase and harmonic series

def phase(freq: np.ndarray | float, g: Grid) -> np.ndarray:
    """Phase (rad, wrapped to [0, 2 pi), float32) of a frequency in Hz (constant or per sample)."""
    if np.ndim(freq) == 0:
        c = g.t * float(freq)
    else:
        c = np.cumsum(np.asarray(freq, dtype=np.float64)) * (1.0 / g.sr)
    c -= np.floor(c)
    c *= TWO_PI
    return c.astype(np.float32)


def speed_curve(rng: np.random.Generator, g: Grid, f0: float, wander: float = 0.004,
                rate: float = 0.7, jitter: float = 0.001) -> np.ndarray:
    """Rotation frequency (Hz) wandering slowly around f0 (relative std `wander`) plus fast jitter."""
    curve = 1.0 + wander * smooth(rng, g, rate).astype(np.float64)
    if jitter:
        curve += jitter * smooth(rng, g, 40.0)
    return f0 * curve


def harmonics(ph: np.ndarray, orders, amps, phases=None) -> np.ndarray:
    """sum_k amps[k] * cos(orders[k] * ph + phases[k]); orders may be fractional."""
    p32 = np.asarray(ph, dtype=np.float32)
    out = np.zeros(p32.shape[0], dtype=np.float32)
    if phases is None:
        phases = np.zeros(len(orders))
    tmp = np.empty_like(out)
    for k, a, p in zip(orders, amps, phases):
        if a != 0.0:
            np.multiply(p32, np.float32(k), out=tmp)
            tmp += np.float32(p)
            np.cos(tmp, out=tmp)
            tmp *= np.float32(a)
            out += tmp
    return out


def random_harmonics(rng: np.random.Generator, ph: np.ndarray, n_harm: int, decay_db: float,
                     spread_db: float = 4.0, first: int = 1, step: int = 1) -> np.ndarray:
    """Harmonic series with orders first, first+step, ... falling `decay_db` per order, each
    amplitude randomised by +-spread_db and each phase random."""
    orders = first + step * np.arange(n_harm)
    levels = -decay_db * np.arange(n_harm) + rng.uniform(-spread_db, spread_db, n_harm)
    return harmonics(ph, orders, 10.0 ** (levels / 20.0), rng.uniform(0, TWO_PI, n_harm))


def mesh(ph_shaft: np.ndarray, teeth: int, amps, sideband: float, rng: np.random.Generator):
    """Gear-mesh tone at teeth x shaft rate with its harmonics, amplitude-modulated once per shaft
    revolution (sidebands at +-1 x shaft rate around each mesh harmonic)."""
    tone = harmonics(ph_shaft, [teeth * (i + 1) for i in range(len(amps))], amps,
                     rng.uniform(0, TWO_PI, len(amps)))
    mod = harmonics(ph_shaft, [1.0], [sideband], [rng.uniform(0, TWO_PI)])
    mod += 1.0
    return tone * mod


# ----------------------------------------------------------------------------------------------
# noise and filters in the frequency domain

def noise_spectrum(rng: np.random.Generator, g: Grid, mag: np.ndarray) -> np.ndarray:
    """Complex Gaussian spectrum with magnitude shape `mag` (length n // 2 + 1)."""
    m = g.f.shape[0]
    re = rng.standard_normal(m, dtype=np.float32)
    im = rng.standard_normal(m, dtype=np.float32)
    spec = np.empty(m, dtype=np.complex64)
    spec.real = re * mag
    spec.imag = im * mag
    return spec


def to_time(spec: np.ndarray, g: Grid) -> np.ndarray:
    return scipy.fft.irfft(spec.astype(np.complex64, copy=False), g.n)


def to_freq(x: np.ndarray) -> np.ndarray:
    return scipy.fft.rfft(np.asarray(x, dtype=np.float32))


def coloured_noise(rng: np.random.Generator, g: Grid, mag: np.ndarray) -> np.ndarray:
    """Stationary Gaussian noise with amplitude spectrum `mag`, unit RMS."""
    return unit(to_time(noise_spectrum(rng, g, mag), g))


def tilt(g: Grid, db_per_octave: float, ref: float = 1000.0, floor: float = 20.0) -> np.ndarray:
    """Amplitude response sloping db_per_octave around ref (flat below `floor` Hz)."""
    f = np.maximum(g.f, np.float32(floor))
    return (f * np.float32(1.0 / ref)) ** np.float32(db_per_octave / 6.0206)


def band(g: Grid, lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Smooth band-pass amplitude response (Butterworth-like magnitude)."""
    x = np.minimum(np.float32(lo) / g.f, np.float32(1e4))
    x **= 2 * order
    x += 1.0
    r = 1.0 / np.sqrt(x)
    if hi < g.sr / 2:
        x = g.f * np.float32(1.0 / hi)
        x **= 2 * order
        x += 1.0
        r /= np.sqrt(x)
    return r


def bump(g: Grid, centre: float, width_oct: float, gain_db: float) -> np.ndarray:
    """1 + a Gaussian bump (on a log-frequency axis) of gain_db at centre."""
    x = np.log2(np.maximum(g.f, np.float32(1.0)) * np.float32(1.0 / centre))
    x *= np.float32(1.0 / width_oct)
    return 1.0 + np.float32(10.0 ** (gain_db / 20.0) - 1.0) * np.exp(np.float32(-0.5) * x * x)


def resonators(g: Grid, freqs, qs, gains) -> np.ndarray:
    """Complex response of parallel second-order resonances (causal decaying sinusoids)."""
    f = g.f
    h = np.zeros(f.shape[0], dtype=np.complex64)
    for f0, q, a in zip(freqs, qs, gains):
        # a / (1 + j q x) = a (1 - j q x) / (1 + (q x)^2),  x = f/f0 - f0/f
        qx = f * np.float32(q / f0) - np.float32(q * f0) / f
        d = np.float32(a) / (1.0 + qx * qx)
        h.real += d
        h.imag -= qx * d
    return h


def filt(x: np.ndarray, h: np.ndarray, g: Grid) -> np.ndarray:
    """Filter x by the frequency response h (circular; fine for stationary clips)."""
    return to_time(to_freq(x) * h, g)


# ----------------------------------------------------------------------------------------------
# impulses

def pulses(g: Grid, times, amps) -> np.ndarray:
    """Sparse impulse train: amps[i] at times[i] (seconds); out-of-range events dropped."""
    x = np.zeros(g.n, dtype=np.float32)
    idx = np.round(np.asarray(times, float) * g.sr).astype(np.int64)
    a = np.broadcast_to(np.asarray(amps, float), idx.shape)
    ok = (idx >= 0) & (idx < g.n)
    np.add.at(x, idx[ok], a[ok])
    return x


def cycle_times(ph_unwrapped_cycles: np.ndarray, g: Grid) -> np.ndarray:
    """Times (s) at which a monotonic cycle count crosses an integer."""
    c = np.floor(ph_unwrapped_cycles)
    idx = np.nonzero(np.diff(c) > 0)[0] + 1
    return idx / g.sr


def cycles(freq: np.ndarray | float, g: Grid, start: float = 0.0) -> np.ndarray:
    """Unwrapped cycle count of an instantaneous frequency curve (Hz)."""
    freq = np.broadcast_to(np.asarray(freq, dtype=np.float64), (g.n,))
    return start + np.cumsum(freq) / g.sr


def poisson_times(rng: np.random.Generator, g: Grid, rate: float) -> np.ndarray:
    k = rng.poisson(rate * g.seconds)
    return np.sort(rng.uniform(0.0, g.seconds, k))


# ----------------------------------------------------------------------------------------------
# levels

def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x), dtype=np.float64) + 1e-30))


def unit(x: np.ndarray) -> np.ndarray:
    """x scaled to unit RMS."""
    return x * np.float32(1.0 / rms(x))


def db(x: float) -> float:
    return 10.0 ** (x / 20.0)
