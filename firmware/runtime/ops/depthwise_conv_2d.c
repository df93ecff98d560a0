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

fs_status fs_depthwise_conv_2d_prepare(fs_prep *p) {
    return fs_conv_prepare_common(p, 1, fs_depthwise_channels);
}

FS_EVAL_WEIGHTED(depthwise_conv_2d)
