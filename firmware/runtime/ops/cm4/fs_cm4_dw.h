/* The planar DEPTHWISE_CONV_2D kernel of the Cortex-M4 boards (dw_plane_cm4.c), for depth
 * multiplier 1, dilation 1 and a filter 3 taps wide along one image axis (kws's and the cls
 * model's 3x3, stride 1 or 2), whose operator passed fs_cm4_rq_ok.
 *
 * Why planar: a depthwise output has only kh * kw multiply-accumulates (9), so what it costs
 * besides them decides the speed. Read pixel by pixel (NHWC), every tap costs a load, a sign
 * extension and a multiply per channel. Here four channels at a time are copied once into four
 * int16 planes with the input offset added and the padding as zeros (SXTAB16 and PKHBT/PKHTB:
 * 17 instructions per two pixels of four channels, in whole words: the odd pixels at a row's
 * ends are packed with their zero, zero rows are STRDs), and then each channel is a small 2-D
 * convolution whose neighbouring outputs share their input words. Along the paired axis U,
 * with words I_j = (p[2j], p[2j+1]) of a plane row and per filter row the weight words
 * A = (w0, w1), B = (w1, w2), C = (w2, w0):
 *
 *   stride 1:  out[2j]   += SMLAD(A, I_j) + SMLABB(C, I_j+1)    (w0 p0 + w1 p1 + w2 p2)
 *              out[2j+1] += SMLAD(B, I_j+1) + SMLATT(C, I_j)    (w1 p2 + w2 p3 + w0 p1)
 *   stride 2:  out[j]    += SMLAD(A, I_j) + SMLABB(C, I_j+1)
 *
 * one multiply instruction per 1.5 MACs and one load per 3 (stride 1). The axis with more
 * outputs is U when the filter is 3 taps along it (kws's 25x5 maps run along y), so that the
 * rows are long. The weights and the bias are doubled, so the sums are 2x, which
 * fs_cm4_rq_apply's SMMULR wants (no LSL per output); the asm (fs_cm4_dw_rows_s1/_s2) does
 * every output row of a channel in one call.
 *
 * Scratch: the planes hold a band of output rows at a time (their input rows: (band - 1) *
 * stride + taps), as many as fit in a quarter of the operator's input and output bytes (at
 * least 768 bytes, at least one row): the planes cost little arena, at the price of copying
 * the rows shared by two bands twice. */
#ifndef FS_CM4_DW_H
#define FS_CM4_DW_H

#include <stdint.h>

#include "../fs_ops.h"

/* One image axis as the planar kernel sees it. */
typedef struct fs_cm4_dw_axis {
    int32_t out, in, stride, pad, taps; /* outputs, inputs, stride, leading padding, filter taps */
    int32_t in_step, out_step;          /* bytes between neighbours in the input / output tensor */
    int32_t w_step;                     /* bytes between neighbouring taps in the filter */
} fs_cm4_dw_axis;

typedef struct fs_cm4_dw_plan {
    fs_cm4_dw_axis u, v; /* u: the paired axis (3 taps); v: the other */
    int32_t pitch;       /* int16 per plane row: even, >= (u.out - 1) * u.stride + 4 */
    int32_t band;        /* output rows per filling of the planes */
    int32_t rows;        /* plane rows: (band - 1) * v.stride + v.taps */
    int32_t planes;      /* channels per filling: min(4, channels) */
    int32_t mult;        /* output channels per input channel: 1, or all of them (the stem) */
    int32_t fc;          /* filter bytes from one output channel to the next */
} fs_cm4_dw_plan;

/* The plan for this operator's shapes, or 0 if the planar kernel does not serve them. */
int fs_cm4_dw_plan_make(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out, fs_cm4_dw_plan *plan);

/* The same for a CONV_2D with one input channel (a stem: the cls model's first layer), which
 * is a depthwise convolution whose one input channel feeds every output channel. */
int fs_cm4_dw_plan_stem(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out, fs_cm4_dw_plan *plan);

