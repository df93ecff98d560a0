/* Building blocks of the Cortex-M4 DSP kernels (ops/cm4/<op>_cm4.c), written for this runtime
 * from the ARMv7-M architecture manual and ACLE (arm_acle.h of arm-none-eabi-gcc).
 *
 * Static inline, in a header, on purpose: each kernel's file inlines them into its own loops,
 * and fs_cm4_requant_pc is a static copy per kernel. Moving them (and the kernels) into one .c
 * file was tried for issue 14 and changes the code gcc 12 makes for the loops -- per operator
 * between -7 % and +0.2 % instructions under `make perf`; an external fs_cm4_requant_pc alone
 * costs CONV_2D up to 0.04 % -- so they stay here until the figures may move. The naked
 * row-pair loop, whose code does not depend on its caller, is in fs_cm4.c.
 *
 * Arithmetic stays exactly the reference kernels' (int32 sums of (w) * (x + input_offset),
 * TFLM's MultiplyByQuantizedMultiplier); only the order of the additions changes, and int32
 * addition without overflow is associative (prepare limits the terms per sum, FS_MAX_ACCUM_TERMS).
 *
 * The dot products use SMLAD (two 16x16 products added to a 32-bit accumulator in one
 * instruction). Operands are made with SXTB16, which sign-extends bytes 0 and 2 of a word into
 * two halfwords; with a rotation by 8 it takes bytes 1 and 3. So a word of four int8 weights
 * (w0 w1 w2 w3) becomes (w0, w2) and (w1, w3) in two instructions. The activations are expanded
 * once per operator call into int16 with the input offset added, in the same split order:
 *
 *   int8 x0 x1 x2 x3 | x4 ...   ->   int16 pairs  (x0+o, x2+o) (x1+o, x3+o) | (x4+o, x6+o) ...
 *
 * so that SMLAD((w0, w2), (x0+o, x2+o)) + SMLAD((w1, w3), (x1+o, x3+o)) is the dot product of a
 * block of four. Elements after the last whole block of four are stored one int16 each. Padding
 * positions of a convolution are expanded as the input zero point, which is 0 after the offset
 * (TFLM skips them: the same sum).
 *
 * Weights are read in place from the model (flash): no copy, any alignment (LDR on ARMv7-M
 * accepts unaligned addresses). */
#ifndef FS_CM4_H
#define FS_CM4_H

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "../../fs_quant.h"
#include "fs_cm4_rq.h"

#if !defined(__ARM_FEATURE_DSP)
#error "ops/cm4 needs the ARMv7E-M DSP extension (-mcpu=cortex-m4 or later); build with KERNELS=ref"
#endif

static inline uint32_t fs_cm4_ld32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4); /* one LDR, unaligned allowed */
  return v;
}

/* SXTB16 with ROR #8: bytes 1 and 3 as two int16 (one instruction; gcc 12's arm_acle.h has no
 * __ror and does not fold a rotate into SXTB16 by itself). */
