/* MUL, int8 with broadcasting. TFLM reference: (a + a_off) * (b + b_off)
 * requantized by in1_scale * in2_scale / out_scale (double), + out offset,
 * clamped to the activation range. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

static void fs_mul_one(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out) {
    const fs_mul_params *p = ctx;
    const int32_t prod = (p->off.input1 + *a) * (p->off.input2 + *b);
    const int32_t r = p->off.output + fs_mbqm(prod, p->multiplier, p->shift);
    *out = (int8_t)fs_clamp(r, p->act_min, p->act_max);
}

FS_ELEMENTWISE_S8(mul, fs_mul_one)

fs_status fs_mul_prepare(fs_prep *p) {
    fs_elementwise_io t;
    fs_mul_params *q = fs_elementwise_prepare(p, sizeof *q, &t);
    if (!q) return p->m->status;
    const fs_tensor *a = t.a, *b = t.b, *out = t.out;
    int shift;
    const double real = (double)a->scale * (double)b->scale / (double)out->scale;
    if (!fs_quantize_multiplier(real, &q->multiplier, &shift) || shift > 30)
        return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
    q->shift = shift;
    return fs_prepare_activation(p, FS_MUL_ACT, out, &q->act_min, &q->act_max);
}

FS_EVAL_BINARY(mul)
