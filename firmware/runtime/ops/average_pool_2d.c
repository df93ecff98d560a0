/* AVERAGE_POOL_2D, int8 NHWC. TFLM reference AveragePool (int8): the window
 * is clipped to the input (padding is not counted), the sum is divided by
 * the number of elements with rounding half away from zero, then clamped
 * to the activation range. No rescaling: input and output share quantization. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

void fs_average_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
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
          int32_t acc = 0, count = 0;
          for (int32_t fy = fy0; fy < fy1; ++fy)
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              acc += in[(((size_t)b * in_h + iy0 + fy) * in_w + ix0 + fx) * depth + c];
              ++count;
            }
          /* count >= 1: prepare checked that every window meets the input. */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          out[(((size_t)b * out_h + oy) * out_w + ox) * depth + c] = (int8_t)fs_clamp(acc, p->act_min, p->act_max);
        }
      }
}

fs_status fs_pool_prepare(fs_prep *p) {
  fs_model *m = p->m;
  const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
  fs_status s;
  const fs_io_want io[] = {{in, "input", FS_INT8, 0}, {out, "output", FS_INT8, 1}};
  if ((s = fs_expect_io(p, io, FS_COUNT_OF(io)))) return s;
  if (in->shape.ndim != 4 || out->shape.ndim != 4)
    return fs_op_fail(p, FS_ERR_SHAPE, "tensors must be 4-D");
  fs_pool_params *q = fs_persist(m, sizeof *q);
  if (!q) return m->status;
  p->op->data = q;
  const int padding = fs_opt_u8(p, FS_POOL_PADDING, FS_PADDING_SAME);
  q->g.stride_w = fs_opt_i32(p, FS_POOL_STRIDE_W, 0);
  q->g.stride_h = fs_opt_i32(p, FS_POOL_STRIDE_H, 0);
  q->g.filter_w = fs_opt_i32(p, FS_POOL_FILTER_W, 0);
  q->g.filter_h = fs_opt_i32(p, FS_POOL_FILTER_H, 0);
  q->g.dilation_w = q->g.dilation_h = 1;
  const int act = fs_opt_u8(p, FS_POOL_ACT, FS_ACT_NONE);
  if (padding > FS_PADDING_VALID || q->g.stride_w < 1 || q->g.stride_h < 1 || q->g.filter_w < 1 ||
      q->g.filter_h < 1 || q->g.stride_w > 4096 || q->g.stride_h > 4096 || q->g.filter_w > 4096 ||
      q->g.filter_h > 4096)
    return fs_op_fail(p, FS_ERR_OPTIONS, "padding %d, strides %d/%d, filter %dx%d", padding, q->g.stride_h,
                      q->g.stride_w, q->g.filter_h, q->g.filter_w);
  const int32_t in_h = in->shape.dims[1], in_w = in->shape.dims[2];
  const int32_t oh = fs_conv_out_size(padding, in_h, q->g.filter_h, q->g.stride_h, 1);
  const int32_t ow = fs_conv_out_size(padding, in_w, q->g.filter_w, q->g.stride_w, 1);
  if (out->shape.dims[0] != in->shape.dims[0] || out->shape.dims[1] != oh || out->shape.dims[2] != ow ||
      out->shape.dims[3] != in->shape.dims[3])
    return fs_op_fail(p, FS_ERR_SHAPE, "output shape does not follow from the options");
  if ((int64_t)q->g.filter_h * q->g.filter_w > FS_MAX_ACCUM_TERMS * 256)
    return fs_op_fail(p, FS_ERR_LIMIT, "window too large");
  q->g.pad_h = fs_conv_padding(q->g.stride_h, 1, in_h, q->g.filter_h, oh);
  q->g.pad_w = fs_conv_padding(q->g.stride_w, 1, in_w, q->g.filter_w, ow);
  /* Every window must overlap the input (TFLM fails at run time otherwise). */
  if ((oh - 1) * q->g.stride_h - q->g.pad_h >= in_h || (ow - 1) * q->g.stride_w - q->g.pad_w >= in_w ||
      q->g.filter_h <= q->g.pad_h || q->g.filter_w <= q->g.pad_w)
    return fs_op_fail(p, FS_ERR_SHAPE, "a window lies entirely in the padding");
  if ((s = fs_activation_range_s8(act, out->scale, out->zero_point, &q->act_min, &q->act_max)))
    return fs_op_fail(p, s, "activation %d", act);
  return FS_OK;
}

fs_status fs_average_pool_2d_prepare(fs_prep *p) { return fs_pool_prepare(p); }

fs_status fs_average_pool_2d_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  const fs_tensor *in = fs_op_in(m, op, 0);
  fs_tensor *out = fs_op_out(m, op, 0);
  fs_average_pool_2d_s8(k, op->data, &in->shape, (const int8_t *)in->data, &out->shape, (int8_t *)out->data);
  return FS_OK;
}
