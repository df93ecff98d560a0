/* DEPTHWISE_CONV_2D on the Cortex-M4 boards (KERNELS=cm4; fs_ops.c registers
 * fs_depthwise_conv_2d_cm4_prepare/_eval there): the same results as fs_depthwise_conv_2d_s8
 * (ops/depthwise_conv_2d.c), byte for byte.
 *
 * Depth multiplier 1 (input channel c feeds output channel c only): four channels at a time,
 * one word of input and one of weights per filter tap, both NHWC / [1][kh][kw][ch] so the four
 * channels are adjacent. SXTAB16 sign-extends the input bytes and adds the input offset in one
 * instruction (channels 0 and 2, then with ROR #8 channels 1 and 3), SXTB16 the weights, and
 * SMLABB / SMLATT multiply-accumulate the bottom and top halves into four per-channel sums.
 * Taps in the padding are skipped, as in the reference. Other depth multipliers keep the
 * reference kernel: prepare leaves FS_KERNEL_REF for them. The sums of one pixel go to scratch
 * (4 bytes per channel) and are requantized in one loop (fs_cm4_requant_pc). No copy of the
 * weights. Prepare picks, in this order, the global kernel (one filter row spanning the input
 * row: dw_global_cm4.c), the planar kernel (3 taps along an axis: fs_cm4_dw.h), this one. */
#include "../fs_ops.h"
#include "fs_cm4.h"
#include "fs_cm4_dw.h"

static void dw_cm4(int32_t *acc, const fs_conv_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                   const fs_shape *out_shape, int8_t *out) {
    const int32_t batches = in_shape->dims[0], in_h = in_shape->dims[1], in_w = in_shape->dims[2];
    const int32_t ch = in_shape->dims[3];
    const int32_t out_h = out_shape->dims[1], out_w = out_shape->dims[2];
    const int32_t k_h = f_shape->dims[1], k_w = f_shape->dims[2];
    const fs_conv_geom *g = &p->g;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    const int32_t row_step = g->dilation_h * in_w * ch, col_step = g->dilation_w * ch;
    const int32_t tap_row = k_w * ch;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *img = in + (size_t)b * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            /* Filter rows inside the image: ky in [ky0, ky1). */
            int32_t ky0 = 0, ky1 = k_h;
            while (ky0 < k_h && iy0 + g->dilation_h * ky0 < 0) ++ky0;
            while (ky1 > ky0 && iy0 + g->dilation_h * (ky1 - 1) >= in_h) --ky1;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                int32_t kx0 = 0, kx1 = k_w;
                while (kx0 < k_w && ix0 + g->dilation_w * kx0 < 0) ++kx0;
                while (kx1 > kx0 && ix0 + g->dilation_w * (kx1 - 1) >= in_w) --kx1;
                int8_t *o = out + (((size_t)b * out_h + oy) * out_w + ox) * ch;
                /* First tap inside the image, for channel 0. */
                const int8_t *x00 =
                    img +
                    ((size_t)(iy0 + g->dilation_h * ky0) * in_w + (ix0 + g->dilation_w * kx0)) * ch;
                const int8_t *w00 = f + ((size_t)ky0 * k_w + kx0) * ch;
                int32_t c = 0;
                for (; c + 4 <= ch; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    const int8_t *xr = x00 + c, *wr = w00 + c;
                    for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step, wr += tap_row) {
                        const int8_t *xp = xr, *wp = wr;
                        for (int32_t kx = kx0; kx < kx1; ++kx, xp += col_step, wp += ch) {
                            const uint32_t xv = fs_cm4_ld32(xp), wv = fs_cm4_ld32(wp);
                            const uint32_t x02 = __sxtab16(off2, xv),
                                           x13 = fs_cm4_sxtab16_odd(off2, xv);
                            const uint32_t w02 = __sxtb16(wv), w13 = fs_cm4_sxtb16_odd(wv);
                            a0 = __smlabb(w02, x02, a0);
                            a2 = __smlatt(w02, x02, a2);
                            a1 = __smlabb(w13, x13, a1);
                            a3 = __smlatt(w13, x13, a3);
                        }
                    }
                    acc[c] = a0;
                    acc[c + 1] = a1;
                    acc[c + 2] = a2;
                    acc[c + 3] = a3;
                }
                for (; c < ch; ++c) {
                    int32_t a = 0;
                    const int8_t *xr = x00 + c, *wr = w00 + c;
                    for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step, wr += tap_row) {
                        const int8_t *xp = xr, *wp = wr;
                        for (int32_t kx = kx0; kx < kx1; ++kx, xp += col_step, wp += ch)
                            a += *wp * (*xp + p->input_offset);
                    }
                    acc[c] = a;
                }
                fs_cm4_requant_pc(acc, bias, (uint32_t)ch, p->pc_multiplier, p->pc_shift,
                                  p->output_offset, p->act_min, p->act_max, o);
            }
        }
    }
}

