/* DEPTHWISE_CONV_2D, int8 NHWC, per-channel int8 weights [1, kh, kw, out_ch]
 * with out_ch = in_ch * depth_multiplier, int32 bias. Arithmetic of TFLM's
 * reference DepthwiseConvPerChannel: output channel oc = ic * dm + m reads
 * input channel ic only. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

static fs_status fs_depthwise_channels(fs_prep *p, fs_conv_params *q, const fs_tensor *in,
                                       const fs_tensor *f, const fs_tensor *out) {
    const int32_t in_c = in->shape.dims[3], out_c = out->shape.dims[3];
    /* TFLM's kernel trusts the option; insist that it matches the shapes. */
    q->depth_multiplier = fs_opt_i32(p, FS_DW_DEPTH_MULTIPLIER, 0);
    if (f->shape.dims[0] != 1 || f->shape.dims[3] != out_c || q->depth_multiplier < 1 ||
        (int64_t)in_c * q->depth_multiplier != out_c)
        return fs_op_fail(p, FS_ERR_SHAPE, "channels in %d, out %d, multiplier %d", in_c, out_c,
                          q->depth_multiplier);
    if ((int64_t)f->shape.dims[1] * f->shape.dims[2] > FS_MAX_ACCUM_TERMS)
        return fs_op_fail(p, FS_ERR_LIMIT, "filter too large");
    return FS_OK;
}

void fs_depthwise_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                             const int8_t *in, const fs_shape *f_shape, const int8_t *f,
                             const uint8_t *bias, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    const int32_t batches = in_shape->dims[0], in_h = in_shape->dims[1], in_w = in_shape->dims[2];
    const int32_t in_c = in_shape->dims[3];
    const int32_t out_h = out_shape->dims[1], out_w = out_shape->dims[2],
                  out_c = out_shape->dims[3];
    const int32_t k_h = f_shape->dims[1], k_w = f_shape->dims[2];
    const int32_t dm = p->depth_multiplier;
    const fs_conv_geom *g = &p->g;
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t mi = 0; mi < dm; ++mi) {
                        const int32_t oc = ic * dm + mi;
                        int32_t acc = 0;
                        for (int32_t ky = 0; ky < k_h; ++ky) {
                            const int32_t iy = iy0 + g->dilation_h * ky;
                            if (iy < 0 || iy >= in_h) continue;
                            for (int32_t kx = 0; kx < k_w; ++kx) {
                                const int32_t ix = ix0 + g->dilation_w * kx;
                                if (ix < 0 || ix >= in_w) continue;
                                const int32_t x =
                                    in[(((size_t)b * in_h + iy) * in_w + ix) * in_c + ic];
                                const int32_t w = f[((size_t)ky * k_w + kx) * out_c + oc];
                                acc += w * (x + p->input_offset);
                            }
                        }
                        if (bias)
                            acc = fs_add_wrap(
                                acc,
                                fs_ld_i32(bias +
                                          4u * (uint32_t)oc)); /* wraps as TFLM's int32 add does */
                        acc =
                            fs_mbqm(acc, p->pc_multiplier[oc], p->pc_shift[oc]) + p->output_offset;
                        out[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
                            (int8_t)fs_clamp(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/* In place (depth multiplier 1, one image), channel by channel as MIT TinyEngine does: the
 * input plane of channel c is copied to the temp, the kernel computes output channel c from it
 * as a one-channel image (same arithmetic, so the same bytes), and the plane is written over
 * input channel c's positions. Output pixel p channel c lands on input pixel p channel c, which
 * is already copied, for any stride; no other channel is touched. Temp: the input plane, the
 * channel's filter taps and the output plane. */
static uint32_t fs_dw_inplace_bytes(int32_t in_pixels, int32_t taps, int32_t out_pixels) {
    return (((uint32_t)in_pixels + 3u) & ~3u) + (((uint32_t)taps + 3u) & ~3u) +
           (((uint32_t)out_pixels + 3u) & ~3u);
}

static void fs_dw_inplace(const fs_kctx *k, uint8_t *temp, const fs_conv_params *p,
                          const fs_tensor *in, const fs_tensor *f, const uint8_t *bias,
                          const fs_tensor *out) {
    const int32_t ch = in->shape.dims[3], taps = f->shape.dims[1] * f->shape.dims[2];
    const int32_t in_px = in->shape.dims[1] * in->shape.dims[2];
    const int32_t out_px = out->shape.dims[1] * out->shape.dims[2];
    int8_t *x = (int8_t *)temp, *w = x + ((in_px + 3) & ~3), *y = w + ((taps + 3) & ~3);
    int32_t in_d[4] = {1, in->shape.dims[1], in->shape.dims[2], 1};
    int32_t f_d[4] = {1, f->shape.dims[1], f->shape.dims[2], 1};
    int32_t out_d[4] = {1, out->shape.dims[1], out->shape.dims[2], 1};
    const fs_shape in1 = {in_d, 4}, f1 = {f_d, 4}, out1 = {out_d, 4};
    const int8_t *fw = (const int8_t *)f->data;
    int8_t *data = (int8_t *)out->data; /* == in->data */
    fs_conv_params one = *p;
    for (int32_t c = 0; c < ch; ++c) {
        for (int32_t i = 0; i < in_px; ++i) x[i] = data[(size_t)i * ch + c];
        for (int32_t i = 0; i < taps; ++i) w[i] = fw[(size_t)i * ch + c];
        one.pc_multiplier = p->pc_multiplier + c;
        one.pc_shift = p->pc_shift + c;
        fs_depthwise_conv_2d_s8(k, &one, &in1, x, &f1, w, bias ? bias + 4u * (uint32_t)c : NULL,
                                &out1, y);
        for (int32_t i = 0; i < out_px; ++i) data[(size_t)i * ch + c] = y[i];
    }
}

fs_status fs_depthwise_conv_2d_prepare(fs_prep *p) {
    const fs_status s = fs_conv_prepare_common(p, 1, fs_depthwise_channels);
    if (s != FS_OK) return s;
    const fs_conv_params *q = p->op->data;
    const fs_tensor *in = fs_op_in(p->m, p->op, 0), *f = fs_op_in(p->m, p->op, 1);
    const fs_tensor *out = fs_op_out(p->m, p->op, 0);
    const uint32_t bytes = fs_dw_inplace_bytes(in->shape.dims[1] * in->shape.dims[2],
                                               f->shape.dims[1] * f->shape.dims[2],
                                               out->shape.dims[1] * out->shape.dims[2]);
    if (q->depth_multiplier == 1 && in->shape.dims[0] == 1) fs_offer_inplace(p->op, bytes);
    return FS_OK;
}

fs_status fs_depthwise_conv_2d_run(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    if ((op->inplace & FS_INPLACE_CHOSEN) && op->inplace_bytes) {
        uint8_t *temp;
        const fs_kctx rest = fs_inplace_split(op, k, &temp);
        fs_dw_inplace(&rest, temp, op->data, in, f, bias ? bias->data : NULL, out);
        return FS_OK;
    }
    fs_depthwise_conv_2d_s8(k, op->data, &in->shape, (const int8_t *)in->data, &f->shape,
                            (const int8_t *)f->data, bias ? bias->data : NULL, &out->shape,
                            (int8_t *)out->data);
    return FS_OK;
}

fs_status fs_depthwise_conv_2d_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_kctx rest = fs_conv_requant_eval(m, op, k);
    return fs_depthwise_conv_2d_run(m, op, &rest);
}