/* Scratch bytes of the plan: the planes and the weight words of one channel (after the
 * planes: the asm's last group of a row reads up to 12 bytes past the last plane row's
 * pitch, into them; those words only reach outputs that are not stored). */
uint32_t fs_cm4_dw_scratch_bytes(const fs_cm4_dw_plan *plan);

/* channels: input channels (the output has channels * plan->mult). */
void fs_cm4_dw_plane(void *scratch, const fs_cm4_dw_plan *plan, const fs_conv_params *p,
                     int32_t batches, int32_t channels, const int8_t *in, const int8_t *f,
                     const uint8_t *bias, int8_t *out);

/* The assembly loops (dw_plane_asm_cm4.c) for three filter rows: every output row of one
 * channel in the band, four outputs at a time along the plane row and a last group of 1-3,
 * SSAT #8 as the clamp (full int8 activation range; other ranges take the C loop). The sums are
 * doubled (weights and bias doubled, so fs_cm4_rq_apply's LSL #1 goes), and the
 * requantization is four instructions: SMMLAR adds k to the rounded high word, then the sign
 * correction (the sum's sign: where it and the high word's differ, the high word is 0 and the
 * correction changes nothing, since k >> r and (k - 1) >> r agree for r >= 1), ASR, SSAT.
 * The asm copies the run onto its stack and reads it there (offsets: FS_CM4_DW_RUN_LAYOUT in
 * dw_plane_asm_cm4.c, checked against this struct). */
typedef struct fs_cm4_dw_run {
    int32_t m, k, r;      /* fs_cm4_rq of the channel */
    int8_t *out;          /* the asm's running output pointer (set per row) */
    int32_t ostep;        /* bytes between neighbouring outputs along the plane row */
    const uint32_t *end;  /* the asm's end of the row's pairs of groups (set per row) */
    int32_t bias;         /* the doubled bias */
    const uint32_t *w;    /* 3 x (A, C, B), doubled */
    int32_t pitch;        /* bytes from one plane row to the next */
    int32_t pair_bytes;   /* plane row bytes of the row's pairs of whole groups */
    int32_t tail;         /* outputs after the whole groups: 0..3 */
    int32_t rest;         /* tail << 1 | groups & 1: 0 if the pairs are the whole row */
    int8_t *out_row;      /* first output of the first row */
    const uint32_t *row;  /* plane row of the first filter row for the first output row */
    int32_t out_row_step; /* bytes from one output row to the next */
    int32_t row_step;     /* bytes from one output row's plane row to the next's */
    int8_t *out_end;      /* out_row after the last row */
    int32_t groups;       /* whole groups of four outputs per row (may be 0; the C loop's) */
    int32_t rows;         /* output rows, > 0 (the C loop's) */
} fs_cm4_dw_run;

void fs_cm4_dw_rows_s1(const fs_cm4_dw_run *run);
void fs_cm4_dw_rows_s2(const fs_cm4_dw_run *run);

/* The 'global' depthwise kernel (dw_global_cm4.c): depth multiplier 1, one filter row, one
 * output pixel per row, no padding, at most FS_CM4_DW_GLOBAL_MAX_TAPS taps (its weights of four
 * channels live on the stack, 8 bytes per tap), an operator that passed fs_cm4_rq_ok; its
 * kernel id is fs_ops.h's FS_KERNEL_CM4_DW_GLOBAL. */
#define FS_CM4_DW_GLOBAL_MAX_TAPS 32

int fs_cm4_dw_global_ok(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out);

/* Output channels c0 .. c0 + n - 1 (n <= 4) of every output row; mult, shift: theirs. */
void fs_cm4_dw_global(const fs_conv_params *p, const fs_shape *in_shape, const int8_t *in,
                      const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                      const int32_t *mult, const int32_t *shift, int32_t c0, int32_t n,
                      const fs_shape *out_shape, int8_t *out);

#endif /* FS_CM4_DW_H */
