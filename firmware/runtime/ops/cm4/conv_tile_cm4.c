/* The pixel-tile kernels of CONV_2D on the Cortex-M4 boards (conv_2d_cm4.c chooses them): one
 * filter row at a time against the columns of up to four output pixels ("slots") at once, so that
 * each weight word is loaded and split by SXTB16 once for four pixels. Per four inputs and four
 * pixels (16 multiply-accumulates): one LDR and two SXTB16 for the weights, two LDM of the
 * expanded columns and eight SMLAD -- 13 instructions, 0.81 per multiply-accumulate, against 1.25
 * for two filter rows against one pixel (fs_cm4_matvec).
 *
 * The columns: each slot's receptive field (kk = kh * kw * in_c inputs, a multiple of 4) as int16
 * 2 * (x + input_offset), padding 0, in SXTB16's split order (fs_cm4.h), interleaved per block of
 * four inputs: block b of slot j is words [b * 2P + 2j] = (x0, x2) and [b * 2P + 2j + 1] =
 * (x1, x3), for P slots. The doubling makes each sum 2 * (bias + dot product), what the
 * requantization multiplies (below), so it costs no instruction per output; |2 (x + o)| <= 510
 * fits int16 and |2 * sum| < 2^31 (fs_cm4_rq_ok's bound).
 *
 * The requantization (exactly fs_cm4_rq_apply, fs_cm4_rq.h) per output, from the doubled sum X:
 *
 *   h = SMMULR(X, m)                 (X m + 2^31) >> 32: fs_cm4_high
 *   v = SMMLAR(h + (X >> 31), S, oo) = oo + floor((h - [X < 0] + 2^(r-1)) / 2^r), S = 2^(32-r)
 *
 * which is RoundingDivideByPOT(h, r) + oo: SMMLAR adds 2^31 and keeps the high word of
 * oo * 2^32 + h' * 2^(32 - r), exact in 64 bits. The reference rounds by the sign of h, this by
 * the sign of X; they differ only when h = 0 > X, and there both give floor((2^(r-1) - 1 or 0) /
 * 2^r) = 0. S must be a positive int32: r >= 2 (prepare checks every channel's shift). Then SSAT
 * #8 is the whole clamp: these kernels take operators whose activation range is all of int8 (no
 * activation, or ReLU / ReLU6 whose output range starts at 0, as TFLite's converter makes them);
 * others keep conv_2d_cm4.c's kernel. Three instructions and SSAT per output, against about 35
 * in fs_cm4_requant_fast's per-channel loop.
 *
 * Per channel the asm reads m and the shift from the operator's multiplier arrays (the lazy ones,
 * made at the end of the scratch as fs_conv_requant_eval makes them, or persistent ones), makes S
 * = 2^31 >> (r - 1) with MVN, MOV, LSR, and reads the bias from the model. The loop over the
 * kk / 4 steps is unrolled 8 times and entered part-way (Duff's device) for the remainder.
 *
 * Scratch: the columns of four pixels, 8 * kk bytes, or of two where that is over the budget
 * (TILE_BUDGET below; fs_conv_2d_cm4_s8's column is 2 * kk, plus kk when gathered), then the lazy
 * multipliers (8 bytes per output channel, as before). Two slots: 8 instructions per 8
 * multiply-accumulates; one (the last pixel of an odd count): 6 per 4. */
#include "../fs_ops.h"
#include "fs_cm4.h"
#include "fs_cm4_asm.h"

/* ---- the asm ------------------------------------------------------------------------------- */

/* Registers in the loop: r0-r3 the slots' sums, r4 the columns, r5 the iterations left, r6-r9
 * column words, r10 the filter row, r11/r12 the weight word split, lr the multipliers. The macros
 * are kept out of clang-format, which folds asm strings unreadably. */
#define AT(field) FS_CM4_AT("sp", fs_cm4_conv_run, field)
// clang-format off

/* Weight word of four inputs, split: r12 = (w0, w2), r11 = (w1, w3). */
#define TILE_W \
    "ldr.w   r11, [r10], #4\n\t" \
    "sxtb16  r12, r11\n\t" \
    "sxtb16  r11, r11, ror #8\n\t"
#define TILE_MAC(A, XA, XB) \
    "smlad   " A ", r12, " XA ", " A "\n\t" \
    "smlad   " A ", r11, " XB ", " A "\n\t"
/* Four slots: 13 instructions, 52 bytes (all 32-bit encodings: the entry arithmetic counts on
 * it, and the asm checks it). */
