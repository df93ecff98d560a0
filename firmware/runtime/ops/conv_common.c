/* Shared by the convolution family and the pools (TFLM's conv_common and padding.h): output size
 * and padding of SAME/VALID geometry, and the prepare shared by CONV_2D and DEPTHWISE_CONV_2D
 * (types, quantization, stride/dilation/padding geometry, per-channel multipliers). */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

int32_t fs_conv_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                         int32_t dilation) {
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

void fs_conv_geometry(int padding, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w,
                      fs_conv_geom *g, int32_t *oh, int32_t *ow) {
    *oh = fs_conv_out_size(padding, in_h, k_h, g->stride_h, g->dilation_h);
    *ow = fs_conv_out_size(padding, in_w, k_w, g->stride_w, g->dilation_w);
    g->pad_h = fs_conv_padding(g->stride_h, g->dilation_h, in_h, k_h, *oh);
    g->pad_w = fs_conv_padding(g->stride_w, g->dilation_w, in_w, k_w, *ow);
}

fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_channels_fn channels) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *f = fs_op_in(m, p->op, 1);
    const fs_tensor *bias = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
    fs_status s = fs_expect_weighted_io(p, in, f, "filter", bias, out);
    if (s) return s;
    if (in->shape.ndim != 4 || f->shape.ndim != 4 || out->shape.ndim != 4)
        return fs_op_fail(p, FS_ERR_SHAPE, "tensors must be 4-D");

    fs_conv_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    const int padding = fs_opt_u8(p, depthwise ? FS_DW_PADDING : FS_CONV_PADDING, FS_PADDING_SAME);
    q->g.stride_w = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_W : FS_CONV_STRIDE_W, 0);
    q->g.stride_h = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_H : FS_CONV_STRIDE_H, 0);
    q->g.dilation_w = fs_opt_i32(p, depthwise ? FS_DW_DILATION_W : FS_CONV_DILATION_W, 1);
    q->g.dilation_h = fs_opt_i32(p, depthwise ? FS_DW_DILATION_H : FS_CONV_DILATION_H, 1);
    if (padding > FS_PADDING_VALID || q->g.stride_w < 1 || q->g.stride_h < 1 ||
        q->g.dilation_w < 1 || q->g.dilation_h < 1 || q->g.stride_w > 1024 ||
        q->g.stride_h > 1024 || q->g.dilation_w > 1024 || q->g.dilation_h > 1024)
        return fs_op_fail(p, FS_ERR_OPTIONS, "padding %d, strides %d/%d, dilations %d/%d", padding,
                          q->g.stride_h, q->g.stride_w, q->g.dilation_h, q->g.dilation_w);

    int32_t oh, ow;
    fs_conv_geometry(padding, in->shape.dims[1], in->shape.dims[2], f->shape.dims[1],
                     f->shape.dims[2], &q->g, &oh, &ow);
    if (out->shape.dims[0] != in->shape.dims[0] || out->shape.dims[1] != oh ||
        out->shape.dims[2] != ow)
        return fs_op_fail(p, FS_ERR_SHAPE, "output %dx%d, geometry gives %dx%d", out->shape.dims[1],
                          out->shape.dims[2], oh, ow);
    q->input_offset = -in->zero_point;
    q->output_offset = out->zero_point;
    if ((s = fs_prepare_activation(p, depthwise ? FS_DW_ACT : FS_CONV_ACT, out, &q->act_min,
                                   &q->act_max)))
        return s;

    const int32_t out_c = out->shape.dims[3];
    if (bias && fs_shape_count(&bias->shape) != out_c)
        return fs_op_fail(p, FS_ERR_SHAPE, "bias has wrong length");
    if ((f->flags & FS_TENSOR_PER_CHANNEL) && fs_quant_dim(m, p->op->io[1]) != (depthwise ? 3 : 0))
        return fs_op_fail(p, FS_ERR_QUANT, "per-channel dimension");
    int32_t *mult, *shift;
    if ((s = fs_per_channel_multipliers(p, p->op->io[1], (uint32_t)out_c, in->scale, out->scale,
                                        &mult, &shift)))
        return s;
    q->pc_multiplier = mult;
    q->pc_shift = shift;
    return channels(p, q, in, f, out);
}
