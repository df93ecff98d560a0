/* FULLY_CONNECTED, int8 activations and weights, int32 bias.
 * Arithmetic of TFLM's reference FullyConnected / FullyConnectedPerChannel:
 * acc = sum (w + w_offset) * (x + in_offset) + bias, requantized with
 * MultiplyByQuantizedMultiplier, + out_offset, clamped to the activation. */
#include <math.h>

#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

void fs_fully_connected_units(const fs_fully_connected_params *p, const int8_t *x, const int8_t *w,
                              const uint8_t *bias, int32_t depth, int32_t u0, int32_t n,
                              const int32_t *mult, const int32_t *shift, int8_t *out) {
    for (int32_t i = 0; i < n; ++i) {
        const int32_t u = u0 + i;
        const int8_t *wr = w + (size_t)u * depth;
        int32_t acc = 0;
        if (mult) { /* per-channel weights are symmetric: no weight offset */
            for (int32_t d = 0; d < depth; ++d) acc += wr[d] * (x[d] + p->input_offset);
        } else {
            for (int32_t d = 0; d < depth; ++d)
                acc += (wr[d] + p->weights_offset) * (x[d] + p->input_offset);
        }
        if (bias)
            acc = fs_add_wrap(
                acc, fs_ld_i32(bias + 4u * (uint32_t)u)); /* wraps as TFLM's int32 add does */
        acc = mult ? fs_mbqm(acc, mult[i], shift[i]) : fs_mbqm(acc, p->multiplier, p->shift);
        acc += p->output_offset;
        out[u] = (int8_t)fs_clamp(acc, p->act_min, p->act_max);
    }
}

/* One batch row's units, their multipliers computed FS_FC_RQ_BLOCK at a time on the stack.
 * Not inlined: its 512-byte frame only when it runs. */
__attribute__((noinline)) static void fs_fc_lazy_units(const fs_fully_connected_params *p,
                                                       const fs_conv_requant *rq, const int8_t *x,
                                                       const int8_t *w, const uint8_t *bias,
                                                       int32_t depth, int32_t units, int8_t *o) {
    for (int32_t u0 = 0; u0 < units; u0 += FS_FC_RQ_BLOCK) {
        const int32_t n = units - u0 < FS_FC_RQ_BLOCK ? units - u0 : FS_FC_RQ_BLOCK;
        int32_t mult[FS_FC_RQ_BLOCK], shift[FS_FC_RQ_BLOCK];
        fs_conv_requant_fill_fast(rq, (uint32_t)u0, (uint32_t)n, mult, shift);
        fs_fully_connected_units(p, x, w, bias, depth, u0, n, mult, shift, o);
    }
}

/* Every batch row; rq: the multipliers are computed here (requant_lazy), FS_FC_RQ_BLOCK units
 * at a time on the stack. */
static void fs_fc_rows(const fs_fully_connected_params *p, const fs_conv_requant *rq,
                       const int8_t *in, const fs_shape *w_shape, const int8_t *w,
                       const uint8_t *bias, const fs_shape *out_shape, int8_t *out) {
    const int32_t units = fs_dim_from_end(out_shape, 0);
    const int32_t depth = fs_dim_from_end(w_shape, 0);
    const int32_t batches = (int32_t)(fs_shape_count(out_shape) / units);
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + (size_t)b * depth;
        int8_t *o = out + (size_t)b * units;
        if (!rq) {
            fs_fully_connected_units(p, x, w, bias, depth, 0, units, p->pc_multiplier, p->pc_shift,
                                     o);
            continue;
        }
        fs_fc_lazy_units(p, rq, x, w, bias, depth, units, o);
    }
}

void fs_fully_connected_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                           const fs_shape *in_shape, const int8_t *in, const fs_shape *w_shape,
                           const int8_t *w, const uint8_t *bias, const fs_shape *out_shape,
                           int8_t *out) {
    (void)k;
    (void)in_shape;
    fs_fc_rows(p, NULL, in, w_shape, w, bias, out_shape, out);
}

fs_status fs_fully_connected_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    (void)k;
    const fs_fully_connected_params *p = op->data;
    const fs_tensor *in = fs_op_in(m, op, 0), *w = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    fs_conv_requant rq;
    if (p->requant_lazy) rq = fs_conv_requant_start(m, op);
    fs_fc_rows(p, p->requant_lazy ? &rq : NULL, (const int8_t *)in->data, &w->shape,
               (const int8_t *)w->data, bias ? bias->data : NULL, &out->shape, (int8_t *)out->data);
    return FS_OK;
}

