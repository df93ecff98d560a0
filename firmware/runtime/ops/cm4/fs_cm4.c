/* The matrix-vector product of the Cortex-M4 kernels (fs_cm4_matvec, declared in fs_cm4.h):
 * weight rows two at a time against expanded activations with SMLAD, then requantization.
 * Everything it calls is in this file, static inline, so that gcc inlines it into the loops as
 * it did when all of it lived in fs_cm4.h. */
#include "fs_cm4.h"

#include "../../fs_quant.h"
#include "fs_cm4_asm.h"

/* SXTB16 splits the weight word T into (w0, w2) in U and (w1, w3) in T; two SMLADs add their
 * products with the expanded activation words XA = (x0+o, x2+o) and XB = (x1+o, x3+o) to A.
 * The arguments are register names or operands ("%[a0]"), as strings. */
#define FS_CM4_MAC4(A, T, U, XA, XB)  \
    "sxtb16 " U ", " T                \
    "\n\t"                            \
    "sxtb16 " T ", " T                \
    ", ror #8\n\t"                    \
    "smlad  " A ", " U ", " XA ", " A \
    "\n\t"                            \
    "smlad  " A ", " T ", " XB ", " A "\n\t"

/* Four weights of row W (LDR into T, W advanced) times XA, XB into A. */
#define FS_CM4_ROW4(A, W, T, U, XA, XB) "ldr    " T ", [" W "], #4\n\t" FS_CM4_MAC4(A, T, U, XA, XB)

/* Eight weights of row W (LDRD into T and V, W advanced) times the activations in r8-r11 into A.
 * LDRD faults on an unaligned address: word-aligned rows only. */
#define FS_CM4_ROW8_LDRD(A, W, T, U, V)                                     \
    "ldrd   " T ", " V ", [" W "], #8\n\t" FS_CM4_MAC4(A, T, U, "r8", "r9") \
        FS_CM4_MAC4(A, V, U, "r10", "r11")

/* Eight inputs (r8-r11, loaded by LDM) for the rows of the operands w0 and w1, or w0 alone. */
#define FS_CM4_LDM8 "ldmia  %[x]!, {r8, r9, r10, r11}\n\t"
#define FS_CM4_DOT2_BODY8                                                 \
    FS_CM4_LDM8 FS_CM4_ROW4("%[a0]", "%[w0]", "%[t]", "%[u]", "r8", "r9") \
        FS_CM4_ROW4("%[a1]", "%[w1]", "%[t]", "%[u]", "r8", "r9")         \
            FS_CM4_ROW4("%[a0]", "%[w0]", "%[t]", "%[u]", "r10", "r11")   \
                FS_CM4_ROW4("%[a1]", "%[w1]", "%[t]", "%[u]", "r10", "r11")
#define FS_CM4_DOT1_BODY8                                                 \
    FS_CM4_LDM8 FS_CM4_ROW4("%[a0]", "%[w0]", "%[t]", "%[u]", "r8", "r9") \
        FS_CM4_ROW4("%[a0]", "%[w0]", "%[t]", "%[u]", "r10", "r11")
/* 19 instructions per 8 inputs and 2 rows. */
#define FS_CM4_DOT2_BODY8_LDRD                                             \
    FS_CM4_LDM8 FS_CM4_ROW8_LDRD("%[a0]", "%[w0]", "%[t]", "%[u]", "%[v]") \
        FS_CM4_ROW8_LDRD("%[a1]", "%[w1]", "%[t]", "%[u]", "%[v]")

/* Dot products of two weight rows w0, w1 (n int8 each) with the expanded activations x:
 * *a0 += w0 . x, *a1 += w1 . x. Per 16 inputs and 2 rows: 40 instructions (1.25 per
 * multiply-accumulate) when both rows are word-aligned, else 44 (1.38). */
