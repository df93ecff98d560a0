/* FULLY_CONNECTED, int8 activations and weights, int32 bias.
 * Arithmetic of TFLM's reference FullyConnected / FullyConnectedPerChannel:
 * acc = sum (w + w_offset) * (x + in_offset) + bias, requantized with
 * MultiplyByQuantizedMultiplier, + out_offset, clamped to the activation. */
#include <math.h>

#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

void fs_fully_connected_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                           const fs_shape *in_shape, const int8_t *in, const fs_shape *w_shape,
                           const int8_t *w, const uint8_t *bias, const fs_shape *out_shape,
                           int8_t *out) {
    (void)k;
    (void)in_shape;
    const int32_t units = fs_dim_from_end(out_shape, 0);
    const int32_t depth = fs_dim_from_end(w_shape, 0);
    const int32_t batches = (int32_t)(fs_shape_count(out_shape) / units);
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *wr = w + (size_t)u * depth;
            int32_t acc = 0;
            if (p->pc_multiplier) { /* per-channel weights are symmetric: no weight offset */
                for (int32_t d = 0; d < depth; ++d) acc += wr[d] * (x[d] + p->input_offset);
            } else {
                for (int32_t d = 0; d < depth; ++d)
                    acc += (wr[d] + p->weights_offset) * (x[d] + p->input_offset);
            }
            if (bias)
                acc = fs_add_wrap(
                    acc, fs_ld_i32(bias + 4u * (uint32_t)u)); /* wraps as TFLM's int32 add does */
            acc = p->pc_multiplier ? fs_mbqm(acc, p->pc_multiplier[u], p->pc_shift[u])
                                   : fs_mbqm(acc, p->multiplier, p->shift);
            acc += p->output_offset;
            out[(size_t)b * units + u] = (int8_t)fs_clamp(acc, p->act_min, p->act_max);
        }
    }
}

fs_status fs_fully_connected_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *w = fs_op_in(m, p->op, 1);
    const fs_tensor *bias = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
    fs_status s = fs_expect_weighted_io(p, in, w, "weights", bias, out);
    if (s) return s;
    if (fs_opt_u8(p, FS_FC_WEIGHTS_FORMAT, 0) != 0)
        return fs_op_fail(p, FS_ERR_OPTIONS, "shuffled weights");

    if (w->shape.ndim != 2 || out->shape.ndim < 1)
        return fs_op_fail(p, FS_ERR_SHAPE, "weights must be 2-D");
    const int32_t units = w->shape.dims[0], depth = w->shape.dims[1];
    const int64_t out_count = fs_shape_count(&out->shape);
    if (fs_dim_from_end(&out->shape, 0) != units ||
        fs_shape_count(&in->shape) != out_count / units * depth ||
        (bias && fs_shape_count(&bias->shape) != units))
        return fs_op_fail(p, FS_ERR_SHAPE, "shapes do not match");

    /* |(w + w_off) * (x + x_off)| <= 255 * 255: keep the int32 sum of a row
     * exact (TFLM's accumulator would overflow, undefined, beyond this). */
    if (depth > FS_MAX_ACCUM_TERMS) return fs_op_fail(p, FS_ERR_LIMIT, "%d inputs per unit", depth);
    fs_fully_connected_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    q->input_offset = -in->zero_point;
    q->weights_offset = -w->zero_point;
    q->output_offset = out->zero_point;
    if ((s = fs_prepare_activation(p, FS_FC_ACT, out, &q->act_min, &q->act_max))) return s;
    if (w->flags & FS_TENSOR_PER_CHANNEL) {
        int32_t *mult, *shift;
        if (fs_quant_dim(m, p->op->io[1]) != 0)
            return fs_op_fail(p, FS_ERR_QUANT, "per-channel dimension must be 0");
        if ((s = fs_per_channel_multipliers(p, p->op->io[1], (uint32_t)units, in->scale, out->scale,
                                            &mult, &shift)))
            return s;
        q->pc_multiplier = mult;
        q->pc_shift = shift;
    } else {
        /* GetQuantizedConvolutionMultipler: TFLM first checks that the bias scale
         * matches input*weights scale, then uses the float product. */
        if (bias) {
            const double ips = (double)in->scale * (double)w->scale;
            if (fabs(ips - (double)bias->scale) / (double)out->scale > 0.02)
                return fs_op_fail(p, FS_ERR_QUANT, "bias scale differs from input*weights");
        }
        const double real = (double)(in->scale * w->scale) / (double)out->scale;
        int sh;
        if (!fs_quantize_multiplier(real, &q->multiplier, &sh))
            return fs_op_fail(p, FS_ERR_QUANT, "bad scales");
        q->shift = sh;
    }
    return FS_OK;
}

FS_EVAL_WEIGHTED(fully_connected)