/* Whether the model's per-channel FULLY_CONNECTED ops compute their multipliers at each eval
 * instead of keeping them (8 bytes per unit for the model's lifetime). That costs about 45
 * instructions per unit and inference on the Cortex-M4 (fs_conv_requant_fill_fast and the
 * blocks' calls; Polisher: 26,412 -> 32,145 per inference), which pays or not with how often
 * the model runs -- which the runtime does not know. So the rule bounds the cost per
 * inference: yes if the model's per-channel FC weights have at most FS_FC_RQ_SMALL_UNITS rows
 * in all (~6,400 instructions, 0.05 ms at 120 MHz: a small model, such as the stats model run
 * once per clip); no for bigger ones (the ae model: 1,800 units, +19.8 % per inference,
 * run many times per clip; cls: 384). Counted over the model's tensors (all loaded before the
 * first prepare; a 2-D per-channel int8 weight tensor is a FULLY_CONNECTED's), so every FC of
 * a model decides alike. */
#define FS_FC_RQ_SMALL_UNITS 128u

int fs_fc_requant_lazy_pays(const fs_model *m, const fs_op *op) {
    (void)op;
    uint64_t units = 0;
    for (uint32_t i = 0; i < m->n_tensors; ++i) {
        const fs_tensor *t = &m->tensors[i];
        if ((t->flags & FS_TENSOR_PER_CHANNEL) && t->shape.ndim == 2 && t->shape.dims[0] > 0)
            units += (uint64_t)t->shape.dims[0];
    }
    return units <= FS_FC_RQ_SMALL_UNITS;
}

/* 1 if, for every unit, the evals' fs_conv_requant_fill_fast gives what fs_rq_channel
 * (decided) and TFLM's double arithmetic (as fs_per_channel_multipliers_into) give; a block
 * at a time on the stack, so that checking needs no arena (a prepare-time temporary of 8
 * bytes per unit would be part of the arena the model needs to load). 0 with *s set if the
 * double path itself fails, as it would for the persistent arrays. Eight units at a time: prepare's
 * stack stays below the evals'. */
#define FS_FC_RQ_CHECK_BLOCK 8u
__attribute__((noinline)) static int fs_fc_lazy_ok(fs_prep *p, uint32_t units, float in_scale,
                                                   float out_scale, fs_status *s) {
    fs_model *m = p->m;
    const int w = p->op->io[1];
    const uint32_t n_scales = fs_quant_count(m, w);
    *s = FS_OK;
    if (n_scales != 1 && n_scales != units) return 0; /* fs_per_channel_multipliers says why */
    const fs_conv_requant rq = fs_conv_requant_start(m, p->op);
    for (uint32_t u0 = 0; u0 < units; u0 += FS_FC_RQ_CHECK_BLOCK) {
        const uint32_t n = units - u0 < FS_FC_RQ_CHECK_BLOCK ? units - u0 : FS_FC_RQ_CHECK_BLOCK;
        int32_t fm[FS_FC_RQ_CHECK_BLOCK], fsh[FS_FC_RQ_CHECK_BLOCK], cm[FS_FC_RQ_CHECK_BLOCK],
            csh[FS_FC_RQ_CHECK_BLOCK];
        if (!fs_conv_requant_fill_checked(&rq, u0, n, cm, csh)) return 0;
        fs_conv_requant_fill_fast(&rq, u0, n, fm, fsh);
        for (uint32_t i = 0; i < n; ++i) {
            const uint32_t c = u0 + i;
            if (fs_quant_zero_point(m, w, n_scales == 1 ? 0 : c) != 0) return 0;
            const double ws = (double)fs_quant_scale(m, w, n_scales == 1 ? 0 : c);
            int32_t dm;
            int dsh;
            if (!fs_quantize_multiplier((double)in_scale * ws / (double)out_scale, &dm, &dsh)) {
                *s = fs_op_fail(p, FS_ERR_QUANT, "bad effective scale");
                return 0;
            }
            if (fm[i] != dm || fsh[i] != dsh || cm[i] != dm || csh[i] != dsh) return 0;
        }
    }
    return 1;
}

/* The per-channel multipliers and shifts: computed by each eval (requant_lazy) if that pays
 * and the integer path gives every unit TFLM's numbers, else kept in the persistent arena. */
static fs_status fs_fc_per_channel(fs_prep *p, fs_fully_connected_params *q, uint32_t units,
                                   float in_scale, float out_scale) {
    fs_model *m = p->m;
    int32_t *mult, *shift;
    fs_status s;
#if FS_REQUANT_IN_SCRATCH
    if (fs_fc_requant_lazy_pays(m, p->op)) {
        q->requant_lazy = (uint8_t)fs_fc_lazy_ok(p, units, in_scale, out_scale, &s);
        if (s) return s;
        if (q->requant_lazy) {
            q->pc_multiplier = NULL; /* none kept: the evals compute them a block at a time */
            q->pc_shift = NULL;
            return FS_OK;
        }
    }
#endif
    if ((s = fs_per_channel_multipliers(p, p->op->io[1], units, in_scale, out_scale, &mult,
                                        &shift)))
        return s;
    q->pc_multiplier = mult;
    q->pc_shift = shift;
    return FS_OK;
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
        if (fs_quant_dim(m, p->op->io[1]) != 0)
            return fs_op_fail(p, FS_ERR_QUANT, "per-channel dimension must be 0");
        if ((s = fs_fc_per_channel(p, q, (uint32_t)units, in->scale, out->scale))) return s;
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
