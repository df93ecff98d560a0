"""C export of a verified int8 model into firmware/models/<machine>/.

model_data.c/.h   the .tflite bytes exactly, alignas(16), with a length constant
model_config.h    everything the firmware needs and nothing it must guess (see DeviceConfig)
model_scoring.h   the centres and normalisation of the embedding scoring (cls and stats); for a
                  stats model with the residual scorer also its per-domain scales and each
                  centre's domain
model_stats.h     the standardisation of the clip statistics (stats input only); with the
                  residual scorer also the PCA mean and components of the 256 band statistics
feature_*.h       the front end's parameters and tables, from asd.features (the single source)

No timestamps or paths go into the files: the same model and config give byte-identical output.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asd.dataset import check_machine_name
from asd.features import FEATURES
from export import tflm
from export.feature_header import _float_literal, _floats, write_headers

SCORE_KINDS = {"mse": 0, "embedding": 1}
INPUT_KINDS = {"window": 0, "stats": 1}   # FS_INPUT_WINDOW, FS_INPUT_STATS in firmware/app/clip.h
TFLITE_INT8 = 9


def stats_size() -> tuple[int, int]:
    """(pooled bands, statistics) of the stats input: (64, 128) for 128 mels. From
    train.models.stats, imported here only (it brings torch, which C export does not need)."""
    from train.models.stats import POOL, n_stats
    return FEATURES.n_mels // POOL, n_stats(FEATURES.n_mels)


@dataclass(frozen=True)
class DeviceConfig:
    machine: str
    model_kind: str            # ae | cls | stats (| ad01 for the MLPerf Tiny reference)
    score_kind: str            # mse | embedding
    window_frames: int         # log-mel frames per model input (0 for the stats input)
    window_hop: int            # frames between two inputs (0 for the stats input)
    threshold: float           # decision: score > threshold is anomalous (the source domain's
                               # when threshold_target is given)
    macs: int                  # multiply-accumulates per inference
    centres: np.ndarray | None = field(default=None, compare=False)        # (C, D)
    centre_offset: np.ndarray | None = field(default=None, compare=False)  # (C,)
    centre_inv_scale: np.ndarray | None = field(default=None, compare=False)  # (C,)
    # input_kind "window": windows of int8 log-mel frames (quantized with the model's input
    # quantization) are the model inputs. "stats": the frames (quantized with frame_scale and
    # frame_zero) are summed per pooled band over the clip (firmware/app/stats.c), and the
    # clip's 128 statistics, standardised with stats_mean / stats_std, are the one model input.
    input_kind: str = "window"
    stats_mean: np.ndarray | None = field(default=None, compare=False)  # (128,) float32
    stats_std: np.ndarray | None = field(default=None, compare=False)   # (128,) float32
    frame_scale: float | None = None   # float32 value
    frame_zero: int | None = None
    # The residual scorer of the stats input (absent: the score is the nearest distance alone):
    # score = d[k] * r * pca_inv_scale[e . domain_axis > 0.5], r the PCA residual of the clip's
    # 256 band statistics (firmware/app/stats.c) outside the rows of pca_components, e the
    # whitened statistics (the model's output) and domain_axis the domains' discriminant.
    pca_mean: np.ndarray | None = field(default=None, compare=False)        # (256,) float32
    pca_components: np.ndarray | None = field(default=None, compare=False)  # (k, 256) float32
    pca_inv_scale: np.ndarray | None = field(default=None, compare=False)   # (2,) float32
    domain_axis: np.ndarray | None = field(default=None, compare=False)     # (128,) float32
    # MONITOR mode's default window, in hops of MONITOR_HOP_FRAMES: the training clips' length.
    monitor_window_hops: int = 10
    # The threshold of the clips the discriminant puts in the target domain (needs domain_axis);
    # None: `threshold` decides every clip.
    threshold_target: float | None = None

    def threshold_of(self, domain: int) -> float:
        """The float32 threshold the device compares a clip of `domain` (0/1) with."""
        t = self.threshold_target if domain == 1 and self.threshold_target is not None \
            else self.threshold
        return float(np.float32(t))

    @property
    def n_pca(self) -> int:
        """Principal components of the residual scorer (0: none)."""
        return 0 if self.pca_components is None else int(np.asarray(self.pca_components).shape[0])


# MONITOR mode decides every hop: 31 frames of 512 samples, 0.992 s (the nearest to 1 s).
MONITOR_HOP_FRAMES = 31


def monitor_window_hops(clip_frames: int) -> int:
    """Hops in a window as long as a training clip of clip_frames log-mel frames (313 for 10 s:
    10 hops)."""
    return max(1, round(clip_frames / MONITOR_HOP_FRAMES))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_model(model: bytes, cfg: DeviceConfig) -> None:
    """Refuse a model the firmware cannot run, with the reason."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise tflm.ModelError("not a TFLite flatbuffer (identifier TFL3 missing); export a .tflite")
    try:
        inp, out = tflm.io_quant(model)
        types = tflm.tensor_types(model)
    except tflm.ModelError:
        raise
    except Exception as e:  # the interpreter rejects corrupt flatbuffers with RuntimeError
        raise tflm.ModelError(f"TFLite Micro cannot load the model ({e}); re-export it") from None
    if inp.dtype != "int8" or out.dtype != "int8":
        raise tflm.ModelError(f"model input/output are {inp.dtype}/{out.dtype}, not int8: "
                              f"quantize with int8 input and output")
    if 0 in types:  # FLOAT32 tensors left inside
        raise tflm.ModelError("model still holds float32 tensors: full-integer quantize it")
    _check_thresholds(cfg)
    if cfg.input_kind == "stats":
        _check_stats(cfg)
        want = stats_size()[1]
        if int(np.prod(inp.shape)) != want:
            raise tflm.ModelError(f"model input has {int(np.prod(inp.shape))} values, the "
                                  f"firmware feeds the {want} clip statistics of the stats input")
    else:
        want = cfg.window_frames * FEATURES.n_mels
        if int(np.prod(inp.shape)) != want:
            raise tflm.ModelError(f"model input has {int(np.prod(inp.shape))} values, the "
                                  f"firmware feeds {cfg.window_frames} frames x "
                                  f"{FEATURES.n_mels} mels = {want}")
    if cfg.score_kind == "embedding" and np.asarray(cfg.centres).shape[1:] != \
            (int(np.prod(out.shape)),):
        raise tflm.ModelError(f"centres of shape {np.asarray(cfg.centres).shape} do not match "
                              f"the model's {int(np.prod(out.shape))} outputs")


