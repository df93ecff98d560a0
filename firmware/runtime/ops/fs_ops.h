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
enum {
    FS_KERNEL_REF = 0,
    FS_KERNEL_CM4 = 1,
    FS_KERNEL_CM4_PLANE = 2,    /* depthwise: fs_cm4_dw.h */
    FS_KERNEL_CM4_TILE = 3,     /* CONV_2D's pixel tiles: fs_cm4.h */
    FS_KERNEL_CM4_DW_GLOBAL = 4 /* depthwise, one filter row spanning the input row: fs_cm4_dw.h */
};

typedef struct fs_fully_connected_params {
    int32_t input_offset, weights_offset, output_offset;
    int32_t act_min, act_max;
    int32_t multiplier, shift;    /* per-tensor weights */
    uint8_t kernel;               /* FS_KERNEL_*, set by prepare */
    uint8_t fast_requant;         /* cm4 prepare: ops/cm4/fs_cm4_rq.h's conditions hold */
    uint8_t requant_lazy;         /* per-channel: pc_* computed by each eval (fully_connected.c) */
    const int32_t *pc_multiplier; /* per-channel weights: one per output unit, else NULL */
    const int32_t *pc_shift;
} fs_fully_connected_params;

typedef struct fs_conv_params {
    fs_conv_geom g;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t depth_multiplier;     /* depthwise only */
    uint8_t kernel;               /* FS_KERNEL_*, set by prepare */
    uint8_t fast_requant;         /* cm4 prepare: ops/cm4/fs_cm4_rq.h's conditions hold */
    uint8_t requant_lazy;         /* pc_* computed by each eval into scratch (conv_common.c) */
    const int32_t *pc_multiplier; /* one per output channel */
    const int32_t *pc_shift;
} fs_conv_params;

typedef struct fs_pool_params {
    fs_conv_geom g;
    int32_t act_min, act_max;
} fs_pool_params;

/* The zero-point offsets of a binary elementwise op (ADD, MUL): the first member of its
 * parameters, so that fs_elementwise_prepare sets them for both. */
typedef struct fs_elementwise_offsets {
    int32_t input1, input2, output;
} fs_elementwise_offsets;

typedef struct fs_add_params {
    fs_elementwise_offsets off;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} fs_add_params;

typedef struct fs_mul_params {
    fs_elementwise_offsets off;
    int32_t multiplier, shift, act_min, act_max;
} fs_mul_params;

typedef struct fs_mean_params {
    int32_t input_zp, output_zp, multiplier, shift;
    uint32_t axis_mask; /* bit d set: dimension d is reduced */
} fs_mean_params;

typedef struct fs_softmax_params {
    int32_t input_multiplier, input_left_shift, diff_min;
} fs_softmax_params;

typedef struct fs_logistic_params {
    int32_t input_zero_point, input_range_radius, input_multiplier, input_left_shift;
} fs_logistic_params;

typedef struct fs_quantize_params {
    double scale;              /* float -> int8: output scale as double */
    int32_t zero_point;        /* output zero point */
    int32_t input_zero_point;  /* int8 -> int8 */
    int32_t multiplier, shift; /* int8 -> int8 */
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

#define FS_OP_DECL(op)                       \
    fs_status fs_##op##_prepare(fs_prep *p); \
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
FS_OP_DECL(add_cm4)
#undef FS_OP_DECL

/* Reference kernels (fs_fully_connected_s8: params with requant_lazy 0; its eval handles 1).
 * Shapes are NHWC for the 2-D ops; bias is little-endian
 * int32 in the model (read unaligned), NULL if absent. */
void fs_fully_connected_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                           const fs_shape *in_shape, const int8_t *in, const fs_shape *w_shape,
                           const int8_t *w, const uint8_t *bias, const fs_shape *out_shape,
                           int8_t *out);
void fs_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                   const fs_shape *out_shape, int8_t *out);
void fs_depthwise_conv_2d_s8(const fs_kctx *k, const fs_conv_params *p, const fs_shape *in_shape,
                             const int8_t *in, const fs_shape *f_shape, const int8_t *f,
                             const uint8_t *bias, const fs_shape *out_shape, int8_t *out);