#define TILE_STEP4 \
    "ldmia.w r4!, {r6, r7, r8, r9}\n\t" TILE_W TILE_MAC("r0", "r6", "r7") TILE_MAC("r1", "r8", "r9") \
    "ldmia.w r4!, {r6, r7, r8, r9}\n\t" TILE_MAC("r2", "r6", "r7") TILE_MAC("r3", "r8", "r9")
/* Two slots: 8 instructions, 32 bytes. */
#define TILE_STEP2 "ldmia.w r4!, {r6, r7, r8, r9}\n\t" TILE_W TILE_MAC("r0", "r6", "r7") TILE_MAC("r1", "r8", "r9")
/* One slot: 6 instructions, 24 bytes. */
#define TILE_STEP1 "ldrd    r6, r7, [r4], #8\n\t" TILE_W TILE_MAC("r0", "r6", "r7")

/* Sum A -> int8 in A: r9 = m, r11 = S, r8 = output offset, r12 scratch. */
#define TILE_RQ(A) \
    "smmulr  r12, " A ", r9\n\t" \
    "add     r12, r12, " A ", asr #31\n\t" \
    "smmlar  " A ", r12, r11, r8\n\t" \
    "ssat    " A ", #8, " A "\n\t"

#define TILE_RQ4 TILE_RQ("r0") TILE_RQ("r1") TILE_RQ("r2") TILE_RQ("r3")
#define TILE_STORE4 \
    "strb    r0, [r4]\n\t" \
    "strb    r1, [r4, r5]\n\t" \
    "strb    r2, [r4, r6]\n\t" \
    "strb    r3, [r4, r7]\n\t"
#define TILE_BIAS4 "mov     r1, r0\n\t" "mov     r2, r0\n\t" "mov     r3, r0\n\t"
#define TILE_RQ2 TILE_RQ("r0") TILE_RQ("r1")
#define TILE_STORE2 "strb    r0, [r4]\n\t" "strb    r1, [r4, r5]\n\t"
#define TILE_BIAS2 "mov     r1, r0\n\t"
#define TILE_RQ1 TILE_RQ("r0")
#define TILE_STORE1 "strb    r0, [r4]\n\t"
#define TILE_BIAS1 ""

/* The kernel: for every output channel (multiplier) the slots' sums start at the doubled bias,
 * take STEP `steps` times, are requantized (RQ) and stored (STORE) at out + step_j; then out moves
 * on by one byte and the filter row pointer is at the next row. The frame: the run's fields from
 * out to entry (40 bytes, read and written through AT()) and 4 bytes that keep sp 8-aligned. */
#define TILE_KERNEL(STEP, STEP_BYTES, RQ, STORE, BIAS) \
    FS_CM4_CONV_RUN_LAYOUT(FS_CM4_ASM_EQU) \
    "push    {r4-r11, lr}\n\t" \
    "sub     sp, sp, #44\n\t" \
    "ldmia   r0!, {r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t" /* out .. x */ \
    "stmia   sp, {r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t" \
    "add     r0, r0, #8\n\t"                                 /* past loops, entry */ \
    "ldmia   r0, {r10, r11, r12}\n\t"                        /* w, mult, steps */ \
    "mov     lr, r11\n\t" \
    "add     r2, r12, #7\n\t" \
    "lsr     r2, r2, #3\n\t" \
    "str     r2, " AT(loops) "\n\t" \
    "rsb     r3, r12, #0\n\t" \
    "and     r3, r3, #7\n\t"                        /* steps the first iteration skips */ \
    "mov     r2, #" #STEP_BYTES "\n\t" \
    "mul     r3, r3, r2\n\t" \
    "adr.w   r2, 1f\n\t" \
    "add     r3, r3, r2\n\t" \
    "orr     r3, r3, #1\n\t"                        /* Thumb state */ \
    "str     r3, " AT(entry) "\n\t" \
    "ldr     r5, " AT(bias) "\n\t" \
    "b       4f\n\t" \
    ".p2align 2\n\t" \
    "1:\n\t" STEP STEP STEP STEP STEP STEP STEP STEP \
    "2:\n\t" \
    ".if (2b - 1b) - 8 * " #STEP_BYTES "\n\t" \
    ".error \"conv tile: an unrolled step is not " #STEP_BYTES " bytes\"\n\t" \
    ".endif\n\t" \
    "subs    r5, r5, #1\n\t" \
    "bne     1b\n\t" \
    "ldmia   sp, {r4, r5, r6, r7, r8, r9}\n\t"      /* out, step1-3, out_offset, shift_off */ \
    "ldr     r11, [lr, r9]\n\t"                     /* shift = -r */ \
    "ldr     r9, [lr], #4\n\t"                      /* m */ \
    "mvn     r11, r11\n\t"                          /* r - 1 */ \
    "mov     r12, #0x80000000\n\t" \
    "lsr     r11, r12, r11\n\t"                     /* S = 2^(32 - r) */ \
    RQ STORE \
    "add     r4, r4, #1\n\t" \
    "str     r4, " AT(out) "\n\t" \
    "ldrd    r5, r6, " AT(bias) "\n\t"              /* bias, mult_end */ \
    "cmp     lr, r6\n\t" \
    "beq     9f\n\t" \
    "4:\n\t" \
    "ldr     r0, [r5], #4\n\t"                      /* the channel's bias, doubled */ \
    "str     r5, " AT(bias) "\n\t" \
    "lsl     r0, r0, #1\n\t" BIAS \
    "ldrd    r4, r5, " AT(x) "\n\t"                 /* x, loops */ \
    "ldr     pc, " AT(entry) "\n\t" \
    "9:\n\t" \
    "add     sp, sp, #44\n\t" \
    "pop     {r4-r11, pc}\n\t"
