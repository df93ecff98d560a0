/* Shared by AVERAGE_POOL_2D and MAX_POOL_2D (TFLM's pooling_common): the prepare (types and
 * quantization, filter, stride and padding geometry, the activation range) and the walk over the
 * output pixels with each window clipped to the input. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

fs_status fs_pool_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 0}, {out, "output", FS_INT8, 1});
    if (s) return s;
    if (in->shape.ndim != 4 || out->shape.ndim != 4)
        return fs_op_fail(p, FS_ERR_SHAPE, "tensors must be 4-D");
    fs_pool_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    const int padding = fs_opt_u8(p, FS_POOL_PADDING, FS_PADDING_SAME);
    q->g.stride_w = fs_opt_i32(p, FS_POOL_STRIDE_W, 0);
    q->g.stride_h = fs_opt_i32(p, FS_POOL_STRIDE_H, 0);
    q->g.filter_w = fs_opt_i32(p, FS_POOL_FILTER_W, 0);
    q->g.filter_h = fs_opt_i32(p, FS_POOL_FILTER_H, 0);
    q->g.dilation_w = q->g.dilation_h = 1;
    if (padding > FS_PADDING_VALID || q->g.stride_w < 1 || q->g.stride_h < 1 || q->g.filter_w < 1 ||
        q->g.filter_h < 1 || q->g.stride_w > 4096 || q->g.stride_h > 4096 || q->g.filter_w > 4096 ||
        q->g.filter_h > 4096)
        return fs_op_fail(p, FS_ERR_OPTIONS, "padding %d, strides %d/%d, filter %dx%d", padding,
                          q->g.stride_h, q->g.stride_w, q->g.filter_h, q->g.filter_w);
    const int32_t in_h = in->shape.dims[1], in_w = in->shape.dims[2];
    int32_t oh, ow;
    fs_conv_geometry(padding, in_h, in_w, q->g.filter_h, q->g.filter_w, &q->g, &oh, &ow);
    if (out->shape.dims[0] != in->shape.dims[0] || out->shape.dims[1] != oh ||
        out->shape.dims[2] != ow || out->shape.dims[3] != in->shape.dims[3])
        return fs_op_fail(p, FS_ERR_SHAPE, "output shape does not follow from the options");
    if ((int64_t)q->g.filter_h * q->g.filter_w > FS_MAX_ACCUM_TERMS * 256)
        return fs_op_fail(p, FS_ERR_LIMIT, "window too large");
    /* Every window must overlap the input (TFLM fails at run time otherwise). */
    if ((oh - 1) * q->g.stride_h - q->g.pad_h >= in_h ||
        (ow - 1) * q->g.stride_w - q->g.pad_w >= in_w || q->g.filter_h <= q->g.pad_h ||
        q->g.filter_w <= q->g.pad_w)
        return fs_op_fail(p, FS_ERR_SHAPE, "a window lies entirely in the padding");
    return fs_prepare_activation(p, FS_POOL_ACT, out, &q->act_min, &q->act_max);
}

void fs_pool_s8(const fs_pool_params *p, const fs_shape *in_shape, const int8_t *in,
                const fs_shape *out_shape, int8_t *out, fs_pool_reduce_fn reduce) {
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
                const fs_pool_window w = {
                    in + (((size_t)b * in_h + iy0 + fy0) * in_w + ix0 + fx0) * depth, fy1 - fy0,
                    fx1 - fx0, in_w * depth, depth};
                reduce(p, &w, out + (((size_t)b * out_h + oy) * out_w + ox) * depth);
            }
}
