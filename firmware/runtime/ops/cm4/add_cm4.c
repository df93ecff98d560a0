/* ADD on the Cortex-M4 boards (KERNELS=cm4; fs_ops.c registers fs_add_cm4_prepare/_eval there):
 * the same bytes as fs_add_s8 (ops/add.c) for inputs of equal shape (residual connections),
 * about 20 instructions per element instead of the reference's 119 (SRDHM's 64-bit nudge and
 * division, RDBPOT's masks, three times per element). Broadcasting inputs, and quantization
 * outside the conditions below, run the reference kernel.
 *
 * The reference (TFLite's int8 ADD): x_i = (in_i + offset_i) << 20, scaled_i =
 * RDBPOT(SRDHM(x_i, m_i), r_i), out = RDBPOT(SRDHM(scaled_1 + scaled_2, m_o), r_o) + out_offset,
 * clamped. With |in_i + offset_i| <= 255 every step is exact in fewer instructions:
 *
 *  - the input with the larger scale (or either, if equal) has the multiplier 0.5 exactly
 *    (scale / (2 * scale)): m = 2^30, r = 0, so scaled = v << 19 with no rounding at all;
 *  - the other input: SRDHM(v << 20, m) = SMMULR(v << 21, m) for m >= 0 (fs_cm4_high's
 *    identity: (x * m + 2^30) >> 31 = (2x * m + 2^31) >> 32), then RDBPOT(h, r) for r >= 1 is
 *    (h + 2^(r-1) + (h >> 31)) >> r (rounding half away from zero). Its multiplier is 0.5 too
 *    when the scales are equal: then scaled = v << 19 is made the same way from SMMULR(v << 22,
 *    2^30) = v << 20 and r = 1 (v << 20 is even, so the rounding adds nothing);
 *  - |scaled_1 + scaled_2| < 2^28, so the output step is fs_cm4_rq.h's short requantization
 *    (SMMULR of twice the sum, the output offset folded into the rounding constant) when
 *    r_o is in [1, FS_CM4_RQ_MAX_RIGHT].
 * tests/firmware/test_add_cm4.py compares both paths with TFLite Micro, extreme scales included. */
#include "../fs_ops.h"
#include "fs_cm4.h"