/* The one-input kernels, fs_<name>_s8(k, params, in_shape, in, out_shape, out), and the
 * two-input ones, fs_<name>_s8(k, params, a_shape, a, b_shape, b, out_shape, out). */
#define FS_UNARY_S8_DECL(name, params)                                               \
    void fs_##name##_s8(const fs_kctx *k, const params *p, const fs_shape *in_shape, \
                        const int8_t *in, const fs_shape *out_shape, int8_t *out);
#define FS_BINARY_S8_DECL(name)                                                                 \
    void fs_##name##_s8(const fs_kctx *k, const fs_##name##_params *p, const fs_shape *a_shape, \
                        const int8_t *a, const fs_shape *b_shape, const int8_t *b,              \
                        const fs_shape *out_shape, int8_t *out);
FS_UNARY_S8_DECL(average_pool_2d, fs_pool_params)
FS_UNARY_S8_DECL(max_pool_2d, fs_pool_params)
FS_UNARY_S8_DECL(mean, fs_mean_params)
FS_UNARY_S8_DECL(softmax, fs_softmax_params)
FS_UNARY_S8_DECL(logistic, fs_logistic_params)
FS_UNARY_S8_DECL(pad, fs_pad_params)
FS_BINARY_S8_DECL(add)
FS_BINARY_S8_DECL(mul)
#undef FS_UNARY_S8_DECL
#undef FS_BINARY_S8_DECL

/* The evals of the operator signatures: fetch the tensors, call fs_<op>_s8 with the parameters
 * its prepare attached as op->data. Macros so that each eval calls its own kernel directly, as
 * when written out: `FS_EVAL_UNARY(softmax)` defines fs_softmax_eval. */
#define FS_EVAL_FUNCTION(name) \
    fs_status fs_##name##_eval(const fs_model *m, const fs_op *op, const fs_kctx *k)
#define FS_UNPAREN(...) __VA_ARGS__
/* Input 0 is `in`, output 0 `out`; more_inputs declares the others, more_args passes them to
 * the kernel after in (both parenthesized, each starting with a comma, or empty: ()). */
#define FS_EVAL_BODY(name, more_inputs, more_args)                                             \
    FS_EVAL_FUNCTION(name) {                                                                   \
        const fs_tensor *in = fs_op_in(m, op, 0) FS_UNPAREN more_inputs;                       \
        fs_tensor *out = fs_op_out(m, op, 0);                                                  \
        fs_##name##_s8(k, op->data, &in->shape, (const int8_t *)in->data FS_UNPAREN more_args, \
                       &out->shape, (int8_t *)out->data);                                      \
        return FS_OK;                                                                          \
    }
/* input 0 -> output 0 (pools, MEAN, SOFTMAX, LOGISTIC, PAD) */
#define FS_EVAL_UNARY(name) FS_EVAL_BODY(name, (), ())
/* inputs 0 and 1 -> output 0 (ADD, MUL) */
#define FS_EVAL_BINARY(name) \
    FS_EVAL_BODY(name, (, *b = fs_op_in(m, op, 1)), (, &b->shape, (const int8_t *)b->data))
/* input 0, weights or filter 1, optional bias 2 -> output 0 (FULLY_CONNECTED and the convs) */
#define FS_EVAL_WEIGHTED(name)                                                  \
    FS_EVAL_BODY(name, (, *w = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2)), \
                 (, &w->shape, (const int8_t *)w->data, bias ? bias->data : NULL))
/* RESHAPE, SQUEEZE: the planner normally makes the output an alias of the input; the copy is
 * for the case where the buffers differ. */
#define FS_EVAL_COPY(name)                                                   \
    FS_EVAL_FUNCTION(name) {                                                 \
        (void)k;                                                             \
        const fs_tensor *in = fs_op_in(m, op, 0);                            \
        fs_tensor *out = fs_op_out(m, op, 0);                                \
        if (out->data != in->data) memmove(out->data, in->data, out->bytes); \
        return FS_OK;                                                        \
    }

/* Broadcasting helper for binary elementwise ops (add.c, mul.c): calls
 * fn(ctx, &a[i], &b[j], &out[k]) for every output element k, with
 * numpy-style broadcasting of shapes up to FS_MAX_DIMS (fs_broadcast.c). */