static inline void fs_cm4_dot2(const int8_t *w0, const int8_t *w1, const int16_t *x, uint32_t n,
                               int32_t *a0, int32_t *a1) {
    int32_t acc0 = *a0, acc1 = *a1;
    uint32_t t, u, v, blocks = n >> 4;
    if ((((uintptr_t)w0 | (uintptr_t)w1) & 3u) == 0) {
        if (blocks) {
            __asm volatile("1:\n\t" FS_CM4_DOT2_BODY8_LDRD FS_CM4_DOT2_BODY8_LDRD
                           "subs   %[n], %[n], #1\n\t"
                           "bne    1b\n\t"
                           : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1),
                             [x] "+r"(x), [n] "+r"(blocks), [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                           :
                           : "r8", "r9", "r10", "r11", "cc", "memory");
        }
        if (n & 8u) {
            __asm volatile(FS_CM4_DOT2_BODY8_LDRD
                           : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1),
                             [x] "+r"(x), [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                           :
                           : "r8", "r9", "r10", "r11", "memory");
        }
    } else {
        if (blocks) {
            __asm volatile("1:\n\t" FS_CM4_DOT2_BODY8 FS_CM4_DOT2_BODY8
                           "subs   %[n], %[n], #1\n\t"
                           "bne    1b\n\t"
                           : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1),
                             [x] "+r"(x), [n] "+r"(blocks), [t] "=&r"(t), [u] "=&r"(u)
                           :
                           : "r8", "r9", "r10", "r11", "cc", "memory");
        }
        if (n & 8u) {
            __asm volatile(FS_CM4_DOT2_BODY8
                           : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1),
                             [x] "+r"(x), [t] "=&r"(t), [u] "=&r"(u)
                           :
                           : "r8", "r9", "r10", "r11", "memory");
        }
    }
    if (n & 7u) {
        const uint32_t *xw = (const uint32_t *)(const void *)x;
        if (n & 4u) {
            const uint32_t p = fs_cm4_ld32(w0), q = fs_cm4_ld32(w1);
            acc0 = __smlad(__sxtb16(p), xw[0], acc0);
            acc0 = __smlad(fs_cm4_sxtb16_odd(p), xw[1], acc0);
            acc1 = __smlad(__sxtb16(q), xw[0], acc1);
            acc1 = __smlad(fs_cm4_sxtb16_odd(q), xw[1], acc1);
            w0 += 4;
            w1 += 4;
            xw += 2;
        }
        const int16_t *xt = (const int16_t *)(const void *)xw;
        for (uint32_t i = 0; i < (n & 3u); ++i) {
            acc0 += w0[i] * xt[i];
            acc1 += w1[i] * xt[i];
        }
    }
    *a0 = acc0;
    *a1 = acc1;
}

/* The row-pair loop for many pairs in one call, for word-aligned rows whose length is a multiple
 * of 4 (the common case: then every row is word-aligned and LDRD applies). A naked function: all
 * of r0-r12 and lr are needed, so it saves and restores what it uses itself, and its loop
 * bookkeeping lives in a struct (fs_cm4_pairs, fs_cm4_asm.h; lr points to it). Per row pair the
 * loop costs 17 instructions besides the 40 per 16 inputs. */
#define AT(field) FS_CM4_AT("lr", fs_cm4_pairs, field)
#define FS_CM4_PAIRS_BODY8                                                               \
    "ldmia  r4!, {r8, r9, r10, r11}\n\t" FS_CM4_ROW8_LDRD("r0", "r2", "r6", "r7", "r12") \
        FS_CM4_ROW8_LDRD("r1", "r3", "r6", "r7", "r12")

__attribute__((naked, noinline)) static void fs_cm4_dot_pairs(fs_cm4_pairs *a) {
    (void)a;
    __asm volatile(
      FS_CM4_PAIRS_LAYOUT(FS_CM4_ASM_EQU)
      "push   {r4-r11, lr}\n\t"
      "mov    lr, r0\n\t"
      "ldr    r2, " AT(w) "\n\t" /* w0 */
      "0:\n\t"
      "ldr    r3, " AT(depth) "\n\t"
      "add    r3, r2, r3\n\t"         /* w1 = w0 + depth */
      "ldr    r4, " AT(x) "\n\t"
      "ldr    r5, " AT(blocks) "\n\t" /* blocks of 16 */
      "movs   r0, #0\n\t"
      "movs   r1, #0\n\t"
      "cmp    r5, #0\n\t"
      "beq    2f\n\t"
      "1:\n\t" FS_CM4_PAIRS_BODY8 FS_CM4_PAIRS_BODY8
      "subs   r5, r5, #1\n\t"
      "bne    1b\n\t"
      "2:\n\t"
      "ldr    r5, " AT(has8) "\n\t"
      "cbz    r5, 3f\n\t" FS_CM4_PAIRS_BODY8
      "3:\n\t"
      "ldr    r5, " AT(has4) "\n\t"
      "cbz    r5, 4f\n\t"
      "ldmia  r4!, {r8, r9}\n\t"
      FS_CM4_ROW4("r0", "r2", "r6", "r7", "r8", "r9")
      FS_CM4_ROW4("r1", "r3", "r6", "r7", "r8", "r9")
      "4:\n\t"
      "ldr    r6, " AT(acc) "\n\t"
      "strd   r0, r1, [r6], #8\n\t"
      "str    r6, " AT(acc) "\n\t"
      "mov    r2, r3\n\t"             /* next pair starts after w1's row */
      "ldr    r6, " AT(pairs) "\n\t"
      "subs   r6, r6, #1\n\t"
      "str    r6, " AT(pairs) "\n\t"
      "bne    0b\n\t"
      "pop    {r4-r11, pc}\n\t");
}
#undef AT