def _check_stats(cfg: DeviceConfig) -> None:
    """The constants the stats input needs: present, finite, of the right size."""
    n = stats_size()[1]
    if cfg.score_kind != "embedding":
        raise tflm.ModelError("the stats input is scored as an embedding (score_kind embedding)")
    for name in ("stats_mean", "stats_std"):
        v = getattr(cfg, name)
        if v is None or np.asarray(v).shape != (n,) or not np.isfinite(v).all():
            raise tflm.ModelError(f"stats input: {name} must be {n} finite values")
    if not (np.asarray(cfg.stats_std, np.float32) > 0).all():
        raise tflm.ModelError("stats input: stats_std must be positive")
    if cfg.frame_scale is None or not np.isfinite(cfg.frame_scale) or cfg.frame_scale <= 0:
        raise tflm.ModelError("stats input: frame_scale must be a positive float")
    if cfg.frame_zero is None or not -128 <= int(cfg.frame_zero) <= 127:
        raise tflm.ModelError("stats input: frame_zero must be an int8 zero point")
    _check_residual(cfg)


def _check_residual(cfg: DeviceConfig) -> None:
    """The residual scorer's constants: all four or none, finite, of the right shapes."""
    names = ("pca_mean", "pca_components", "pca_inv_scale", "domain_axis")
    given = [getattr(cfg, n) is not None for n in names]
    if not any(given):
        return
    if not all(given):
        raise tflm.ModelError("stats input: the residual scorer needs pca_mean, pca_components, "
                              "pca_inv_scale and domain_axis together")
    n = 2 * FEATURES.n_mels
    shapes = {"pca_mean": (n,), "pca_inv_scale": (2,)}
    for name, shape in shapes.items():
        v = np.asarray(getattr(cfg, name))
        if v.shape != shape or not np.isfinite(v).all():
            raise tflm.ModelError(f"stats input: {name} must be {shape[0]} finite values")
    p = np.asarray(cfg.pca_components)
    if p.ndim != 2 or p.shape[1] != n or not 1 <= p.shape[0] <= n or not np.isfinite(p).all():
        raise tflm.ModelError(f"stats input: pca_components must be (k, {n}) finite values")
    axis = np.asarray(cfg.domain_axis)
    if axis.shape != (np.asarray(cfg.centres).shape[1],) or not np.isfinite(axis).all():
        raise tflm.ModelError("stats input: domain_axis must be one finite value per output")


