/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), over the last
 * dimension. TFLM's reference int8 path is gemmlowp fixed point (no LUT):
 * differences to the row maximum are scaled by beta*input_scale into Q5.26,
 * exponentiated, summed in Q12.19, and multiplied by the reciprocal of the
 * sum; differences below diff_min contribute nothing and output -128. */
#include "../fs_fixedpoint.h"
#include "../fs_schema.h"
#include "fs_ops.h"

enum { FS_SCALED_DIFF_BITS = 5, FS_ACCUM_BITS = 12 };

void fs_softmax_s8(const fs_kctx *k, const fs_softmax_params *p, const fs_shape *in_shape,
                   const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    (void)out_shape;
    const int32_t depth = fs_dim_from_end(in_shape, 0);
    const int64_t rows = fs_shape_count(in_shape) / depth;
    for (int64_t r = 0; r < rows; ++r) {
        const int8_t *x = in + r * depth;
        int8_t *y = out + r * depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < depth; ++c)
            if (x[c] > max_in_row) max_in_row = x[c];
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff < p->diff_min) continue;
            const int32_t scaled =
                fs_srdhm(fs_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
            sum_of_exps = fs_add_wrap(
                sum_of_exps, fs_fp_rescale(fs_fp_exp_on_negative(scaled, FS_SCALED_DIFF_BITS), 0,
                                           FS_ACCUM_BITS));
        }
        /* GetReciprocal: normalise the sum to [1, 2) and take 1/(1+x). */
        const int headroom_plus_one = fs_clz32((uint32_t)sum_of_exps);
        const int num_bits_over_unit = FS_ACCUM_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - (1u << 31));
        const int32_t shifted_scale = fs_fp_one_over_one_plus_x(shifted_sum_minus_one);
        /* TFLM aborts (TFLITE_CHECK) when this exceeds 31, which takes hundreds
         * of equal maxima in one row; saturate instead of shifting by >= 32. */
        int exponent = num_bits_over_unit + 31 - 8;
        if (exponent > 31) exponent = 31;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = x[c] - max_in_row;
            if (diff < p->diff_min) {
                y[c] = -128;
                continue;
            }
            const int32_t scaled =
                fs_srdhm(fs_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
            const int32_t e = fs_fp_exp_on_negative(scaled, FS_SCALED_DIFF_BITS);
            const int32_t unsat = fs_rdbpot(fs_srdhm(shifted_scale, e), exponent);
            y[c] = (int8_t)fs_clamp(unsat - 128, -128, 127);
        }
    }
}

fs_status fs_softmax_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {out, "output", FS_INT8, 1});
    if (s) return s;
    if (in->shape.ndim < 1 || !fs_shape_equal(&in->shape, &out->shape))
        return fs_op_fail(p, FS_ERR_SHAPE, "input and output shapes differ");
    if (out->zero_point != -128 || out->scale != 1.0f / 256.0f)
        return fs_op_fail(p, FS_ERR_QUANT, "output must have scale 1/256 and zero point -128");
    fs_softmax_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    /* PreprocessSoftmaxScaling(beta, input_scale, 5): Q5.26 multiplier > 1. */
    const double beta = (double)fs_opt_f32(p, FS_SOFTMAX_BETA, 0.0f);
    double real = beta * (double)in->scale * (double)(1 << (31 - FS_SCALED_DIFF_BITS));
    if (real > 2147483647.0) real = 2147483647.0;
    int shift = 0;
    if (!(real > 1.0) || !fs_quantize_multiplier(real, &q->input_multiplier, &shift) || shift < 0 ||
        shift > 30)
        return fs_op_fail(p, FS_ERR_QUANT, "beta * input scale out of range");
    q->input_left_shift = shift;
    q->diff_min = -fs_input_radius(FS_SCALED_DIFF_BITS, shift, 31);
    return FS_OK;
}

FS_EVAL_UNARY(softmax)
