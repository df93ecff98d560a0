/* Fixed-point transcendental functions with gemmlowp's arithmetic, which
 * TFLite Micro's int8 SOFTMAX and LOGISTIC reference kernels use. Written
 * from the algorithms (Taylor series around -1/8 plus a barrel shifter of
 * exp(-2^k) constants for exp; three Newton-Raphson steps for 1/(1+x)).
 *
 * A value is a raw int32 with an implied count of integer bits: Q(ib).(31-ib).
 * Products of two values use SaturatingRoundingDoublingHighMul (integer bits
 * add up); sums are plain wrapping adds, as in gemmlowp. */
#ifndef FS_FIXEDPOINT_H
#define FS_FIXEDPOINT_H

#include <stdint.h>

#include "fs_quant.h"

#define FS_FP_ONE_Q0 INT32_MAX /* "one" in Q0.31 is the largest value */

/* Multiply by 2^e, e > 0, saturating (gemmlowp SaturatingRoundingMultiplyByPOT). */
static inline int32_t fs_fp_sat_shl(int32_t x, int e) {
    const int32_t threshold = (int32_t)((1u << (31 - e)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return fs_shl_wrap(x, e);
}

/* Change the number of integer bits from `from` to `to` (gemmlowp Rescale). */
static inline int32_t fs_fp_rescale(int32_t x, int from, int to) {
    const int e = from - to;
    if (e > 0) return fs_fp_sat_shl(x, e);
    if (e < 0) return fs_rdbpot(x, -e);
    return x;
}

/* exp(a) for a in [-1/4, 0), Q0 in and out. */
static inline int32_t fs_fp_exp_quarter(int32_t a) {
    const int32_t constant_term = 1895147668;    /* exp(-1/8) in Q0 */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 in Q0 */
    const int32_t x = fs_add_wrap(a, 1 << 28);   /* x = a + 1/8 */
    const int32_t x2 = fs_srdhm(x, x);
    const int32_t x3 = fs_srdhm(x2, x);
    const int32_t x4 = fs_srdhm(x2, x2);
    const int32_t x4_over_4 = fs_rdbpot(x4, 2);
    const int32_t poly =
        fs_rdbpot(fs_add_wrap(fs_srdhm(fs_add_wrap(x4_over_4, x3), constant_1_over_3), x2), 1);
    return fs_add_wrap(constant_term, fs_srdhm(constant_term, fs_add_wrap(x, poly)));
}

/* exp(a) for a <= 0 given with `ib` integer bits; result in Q0. */
static inline int32_t fs_fp_exp_on_negative(int32_t a, int ib) {
    static const int32_t k_exp_neg_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242,        /* exp(-16) */
    };
    const int frac = 31 - ib;
    const int32_t one_quarter = (int32_t)1 << (frac - 2);
    const int32_t a_mod_quarter_minus_quarter = fs_add_wrap(a & (one_quarter - 1), -one_quarter);
    int32_t result = fs_fp_exp_quarter(fs_fp_rescale(a_mod_quarter_minus_quarter, ib, 0));
    const int32_t remainder = fs_add_wrap(a_mod_quarter_minus_quarter, (int32_t)(0u - (uint32_t)a));
    for (int e = -2; e <= 4; ++e) {
        if (ib > e && (remainder & ((int32_t)1 << (frac + e))))
            result = fs_srdhm(result, k_exp_neg_pow2[e + 2]);
    }
    if (ib > 5 && a < -((int32_t)1 << (frac + 5))) result = 0; /* exp(-32) underflows */
    return a == 0 ? FS_FP_ONE_Q0 : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t fs_fp_one_over_one_plus_x(int32_t a) {
    const int64_t sum = (int64_t)a + FS_FP_ONE_Q0; /* RoundingHalfSum(a, 1) */
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_over_17 = 1515870810;      /* Q2 */
    const int32_t c_neg32_over_17 = -1010580540; /* Q2 */
    int32_t x = fs_add_wrap(c48_over_17, fs_srdhm(half_denominator, c_neg32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t hd_x = fs_srdhm(half_denominator, x);              /* Q2 */
        const int32_t one_minus = fs_add_wrap((int32_t)1 << 29, -hd_x);  /* Q2 */
        x = fs_add_wrap(x, fs_fp_rescale(fs_srdhm(x, one_minus), 4, 2)); /* Q4 -> Q2 */
    }
    return fs_fp_rescale(x, 1, 0); /* x/2 read as Q1, to Q0 */
}

/* logistic(a) for `ib` integer bits in, Q0 out. */
static inline int32_t fs_fp_logistic(int32_t a, int ib) {
    const int32_t abs_a = a > 0 ? a : (int32_t)(0u - (uint32_t)a);
    const int32_t pos =
        fs_fp_one_over_one_plus_x(fs_fp_exp_on_negative((int32_t)(0u - (uint32_t)abs_a), ib));
    if (a == 0) return 1 << 30; /* one half */
    return a > 0 ? pos : fs_add_wrap(FS_FP_ONE_Q0, -pos);
}

/* Count of leading zero bits of a nonzero 32-bit value. */
static inline int fs_clz32(uint32_t x) {
    int n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

#endif /* FS_FIXEDPOINT_H */