def _check_thresholds(cfg: DeviceConfig) -> None:
    """Finite float32 thresholds; a target threshold only where the device tells the domain."""
    for name in ("threshold", "threshold_target"):
        v = getattr(cfg, name)
        if v is not None and not np.isfinite(np.float32(v)):
            raise tflm.ModelError(f"{name} must be a finite float32 value, not {v!r}")
    if cfg.threshold_target is not None and cfg.domain_axis is None:
        raise tflm.ModelError("threshold_target needs the domain discriminant (domain_axis): "
                              "only the stats model with the residual scorer tells the domain")


def _array_text(name: str, data: bytes) -> str:
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    body = ",\n    ".join(rows)
    return (f"/* Generated by export/carray.py. Do not edit. */\n#include \"model_data.h\"\n\n"
            f"alignas(16) const unsigned char {name}[FS_MODEL_DATA_LEN] = {{\n    {body}\n}};\n"
            f"const unsigned int {name}_len = FS_MODEL_DATA_LEN;\n")


def _data_header(length: int, digest: str) -> str:
    return f"""/* Generated by export/carray.py. Do not edit. */
#ifndef FS_MODEL_DATA_H
#define FS_MODEL_DATA_H
#include <stdalign.h>

/* The .tflite flatbuffer, byte for byte (SHA-256 {digest}). Usable as-is by TFLite Micro. */
#define FS_MODEL_DATA_LEN {length}u
extern const unsigned char fs_model_data[FS_MODEL_DATA_LEN];
extern const unsigned int fs_model_data_len;

#endif
"""