static inline uint32_t fs_cm4_sxtb16_odd(uint32_t x) {
  uint32_t r;
  __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
/* SXTAB16 with ROR #8: (a.lo + byte1, a.hi + byte3). */
static inline uint32_t fs_cm4_sxtab16_odd(uint32_t a, uint32_t x) {
  uint32_t r;
  __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}

/* Bytes of the expanded form of n activations (a multiple of 4, for word access). */
static inline uint32_t fs_cm4_expanded_bytes(uint32_t n) { return (2u * n + 3u) & ~3u; }

/* src[0..n) + offset into dst in the split order described above. dst is 4-byte aligned. */
static inline void fs_cm4_expand(int16_t *dst, const int8_t *src, uint32_t n, int32_t offset) {
  const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x10001u;
  uint32_t *d = (uint32_t *)(void *)dst;
  uint32_t blocks = n >> 2;
  while (blocks >= 2) {
    const uint32_t a = fs_cm4_ld32(src), b = fs_cm4_ld32(src + 4);
    d[0] = __sxtab16(off2, a);
    d[1] = fs_cm4_sxtab16_odd(off2, a);
    d[2] = __sxtab16(off2, b);
    d[3] = fs_cm4_sxtab16_odd(off2, b);
    d += 4;
    src += 8;
    blocks -= 2;
  }
  if (blocks) {
    const uint32_t a = fs_cm4_ld32(src);
    d[0] = __sxtab16(off2, a);
    d[1] = fs_cm4_sxtab16_odd(off2, a);
    d += 2;
    src += 4;
  }
  int16_t *t = (int16_t *)(void *)d;
  for (uint32_t i = 0; i < (n & 3u); ++i) t[i] = (int16_t)(src[i] + offset);
}

/* n copies of the zero point, expanded (0 after the offset): padding of a convolution. */
static inline void fs_cm4_expand_zero(int16_t *dst, uint32_t n) { memset(dst, 0, 2u * n); }

/* One block of 8 inputs for two rows: x in r8-r11 (loaded by the caller's LDM). */
#define FS_CM4_DOT2_BODY8                                   \
  "ldmia  %[x]!, {r8, r9, r10, r11}\n\t"                    \
  "ldr    %[t], [%[w0]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r8, %[a0]\n\t"                       \
  "smlad  %[a0], %[t], r9, %[a0]\n\t"                       \
  "ldr    %[t], [%[w1]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a1], %[u], r8, %[a1]\n\t"                       \
  "smlad  %[a1], %[t], r9, %[a1]\n\t"                       \
  "ldr    %[t], [%[w0]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r10, %[a0]\n\t"                      \
  "smlad  %[a0], %[t], r11, %[a0]\n\t"                      \
  "ldr    %[t], [%[w1]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a1], %[u], r10, %[a1]\n\t"                      \
  "smlad  %[a1], %[t], r11, %[a1]\n\t"

#define FS_CM4_DOT1_BODY8                                   \
  "ldmia  %[x]!, {r8, r9, r10, r11}\n\t"                    \
  "ldr    %[t], [%[w0]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r8, %[a0]\n\t"                       \
  "smlad  %[a0], %[t], r9, %[a0]\n\t"                       \
  "ldr    %[t], [%[w0]], #4\n\t"                            \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r10, %[a0]\n\t"                      \
  "smlad  %[a0], %[t], r11, %[a0]\n\t"

/* The same with LDRD for the weights: 8 bytes of each row in one instruction (word-aligned rows
 * only: LDRD faults on an unaligned address). 19 instructions per 8 inputs and 2 rows. */
#define FS_CM4_DOT2_BODY8_LDRD                              \
  "ldmia  %[x]!, {r8, r9, r10, r11}\n\t"                    \
  "ldrd   %[t], %[v], [%[w0]], #8\n\t"                      \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r8, %[a0]\n\t"                       \
  "smlad  %[a0], %[t], r9, %[a0]\n\t"                       \
  "sxtb16 %[u], %[v]\n\t"                                   \
  "sxtb16 %[v], %[v], ror #8\n\t"                           \
  "smlad  %[a0], %[u], r10, %[a0]\n\t"                      \
  "smlad  %[a0], %[v], r11, %[a0]\n\t"                      \
  "ldrd   %[t], %[v], [%[w1]], #8\n\t"                      \
  "sxtb16 %[u], %[t]\n\t"                                   \
  "sxtb16 %[t], %[t], ror #8\n\t"                           \
  "smlad  %[a1], %[u], r8, %[a1]\n\t"                       \
  "smlad  %[a1], %[t], r9, %[a1]\n\t"                       \
  "sxtb16 %[u], %[v]\n\t"                                   \
  "sxtb16 %[v], %[v], ror #8\n\t"                           \
  "smlad  %[a1], %[u], r10, %[a1]\n\t"                      \
  "smlad  %[a1], %[v], r11, %[a1]\n\t"

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
                     : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1), [x] "+r"(x),
                       [n] "+r"(blocks), [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                     :
                     : "r8", "r9", "r10", "r11", "cc", "memory");
    }
    if (n & 8u) {
      __asm volatile(FS_CM4_DOT2_BODY8_LDRD
                     : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1), [x] "+r"(x),
                       [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                     :
                     : "r8", "r9", "r10", "r11", "memory");
    }
  } else {
    if (blocks) {
      __asm volatile("1:\n\t" FS_CM4_DOT2_BODY8 FS_CM4_DOT2_BODY8
                     "subs   %[n], %[n], #1\n\t"
                     "bne    1b\n\t"
                     : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1), [x] "+r"(x),
                       [n] "+r"(blocks), [t] "=&r"(t), [u] "=&r"(u)
                     :
                     : "r8", "r9", "r10", "r11", "cc", "memory");
    }
    if (n & 8u) {
      __asm volatile(FS_CM4_DOT2_BODY8
                     : [a0] "+r"(acc0), [a1] "+r"(acc1), [w0] "+r"(w0), [w1] "+r"(w1), [x] "+r"(x),
                       [t] "=&r"(t), [u] "=&r"(u)
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

/* Many row pairs in one call, for word-aligned rows whose length is a multiple of 4 (the
 * common case: then every row is word-aligned and LDRD applies). A naked function: all of r0-r12
 * and lr are needed, so it saves and restores what it uses itself, and its loop bookkeeping
 * lives in this struct (lr points to it). Per row pair the loop costs 17 instructions besides
 * the 40 per 16 inputs. */
typedef struct fs_cm4_pairs {
  const int8_t *w;  /* first row; rows follow each other, `depth` bytes apart */
  const int16_t *x; /* expanded activations (fs_cm4_expand) */
  uint32_t depth;   /* inputs per row: a multiple of 4 */
  uint32_t blocks;  /* depth / 16 */
  int32_t *acc;     /* out: two sums per pair, advanced */
  uint32_t pairs;   /* row pairs (> 0), counted down */
  uint32_t has8;    /* depth & 8 */
  uint32_t has4;    /* depth & 4 */
} fs_cm4_pairs;

/* The loop over the pairs (fs_cm4.c): a naked function that needs all of r0-r12 and lr. */
void fs_cm4_dot_pairs(fs_cm4_pairs *a);

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
                   : [a0] "+r"(acc0), [w0] "+r"(w0), [x] "+r"(x), [n] "+r"(blocks), [t] "=&r"(t),
                     [u] "=&r"(u)
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

/* RoundingDivideByPOT(high, right), 1 <= right <= 31, with half = 2^(right - 1): half away from
 * zero, i.e. add half (less one for negative values: neg_mask -1) and shift; where that addition
 * would overflow, the reference's own formula. right = 0 takes half = 0 and neg_mask = 0. */
static inline int32_t fs_cm4_round(int32_t high, int32_t right, int32_t half, int32_t neg_mask) {
  if (high > INT32_MAX - half) return fs_rdbpot(high, right);
  return (high + half + ((high >> 31) & neg_mask)) >> right;
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
    const int32_t high = fs_cm4_high(x, multiplier);
    /* fs_cm4_round(high, right, half, neg_mask) written out: called, gcc 12 -O2 makes this loop
     * slower (ad01 +1 % instructions, measured). */
    int32_t v = high > INT32_MAX - half ? fs_rdbpot(high, right)
                                        : (high + half + ((high >> 31) & neg_mask)) >> right;
    v += out_offset;
    out[i] = (int8_t)(v < act_min ? act_min : (v > act_max ? act_max : v));
  }
}

/* n sums with one multiplier and shift each (per-channel quantization); bias may be NULL. Not
 * inlined: a loop of its own keeps the constants in registers. */
__attribute__((noinline, unused)) static void fs_cm4_requant_pc(const int32_t *acc, const uint8_t *bias,
                                                               uint32_t n, const int32_t *mult,
                                                               const int32_t *shift, int32_t out_offset,
                                                               int32_t act_min, int32_t act_max,
                                                               int8_t *out) {
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t sum = (int32_t)((uint32_t)acc[i] + (bias ? fs_cm4_ld32(bias + 4u * i) : 0u));
    const int32_t v = fs_cm4_mbqm(sum, mult[i], shift[i]) + out_offset;
    out[i] = (int8_t)(v < act_min ? act_min : (v > act_max ? act_max : v));
  }
}

