/* Integer requantization arithmetic with TFLite Micro's semantics
 * (double rounding: SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT), and the prepare-time helpers that compute
 * multipliers in double precision as TFLite does.
 *
 * Signed right shifts are arithmetic on every compiler this builds with
 * (gcc, clang, arm-none-eabi-gcc); fs_quant.c checks that at compile time.
 * Where TFLite relies on two's-complement wrap-around, the code wraps
 * through unsigned arithmetic so sanitizers stay quiet and results match. */
#ifndef FS_QUANT_H
#define FS_QUANT_H

#include <stdint.h>

#include "fs_status.h"

/* (a*b*2 + 2^31) >> 32 with rounding half away from zero; saturates the one
 * overflowing case INT32_MIN*INT32_MIN. */
static inline int32_t fs_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1ll << 30) : (1 - (1ll << 30));
    return (int32_t)((ab + nudge) / (1ll << 31)); /* C division truncates, as C++ does */
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t fs_rdbpot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((1ll << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^s with two's-complement wrap (TFLite's x * (1 << s)). */
static inline int32_t fs_shl_wrap(int32_t x, int s) { return (int32_t)((uint32_t)x << s); }

/* MultiplyByQuantizedMultiplier (int32 input, double rounding). */
static inline int32_t fs_mbqm(int32_t x, int32_t multiplier, int shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return fs_rdbpot(fs_srdhm(fs_shl_wrap(x, left), multiplier), right);
}

static inline int32_t fs_add_wrap(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t fs_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* QuantizeMultiplier: m = q * 2^shift with q in [2^30, 2^31) as Q31,
 * computed with frexp and round-half-away in double; tiny multipliers
 * (shift < -31) flush to zero. Returns 0 if m is not finite, negative, or
 * so large that shift > 30. */
int fs_quantize_multiplier(double m, int32_t *quantized, int *shift);

/* CalculateActivationRangeQuantized for int8 outputs; act is the fused
 * ActivationFunctionType. Fails (FS_ERR_OPTIONS) for TANH/SIGN_BIT or an
 * unrepresentable bound. */
fs_status fs_activation_range_s8(int act, float scale, int32_t zero_point, int32_t *act_min,
                                 int32_t *act_max);

/* CalculateInputRadius: floor(((1 << int_bits) - 1) * 2^(total - int_bits) / 2^left_shift). */
int32_t fs_input_radius(int int_bits, int left_shift, int total_signed_bits);

#endif /* FS_QUANT_H */