/* Top word of acc * 2^32 + a * b, rounded: acc + SMMULR(a, b), exact (one instruction). */
static inline int32_t add_smmlar(int32_t a, int32_t b, int32_t acc) {
    int32_t r;
    __asm("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* The constants of the equal-shape loops; `big` is the input with multiplier 0.5. */
typedef struct add_fast {
    int32_t p_k;    /* other input: x = (in << 21) + p_k = (in + offset) << 21 */
    int32_t m;      /* its multiplier; 2^31 - 1 when it is 0.5 as well (see add_plan_other) */
    int32_t r;      /* its rounding shift, >= 1 */
    int32_t half;   /* 2^(r-1) */
    int32_t big_k;  /* offset_big << 20: twice scaled_big = (in << 20) + big_k */
    int32_t folded; /* half + (offset_big << (19 + r)) when r <= 4 (add_loop) */
    fs_cm4_rq out;  /* the output requantization, offset in out.k */
    int32_t lo, hi; /* the activation range */
} add_fast;

/* The other input's constants, or 0 where the identities above do not hold (never for the
 * multipliers fs_small_multiplier makes: a guard). Its multiplier 0.5 (equal scales) becomes
 * m = 2^31 - 1, r = 1: SMMULR(v << 21, 2^31 - 1) = v << 20 exactly for |v| < 2^10, and
 * RDBPOT(v << 20, 1) = v << 19, which is the reference's SRDHM(v << 20, 2^30) with shift 0. */
static int add_plan_other(int32_t offset, int32_t m, int32_t shift, add_fast *f) {
    if (shift == 0 && m == (1 << 30)) {
        f->m = INT32_MAX;
        f->r = 1;
    } else if (shift <= -1 && shift >= -31 && m >= 0) {
        f->m = m;
        f->r = -shift;
    } else {
        return 0;
    }
    f->p_k = offset * (1 << 21);
    f->half = (int32_t)(1u << (f->r - 1));
    return 1;
}

/* The loops' constants; *swap: input 2 is the one with multiplier 0.5. 0: reference kernel. */
static int add_plan(const fs_add_params *q, add_fast *f, int *swap) {
    if (q->left_shift != 20 || q->output_shift > -1 || q->output_shift < -FS_CM4_RQ_MAX_RIGHT ||
        q->output_multiplier < 0)
        return 0;
    const int half1 = q->input1_multiplier == (1 << 30) && q->input1_shift == 0;
    const int half2 = q->input2_multiplier == (1 << 30) && q->input2_shift == 0;
    if (!half1 && !half2) return 0;
    *swap = !half1;
    const int32_t big_offset = *swap ? q->off.input2 : q->off.input1;
    if (!(*swap ? add_plan_other(q->off.input1, q->input1_multiplier, q->input1_shift, f)
                : add_plan_other(q->off.input2, q->input2_multiplier, q->input2_shift, f)))
        return 0;
    f->big_k = big_offset * (1 << 20);
    f->folded = f->r <= 4 ? f->half + big_offset * (1 << (19 + f->r)) : 0;
    f->out = fs_cm4_rq_make(q->output_multiplier, q->output_shift, q->off.output);
    f->lo = q->act_min;
    f->hi = q->act_max;
    return 1;
}

/* out[i] = big[i] + other[i] requantized, n elements. Always inlined with constant `full` and
 * `fold`, so that each combination is a loop of its own without the other's instructions:
 *  - full: the activation range is all of int8 (no fused activation, or a ReLU whose output
 *    zero point is -128, as TFLite's converter makes them): one SSAT instead of the clamp;
 *  - fold: r <= 4, so the larger-scale input's offset folds into the other's rounding constant
 *    (offset_big << (19 + r) <= 2^30: no overflow; a multiple of 2^r, so it comes out of the
 *    shift as offset_big << 19) and big_k is not added.
 * The roundings take the sign of the multiplicand (x, sum) instead of the product's: they differ
 * only where the product rounds to 0, and there both give the same quotient. Each element is
 * read before it is written, so out may be either input (an in-place ADD). */
__attribute__((always_inline)) static inline void add_loop(const add_fast *f, const int8_t *big,
                                                           const int8_t *other, int8_t *out,
                                                           uint32_t n, int full, int fold) {
    const int32_t p_k = f->p_k, m = f->m, r = f->r, k = fold ? f->folded : f->half;
    const int32_t big_k = f->big_k, om = f->out.m, ok = f->out.k, orr = f->out.r;
    const int32_t lo = f->lo, hi = f->hi;
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t x = other[i] * (1 << 21) + p_k;
        int32_t sum2 = ((add_smmlar(x, m, k) + (x >> 31)) >> r) * 2 + big[i] * (1 << 20);
        if (!fold) sum2 += big_k; /* 2 (scaled_1 + scaled_2) */
        const int32_t v = (add_smmlar(sum2, om, ok) + (sum2 >> 31)) >> orr;
        out[i] = full ? (int8_t)__ssat(v, 8) : fs_cm4_clamp8(v, lo, hi);
    }
}

fs_status fs_add_cm4_prepare(fs_prep *p) { return fs_add_prepare(p); }

fs_status fs_add_cm4_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_tensor *a = fs_op_in(m, op, 0), *b = fs_op_in(m, op, 1);
    fs_tensor *out = fs_op_out(m, op, 0);
    add_fast f;
    int swap = 0;
    if (!fs_shape_equal(&a->shape, &b->shape) || !add_plan(op->data, &f, &swap))
        return fs_add_eval(m, op, k);
    const int8_t *x = (const int8_t *)a->data, *y = (const int8_t *)b->data;
    const uint32_t n = (uint32_t)fs_shape_count(&out->shape);
    const int8_t *big = swap ? y : x, *other = swap ? x : y;
    int8_t *o = (int8_t *)out->data;
    if (f.lo != -128 || f.hi != 127)
        add_loop(&f, big, other, o, n, 0, 0);
    else if (f.r <= 4)
        add_loop(&f, big, other, o, n, 1, 1);
    else
        add_loop(&f, big, other, o, n, 1, 0);
    return FS_OK;
}
