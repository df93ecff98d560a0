/* DEQUANTIZE: int8 -> float32, (float)(scale * (q - zero_point)) with the
 * product in double, as TFLM's reference Dequantize. */
#include <string.h>

#include "fs_ops.h"

fs_status fs_dequantize_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *out = fs_op_out(m, p->op, 0);
    fs_status s;
    if ((s = fs_expect_type(p, in, FS_INT8, "input")) ||
        (s = fs_expect_quantized(p, in, "input")) ||
        (s = fs_expect_type(p, out, FS_FLOAT32, "output")) ||
        (s = fs_expect_same_count(p, in, out)))
        return s;
    fs_dequantize_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    q->scale = (double)in->scale;
    q->zero_point = in->zero_point;
    return FS_OK;
}

fs_status fs_dequantize_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    (void)k;
    const fs_dequantize_params *p = op->data;
    const fs_tensor *in = fs_op_in(m, op, 0);
    fs_tensor *out = fs_op_out(m, op, 0);
    const int8_t *x = (const int8_t *)in->data;
    const int64_t n = fs_shape_count(&in->shape);
    for (int64_t i = 0; i < n; ++i) {
        const float v = (float)(p->scale * (double)(x[i] - p->zero_point));
        memcpy(out->data + 4 * i, &v, sizeof v);
    }
    return FS_OK;
}