/* How sums become int8 outputs: bias, per-channel (mult/shift arrays) or per-tensor (m, s)
 * requantization, output offset, activation clamp. */
typedef struct fs_cm4_out {
  const uint8_t *bias;          /* int32 per row, any alignment; NULL: none */
  const int32_t *mult, *shift;  /* per row, or NULL: m and s for all */
  int32_t m, s;
  int32_t out_offset, act_min, act_max;
  int fast;                     /* fs_cm4_rq_ok held at prepare: fs_cm4_requant_fast */
} fs_cm4_out;

/* n sums requantized with fs_cm4_rq_apply (the operator passed fs_cm4_rq_ok); channels ch.. */
__attribute__((noinline, unused)) static void fs_cm4_requant_fast(const fs_cm4_out *q, const int32_t *acc,
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

#define FS_CM4_CHUNK 32

/* out[r * stride] = requantized (w[r] . x + bias[r]) for rows r0 <= r < r0 + n, where row r of
 * the weights starts at w + r * depth (rows relative to w, channels r0.. for bias/multipliers). */
static inline void fs_cm4_matvec(const fs_cm4_out *q, const int8_t *w, const int16_t *x, uint32_t depth,
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
      fs_cm4_requant_run(acc, b, k, q->m, q->s, q->out_offset, q->act_min, q->act_max, out + c0);
    }
  }
}

#endif /* FS_CM4_H */