def config_text(model: bytes, cfg: DeviceConfig, arena: int) -> str:
    check_machine_name(cfg.machine)  # FS_MODEL_NAME is a C string: no quotes, no backslashes
    inp, out = tflm.io_quant(model)
    ops = tflm.op_names(model)
    lines = [
        "/* Generated by export/carray.py. Do not edit. */",
        "#ifndef FS_MODEL_CONFIG_H", "#define FS_MODEL_CONFIG_H",
        '#include "feature_config.h"', "",
        f'#define FS_MODEL_NAME "{cfg.machine}"',
        f'#define FS_MODEL_KIND "{cfg.model_kind}"',
        f'#define FS_MODEL_SHA256 "{sha256(model)}"',
        f"#define FS_MODEL_BYTES {len(model)}u",
        f"#define FS_MODEL_MACS {cfg.macs}u",
        f"/* TFLite Micro's allocation report ({arena} bytes) plus 25 % and 1 KiB of margin. */",
        f"#define FS_MODEL_ARENA_BYTES {arena_with_margin(arena)}u",
        f'#define FS_MODEL_OPS "{",".join(ops)}"',
        f"#define FS_MODEL_N_OPS {len(ops)}u", "",
    ]
    if cfg.input_kind == "stats":
        lines += [
            "/* Model input (FS_MODEL_INPUT_KIND 1 = FS_INPUT_STATS): one per clip, its statistics",
            "   (firmware/app/stats.c): the log-mel frames quantized with FS_MODEL_FRAME_SCALE and",
            "   _ZERO_POINT, summed per pair of mel bands (FS_MODEL_STATS_BANDS bands), band means",
            "   then stds standardised with model_stats.h, quantized with the input scale below. */",
            f"#define FS_MODEL_INPUT_KIND {INPUT_KINDS['stats']}",
            f"#define FS_MODEL_STATS_BANDS {stats_size()[0]}",
            f"#define FS_MODEL_FRAME_SCALE {_float_literal(np.float32(cfg.frame_scale))}",
            f"#define FS_MODEL_FRAME_ZERO_POINT {int(cfg.frame_zero)}",
            "/* The residual scorer (0 = none): principal components of the 256 band statistics",
            "   (model_stats.h); the score is multiplied by the clip's residual. */",
            f"#define FS_MODEL_PCA_COMPONENTS {cfg.n_pca}",
        ]
    else:
        lines += [
            "/* Model input: FS_MODEL_WINDOW_FRAMES log-mel frames, frame-major, one every HOP "
            "frames. */",
            f"#define FS_MODEL_WINDOW_FRAMES {cfg.window_frames}",
            f"#define FS_MODEL_WINDOW_HOP {cfg.window_hop}",
        ]
    lines += [
        f"#define FS_MODEL_INPUT_SCALE {_float_literal(np.float32(inp.scale))}",
        f"#define FS_MODEL_INPUT_ZERO_POINT {inp.zero_point}",
        f"#define FS_MODEL_OUTPUT_SCALE {_float_literal(np.float32(out.scale))}",
        f"#define FS_MODEL_OUTPUT_ZERO_POINT {out.zero_point}",
        f"#define FS_MODEL_OUTPUT_SIZE {int(np.prod(out.shape))}", "",
        "/* Scoring: 0 = autoencoder MSE, 1 = embedding distance (model_scoring.h). */",
        f"#define FS_MODEL_SCORE_KIND {SCORE_KINDS[cfg.score_kind]}",
        f"#define FS_MODEL_THRESHOLD {_float_literal(np.float32(cfg.threshold))}",
    ]
    if cfg.threshold_target is not None:
        lines += ["/* The threshold of the clips the discriminant puts in the target domain. */",
                  f"#define FS_MODEL_THRESHOLD_TARGET "
                  f"{_float_literal(np.float32(cfg.threshold_target))}"]
    if cfg.score_kind == "embedding":
        lines.append(f"#define FS_MODEL_N_CENTRES {len(cfg.centres)}")
    lines += [
        "", "/* MONITOR mode defaults (docs/protocol.md): a decision every FS_MONITOR_HOP_FRAMES "
        "frames over", "   the last FS_MONITOR_WINDOW_HOPS hops, as long as a training clip. */",
        f"#define FS_MONITOR_HOP_FRAMES {MONITOR_HOP_FRAMES}u",
        f"#define FS_MONITOR_WINDOW_HOPS {int(cfg.monitor_window_hops)}u",
    ]
    lines += ["", "#endif", ""]
    return "\n".join(lines)


def arena_with_margin(arena: int) -> int:
    return (int(arena * 1.25) + 1024 + 15) // 16 * 16