// clang-format on

/* Four output pixels at out, out + step1, + step2, + step3. */
__attribute__((naked, noinline)) static void fs_cm4_conv_tile4(const fs_cm4_conv_run *run) {
    (void)run;
    __asm volatile(TILE_KERNEL(TILE_STEP4, 52, TILE_RQ4, TILE_STORE4, TILE_BIAS4));
}

/* Two output pixels at out, out + step1. */
__attribute__((naked, noinline)) static void fs_cm4_conv_tile2(const fs_cm4_conv_run *run) {
    (void)run;
    __asm volatile(TILE_KERNEL(TILE_STEP2, 32, TILE_RQ2, TILE_STORE2, TILE_BIAS2));
}

/* One output pixel at out (the steps unused). */
__attribute__((naked, noinline)) static void fs_cm4_conv_tile1(const fs_cm4_conv_run *run) {
    (void)run;
    __asm volatile(TILE_KERNEL(TILE_STEP1, 24, TILE_RQ1, TILE_STORE1, TILE_BIAS1));
}
#undef AT

/* ---- the columns --------------------------------------------------------------------------- */

/* The column bytes of a tile: more slots are fewer instructions, but the columns are the
 * kernel's scratch, arena where the operator is the model's peak (or in a residual block's run,
 * fs_fuse.c, where the block's scratch adds to x). Four or two slots may take 1 KB, or 1/16 of
 * the operator's input and output bytes, or what fs_conv_2d_cm4_s8's column takes (2 * kk, + kk
 * gathered), whichever is most; above that the old kernel runs. The planar depthwise kernel
 * allows a quarter of the tensors (fs_cm4_dw.h). */
#define TILE_BUDGET 1024u
#define TILE_BUDGET_SHARE 16u

/* 2 * (x + offset) for the four int8 at src, into the block's two words of one slot. */
static inline void put_block(uint32_t *d, const int8_t *src, uint32_t off2) {
    const uint32_t a = fs_cm4_ld32(src);
    const uint32_t even = __sxtab16(off2, a), odd = fs_cm4_sxtab16_odd(off2, a);
    d[0] = __sadd16(even, even);
    d[1] = __sadd16(odd, odd);
}

/* `blocks` blocks of one tap for one slot: from src, or zeros (padding). stride: words from one
 * block to the next (2 * slots). */
static void put_tap(uint32_t *d, const int8_t *src, uint32_t blocks, uint32_t stride,
                    uint32_t off2) {
    if (!src) {
        for (uint32_t b = 0; b < blocks; ++b, d += stride) d[0] = d[1] = 0;
        return;
    }
    for (uint32_t b = 0; b < blocks; ++b, d += stride, src += 4) put_block(d, src, off2);
}

/* Element e of slot `slot`'s column: block e / 4, word (e & 1) of the slot's pair, half e & 2. */
static inline void put_element(int16_t *x, uint32_t slots, uint32_t slot, uint32_t e, int32_t v) {
    x[2u * ((e >> 2) * 2u * slots + 2u * slot + (e & 1u)) + ((e >> 1) & 1u)] = (int16_t)v;
}

/* The geometry a column is gathered with. */
typedef struct tile_geom {
    const int8_t *img; /* this batch's input image */
    int32_t in_h, in_w, in_c, k_h, k_w;
    const fs_conv_geom *g;
    int32_t offset; /* input offset */
} tile_geom;

