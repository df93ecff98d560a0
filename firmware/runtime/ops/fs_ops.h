/* Operators: parameters, kernels and their prepare/eval glue.
 *
 * Each operator lives in its own file named after it (ops/<op>.c) with:
 *   fs_<op>_prepare(fs_prep *)       validate tensors/options, compute params
 *   fs_<op>_eval(model, op, kctx)    fetch tensors, call the kernel
 *   fs_<op>_s8(kctx, params, (shape, data)..., out_shape, out)
 *                                    the portable reference kernel
 * An optimized kernel (e.g. Cortex-M4 DSP) goes in ops/<set>/<op>_<set>.c with
 * its own fs_<op>_<set>_prepare/_eval, compiled when the build selects that set
 * (KERNELS=cm4: ops/cm4/kernels.mk) and registered by the operator table
 * (fs_ops.c); it must stay bit-exact with the reference one. */
#ifndef FS_OPS_H
#define FS_OPS_H

#include <stdint.h>

#include "../fs_internal.h"

/* Most products of two offset int8 values (each |v| <= 255) an int32
 * accumulator can sum without overflow: 2^31 / 255^2 > 33000. */
#define FS_MAX_ACCUM_TERMS 33000

/* Shared by the convolution family and the pools. */
typedef struct fs_conv_geom {
  int32_t stride_w, stride_h, dilation_w, dilation_h, pad_w, pad_h;
  int32_t filter_w, filter_h; /* pools only (convs read it from the filter shape) */
} fs_conv_geom;

/* Which kernel an operator's eval runs, decided by its prepare. The reference prepare leaves
 * FS_KERNEL_REF (persistent data starts zeroed); an optimized prepare (ops/cm4/<op>_cm4.c)
 * records its own kernel when it can serve the operator's parameters, and leaves FS_KERNEL_REF
 * when it cannot, so that its eval runs the reference kernel. */
enum { FS_KERNEL_REF = 0, FS_KERNEL_CM4 = 1, FS_KERNEL_CM4_PLANE = 2 /* depthwise: fs_cm4_dw.h */ };

typedef struct fs_fully_connected_params {
  int32_t input_offset, weights_offset, output_offset;
  int32_t act_min, act_max;
  int32_t multiplier, shift;       /* per-tensor weights */
  uint8_t kernel;                  /* FS_KERNEL_*, set by prepare */
  uint8_t fast_requant;            /* cm4 prepare: ops/cm4/fs_cm4_rq.h's conditions hold */
  const int32_t *pc_multiplier;    /* per-channel weights: one per output unit, else NULL */
  const int32_t *pc_shift;
} fs_fully_connected_params;

typedef struct fs_conv_params {
  fs_conv_geom g;
  int32_t input_offset, output_offset, act_min, act_max;
  int32_t depth_multiplier;        /* depthwise only */
  uint8_t kernel;                  /* FS_KERNEL_*, set by prepare */
  uint8_t fast_requant;            /* cm4 prepare: ops/cm4/fs_cm4_rq.h's conditions hold */
  const int32_t *pc_multiplier;    /* one per output channel */
  const int32_t *pc_shift;
} fs_conv_params;

typedef struct fs_pool_params {
  fs_conv_geom g;
  int32_t act_min, act_max;
} fs_pool_params;

typedef struct fs_add_params {
  int32_t input1_offset, input2_offset, output_offset, left_shift;
  int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift, act_min, act_max;
} fs_add_params;

typedef struct fs_mul_params {
  int32_t input1_offset, input2_offset, output_offset;
  int32_t multiplier, shift, act_min, act_max;
} fs_mul_params;

typedef struct fs_mean_params {
  int32_t input_zp, output_zp, multiplier, shift;
  uint32_t axis_mask;       /* bit d set: dimension d is reduced */
} fs_mean_params;

typedef struct fs_softmax_params {
  int32_t input_multiplier, input_left_shift, diff_min;
} fs_softmax_params;

typedef struct fs_logistic_params {
  int32_t input_zero_point, input_range_radius, input_multiplier, input_left_shift;
} fs_logistic_params;

typedef struct fs_quantize_params {
  double scale;               /* float -> int8: output scale as double */
  int32_t zero_point;         /* output zero point */
  int32_t input_zero_point;   /* int8 -> int8 */
  int32_t multiplier, shift;  /* int8 -> int8 */
} fs_quantize_params;

typedef struct fs_dequantize_params {
  double scale;
  int32_t zero_point;
} fs_dequantize_params;

typedef struct fs_pad_params {
  int32_t before[FS_MAX_DIMS], after[FS_MAX_DIMS];
  int32_t value; /* int8 fill value */
} fs_pad_params;

