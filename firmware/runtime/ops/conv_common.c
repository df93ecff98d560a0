/* Shared by the convolution family and the pools (TFLM's conv_common and padding.h): output size
 * and padding of SAME/VALID geometry, and the prepare shared by CONV_2D and DEPTHWISE_CONV_2D
 * (types, quantization, stride/dilation/padding geometry, per-channel multipliers). */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

int32_t fs_conv_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation) {
  const int64_t effective = (int64_t)(filter - 1) * dilation + 1;
  if (stride <= 0) return 0;
  if (padding == FS_PADDING_SAME) return (int32_t)(((int64_t)in + stride - 1) / stride);
  if (padding == FS_PADDING_VALID) {
    const int64_t n = (int64_t)in + stride - effective;
    return n < 0 ? 0 : (int32_t)(n / stride);
  }
  return 0;
}

int32_t fs_conv_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out) {
  const int64_t effective = (int64_t)(filter - 1) * dilation + 1;
  int64_t total = (int64_t)(out - 1) * stride + effective - in;
  if (total < 0) total = 0;
  return (int32_t)(total / 2);
}

fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_params **out_params) {
  fs_model *m = p->m;
  const fs_tensor *in = fs_op_in(m, p->op, 0), *f = fs_op_in(m, p->op, 1);
  const fs_tensor *bias = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
  fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {f, "filter", FS_INT8, 0}, {out, "output", FS_INT8, 1});
  if (s) return s;
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
