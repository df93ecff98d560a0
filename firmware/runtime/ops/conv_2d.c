/* CONV_2D, int8 NHWC with per-channel (or per-tensor) int8 weights
 * [out_ch, kh, kw, in_ch / groups] and int32 bias. Arithmetic of TFLM's
 * reference ConvPerChannel: padding positions are skipped (they contribute
 * zero after the input offset), acc requantized per output channel. */
#include <string.h>

#include "../fs_quant.h"
#include "fs_ops.h"

static fs_status fs_conv_2d_channels(fs_prep *p, fs_conv_params *q, const fs_tensor *in,
                                     const fs_tensor *f, const fs_tensor *out) {
    (void)q;
    const int32_t in_c = in->shape.dims[3], f_c = f->shape.dims[3], out_c = out->shape.dims[3];
    /* Grouped convolution: in_c = groups * f_c, out_c a multiple of groups. */
    if (f->shape.dims[0] != out_c || in_c % f_c != 0 || out_c % (in_c / f_c) != 0)
        return fs_op_fail(p, FS_ERR_SHAPE, "channels in %d, filter %d, out %d", in_c, f_c, out_c);
    if ((int64_t)f->shape.dims[1] * f->shape.dims[2] * f_c > FS_MAX_ACCUM_TERMS)
        return fs_op_fail(p, FS_ERR_LIMIT, "filter too large");
    return FS_OK;
}

void fs_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                   const fs_shape *out_shape, int8_t *out) {
    (void)k;
    const int32_t batches = in_shape->dims[0], in_h = in_shape->dims[1], in_w = in_shape->dims[2];
    const int32_t in_c = in_shape->dims[3];
    const int32_t out_h = out_shape->dims[1], out_w = out_shape->dims[2],
                  out_c = out_shape->dims[3];
    const int32_t k_h = f_shape->dims[1], k_w = f_shape->dims[2], f_c = f_shape->dims[3];
    const int32_t per_group = out_c / (in_c / f_c);
    const fs_conv_geom *g = &p->g;
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t group_base = (oc / per_group) * f_c;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = iy0 + g->dilation_h * ky;
                        if (iy < 0 || iy >= in_h) continue;
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = ix0 + g->dilation_w * kx;
                            if (ix < 0 || ix >= in_w) continue;
                            const int8_t *x =
                                in + (((size_t)b * in_h + iy) * in_w + ix) * in_c + group_base;
                            const int8_t *w = f + (((size_t)oc * k_h + ky) * k_w + kx) * f_c;
                            for (int32_t c = 0; c < f_c; ++c)
                                acc += w[c] * (x[c] + p->input_offset);
                        }
                    }
                    if (bias)
                        acc = fs_add_wrap(
                            acc, fs_ld_i32(bias +
                                           4u * (uint32_t)oc)); /* wraps as TFLM's int32 add does */
                    acc = fs_mbqm(acc, p->pc_multiplier[oc], p->pc_shift[oc]) + p->output_offset;
                    out[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
                        (int8_t)fs_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* A pointwise convolution (1x1 filter, stride 1, no padding, one group) with no more output
 * than input channels can write its output over its input: output pixel i ends before input
 * pixel i + 1 starts. The reference kernel reads input pixel i again for every output channel,
 * so the eval copies a block of pixels to the temp first and runs the kernel on it as a 1 x n
 * image (pixels are independent: the same bytes). */
#define FS_CONV_INPLACE_BLOCK 256u /* temp bytes: pixels per block = this / input channels */

int fs_conv_2d_pointwise_inplace_ok(const fs_conv_params *q, const fs_tensor *in,
                                    const fs_tensor *f, const fs_tensor *out) {
    const fs_conv_geom *g = &q->g;
    return f->shape.dims[1] == 1 && f->shape.dims[2] == 1 &&
           f->shape.dims[3] == in->shape.dims[3] && g->stride_h == 1 && g->stride_w == 1 &&
           g->pad_h == 0 && g->pad_w == 0 && out->shape.dims[1] == in->shape.dims[1] &&
           out->shape.dims[2] == in->shape.dims[2] && out->shape.dims[0] == in->shape.dims[0] &&
           out->shape.dims[3] <= in->shape.dims[3];
}

static int32_t fs_conv_inplace_block(int32_t in_c) {
    const int32_t n = (int32_t)FS_CONV_INPLACE_BLOCK / in_c;
    return n > 0 ? n : 1;
}

static void fs_conv_inplace(const fs_kctx *k, int8_t *temp, const fs_conv_params *p,
                            const fs_tensor *in, const fs_tensor *f, const uint8_t *bias,
                            const fs_tensor *out) {
    const int32_t in_c = in->shape.dims[3], out_c = out->shape.dims[3];
    const int64_t pixels = fs_shape_count(&in->shape) / in_c;
    const int32_t block = fs_conv_inplace_block(in_c);
    int8_t *data = (int8_t *)out->data; /* == in->data */
    for (int64_t i = 0; i < pixels; i += block) {
        const int32_t n = pixels - i < block ? (int32_t)(pixels - i) : block;
        int32_t in_d[4] = {1, 1, n, in_c}, out_d[4] = {1, 1, n, out_c};
        const fs_shape in1 = {in_d, 4}, out1 = {out_d, 4};
        memcpy(temp, data + i * in_c, (size_t)n * in_c);
        fs_conv_2d_s8(k, p, &in1, temp, &f->shape, (const int8_t *)f->data, bias, &out1,
                      data + i * out_c);
    }
}

fs_status fs_conv_2d_prepare(fs_prep *p) {
    const fs_status s = fs_conv_prepare_common(p, 0, fs_conv_2d_channels);
    if (s != FS_OK) return s;
    const fs_tensor *in = fs_op_in(p->m, p->op, 0), *f = fs_op_in(p->m, p->op, 1);
    if (fs_conv_2d_pointwise_inplace_ok(p->op->data, in, f, fs_op_out(p->m, p->op, 0))) {
        const int32_t in_c = in->shape.dims[3];
        const int64_t pixels = fs_shape_count(&in->shape) / in_c;
        const int32_t block = fs_conv_inplace_block(in_c);
        const int64_t bytes = (int64_t)(pixels < block ? pixels : block) * in_c;
        if (bytes <= 0xffff) fs_offer_inplace(p->op, (uint32_t)bytes);
    }
    return FS_OK;
}

fs_status fs_conv_2d_run(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    if ((op->inplace & FS_INPLACE_CHOSEN) && op->inplace_bytes) {
        uint8_t *temp;
        const fs_kctx rest = fs_inplace_split(op, k, &temp);
        fs_conv_inplace(&rest, (int8_t *)temp, op->data, in, f, bias ? bias->data : NULL, out);
        return FS_OK;
    }
    fs_conv_2d_s8(k, op->data, &in->shape, (const int8_t *)in->data, &f->shape,
                  (const int8_t *)f->data, bias ? bias->data : NULL, &out->shape,
                  (int8_t *)out->data);
    return FS_OK;
}

fs_status fs_conv_2d_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_kctx rest = fs_conv_requant_eval(m, op, k);
    return fs_conv_2d_run(m, op, &rest);
}
