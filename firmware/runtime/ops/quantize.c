/* QUANTIZE: float32 -> int8 (TFLM AffineQuantize: round(x / scale) in
 * double, half away from zero, + zero point, clamped), or int8 -> int8
 * requantization (TFLM Requantize: MultiplyByQuantizedMultiplier by
 * in_scale / out_scale). Floats are read with memcpy, so no alignment or
 * aliasing assumptions are made about the arena. */
#include <math.h>
#include <string.h>

#include "../fs_quant.h"
#include "fs_ops.h"

static fs_status fs_quantize_run(const fs_quantize_params *p, const fs_tensor *in, fs_tensor *out) {
    const int64_t n = fs_shape_count(&out->shape);
    int8_t *y = (int8_t *)out->data;
    if (in->type == FS_FLOAT32) {
        for (int64_t i = 0; i < n; ++i) {
            float v;
            memcpy(&v, in->data + 4 * i, sizeof v);
            double r = round((double)v / p->scale);
            /* TFLM converts to int32 without a range check (undefined beyond
             * int32); clamp first so huge values and infinities saturate. */
            if (r != r) r = 0.0; /* NaN */
            if (r > 1e9) r = 1e9;
            if (r < -1e9) r = -1e9;
            y[i] = (int8_t)fs_clamp((int32_t)r + p->zero_point, -128, 127);
        }
    } else {
        const int8_t *x = (const int8_t *)in->data;
        for (int64_t i = 0; i < n; ++i)
            y[i] = (int8_t)fs_clamp(
                fs_mbqm(x[i] - p->input_zero_point, p->multiplier, p->shift) + p->zero_point, -128,
                127);
    }
    return FS_OK;
}

fs_status fs_quantize_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {out, "output", FS_INT8, 1});
    if (s) return s;
    if (in->type != FS_FLOAT32 && in->type != FS_INT8)
        return fs_expect_type(p, in, FS_FLOAT32, "input");
    if ((s = fs_expect_same_count(p, in, out))) return s;
    fs_quantize_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    q->scale = (double)out->scale;
    q->zero_point = out->zero_point;
    if (in->type == FS_INT8) {
        if ((s = fs_expect_quantized(p, in, "input"))) return s;
        int shift;
        q->input_zero_point = in->zero_point;
        if (!fs_quantize_multiplier((double)in->scale / (double)out->scale, &q->multiplier,
                                    &shift) ||
            shift > 30)
            return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
        q->shift = shift;
    }
    return FS_OK;
}

fs_status fs_quantize_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    (void)k;
    return fs_quantize_run(op->data, fs_op_in(m, op, 0), fs_op_out(m, op, 0));
}
