"""firmware/app/quantize.h's fs_quantize against asd.features.quantize, bit for bit: the
rounding ties, the float32 sums that round up to the next integer (0.49999997 + 0.5), both
saturations, infinities, and a million random values over the int8 range and beyond."""
import subprocess

import numpy as np

from asd.features import quantize
from tests.support import ROOT

APP = ROOT / "firmware/app"

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "quantize.h"

/* stdin: f32 scale | i32 zero | u32 n | f32 x[n]; stdout: int8 q[n] */
int main(void) {
    float scale;
    int32_t zero;
    uint32_t n;
    if (fread(&scale, 4, 1, stdin) != 1 || fread(&zero, 4, 1, stdin) != 1 ||
        fread(&n, 4, 1, stdin) != 1)
        return 3;
    for (uint32_t i = 0; i < n; i++) {
        float x;
        if (fread(&x, 4, 1, stdin) != 1) return 3;
        int8_t q = fs_quantize(x, scale, zero);
        fwrite(&q, 1, 1, stdout);
    }
    return 0;
}
"""


def _device(tmp_path, x: np.ndarray, scale: float, zero: int) -> np.ndarray:
    src, exe = tmp_path / "quantize_driver.c", tmp_path / "quantize_driver"
    src.write_text(DRIVER)
    subprocess.run(["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{APP}",
                    str(src), "-o", str(exe)], check=True)
    x = np.asarray(x, np.float32)
    stdin = (np.float32(scale).tobytes() + np.int32(zero).tobytes() + np.uint32(len(x)).tobytes()
             + x.tobytes())
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int8)


def test_quantize_equals_the_host_reference_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    scale, zero = np.float32(0.45), 60
    below_half = np.nextafter(np.float32(0.5), np.float32(0))     # + 0.5 rounds up to 1.0
    steps = np.arange(-300, 301, dtype=np.float32) * 0.5            # every tie from -150 to 150
    edge = np.array([0, -0.0, below_half, -below_half, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 511.9,
                     512, 513, -513, 1e9, -1e9, np.inf, -np.inf], np.float32)
    x = np.concatenate([(steps * scale).astype(np.float32), edge * scale, edge,
                        rng.uniform(-200, 200, 1_000_000).astype(np.float32)])
    np.testing.assert_array_equal(_device(tmp_path, x, scale, zero), quantize(x, scale, zero))
