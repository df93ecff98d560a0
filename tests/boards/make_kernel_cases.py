"""Writes tests/boards/golden/kernels/: one-op int8 models aimed at the paths of the Cortex-M4
kernels (firmware/runtime/ops/cm4/) that the runtime's golden set reaches rarely or not at all --
row lengths with 4- and 8-input remainders and odd tails, odd row counts and more rows than a
chunk, 1x1 convolutions read straight from the input, padded and dilated taps, grouped
convolutions, a 1-channel stem, depthwise channel counts that are not multiples of 4, a (1, F)
'global' depthwise filter, depth multiplier 2 (reference fallback); the planar depthwise kernel's
paths (rows along x or y, strides 1 and 2, 4-output groups and tails, channel counts that are not
multiples of 4, filters of 5 rows, bands of rows), one-input-channel stems and PAD. Expected outputs are
TFLite Micro's (tests/firmware/op_models.py). Regenerate with
    .venv/bin/python tests/boards/make_kernel_cases.py
"""
import importlib.util
import json
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent
OUT = HERE / "golden" / "kernels"
SEED = 20261130


def _op_models():
    spec = importlib.util.spec_from_file_location("_op_models", HERE.parent / "firmware" / "op_models.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_op_models"] = mod
    spec.loader.exec_module(mod)
    return mod


def _conv(h, w, kh, kw, cin, cout, s=1, d=1, padding="same", groups=1, act="relu", bias=True):
    return dict(range=[-3.0, 4.0], h=h, w=w, kh=kh, kw=kw, sh=s, sw=s, dh=d, dw=d, padding=padding,
                cin=cin, cout=cout, groups=groups, act=act, bias=bias)


def _dw(h, w, kh, kw, cin, dm=1, s=1, d=1, padding="same", act="relu6", bias=True):
    return dict(range=[-2.5, 5.0], h=h, w=w, kh=kh, kw=kw, sh=s, sw=s, dh=d, dw=d, padding=padding,
                cin=cin, dm=dm, act=act, bias=bias)


def _fc(features, units, batch=1, per_channel=False, act=None, bias=True):
    return dict(range=[-4.0, 3.0], batch=batch, features=features, units=units, act=act, bias=bias,
                per_channel=per_channel)


