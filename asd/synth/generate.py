"""Render clips (machine + anomaly + background + microphone + level) and write the data set.

Level model: the machine's normal sound is rendered, then normalised to unit RMS; an anomaly is
added relative to that (so it changes the sound, not the loudness, beyond a fraction of a dB);
the background is added at the clip's SNR; the mix is played at the model's level_db dBFS +- GAIN_SPREAD_DB
(the distance and gain of the recording). Samples above KNEE (-6 dBFS, 24 dB above the usual
level) are bent smoothly towards PEAK by a soft limiter that leaves everything else untouched:
nothing clips, and a loud anomaly never lowers the level of its whole clip (counted in the summary).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from asd.cli import cpu_count  # noqa: F401  (asd.synth.__main__ and .difficulty import it here)
from asd.machines import dataset_of
from asd import family_layout
from asd.synth import anomalies, background, dsp
from asd.synth.layout import (ClipSpec, Counts, clip_seeds, machine_root, plan_machine,
                              write_csvs)
from asd.synth.machines import MODELS

SR = dsp.SR
GAIN_SPREAD_DB = 1.5
PEAK = 0.98    # nothing ever exceeds this
KNEE = 0.5     # -6 dBFS: transients above it are softly limited (24 dB above the -30 dBFS level)
MARKER = "synth.json"
VERSION = 1

# Per-type anomaly severity offset (dB), calibrated with `python -m asd.synth.difficulty` so that
# the baseline autoencoder lands roughly between AUC 0.55 and 0.85.
SEVERITY_DB = {
    "ToyCar": 7.0, "ToyTrain": 4.5, "bearing": 11.0, "fan": 8.0, "gearbox": 2.5,
    "slider": 7.0, "valve": 4.0, "AutoTrash": 6.5, "BandSealer": 3.0, "CoffeeGrinder": 5.0,
    "HomeCamera": 6.0, "Polisher": 6.5, "ScrewFeeder": 12.0, "ToyPet": 7.5, "ToyRCCar": 12.0,
}

_GRIDS: dict[int, dsp.Grid] = {}


def _grid(n: int) -> dsp.Grid:
    if n not in _GRIDS:
        _GRIDS[n] = dsp.Grid(n)
    return _GRIDS[n]


def mic_response(x: np.ndarray, mic: int) -> np.ndarray:
    """Microphone 1: flat. Microphone 2: less bass, a presence lift above ~2.5 kHz."""
    if mic == 1:
        return x
    b, a = scipy.signal.butter(1, 2500.0, "highpass", fs=SR)
    y = x + 0.6 * scipy.signal.lfilter(b, a, x)
    b, a = scipy.signal.butter(1, 120.0, "highpass", fs=SR)
    return scipy.signal.lfilter(b, a, y)


def draw_anomaly(machine: str, rng_a: np.random.Generator, severity_db: float | None = None):
    """(kind, severity dB) of an anomalous clip, from the clip's anomaly generator."""
    kinds = MODELS[machine].kinds
    kind = kinds[int(rng_a.integers(len(kinds)))]
    sev = SEVERITY_DB[machine] if severity_db is None else severity_db
    return kind, sev + rng_a.uniform(-anomalies.SPREAD_DB, anomalies.SPREAD_DB)


def anomaly_of(spec: ClipSpec, seed: int) -> tuple[str, float] | None:
    """What anomaly a clip carries (None for normal clips): replays the clip's generator."""
    if spec.label != "anomaly":
        return None
    ss = clip_seeds(seed, spec.machine, spec.domain, spec.split, spec.label, spec.index)[2]
    return draw_anomaly(spec.machine, np.random.default_rng(ss))


