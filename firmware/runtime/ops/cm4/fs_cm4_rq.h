/* The short requantization of the Cortex-M4 kernels (ops/cm4/), exactly fs_mbqm (fs_quant.h)
 * plus the output offset, for the operators whose prepare proved its two conditions
 * (fs_cm4_rq_ok):
 *
 *   1. every shift is in [-FS_CM4_RQ_MAX_RIGHT, -1]: no left shift, a rounding right shift r;
 *   2. every sum plus bias x has |x| < 2^30, for any input: taps * 128 * 255 + max |bias| < 2^30
 *      (|w| <= 128 and |x + input_offset| <= 255 for int8 values and zero points).
 *
 * Then SaturatingRoundingDoublingHighMul(x, m) = (x * m + 2^30) >> 31 (fs_cm4_high) is
 * (2x * m + 2^31) >> 32, one SMMULR of 2x (no overflow by 2.), and RoundingDivideByPOT(h, r) +
 * out_offset is (h + k - (h < 0)) >> r with k = 2^(r-1) + out_offset * 2^r (exact integer
 * arithmetic: adding a multiple of 2^r inside the floor adds out_offset after it; |h| <= 2^30 and
 * |k| < 2^28 by 1., so nothing overflows). Five instructions instead of the reference's
 * branches and 64-bit arithmetic. Operators that fail a condition keep fs_cm4_mbqm. */
#ifndef FS_CM4_RQ_H
#define FS_CM4_RQ_H

#include <stdint.h>

#include "fs_cm4_intrin.h"

#define FS_CM4_RQ_MAX_RIGHT 20

typedef struct fs_cm4_rq {
    int32_t m; /* the quantized multiplier, [0, 2^31) */
    int32_t r; /* the right shift, 1..FS_CM4_RQ_MAX_RIGHT */
    int32_t k; /* 2^(r-1) + out_offset * 2^r */
} fs_cm4_rq;

/* The rounding step of every requantization of the Cortex-M4 kernels (this one and fs_cm4_round,
 * fs_cm4.c): (h + add + (h < 0 ? neg_mask : 0)) >> right. With add = 2^(right - 1) and
 * neg_mask = -1 it is RoundingDivideByPOT's half away from zero (a negative h gets one less);
 * neg_mask = 0 with right = 0, add = 0 leaves h as it is; fs_cm4_rq_apply folds the output
 * offset into add. The callers make sure that h + add does not overflow. */
static inline int32_t fs_cm4_round_step(int32_t h, int32_t add, int32_t neg_mask, int32_t right) {
    return (h + add + ((h >> 31) & neg_mask)) >> right;
}

static inline fs_cm4_rq fs_cm4_rq_make(int32_t multiplier, int32_t shift, int32_t out_offset) {
    const int32_t r = -shift;
    const fs_cm4_rq q = {multiplier, r, (int32_t)((1u << (r - 1)) + ((uint32_t)out_offset << r))};
    return q;
}

/* fs_mbqm(x, m, -r) + out_offset, before the activation clamp. */
static inline int32_t fs_cm4_rq_apply(int32_t x, int32_t m, int32_t r, int32_t k) {
    const int32_t h = fs_cm4_smmulr((int32_t)((uint32_t)x << 1), m);
    return fs_cm4_round_step(h, k, -1, r);
}

static inline int8_t fs_cm4_clamp8(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

struct fs_tensor;

/* Conditions 1 and 2 for n channels (shift: per channel, or NULL and shift1 for all) whose sums
 * have `taps` terms each; bias: the operator's int32 bias tensor (n values) or NULL. A bias that
 * is not a constant of the model (its values unknown at prepare) fails (fs_cm4.c). */
int fs_cm4_rq_ok(const int32_t *shift, int32_t shift1, uint32_t n, const struct fs_tensor *bias,
                 uint32_t taps);

#endif /* FS_CM4_RQ_H */
