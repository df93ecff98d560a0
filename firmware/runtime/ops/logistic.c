/* LOGISTIC, int8 in and out (output zero point -128). TFLM's reference int8
 * kernel: inputs beyond +-input_range_radius saturate; others are scaled to
 * Q4.27, passed through gemmlowp's fixed-point logistic, and rounded to
 * Q0.8 (output scale 1/256). */
#include <math.h>

#include "../fs_fixedpoint.h"
#include "fs_ops.h"

enum { FS_LOGISTIC_INPUT_BITS = 4, FS_LOGISTIC_OUTPUT_BITS = 8 };

void fs_logistic_s8(const fs_kctx *k, const fs_logistic_params *p, const fs_shape *in_shape,
                    const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    (void)out_shape;
    const int64_t n = fs_shape_count(in_shape);
    for (int64_t i = 0; i < n; ++i) {
        const int32_t x = in[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            out[i] = -128;
        } else if (x >= p->input_range_radius) {
            out[i] = 127;
        } else {
            const int32_t x_q4 = fs_mbqm(x, p->input_multiplier, p->input_left_shift);
            const int32_t y_q0 = fs_fp_logistic(x_q4, FS_LOGISTIC_INPUT_BITS);
            const int32_t y = fs_rdbpot(y_q0, 31 - FS_LOGISTIC_OUTPUT_BITS);
            out[i] = (int8_t)fs_clamp(y - 128, -128, 127);
        }
    }
}

fs_status fs_logistic_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {out, "output", FS_INT8, 1});
    if (s) return s;
    if (in->bytes != out->bytes) return fs_op_fail(p, FS_ERR_SHAPE, "sizes differ");
    if (out->zero_point != -128)
        return fs_op_fail(p, FS_ERR_QUANT, "output zero point must be -128");
    fs_logistic_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    /* As TFLM: frexp of input_scale * 2^27 directly (not QuantizeMultiplier). */
    const double real = (double)in->scale * (double)(1 << (31 - FS_LOGISTIC_INPUT_BITS));
    int shift = 0;
    const double frac = frexp(real, &shift);
    const double fixed = round(frac * 2147483648.0);
    if (shift < 0 || shift > 30 || !(fixed < 2147483648.0))
        return fs_op_fail(p, FS_ERR_QUANT, "input scale out of range");
    q->input_zero_point = in->zero_point;
    q->input_multiplier = (int32_t)fixed;
    q->input_left_shift = shift;
    q->input_range_radius = fs_input_radius(FS_LOGISTIC_INPUT_BITS, shift, 31);
    return FS_OK;
}

FS_EVAL_UNARY(logistic)