typedef void (*fs_binary_fn)(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out);
void fs_broadcast_s8(const void *ctx, fs_binary_fn fn, const fs_shape *a_shape, const int8_t *a,
                     const fs_shape *b_shape, const int8_t *b, const fs_shape *out_shape,
                     int8_t *out);
/* 1 if a and b broadcast to exactly `out`. */
int fs_broadcast_shape_ok(const fs_shape *a, const fs_shape *b, const fs_shape *out);
/* The reference kernel fs_<name>_s8 of a binary elementwise op, from its per-element function
 * one(params, &a[i], &b[j], &out[k]): one flat loop over equal shapes, else fs_broadcast_s8.
 * A macro, not an inline function taking `one`, because gcc then allocates the loop's
 * registers differently (ADD's instruction count would change). */
#define FS_ELEMENTWISE_S8(name, one)                                                            \
    void fs_##name##_s8(const fs_kctx *k, const fs_##name##_params *p, const fs_shape *a_shape, \
                        const int8_t *a, const fs_shape *b_shape, const int8_t *b,              \
                        const fs_shape *out_shape, int8_t *out) {                               \
        (void)k;                                                                                \
        if (fs_shape_equal(a_shape, b_shape)) {                                                 \
            const int64_t n = fs_shape_count(out_shape);                                        \
            for (int64_t i = 0; i < n; ++i) one(p, a + i, b + i, out + i);                      \
        } else {                                                                                \
            fs_broadcast_s8(p, one, a_shape, a, b_shape, b, out_shape, out);                    \
        }                                                                                       \
    }
/* The start of a binary elementwise op's prepare (fs_broadcast.c): its tensors into t, which
 * must be int8 with one scale and zero point each and shapes that broadcast to the output,
 * then its `bytes` of parameters (a struct whose first member is fs_elementwise_offsets) with
 * the offsets set. NULL with the failure recorded in p->m->status when a check fails. */
typedef struct fs_elementwise_io {
    const fs_tensor *a, *b, *out;
} fs_elementwise_io;
void *fs_elementwise_prepare(fs_prep *p, size_t bytes, fs_elementwise_io *t);

/* ComputeOutSize / ComputePaddingWithOffset for SAME (0) and VALID (1)
 * (conv_common.c; the pools use them with dilation 1). */
int32_t fs_conv_out_size(int padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation);
int32_t fs_conv_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out);

/* The output height *oh and width *ow that `padding` (SAME/VALID) and g's strides and
 * dilations give for an in_h x in_w input and a k_h x k_w window, and g's paddings for them
 * (conv_common.c). */
void fs_conv_geometry(int padding, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w,
                      fs_conv_geom *g, int32_t *oh, int32_t *ow);

/* Shared prepare of CONV_2D and DEPTHWISE_CONV_2D (conv_common.c): types, quantization,
 * padding/stride/dilation geometry, per-channel multipliers, then the operator's own check of
 * its channel counts (which may fill in q). */
typedef fs_status (*fs_conv_channels_fn)(fs_prep *p, fs_conv_params *q, const fs_tensor *in,
                                         const fs_tensor *f, const fs_tensor *out);
fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_channels_fn channels);

/* 1 if this CONV_2D is pointwise (1x1, stride 1, no padding, one group) with no more output
 * than input channels: the shapes for which its output may overwrite its input (conv_2d.c). */
int fs_conv_2d_pointwise_inplace_ok(const fs_conv_params *q, const fs_tensor *in,
                                    const fs_tensor *f, const fs_tensor *out);

/* FS_REQUANT_IN_SCRATCH (default 1): the convolutions' per-channel multipliers and shifts are
 * not kept in the persistent arena (8 bytes per output channel for the model's lifetime) but
 * computed again by every eval, from the model's scales, into the end of the operator's
 * scratch (the planar depthwise kernel: four at a time on the stack), where they live only
 * while it runs. An integer version of the arithmetic does it (conv_common.c), which prepare
 * checks channel by channel against the double one; an operator where they differ anywhere
 * keeps its arrays (requant_lazy 0). 0: always persistent, as TFLM. */
#ifndef FS_REQUANT_IN_SCRATCH
#define FS_REQUANT_IN_SCRATCH 1
#endif
/* 1 if the integer path gives mult/shift for all `channels` of this conv op. */
int fs_conv_requant_check(const fs_model *m, const fs_op *op, uint32_t channels,
                          const int32_t *mult, const int32_t *shift);