/* acc[0..2*pairs) = dot products of rows w, w + depth, ... with x (no bias). */
static inline void fs_cm4_rows(const int8_t *w, const int16_t *x, uint32_t depth, uint32_t pairs,
                               int32_t *acc) {
    if ((((uintptr_t)w | depth) & 3u) == 0) {
        fs_cm4_pairs a = {w, x, depth, depth >> 4, acc, pairs, depth & 8u, depth & 4u};
        fs_cm4_dot_pairs(&a);
        return;
    }
    for (uint32_t i = 0; i < pairs; ++i, w += 2 * depth, acc += 2) {
        acc[0] = acc[1] = 0;
        fs_cm4_dot2(w, w + depth, x, depth, &acc[0], &acc[1]);
    }
}

/* *a0 += w0 . x for one row. */
static inline void fs_cm4_dot1(const int8_t *w0, const int16_t *x, uint32_t n, int32_t *a0) {
    int32_t acc0 = *a0;
    uint32_t t, u, blocks = n >> 3;
    if (blocks) {
        __asm volatile("1:\n\t" FS_CM4_DOT1_BODY8
                       "subs   %[n], %[n], #1\n\t"
                       "bne    1b\n\t"
                       : [a0] "+r"(acc0), [w0] "+r"(w0), [x] "+r"(x), [n] "+r"(blocks),
                         [t] "=&r"(t), [u] "=&r"(u)
                       :
                       : "r8", "r9", "r10", "r11", "cc", "memory");
    }
    const uint32_t *xw = (const uint32_t *)(const void *)x;
    if (n & 4u) {
        const uint32_t p = fs_cm4_ld32(w0);
        acc0 = __smlad(__sxtb16(p), xw[0], acc0);
        acc0 = __smlad(fs_cm4_sxtb16_odd(p), xw[1], acc0);
        w0 += 4;
        xw += 2;
    }
    const int16_t *xt = (const int16_t *)(const void *)xw;
    for (uint32_t i = 0; i < (n & 3u); ++i) acc0 += w0[i] * xt[i];
    *a0 = acc0;
}

/* MultiplyByQuantizedMultiplier, exactly fs_mbqm (fs_quant.h) for multiplier >= 0 (always:
 * fs_quantize_multiplier makes it in [2^30, 2^31) or 0). SaturatingRoundingDoublingHighMul is
 * then (x * m + 2^30) >> 31 for both signs of the product -- the reference adds 2^30 or
 * 1 - 2^30 and truncates toward zero, which is the same integer -- and never saturates (that
 * needs m = INT32_MIN). tests/boards/test_kernels_cm4.py checks the identity with exact
 * integers, and every kernel end to end against TFLite Micro. */
static inline int32_t fs_cm4_high(int32_t x, int32_t multiplier) {
    return (int32_t)(((int64_t)x * multiplier + (1ll << 30)) >> 31);
}

/* RoundingDivideByPOT(high, right), 0 <= right <= 31, half = 2^(right - 1) (0 for right = 0),
 * neg_mask -1 (0 for right = 0): fs_cm4_round_step, or the reference's own formula where its
 * addition would overflow. */
static inline int32_t fs_cm4_round(int32_t high, int32_t right, int32_t half, int32_t neg_mask) {
    return high > INT32_MAX - half ? fs_rdbpot(high, right)
                                   : fs_cm4_round_step(high, half, neg_mask, right);
}

static inline int32_t fs_cm4_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0, right = left - shift;
    x = (int32_t)((uint32_t)x << left);
    const int32_t high = fs_cm4_high(x, multiplier);
    if (right == 0) return high;
    return fs_cm4_round(high, right, (int32_t)(1u << (right - 1)), -1);
}