def scoring_text(cfg: DeviceConfig) -> str:
    c = np.asarray(cfg.centres, np.float32)
    rows = ",\n    ".join("{" + ", ".join(_float_literal(v) for v in row) + "}" for row in c)
    off = ", ".join(_float_literal(v) for v in np.asarray(cfg.centre_offset, np.float32))
    inv = ", ".join(_float_literal(v) for v in np.asarray(cfg.centre_inv_scale, np.float32))
    return f"""/* Generated by export/carray.py. Do not edit. */
#ifndef FS_MODEL_SCORING_H
#define FS_MODEL_SCORING_H
#include "model_config.h"

/* Score = min over c of (|e - centre[c]|^2 - offset[c]) * inv_scale[c], e the clip's mean
   embedding. */
static const float fs_model_centres[FS_MODEL_N_CENTRES][FS_MODEL_OUTPUT_SIZE] = {{
    {rows}
}};
static const float fs_model_centre_offset[FS_MODEL_N_CENTRES] = {{{off}}};
static const float fs_model_centre_inv_scale[FS_MODEL_N_CENTRES] = {{{inv}}};
{_residual_scoring_text(cfg)}
#endif
"""


def _residual_scoring_text(cfg: DeviceConfig) -> str:
    if not cfg.n_pca:
        return ""
    inv = ", ".join(_float_literal(v) for v in np.asarray(cfg.pca_inv_scale, np.float32))
    axis = _floats(cfg.domain_axis)
    return f"""
/* The residual scorer: score = (d * r) * pca_inv_scale[t] in double, d the nearest centre's
   distance above, r the clip's PCA residual, t = 1 (target-like) when the mean output e has
   e . domain_axis > 0.5 (the domains' discriminant; a running sum in double), else 0. */
static const float fs_model_pca_inv_scale[2] = {{{inv}}};
static const float fs_model_domain_axis[FS_MODEL_OUTPUT_SIZE] = {{{axis}}};
"""


def stats_text(cfg: DeviceConfig) -> str:
    mean = _floats(cfg.stats_mean)
    std = _floats(cfg.stats_std)
    return f"""/* Generated by export/carray.py. Do not edit. */
#ifndef FS_MODEL_STATS_H
#define FS_MODEL_STATS_H
#include "model_config.h"

/* Standardisation of the clip statistics (band means, then band stds, in dB):
   z[i] = (s[i] - fs_model_stats_mean[i]) / fs_model_stats_std[i], in double. */
static const float fs_model_stats_mean[2 * FS_MODEL_STATS_BANDS] = {{
    {mean}
}};
static const float fs_model_stats_std[2 * FS_MODEL_STATS_BANDS] = {{
    {std}
}};
{_residual_stats_text(cfg)}
#endif
"""


def _residual_stats_text(cfg: DeviceConfig) -> str:
    if not cfg.n_pca:
        return ""
    rows = ",\n    ".join("{" + _floats(row) + "}"
                          for row in np.asarray(cfg.pca_components, np.float32))
    return f"""
/* The residual scorer: z = b - fs_model_pca_mean for the clip's 256 band statistics b (128
   band means, then 128 band stds, dB), r = |z|^2 - sum_j (fs_model_pca_components[j] . z)^2. */
static const float fs_model_pca_mean[2 * FS_FEAT_N_MELS] = {{
    {_floats(cfg.pca_mean)}
}};
static const float fs_model_pca_components[FS_MODEL_PCA_COMPONENTS][2 * FS_FEAT_N_MELS] = {{
    {rows}
}};
"""


def write(out_dir: Path, model: bytes, cfg: DeviceConfig) -> dict:
    """Write the firmware files; returns facts for export.json (sha256, bytes, arena, ops)."""
    check_model(model, cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arena = tflm.arena_bytes(model)
    digest = sha256(model)
    files = {
        "model_data.c": _array_text("fs_model_data", model),
        "model_data.h": _data_header(len(model), digest),
        "model_config.h": config_text(model, cfg, arena),
    }
    if cfg.score_kind == "embedding":
        files["model_scoring.h"] = scoring_text(cfg)
    if cfg.input_kind == "stats":
        files["model_stats.h"] = stats_text(cfg)
    for name, text in files.items():
        (out_dir / name).write_text(text)
    write_headers(out_dir)
    return {"sha256": digest, "model_bytes": len(model), "arena_bytes_tflm": arena,
            "arena_bytes": arena_with_margin(arena), "ops": tflm.op_names(model)}