typedef struct fs_concatenation_params {
  int32_t axis;
} fs_concatenation_params;

#define FS_OP_DECL(op)                                                              \
  fs_status fs_##op##_prepare(fs_prep *p);                                          \
  fs_status fs_##op##_eval(const fs_model *m, const fs_op *op, const fs_kctx *k);

FS_OP_DECL(fully_connected)
FS_OP_DECL(conv_2d)
FS_OP_DECL(depthwise_conv_2d)
FS_OP_DECL(average_pool_2d)
FS_OP_DECL(max_pool_2d)
FS_OP_DECL(add)
FS_OP_DECL(mul)
FS_OP_DECL(mean)
FS_OP_DECL(softmax)
FS_OP_DECL(logistic)
FS_OP_DECL(quantize)
FS_OP_DECL(dequantize)
FS_OP_DECL(pad)
FS_OP_DECL(concatenation)
FS_OP_DECL(reshape)
FS_OP_DECL(squeeze)
/* The Cortex-M4 DSP versions (ops/cm4/<op>_cm4.c, KERNELS=cm4), registered instead of the
 * reference entry points when FS_KERNELS_CM4 is 1 (fs_ops.c). */
FS_OP_DECL(fully_connected_cm4)
FS_OP_DECL(conv_2d_cm4)
FS_OP_DECL(depthwise_conv_2d_cm4)
FS_OP_DECL(pad_cm4)
#undef FS_OP_DECL

/* Reference kernels. Shapes are NHWC for the 2-D ops; bias is little-endian
 * int32 in the model (read unaligned), NULL if absent. */
void fs_fully_connected_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                           const fs_shape *in_shape, const int8_t *in,
                           const fs_shape *w_shape, const int8_t *w, const uint8_t *bias,
                           const fs_shape *out_shape, int8_t *out);
void fs_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *f_shape, const int8_t *f,
                   const uint8_t *bias, const fs_shape *out_shape, int8_t *out);
void fs_depthwise_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p,
                             const fs_shape *in_shape, const int8_t *in,
                             const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                             const fs_shape *out_shape, int8_t *out);
void fs_average_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
                           const int8_t *in, const fs_shape *out_shape, int8_t *out);
void fs_max_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
                       const int8_t *in, const fs_shape *out_shape, int8_t *out);
void fs_add_s8(const fs_kctx *k, const fs_add_params *p, const fs_shape *a_shape,
               const int8_t *a, const fs_shape *b_shape, const int8_t *b,
               const fs_shape *out_shape, int8_t *out);
void fs_mul_s8(const fs_kctx *k, const fs_mul_params *p, const fs_shape *a_shape,
               const int8_t *a, const fs_shape *b_shape, const int8_t *b,
               const fs_shape *out_shape, int8_t *out);
void fs_mean_s8(const fs_kctx *k, const fs_mean_params *p, const fs_shape *in_shape,
                const int8_t *in, const fs_shape *out_shape, int8_t *out);
void fs_softmax_s8(const fs_kctx *k, const fs_softmax_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *out_shape, int8_t *out);
void fs_logistic_s8(const fs_kctx *k, const fs_logistic_params *p, const fs_shape *in_shape,
                    const int8_t *in, const fs_shape *out_shape, int8_t *out);
void fs_pad_s8(const fs_kctx *k, const fs_pad_params *p, const fs_shape *in_shape,
               const int8_t *in, const fs_shape *out_shape, int8_t *out);

/* Broadcasting helper for binary elementwise ops (add.c, mul.c): calls
 * fn(ctx, &a[i], &b[j], &out[k]) for every output element k, with
 * numpy-style broadcasting of shapes up to FS_MAX_DIMS (fs_broadcast.c). */
typedef void (*fs_binary_fn)(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out);
void fs_broadcast_s8(const void *ctx, fs_binary_fn fn, const fs_shape *a_shape, const int8_t *a,
                     const fs_shape *b_shape, const int8_t *b, const fs_shape *out_shape,
                     int8_t *out);
/* 1 if a and b broadcast to exactly `out`. */
int fs_broadcast_shape_ok(const fs_shape *a, const fs_shape *b, const fs_shape *out);

/* ComputeOutSize / ComputePaddingWithOffset for SAME (0) and VALID (1)
 * (conv_common.c; the pools use them with dilation 1). */
int32_t fs_conv_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation);
int32_t fs_conv_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out);

/* Shared prepare of CONV_2D and DEPTHWISE_CONV_2D (conv_common.c): types,
 * quantization, padding/stride/dilation geometry, per-channel multipliers. */
fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_params **q);

/* Shared prepare of the 2-D pools (pool_common.c). */
fs_status fs_pool_prepare(fs_prep *p);

#endif /* FS_OPS_H */
