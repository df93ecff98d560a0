/* PAD and PADV2, int8: copy the input into the middle of the output and
 * fill the border with the output zero point (PAD) or the constant_values
 * scalar (PADV2), as TFLM's reference Pad. Paddings must be constant. */
#include "../fs_quant.h"
#include "fs_ops.h"

void fs_pad_s8(const fs_kctx *k, const fs_pad_params *p, const fs_shape *in_shape, const int8_t *in,
               const fs_shape *out_shape, int8_t *out) {
    (void)k;
    const unsigned nd = out_shape->ndim;
    int32_t idx[FS_MAX_DIMS] = {0};
    const int64_t n = fs_shape_count(out_shape);
    for (int64_t i = 0; i < n; ++i) {
        /* Input offset of output coordinate idx, or -1 inside the border. */
        int64_t off = 0;
        int inside = 1;
        for (unsigned d = 0; d < nd; ++d) {
            const int32_t c = idx[d] - p->before[d];
            if (c < 0 || c >= in_shape->dims[d]) {
                inside = 0;
                break;
            }
            off = off * in_shape->dims[d] + c;
        }
        out[i] = inside ? in[off] : (int8_t)p->value;
        for (unsigned d = nd; d-- > 0;) {
            if (++idx[d] < out_shape->dims[d]) break;
            idx[d] = 0;
        }
    }
}

fs_status fs_pad_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *pads = fs_op_in(m, p->op, 1);
    const fs_tensor *cv = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 0}, {out, "output", FS_INT8, 1});
    if (s) return s;
    if (pads->type != FS_INT32 && pads->type != FS_INT64)
        return fs_expect_type(p, pads, FS_INT32, "paddings");
    const unsigned nd = in->shape.ndim;
    if (!(pads->flags & FS_TENSOR_CONST) || pads->shape.ndim != 2 ||
        pads->shape.dims[0] != (int32_t)nd || pads->shape.dims[1] != 2 || out->shape.ndim != nd)
        return fs_op_fail(p, FS_ERR_SHAPE, "paddings must be a constant [rank, 2] tensor");
    fs_pad_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    for (unsigned d = 0; d < nd; ++d) {
        int64_t before, after;
        if (pads->type == FS_INT32) {
            before = fs_ld_i32(pads->data + 8u * d);
            after = fs_ld_i32(pads->data + 8u * d + 4u);
        } else {
            before = fs_ld_i64(pads->data + 16u * d);
            after = fs_ld_i64(pads->data + 16u * d + 8u);
        }
        if (before < 0 || after < 0 ||
            (int64_t)in->shape.dims[d] + before + after != out->shape.dims[d])
            return fs_op_fail(p, FS_ERR_SHAPE, "paddings do not give the output shape");
        q->before[d] = (int32_t)before;
        q->after[d] = (int32_t)after;
    }
    q->value = out->zero_point;
    if (cv) {
        if ((s = fs_expect_type(p, cv, FS_INT8, "constant_values"))) return s;
        if (!(cv->flags & FS_TENSOR_CONST) || cv->bytes != 1)
            return fs_op_fail(p, FS_ERR_SHAPE, "constant_values must be a constant scalar");
        if (cv->zero_point != out->zero_point || cv->scale != out->scale)
            return fs_op_fail(p, FS_ERR_QUANT,
                              "constant_values quantization differs from the output");
        q->value = (int8_t)cv->data[0];
    }
    return FS_OK;
}

FS_EVAL_UNARY(pad)