fs_status fs_depthwise_conv_2d_cm4_prepare(fs_prep *p) {
    const fs_status s = fs_depthwise_conv_2d_prepare(p);
    if (s != FS_OK) return s;
    fs_conv_params *q = p->op->data;
    const fs_tensor *in = fs_op_in(p->m, p->op, 0), *f = fs_op_in(p->m, p->op, 1);
    const fs_tensor *bias = fs_op_in(p->m, p->op, 2), *out = fs_op_out(p->m, p->op, 0);
    if (q->depth_multiplier != 1) return FS_OK;
    q->fast_requant = (uint8_t)fs_cm4_rq_ok(q->pc_shift, 0, (uint32_t)out->shape.dims[3], bias,
                                            (uint32_t)(f->shape.dims[1] * f->shape.dims[2]));
    fs_cm4_dw_plan plan;
    /* In place: the planar kernel copies four channels' rows into its planes before it writes
     * those channels, so with one band (all output rows) it may write over its input with no
     * temp; the reference kernel's channel-by-channel path (which the ref prepare offered) is
     * not used here, and the pixel-major kernel reads every channel of a pixel. */
    p->op->inplace = 0;
    p->op->inplace_bytes = 0;
    if (fs_cm4_dw_global_ok(q, &in->shape, &f->shape, &out->shape)) {
        q->kernel = FS_KERNEL_CM4_DW_GLOBAL; /* no scratch: multipliers 4 at a time, as below */
        p->op->scratch_bytes = 0;
        return FS_OK;
    }
    if (fs_cm4_dw_plan_make(q, &in->shape, &f->shape, &out->shape, &plan)) {
        q->kernel = FS_KERNEL_CM4_PLANE; /* its eval computes the multipliers 4 at a time */
        p->op->scratch_bytes = fs_cm4_dw_scratch_bytes(&plan);
        if (plan.band == plan.v.out && in->shape.dims[0] == 1) fs_offer_inplace(p->op, 0);
        return FS_OK;
    }
    q->kernel = FS_KERNEL_CM4;
    p->op->scratch_bytes = 4u * (uint32_t)out->shape.dims[3];
    fs_conv_requant_reserve(p);
    return FS_OK;
}

/* The DSP kernel's eval. Kept out of line (noipa: compiled like the externally called function
 * it was before issue 14) so that the dispatch below leaves its code, and `make perf`, as they
 * were. It is only called when prepare chose FS_KERNEL_CM4, which always asks for scratch; the
 * scratch test is a guard, not the selection. */
__attribute__((noipa)) static fs_status eval_cm4(const fs_model *m, const fs_op *op,
                                                 const fs_kctx *k) {
    const fs_conv_params *p = op->data;
    if (!k->scratch) return fs_depthwise_conv_2d_run(m, op, k);
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    dw_cm4(k->scratch, p, &in->shape, (const int8_t *)in->data, &f->shape, (const int8_t *)f->data,
           bias ? bias->data : NULL, &out->shape, (int8_t *)out->data);
    return FS_OK;
}

/* The multipliers and shifts of channels c0 .. c0 + n - 1 (n <= 4), from the op's arrays, or
 * (requant_lazy) from a block of DW_RQ_BLOCK channels that this fills when c0 starts one:
 * one call of fs_conv_requant_fill_fast per 16 channels instead of per 4, on 128 bytes of
 * stack. Callers step c0 by 4 from 0. */
#define DW_RQ_BLOCK 16

typedef struct dw_rq_block {
    fs_conv_requant rq;
    int32_t mult[DW_RQ_BLOCK], shift[DW_RQ_BLOCK];
} dw_rq_block;