/* n sums with one multiplier (per-tensor quantization): the loop-invariant parts hoisted. */
static inline void fs_cm4_requant_run(const int32_t *acc, const uint8_t *bias, uint32_t n,
                                      int32_t multiplier, int32_t shift, int32_t out_offset,
                                      int32_t act_min, int32_t act_max, int8_t *out) {
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t half = right ? (int32_t)(1u << (right - 1)) : 0;
    const int32_t neg_mask = right ? -1 : 0; /* no rounding correction without a shift */
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t sum = (uint32_t)acc[i] + (bias ? fs_cm4_ld32(bias + 4u * i) : 0u);
        const int32_t x = (int32_t)(sum << left);
        const int32_t v =
            fs_cm4_round(fs_cm4_high(x, multiplier), right, half, neg_mask) + out_offset;
        out[i] = fs_cm4_clamp8(v, act_min, act_max);
    }
}

/* Not inlined: a loop of its own keeps the constants in registers. */
__attribute__((noinline)) void fs_cm4_requant_pc(const int32_t *acc, const uint8_t *bias,
                                                 uint32_t n, const int32_t *mult,
                                                 const int32_t *shift, int32_t out_offset,
                                                 int32_t act_min, int32_t act_max, int8_t *out) {
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t sum = (int32_t)((uint32_t)acc[i] + (bias ? fs_cm4_ld32(bias + 4u * i) : 0u));
        const int32_t v = fs_cm4_mbqm(sum, mult[i], shift[i]) + out_offset;
        out[i] = fs_cm4_clamp8(v, act_min, act_max);
    }
}

/* n sums requantized with fs_cm4_rq_apply (the operator passed fs_cm4_rq_ok); channels ch.. */
__attribute__((noinline)) static void fs_cm4_requant_fast(const fs_cm4_out *q, const int32_t *acc,
                                                          uint32_t ch, uint32_t n, int8_t *out) {
    const uint8_t *b = q->bias ? q->bias + 4u * ch : NULL;
    const int32_t lo = q->act_min, hi = q->act_max;
    if (!q->mult) {
        const fs_cm4_rq r = fs_cm4_rq_make(q->m, q->s, q->out_offset);
        for (uint32_t i = 0; i < n; ++i) {
            const int32_t x = (int32_t)((uint32_t)acc[i] + (b ? fs_cm4_ld32(b + 4u * i) : 0u));
            out[i] = fs_cm4_clamp8(fs_cm4_rq_apply(x, r.m, r.r, r.k), lo, hi);
        }
        return;
    }
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t x = (int32_t)((uint32_t)acc[i] + (b ? fs_cm4_ld32(b + 4u * i) : 0u));
        const fs_cm4_rq r = fs_cm4_rq_make(q->mult[ch + i], q->shift[ch + i], q->out_offset);
        out[i] = fs_cm4_clamp8(fs_cm4_rq_apply(x, r.m, r.r, r.k), lo, hi);
    }
}

/* Rows are multiplied FS_CM4_CHUNK at a time into sums on the stack, then requantized. */
#define FS_CM4_CHUNK 32

void fs_cm4_matvec(const fs_cm4_out *q, const int8_t *w, const int16_t *x, uint32_t depth,
                   uint32_t r0, uint32_t n, int8_t *out) {
    int32_t acc[FS_CM4_CHUNK];
    for (uint32_t c0 = 0; c0 < n; c0 += FS_CM4_CHUNK) {
        const uint32_t k = n - c0 < FS_CM4_CHUNK ? n - c0 : FS_CM4_CHUNK;
        const int8_t *wr = w + (size_t)c0 * depth;
        if (k >= 2) fs_cm4_rows(wr, x, depth, k / 2, acc);
        if (k & 1u) {
            acc[k - 1] = 0;
            fs_cm4_dot1(wr + (size_t)(k - 1) * depth, x, depth, &acc[k - 1]);
        }
        const uint32_t ch = r0 + c0;
        if (q->fast) {
            fs_cm4_requant_fast(q, acc, ch, k, out + c0);
            continue;
        }
        const uint8_t *b = q->bias ? q->bias + 4u * ch : NULL;
        if (q->mult) {
            fs_cm4_requant_pc(acc, b, k, q->mult + ch, q->shift + ch, q->out_offset, q->act_min,
                              q->act_max, out + c0);
        } else {
            fs_cm4_requant_run(acc, b, k, q->m, q->s, q->out_offset, q->act_min, q->act_max,
                               out + c0);
        }
    }
}
