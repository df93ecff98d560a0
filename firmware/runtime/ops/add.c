/* ADD, int8 with broadcasting. TFLM's int8 scheme: both inputs are shifted
 * left by 20 bits, each rescaled to twice the larger input scale, summed,
 * and the sum rescaled to the output scale (all multipliers < 1, double
 * rounding), + output offset, clamped to the activation range. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

static void fs_add_one(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out) {
    const fs_add_params *p = ctx;
    const int32_t x = fs_shl_wrap(p->off.input1 + *a, p->left_shift);
    const int32_t y = fs_shl_wrap(p->off.input2 + *b, p->left_shift);
    const int32_t sx = fs_rdbpot(fs_srdhm(x, p->input1_multiplier), -p->input1_shift);
    const int32_t sy = fs_rdbpot(fs_srdhm(y, p->input2_multiplier), -p->input2_shift);
    const int32_t sum = fs_add_wrap(sx, sy);
    const int32_t r =
        fs_rdbpot(fs_srdhm(sum, p->output_multiplier), -p->output_shift) + p->off.output;
    *out = (int8_t)fs_clamp(r, p->act_min, p->act_max);
}

FS_ELEMENTWISE_S8(add, fs_add_one)

/* QuantizeMultiplierSmallerThanOneExp: 0 < m < 1, exponent <= 0. */
static int fs_small_multiplier(double m, int32_t *q, int32_t *shift) {
    int s;
    if (!(m > 0.0 && m < 1.0) || !fs_quantize_multiplier(m, q, &s) || s > 0) return 0;
    *shift = s;
    return 1;
}

fs_status fs_add_prepare(fs_prep *p) {
    fs_elementwise_io t;
    fs_add_params *q = fs_elementwise_prepare(p, sizeof *q, &t);
    if (!q) return p->m->status;
    const fs_tensor *a = t.a, *b = t.b, *out = t.out;
    q->left_shift = 20;
    const double twice_max = 2.0 * (double)(a->scale > b->scale ? a->scale : b->scale);
    if (!fs_small_multiplier((double)a->scale / twice_max, &q->input1_multiplier,
                             &q->input1_shift) ||
        !fs_small_multiplier((double)b->scale / twice_max, &q->input2_multiplier,
                             &q->input2_shift) ||
        !fs_small_multiplier(twice_max / ((double)(1 << 20) * (double)out->scale),
                             &q->output_multiplier, &q->output_shift))
        return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
    return fs_prepare_activation(p, FS_ADD_ACT, out, &q->act_min, &q->act_max);
}

FS_EVAL_BINARY(add)
