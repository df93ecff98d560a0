/* MAX_POOL_2D, int8 NHWC. TFLM reference MaxPool (int8): maximum over the
 * window clipped to the input, then clamped to the activation range.
 * Prepare is shared with AVERAGE_POOL_2D (fs_pool_prepare). */
#include "../fs_quant.h"
#include "fs_ops.h"

void fs_max_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
                       const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    const int32_t batches = in_shape->dims[0], in_h = in_shape->dims[1], in_w = in_shape->dims[2];
    const int32_t depth = in_shape->dims[3], out_h = out_shape->dims[1], out_w = out_shape->dims[2];
    const fs_conv_geom *g = &p->g;
    for (int32_t b = 0; b < batches; ++b)
        for (int32_t oy = 0; oy < out_h; ++oy)
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
                const int32_t fy0 = iy0 < 0 ? -iy0 : 0, fx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t fy1 = g->filter_h < in_h - iy0 ? g->filter_h : in_h - iy0;
                const int32_t fx1 = g->filter_w < in_w - ix0 ? g->filter_w : in_w - ix0;
                for (int32_t c = 0; c < depth; ++c) {
                    int32_t mx = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy)
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t v =
                                in[(((size_t)b * in_h + iy0 + fy) * in_w + ix0 + fx) * depth + c];
                            if (v > mx) mx = v;
                        }
                    out[(((size_t)b * out_h + oy) * out_w + ox) * depth + c] =
                        (int8_t)fs_clamp(mx, p->act_min, p->act_max);
                }
            }
}

fs_status fs_max_pool_2d_prepare(fs_prep *p) { return fs_pool_prepare(p); }

FS_EVAL_UNARY(max_pool_2d)