/* Slot `slot` of the columns x (slots wide) for output pixel (oy, ox). */
static void put_column(int16_t *x, uint32_t slots, uint32_t slot, const tile_geom *t, int32_t oy,
                       int32_t ox) {
    const fs_conv_geom *g = t->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const uint32_t c = (uint32_t)t->in_c, stride = 2u * slots;
    const uint32_t off2 = ((uint32_t)t->offset & 0xFFFFu) * 0x10001u;
    /* A filter row whose taps are contiguous in the input and fill whole blocks (k_w * c a
     * multiple of 4, so it starts on a block too) is one run of blocks where it lies inside. */
    const uint32_t run = (uint32_t)t->k_w * c;
    const int row_runs =
        g->dilation_w == 1 && (run & 3u) == 0 && ix0 >= 0 && ix0 + t->k_w <= t->in_w;
    uint32_t pos = 0; /* the tap's first element */
    for (int32_t ky = 0; ky < t->k_h; ++ky) {
        const int32_t iy = iy0 + g->dilation_h * ky;
        if (row_runs) {
            const int8_t *src =
                iy >= 0 && iy < t->in_h ? t->img + ((size_t)iy * t->in_w + ix0) * c : NULL;
            put_tap((uint32_t *)(void *)x + (pos >> 2) * stride + 2u * slot, src, run >> 2, stride,
                    off2);
            pos += run;
            continue;
        }
        for (int32_t kx = 0; kx < t->k_w; ++kx, pos += c) {
            const int32_t ix = ix0 + g->dilation_w * kx;
            const int inside = iy >= 0 && iy < t->in_h && ix >= 0 && ix < t->in_w;
            const int8_t *src = inside ? t->img + ((size_t)iy * t->in_w + ix) * c : NULL;
            if ((c & 3u) == 0) { /* whole blocks: the tap starts one too */
                uint32_t *d = (uint32_t *)(void *)x + (pos >> 2) * stride + 2u * slot;
                put_tap(d, src, c >> 2, stride, off2);
                continue;
            }
            for (uint32_t i = 0; i < c; ++i)
                put_element(x, slots, slot, pos + i, src ? 2 * (src[i] + t->offset) : 0);
        }
    }
}

/* ---- the operator -------------------------------------------------------------------------- */

static uint32_t tile_columns_bytes(uint32_t kk, uint32_t slots) {
    return (2u * slots * kk + 15u) & ~15u;
}

/* Slots per call (4 or 2) within the budget, or 0: fs_conv_2d_cm4_s8 is as good. */
static uint32_t tile_slots(uint32_t kk, uint32_t f_c, uint32_t tensor_bytes) {
    const uint32_t today = 2u * kk + ((f_c & 3u) ? kk : 0u),
                   share = tensor_bytes / TILE_BUDGET_SHARE;
    uint32_t budget = today > TILE_BUDGET ? today : TILE_BUDGET;
    if (share > budget) budget = share;
    return tile_columns_bytes(kk, 4u) <= budget   ? 4u
           : tile_columns_bytes(kk, 2u) <= budget ? 2u
                                                  : 0u;
}

static uint32_t shape_bytes(const fs_shape *s) {
    uint32_t n = 1;
    for (unsigned i = 0; i < s->ndim; ++i) n *= (uint32_t)s->dims[i];
    return n;
}

uint32_t fs_conv_tile_slots(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                            const fs_shape *out, const fs_tensor *bias) {
    const uint32_t kk = (uint32_t)(f->dims[1] * f->dims[2] * f->dims[3]);
    const uint32_t out_c = (uint32_t)out->dims[3];
    if (!p->fast_requant || !bias || f->dims[3] != in->dims[3] || kk == 0 || (kk & 3u)) return 0;
    if (p->act_min != -128 || p->act_max != 127) return 0; /* SSAT is the whole clamp */
    for (uint32_t i = 0; i < out_c; ++i)                   /* S = 2^(32 + shift) a positive int32 */
        if (p->pc_shift[i] > -2) return 0;
    return tile_slots(kk, (uint32_t)f->dims[3], shape_bytes(in) + shape_bytes(out));
}

uint32_t fs_conv_tile_scratch_bytes(const fs_shape *f, uint32_t slots) {
    return tile_columns_bytes((uint32_t)(f->dims[1] * f->dims[2] * f->dims[3]), slots);
}

/* fs_conv_requant_eval with fs_conv_requant_fill_fast (the same numbers, a third of the
 * instructions): the lazy multipliers and shifts into the end of the scratch. Ops that have them
 * already (persistent, or made by a residual block's run) are left as they are. */
