/* Building blocks of the Cortex-M4 DSP kernels (ops/cm4/<op>_cm4.c), written for this runtime
 * from the ARMv7-M architecture manual and ACLE (arm_acle.h of arm-none-eabi-gcc). Declarations
 * only; fs_cm4_expand.c expands activations, fs_cm4.c multiplies them with weight rows and
 * requantizes the sums, fs_cm4_rq.c proves the short requantization's conditions at prepare.
 * The one-instruction helpers the kernels' own loops inline are in fs_cm4_intrin.h, the short
 * requantization in fs_cm4_rq.h (both included here).
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

#include <stdint.h>

#include "../fs_ops.h"
#include "fs_cm4_intrin.h"
#include "fs_cm4_rq.h"

/* Bytes of the expanded form of n activations (a multiple of 4, for word access). */
uint32_t fs_cm4_expanded_bytes(uint32_t n);

/* src[0..n) + offset into dst in the split order described above. dst is 4-byte aligned. */
void fs_cm4_expand(int16_t *dst, const int8_t *src, uint32_t n, int32_t offset);

/* n copies of the zero point, expanded (0 after the offset): padding of a convolution. */
void fs_cm4_expand_zero(int16_t *dst, uint32_t n);

/* How sums become int8 outputs: bias, per-channel (mult/shift arrays) or per-tensor (m, s)
 * requantization, output offset, activation clamp. */
typedef struct fs_cm4_out {
    const uint8_t *bias;         /* int32 per row, any alignment; NULL: none */
    const int32_t *mult, *shift; /* per row, or NULL: m and s for all */
    int32_t m, s;
    int32_t out_offset, act_min, act_max;
    int fast; /* fs_cm4_rq_ok held at prepare: the short requantization (fs_cm4_rq.h) */
} fs_cm4_out;

/* out[r] = requantized (w[r] . x + bias[r]) for rows r0 <= r < r0 + n, where row r of the
 * weights starts at w + (r - r0) * depth (rows relative to w, channels r0.. for the bias and
 * the multipliers). x: depth activations expanded by fs_cm4_expand. Per 16 inputs and 2 rows
 * 40 instructions (1.25 per multiply-accumulate) when the rows are word-aligned, else 44. */
void fs_cm4_matvec(const fs_cm4_out *q, const int8_t *w, const int16_t *x, uint32_t depth,
                   uint32_t r0, uint32_t n, int8_t *out);

/* n sums with one multiplier and shift each (per-channel quantization), exactly fs_mbqm
 * (fs_quant.h) + out_offset, clamped; bias may be NULL. */
void fs_cm4_requant_pc(const int32_t *acc, const uint8_t *bias, uint32_t n, const int32_t *mult,
                       const int32_t *shift, int32_t out_offset, int32_t act_min, int32_t act_max,
                       int8_t *out);

/* CONV_2D's pixel-tile kernels (conv_tile_cm4.c), chosen by conv_2d_cm4.c's prepare as
 * FS_KERNEL_CM4_TILE. fs_conv_tile_slots: the pixels per call (4 or 2) if they serve the operator
 * (the short requantization with every right shift >= 2, the activation range all of int8, a
 * bias, one group, kk = kh * kw * in_c a multiple of 4, the columns within the budget), else 0;
 * fs_conv_tile_scratch_bytes: those columns (2 * kk bytes per pixel; the lazy multipliers come
 * after them, fs_conv_requant_reserve); the eval is the whole of it, multipliers too. */
uint32_t fs_conv_tile_slots(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                            const fs_shape *out, const fs_tensor *bias);
uint32_t fs_conv_tile_scratch_bytes(const fs_shape *f, uint32_t slots);
fs_status fs_conv_tile_eval(const fs_model *m, const fs_op *op, const fs_kctx *k);

#endif /* FS_CM4_H */