static void dw_rq_channels(const fs_conv_params *p, dw_rq_block *blk, int32_t c0, int32_t ch,
                           const int32_t **mult, const int32_t **shift) {
    if (!p->requant_lazy) {
        *mult = p->pc_multiplier + c0;
        *shift = p->pc_shift + c0;
        return;
    }
    const int32_t at = c0 % DW_RQ_BLOCK;
    if (at == 0) {
        const int32_t n = ch - c0 < DW_RQ_BLOCK ? ch - c0 : DW_RQ_BLOCK;
        fs_conv_requant_fill_fast(&blk->rq, (uint32_t)c0, (uint32_t)n, blk->mult, blk->shift);
    }
    *mult = blk->mult + at;
    *shift = blk->shift + at;
}

/* The planar kernel's eval: the plan again from the shapes (prepare found it valid), then
 * four channels per call, whose multipliers and shifts are computed here when they are not
 * persistent (requant_lazy, fs_ops.h): 32 bytes of stack instead of 8 bytes per channel of
 * scratch. The kernel does four channels at a time anyway, so the outputs are the same. */
static fs_status eval_plane(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_conv_params *p = op->data;
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    fs_cm4_dw_plan plan;
    if (!k->scratch || !fs_cm4_dw_plan_make(p, &in->shape, &f->shape, &out->shape, &plan) ||
        k->scratch_bytes < fs_cm4_dw_scratch_bytes(&plan))
        return FS_ERR_ARENA; /* cannot happen: prepare made this plan and asked for its scratch */
    const int32_t ch = in->shape.dims[3];
    const size_t image = (size_t)in->shape.dims[1] * in->shape.dims[2] * ch;
    const size_t out_image = (size_t)out->shape.dims[1] * out->shape.dims[2] * ch;
    dw_rq_block blk;
    if (p->requant_lazy) blk.rq = fs_conv_requant_start(m, op);
    fs_conv_params one = *p;
    for (int32_t b = 0; b < in->shape.dims[0]; ++b) {
        for (int32_t c0 = 0; c0 < ch; c0 += 4) {
            const int32_t n = ch - c0 < 4 ? ch - c0 : 4;
            dw_rq_channels(p, &blk, c0, ch, &one.pc_multiplier, &one.pc_shift);
            fs_cm4_dw_plane(k->scratch, &plan, &one, 1, n,
                            (const int8_t *)in->data + b * image + c0, (const int8_t *)f->data + c0,
                            bias ? bias->data + 4u * (uint32_t)c0 : NULL,
                            (int8_t *)out->data + b * out_image + c0);
        }
    }
    return FS_OK;
}

/* The global kernel's eval (fs_cm4_dw.h), four channels per call, with their multipliers and
 * shifts computed here when they are not persistent (as eval_plane). */
static fs_status eval_global(const fs_model *m, const fs_op *op) {
    const fs_conv_params *p = op->data;
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    const int32_t ch = in->shape.dims[3];
    dw_rq_block blk;
    if (p->requant_lazy) blk.rq = fs_conv_requant_start(m, op);
    for (int32_t c0 = 0; c0 < ch; c0 += 4) {
        const int32_t n = ch - c0 < 4 ? ch - c0 : 4;
        const int32_t *pm, *ps;
        dw_rq_channels(p, &blk, c0, ch, &pm, &ps);
        fs_cm4_dw_global(p, &in->shape, (const int8_t *)in->data, &f->shape,
                         (const int8_t *)f->data, bias ? bias->data : NULL, pm, ps, c0, n,
                         &out->shape, (int8_t *)out->data);
    }
    return FS_OK;
}

fs_status fs_depthwise_conv_2d_cm4_eval(const fs_model *m, const fs_op *op, const fs_kctx *kctx) {
    const fs_conv_params *p = op->data;
    if (p->kernel == FS_KERNEL_CM4_PLANE) return eval_plane(m, op, kctx);
    if (p->kernel == FS_KERNEL_CM4_DW_GLOBAL) return eval_global(m, op);
    const fs_kctx rest = fs_conv_requant_eval(m, op, kctx), *k = &rest;
    return p->kernel == FS_KERNEL_CM4 ? eval_cm4(m, op, k) : fs_depthwise_conv_2d_run(m, op, k);
}