static fs_kctx tile_requant(const fs_model *m, const fs_op *op, const fs_kctx *k, uint32_t out_c) {
    fs_conv_params *q = op->data;
    if (!q->requant_lazy) return *k;
    int32_t *mult = (int32_t *)(void *)((uint8_t *)k->scratch + k->scratch_bytes - 8u * out_c);
    const fs_conv_requant r = fs_conv_requant_start(m, op);
    fs_conv_requant_fill_fast(&r, 0, out_c, mult, mult + out_c);
    q->pc_multiplier = mult;
    q->pc_shift = mult + out_c;
    const fs_kctx rest = {k->scratch, k->scratch_bytes - 8u * out_c};
    return rest;
}

fs_status fs_conv_tile_eval(const fs_model *m, const fs_op *op, const fs_kctx *kctx) {
    const fs_conv_params *p = op->data;
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    const int32_t batches = in->shape.dims[0], out_h = out->shape.dims[1];
    const int32_t out_w = out->shape.dims[2], out_c = out->shape.dims[3];
    const uint32_t kk = (uint32_t)(f->shape.dims[1] * f->shape.dims[2] * f->shape.dims[3]);
    const uint32_t lazy = p->requant_lazy ? 8u * (uint32_t)out_c : 0u;
    /* The slots prepare chose, from the scratch it asked for: the shapes may be views of a few
     * rows here (fs_fuse.c), which would give another budget. */
    const uint32_t avail =
        kctx->scratch && kctx->scratch_bytes > lazy ? kctx->scratch_bytes - lazy : 0;
    const uint32_t most = tile_columns_bytes(kk, 4u) <= avail ? 4u : 2u;
    if (!kctx->scratch || avail < tile_columns_bytes(kk, most)) {
        const fs_kctx rest = fs_conv_requant_eval(m, op, kctx); /* a guard, not the selection */
        return fs_conv_2d_run(m, op, &rest);
    }
    const fs_kctx k = tile_requant(m, op, kctx, (uint32_t)out_c);
    int16_t *x = k.scratch;
    const int32_t shift_off =
        (int32_t)((const uint8_t *)p->pc_shift - (const uint8_t *)p->pc_multiplier);
    fs_cm4_conv_run run = {NULL,
                           0,
                           0,
                           0,
                           p->output_offset,
                           shift_off,
                           NULL,
                           p->pc_multiplier + out_c,
                           x,
                           0,
                           0,
                           (const int8_t *)f->data,
                           p->pc_multiplier,
                           kk >> 2};
    tile_geom t = {NULL,
                   in->shape.dims[1],
                   in->shape.dims[2],
                   in->shape.dims[3],
                   f->shape.dims[1],
                   f->shape.dims[2],
                   &p->g,
                   p->input_offset};
    const int32_t pixels = out_h * out_w;
    const fs_conv_geom *g = &p->g;
    const int pointwise = t.k_h == 1 && t.k_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
                          g->pad_h == 0 && g->pad_w == 0 && (t.in_c & 3) == 0 && out_h == t.in_h &&
                          out_w == t.in_w;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    for (int32_t b = 0; b < batches; ++b) {
        t.img = (const int8_t *)in->data + (size_t)b * t.in_h * t.in_w * t.in_c;
        int8_t *o = (int8_t *)out->data + (size_t)b * pixels * out_c;
        for (int32_t q = 0; q < pixels;) {
            const uint32_t left = (uint32_t)(pixels - q);
            const uint32_t slots = left >= most ? most : left >= 2u ? 2u : 1u;
            for (uint32_t j = 0; j < slots; ++j) {
                const int32_t px = q + (int32_t)j;
                if (pointwise) /* the column is the pixel's channels: no geometry */
                    put_tap((uint32_t *)(void *)x + 2u * j, t.img + (size_t)px * t.in_c,
                            (uint32_t)t.in_c >> 2, 2u * slots, off2);
                else
                    put_column(x, slots, j, &t, px / out_w, px % out_w);
            }
            run.out = o + (size_t)q * out_c;
            run.step1 = out_c;
            run.step2 = 2 * out_c;
            run.step3 = 3 * out_c;
            run.bias = bias->data;
            if (slots == 4u)
                fs_cm4_conv_tile4(&run);
            else if (slots == 2u)
                fs_cm4_conv_tile2(&run);
            else
                fs_cm4_conv_tile1(&run);
            q += (int32_t)slots;
        }
    }
    return FS_OK;
}
