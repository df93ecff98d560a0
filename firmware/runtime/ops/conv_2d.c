/* CONV_2D, int8 NHWC with per-channel (or per-tensor) int8 weights
 * [out_ch, kh, kw, in_ch / groups] and int32 bias. Arithmetic of TFLM's
 * reference ConvPerChannel: padding positions are skipped (they contribute
 * zero after the input offset), acc requantized per output channel. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

void fs_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *f_shape, const int8_t *f,
                   const uint8_t *bias, const fs_shape *out_shape, int8_t *out) {
  (void)k;
  const int32_t batches = in_shape->dims[0], in_h = in_shape->dims[1], in_w = in_shape->dims[2];
  const int32_t in_c = in_shape->dims[3];
  const int32_t out_h = out_shape->dims[1], out_w = out_shape->dims[2], out_c = out_shape->dims[3];
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
              const int8_t *x = in + (((size_t)b * in_h + iy) * in_w + ix) * in_c + group_base;
              const int8_t *w = f + (((size_t)oc * k_h + ky) * k_w + kx) * f_c;
              for (int32_t c = 0; c < f_c; ++c) acc += w[c] * (x[c] + p->input_offset);
            }
          }
          if (bias) acc = fs_add_wrap(acc, fs_ld_i32(bias + 4u * (uint32_t)oc)); /* wraps as TFLM's int32 add does */
          acc = fs_mbqm(acc, p->pc_multiplier[oc], p->pc_shift[oc]) + p->output_offset;
          out[(((size_t)b * out_h + oy) * out_w + ox) * out_c + oc] =
              (int8_t)fs_clamp(acc, p->act_min, p->act_max);
        }
      }
    }
  }
}

/* Shared by CONV_2D and DEPTHWISE_CONV_2D: types, quantization, geometry. */
fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_params **out_params) {
  fs_model *m = p->m;
  const fs_tensor *in = fs_op_in(m, p->op, 0), *f = fs_op_in(m, p->op, 1);
  const fs_tensor *bias = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
  fs_status s;
  const fs_io_want io[] = {{in, "input", FS_INT8, 1}, {f, "filter", FS_INT8, 0}, {out, "output", FS_INT8, 1}};
  if ((s = fs_expect_io(p, io, FS_COUNT_OF(io)))) return s;
  if (bias && (s = fs_expect_type(p, bias, FS_INT32, "bias"))) return s;
  if (in->shape.ndim != 4 || f->shape.ndim != 4 || out->shape.ndim != 4)
    return fs_op_fail(p, FS_ERR_SHAPE, "tensors must be 4-D");

  fs_conv_params *q = fs_persist(m, sizeof *q);
  if (!q) return m->status;
  p->op->data = q;
  const int padding = fs_opt_u8(p, depthwise ? FS_DW_PADDING : FS_CONV_PADDING, FS_PADDING_SAME);
  q->g.stride_w = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_W : FS_CONV_STRIDE_W, 0);
  q->g.stride_h = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_H : FS_CONV_STRIDE_H, 0);
  q->g.dilation_w = fs_opt_i32(p, depthwise ? FS_DW_DILATION_W : FS_CONV_DILATION_W, 1);
  q->g.dilation_h = fs_opt_i32(p, depthwise ? FS_DW_DILATION_H : FS_CONV_DILATION_H, 1);
  const int act = fs_opt_u8(p, depthwise ? FS_DW_ACT : FS_CONV_ACT, FS_ACT_NONE);
  if (padding > FS_PADDING_VALID || q->g.stride_w < 1 || q->g.stride_h < 1 || q->g.dilation_w < 1 ||
      q->g.dilation_h < 1 || q->g.stride_w > 1024 || q->g.stride_h > 1024 || q->g.dilation_w > 1024 ||
      q->g.dilation_h > 1024)
    return fs_op_fail(p, FS_ERR_OPTIONS, "padding %d, strides %d/%d, dilations %d/%d", padding, q->g.stride_h,
                      q->g.stride_w, q->g.dilation_h, q->g.dilation_w);

  const int32_t in_h = in->shape.dims[1], in_w = in->shape.dims[2];
  const int32_t k_h = f->shape.dims[1], k_w = f->shape.dims[2];
  const int32_t oh = fs_conv_out_size(padding, in_h, k_h, q->g.stride_h, q->g.dilation_h);
  const int32_t ow = fs_conv_out_size(padding, in_w, k_w, q->g.stride_w, q->g.dilation_w);
  if (out->shape.dims[0] != in->shape.dims[0] || out->shape.dims[1] != oh || out->shape.dims[2] != ow)
    return fs_op_fail(p, FS_ERR_SHAPE, "output %dx%d, geometry gives %dx%d", out->shape.dims[1],
                      out->shape.dims[2], oh, ow);
  q->g.pad_h = fs_conv_padding(q->g.stride_h, q->g.dilation_h, in_h, k_h, oh);
  q->g.pad_w = fs_conv_padding(q->g.stride_w, q->g.dilation_w, in_w, k_w, ow);
  q->input_offset = -in->zero_point;
  q->output_offset = out->zero_point;
  if ((s = fs_activation_range_s8(act, out->scale, out->zero_point, &q->act_min, &q->act_max)))
    return fs_op_fail(p, s, "activation %d", act);

  const int32_t out_c = out->shape.dims[3];
  if (bias && fs_shape_count(&bias->shape) != out_c)
    return fs_op_fail(p, FS_ERR_SHAPE, "bias has wrong length");
  if ((f->flags & FS_TENSOR_PER_CHANNEL) && fs_quant_dim(m, p->op->io[1]) != (depthwise ? 3 : 0))
    return fs_op_fail(p, FS_ERR_QUANT, "per-channel dimension");
  int32_t *mult, *shift;
  if ((s = fs_per_channel_multipliers(p, p->op->io[1], (uint32_t)out_c, in->scale, out->scale, &mult, &shift)))
    return s;
  q->pc_multiplier = mult;
  q->pc_shift = shift;
  *out_params = q;
  return FS_OK;
}

fs_status fs_conv_2d_prepare(fs_prep *p) {
  fs_conv_params *q;
  fs_status s = fs_conv_prepare_common(p, 0, &q);
  if (s) return s;
  const fs_model *m = p->m;
  const fs_tensor *in = fs_op_in(m, p->op, 0), *f = fs_op_in(m, p->op, 1), *out = fs_op_out(m, p->op, 0);
  const int32_t in_c = in->shape.dims[3], f_c = f->shape.dims[3], out_c = out->shape.dims[3];
  /* Grouped convolution: in_c = groups * f_c, out_c a multiple of groups. */
  if (f->shape.dims[0] != out_c || in_c % f_c != 0 || out_c % (in_c / f_c) != 0)
    return fs_op_fail(p, FS_ERR_SHAPE, "channels in %d, filter %d, out %d", in_c, f_c, out_c);
  if ((int64_t)f->shape.dims[1] * f->shape.dims[2] * f_c > FS_MAX_ACCUM_TERMS)
    return fs_op_fail(p, FS_ERR_LIMIT, "filter too large");
  return FS_OK;
}

fs_status fs_conv_2d_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  const fs_tensor *in = fs_op_in(m, op, 0), *f = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
  fs_tensor *out = fs_op_out(m, op, 0);
  fs_conv_2d_s8(k, op->data, &in->shape, (const int8_t *)in->data, &f->shape, (const int8_t *)f->data,
                bias ? bias->data : NULL, &out->shape, (int8_t *)out->data);
  return FS_OK;
}