def render(spec: ClipSpec, seed: int, n: int, severity_db: float | None = None):
    """One clip as float32 samples in [-PEAK, PEAK]; also whether the limiter acted."""
    model = MODELS[spec.machine]
    g = _grid(n)
    _, ss_machine, ss_anom, ss_bg = clip_seeds(seed, spec.machine, spec.domain, spec.split,
                                              spec.label, spec.index)
    rng_m, rng_a, rng_b = (np.random.default_rng(s) for s in (ss_machine, ss_anom, ss_bg))
    p = spec.params
    mix = np.zeros(n, dtype=np.float32)
    if spec.label != "noise":
        anom = None
        if spec.label == "anomaly":
            kind, sev = draw_anomaly(spec.machine, rng_a, severity_db)
            anom = anomalies.make(kind, sev, rng_a, g)
        sig, aux = model.render(rng_m, g, p, anom)
        sig = dsp.unit(sig)
        if anom is not None:
            sig = anomalies.apply(anom, sig, aux)
        mix += sig
    snr = rng_b.uniform(*model.snr[spec.domain])
    if spec.label != "clean":
        bg = background.render(rng_b, g, model.background[spec.domain])
        mix += bg * dsp.db(-snr)
    if "mic" in p:
        mix = mic_response(mix, int(p["mic"]))
    y = mix * dsp.db(model.level_db + rng_b.uniform(-GAIN_SPREAD_DB, GAIN_SPREAD_DB))
    return soft_limit(y)


def soft_limit(y: np.ndarray, knee: float = KNEE, ceiling: float = PEAK):
    """Samples above `knee` bend smoothly (tanh) towards `ceiling`, the rest stay untouched:
    rare transients are tamed without changing the clip's level. Also says whether it acted."""
    a = np.abs(y)
    over = a > knee
    if not over.any():
        return y, False
    span = ceiling - knee
    y = y.copy()
    y[over] = np.sign(y[over]) * (knee + span * np.tanh((a[over] - knee) / span))
    return y, True


def to_pcm16(y: np.ndarray) -> np.ndarray:
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)


def _work(args) -> tuple[str, bool]:
    spec, seed, n, path = args
    y, scaled = render(spec, seed, n)
    sf.write(path, to_pcm16(y), SR, subtype="PCM_16", format="WAV")
    return spec.machine, scaled


@dataclass
class MachineReport:
    machine: str
    path: str
    counts: dict
    seconds: float
    elapsed: float
    scaled: int

    @property
    def clips(self) -> int:
        return sum(self.counts.values())


def prepare_out(out: Path, machines: list[str]) -> None:
    """Create --out; clear the folders of the machines about to be written, but only in a tree
    that this generator wrote (it leaves a synth.json marker)."""
    family_layout.clear_machines(out, [machine_root(out, m) for m in machines], "asd.synth",
                                 MARKER, FileExistsError)


def generate(out: Path, machines: list[str], counts: Counts, seconds: float, seed: int,
             jobs: int, log=print) -> list[MachineReport]:
    out = Path(out)
    n = int(round(seconds * SR))
    prepare_out(out, machines)
    meta_path = out / MARKER
    meta = family_layout.read_marker(meta_path, generator="asd.synth", version=VERSION,
                                     sample_rate=SR)
    reports = []
    with family_layout.worker_pool(jobs) as pool:
        for m in machines:
            t0 = time.perf_counter()
            specs = plan_machine(m, counts, seed)
            root = machine_root(out, m)
            chunk = max(1, min(16, len(specs) // (4 * jobs)))
            results = family_layout.render_all(root, specs, _work, seed, n, pool, chunk)
            write_csvs(out, m, specs)
            bucket: dict[str, int] = {}
            for s in specs:
                key = f"{s.split}/{s.domain}/{s.label}"
                bucket[key] = bucket.get(key, 0) + 1
            rep = MachineReport(m, str(root), bucket, seconds, time.perf_counter() - t0,
                                sum(1 for _, sc in results if sc))
            reports.append(rep)
            meta["machines"][m] = dict(seed=seed, seconds=seconds, counts=asdict(counts),
                                       dataset=dataset_of(m))
            log(f"  {m:<14} {rep.clips:5d} clips in {rep.elapsed:6.1f} s")
    family_layout.write_marker(meta_path, meta)
    return reports