CASES = {
    "fc_tail37_odd9": ("fully_connected", _fc(37, 9, batch=2, act="relu")),
    "fc_64x33_perchannel": ("fully_connected", _fc(64, 33, per_channel=True)),
    "fc_has4_20x6": ("fully_connected", _fc(20, 6, batch=3, act="relu6")),
    "fc_has8_24x40_nobias": ("fully_connected", _fc(24, 40, bias=False)),
    "fc_depth1": ("fully_connected", _fc(1, 5)),
    "conv_1x1_c8": ("conv_2d", _conv(5, 6, 1, 1, 8, 12, padding="valid")),
    "conv_1x1_c16_s2": ("conv_2d", _conv(7, 6, 1, 1, 16, 10, s=2, act=None)),
    "conv_stem_3x3_c1_s2": ("conv_2d", _conv(16, 12, 3, 3, 1, 8, s=2)),
    "conv_3x3_c4_d2": ("conv_2d", _conv(8, 7, 3, 3, 4, 6, d=2)),
    "conv_3x3_c8_g2": ("conv_2d", _conv(6, 6, 3, 3, 8, 8, groups=2, act="relu6")),
    "conv_2x2_c3_valid": ("conv_2d", _conv(5, 5, 2, 2, 3, 5, padding="valid", act=None, bias=False)),
    "dw_3x3_c12": ("depthwise_conv_2d", _dw(6, 5, 3, 3, 12)),
    "dw_3x3_c7_s2": ("depthwise_conv_2d", _dw(9, 8, 3, 3, 7, s=2)),
    "dw_global_1x8_c8": ("depthwise_conv_2d", _dw(4, 8, 1, 8, 8, padding="valid", act=None)),
    "dw_3x3_c4_dm2": ("depthwise_conv_2d", _dw(5, 5, 3, 3, 4, dm=2)),
    "dw_5x5_c8_d2": ("depthwise_conv_2d", _dw(9, 9, 5, 5, 8, d=2, bias=False)),
    # the planar kernel (ops/cm4/fs_cm4_dw.h): rows along x with 4-output groups and a tail,
    # odd channel counts (a group of four and 1-3 left), fewer than four channels, stride 2,
    # rows along y (tall images, kws-like), a filter of 5 rows (the C loop), bands of rows
    "dw_3x3_c5_wide": ("depthwise_conv_2d", _dw(4, 13, 3, 3, 5)),
    "dw_3x3_c9_s2_wide": ("depthwise_conv_2d", _dw(9, 17, 3, 3, 9, s=2)),
    "dw_3x3_c3_tall": ("depthwise_conv_2d", _dw(14, 4, 3, 3, 3, act=None)),
    "dw_3x3_c6_s2_tall": ("depthwise_conv_2d", _dw(17, 5, 3, 3, 6, s=2, bias=False)),
    "dw_3x3_c4_kws": ("depthwise_conv_2d", _dw(25, 5, 3, 3, 4)),
    "dw_3x3_c8_s2_valid": ("depthwise_conv_2d", _dw(11, 21, 3, 3, 8, s=2, padding="valid")),
    "dw_5x3_c8": ("depthwise_conv_2d", _dw(7, 9, 5, 3, 8)),
    "dw_3x5_c4_tall": ("depthwise_conv_2d", _dw(12, 6, 3, 5, 4, act=None)),
    "dw_3x3_c4_bands": ("depthwise_conv_2d", _dw(12, 24, 3, 3, 4)),
    "dw_3x3_c4_s2_bands": ("depthwise_conv_2d", _dw(16, 24, 3, 3, 4, s=2)),
    "dw_1x16_c12_global": ("depthwise_conv_2d", _dw(4, 16, 1, 16, 12, padding="valid", act=None)),
    # one input channel: CONV_2D through the planar kernel (the cls stem)
    "conv_stem_3x3_c1_s2_valid": ("conv_2d", _conv(20, 34, 3, 3, 1, 16, s=2, padding="valid")),
    "conv_stem_3x3_c1_c5_tall": ("conv_2d", _conv(15, 6, 3, 3, 1, 5, act=None)),
    # PAD a run at a time (ops/cm4/pad_cm4.c)
    "pad_hw": ("pad", dict(range=[-2.0, 3.0], shape=[1, 5, 7, 3], pads=[[0, 0], [1, 1], [2, 1], [0, 0]],
                           value=0.0)),
    "pad_every_dim": ("pad", dict(range=[-2.0, 3.0], shape=[2, 3, 4, 5], pads=[[1, 0], [0, 2], [1, 0], [2, 1]],
                                  value=1.5)),
    # CONV_2D's pixel-tile kernels (ops/cm4/conv_tile_cm4.c; last, so that the seeds above keep
    # their indices): four pixels and one-pixel tails, row lengths of 3, 9 and 17 steps of four
    # inputs (the unrolled loop entered part-way, one and more passes), odd output channels, padded
    # 3x3 taps, channel runs that are not multiples of 4 (kk is), dilation, a pointwise conv with
    # no more output than input channels (in place)
    "conv_tile_1x1_c12_odd": ("conv_2d", _conv(5, 7, 1, 1, 12, 7, padding="valid")),
    "conv_tile_1x1_c36_s9": ("conv_2d", _conv(3, 5, 1, 1, 36, 9, act=None)),
    "conv_tile_1x1_c68_s17": ("conv_2d", _conv(4, 4, 1, 1, 68, 6)),
    "conv_tile_3x3_c4_s2": ("conv_2d", _conv(9, 7, 3, 3, 4, 5, s=2)),
    "conv_tile_4x2_c1_s2": ("conv_2d", _conv(11, 6, 4, 2, 1, 3, s=2)),
    "conv_tile_1x2_c6_d2": ("conv_2d", _conv(6, 7, 1, 2, 6, 4, d=2, act="relu6")),
    "conv_tile_1x1_c20_to_16": ("conv_2d", _conv(6, 6, 1, 1, 20, 16)),
    # kk = 144: four columns would pass the 1 KB budget, so two-pixel tiles and a one-pixel tail
    "conv_tile_3x3_c16_pairs": ("conv_2d", _conv(5, 7, 3, 3, 16, 5)),
    # The depthwise asm rows (fs_cm4_dw_rows_s1/_s2; after the pixel tiles, for the same
    # reason): last groups of 3 outputs, rows of fewer than four outputs (no whole group),
    # 4 + 2 channels, stride 2 with SAME padding; the global
    # depthwise kernel (dw_global_cm4.c): 4 + 2 channels, stride 2 between rows, an odd tap
    # count, 4 + 4 + 1 channels, no bias
    "dw_3x3_c8_tail3": ("depthwise_conv_2d", _dw(5, 7, 3, 3, 8)),
    "dw_3x3_c4_s2_tail3": ("depthwise_conv_2d", _dw(6, 13, 3, 3, 4, s=2)),
    "dw_3x3_c6_narrow": ("depthwise_conv_2d", _dw(3, 3, 3, 3, 6, act=None)),
    "dw_3x3_c6_s2_narrow": ("depthwise_conv_2d", _dw(5, 6, 3, 3, 6, s=2, padding="valid")),
    "dw_1x12_c6_s2_global": ("depthwise_conv_2d", _dw(5, 12, 1, 12, 6, s=2, padding="valid", act=None)),
    "dw_1x7_c9_global_nobias": ("depthwise_conv_2d", _dw(3, 7, 1, 7, 9, padding="valid", bias=False)),
}


def main() -> None:
    om = _op_models()
    OUT.mkdir(parents=True, exist_ok=True)
    cases = []
    for i, (name, (op, params)) in enumerate(CASES.items()):
        case = om.build_case(op, params, SEED + i, n_inputs=3)
        (OUT / f"{name}.tflite").write_bytes(case["model"])
        (OUT / f"{name}.in.bin").write_bytes(case["inputs"].tobytes())
        (OUT / f"{name}.out.bin").write_bytes(case["outputs"].tobytes())
        cases.append({"name": name, "op": op, "params": params, "seed": SEED + i, "count": 3,
                      "ops": om.builtin_ops(case["model"]), "tflm_arena": case["tflm_arena"]})
        print(name, cases[-1]["ops"], case["tflm_arena"])
    import importlib.metadata

    stamp = {"generator": "tests/boards/make_kernel_cases.py", "seed": SEED,
             "versions": {pkg: importlib.metadata.version(pkg)
                          for pkg in ("tensorflow", "keras", "tflite-micro", "numpy")}}
    (OUT / "manifest.json").write_text(json.dumps({"stamp": stamp, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