/* The end of a conv prepare: with requant_lazy, the scratch request (kernel scratch, rounded
 * to 16) grows by the 8 bytes per channel of the multipliers and shifts. */
void fs_conv_requant_reserve(fs_prep *p);
/* The start of a conv eval: with requant_lazy, the multipliers and shifts into the end of k's
 * scratch, pointed to by the op's parameters; returns the scratch that is left for the kernel
 * (and the in-place temp). */
fs_kctx fs_conv_requant_eval(const fs_model *m, const fs_op *op, const fs_kctx *k);

/* Multipliers and shifts of a requant_lazy op's output channels c0 .. c0 + n - 1, from the
 * model's scales: what fs_conv_requant_start reads once per eval, then fill. */
typedef struct fs_conv_requant {
    fs_fbv scales;       /* the weights' scales in the model */
    const uint8_t *base; /* their first byte */
    int per_tensor;      /* one scale for every channel */
    uint64_t r;          /* conv_common.c's fixed-point input / output scale ratio */
    int32_t exp;
    uint32_t ua, uo; /* the input and output scales' bits */
} fs_conv_requant;
fs_conv_requant fs_conv_requant_start(const fs_model *m, const fs_op *op);
void fs_conv_requant_fill(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                          int32_t *shift);
/* The same numbers with fewer instructions (conv_common.c; FULLY_CONNECTED's evals). */
void fs_conv_requant_fill_fast(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                               int32_t *shift);
/* fs_conv_requant_fill, and 1, if every channel is decided and representable (without the
 * prepare-time arrays of fs_conv_requant_check: a block at a time); else 0. */
int fs_conv_requant_fill_checked(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                                 int32_t *shift);
/* FULLY_CONNECTED does the same with fs_conv_requant_start / _fill_fast (its weights are input
 * 1 too), a block of FS_FC_RQ_BLOCK units at a time on the stack, so its scratch does not grow;
 * prepare checks it with _fill_checked and the double path, a block at a time too
 * (fully_connected.c; which models: fs_fc_requant_lazy_pays). */
#define FS_FC_RQ_BLOCK 64
int fs_fc_requant_lazy_pays(const fs_model *m, const fs_op *op);
/* The reference kernel on one batch row's units u0 .. u0 + n - 1: x its inputs, w and bias
 * the whole tensors', mult/shift those units' (per-channel; NULL: p's per-tensor ones). */
void fs_fully_connected_units(const fs_fully_connected_params *p, const int8_t *x, const int8_t *w,
                              const uint8_t *bias, int32_t depth, int32_t u0, int32_t n,
                              const int32_t *mult, const int32_t *shift, int8_t *out);
/* The reference evals after fs_conv_requant_eval (the DSP evals' fallback): k is what it left. */
fs_status fs_conv_2d_run(const fs_model *m, const fs_op *op, const fs_kctx *k);
fs_status fs_depthwise_conv_2d_run(const fs_model *m, const fs_op *op, const fs_kctx *k);

/* Shared prepare of the 2-D pools (pool_common.c). */
fs_status fs_pool_prepare(fs_prep *p);

/* The part of one output pixel's pooling window that lies inside the input (TFLM's pools clip
 * the window: padding is not counted): rows x cols input pixels (both >= 1: prepare checks that
 * every window meets the input), element (y, x) of channel c at in[y * row_step + x * depth + c].
 */
typedef struct fs_pool_window {
    const int8_t *in;
    int32_t rows, cols, row_step, depth;
} fs_pool_window;

/* A pool's reduction: the window's depth outputs (out[0..depth)). */
typedef void (*fs_pool_reduce_fn)(const fs_pool_params *p, const fs_pool_window *w, int8_t *out);

/* Every output pixel of a 2-D pool, NHWC: its window clipped to the input, reduced by `reduce`
 * (pool_common.c). */
void fs_pool_s8(const fs_pool_params *p, const fs_shape *in_shape, const int8_t *in,
                const fs_shape *out_shape, int8_t *out, fs_pool_reduce_fn reduce);

#endif /* FS_OPS_H */
