/* CONCATENATION along one axis. TFLM copies the raw values for int8 (it
 * does not requantize inputs whose scale differs from the output's), so
 * this does the same, for any element type shared by inputs and output. */
#include <string.h>

#include "../fs_schema.h"
#include "fs_ops.h"

fs_status fs_concatenation_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *out = fs_op_out(m, p->op, 0);
    const unsigned nd = out->shape.ndim;
    int32_t axis = fs_opt_i32(p, FS_CONCAT_AXIS, 0);
    if (axis < 0) axis += (int32_t)nd;
    if (axis < 0 || axis >= (int32_t)nd) return fs_op_fail(p, FS_ERR_OPTIONS, "axis out of range");
    if (fs_opt_u8(p, FS_CONCAT_ACT, FS_ACT_NONE) != FS_ACT_NONE)
        return fs_op_fail(p, FS_ERR_OPTIONS, "fused activation");
    int64_t total = 0;
    for (unsigned i = 0; i < p->op->n_in; ++i) {
        const fs_tensor *in = fs_op_in(m, p->op, i);
        fs_status s = fs_expect_type(p, in, out->type, "input");
        if (s) return s;
        if (in->shape.ndim != nd) return fs_op_fail(p, FS_ERR_SHAPE, "ranks differ");
        for (unsigned d = 0; d < nd; ++d)
            if ((int32_t)d != axis && in->shape.dims[d] != out->shape.dims[d])
                return fs_op_fail(p, FS_ERR_SHAPE, "input %u shape", i);
        total += in->shape.dims[axis];
    }
    if (total != out->shape.dims[axis])
        return fs_op_fail(p, FS_ERR_SHAPE, "axis sizes do not add up");
    fs_concatenation_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    q->axis = axis;
    return FS_OK;
}

fs_status fs_concatenation_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    (void)k;
    const fs_concatenation_params *q = op->data;
    fs_tensor *out = fs_op_out(m, op, 0);
    const size_t esize = fs_type_size(out->type);
    int64_t outer = 1, inner = 1;
    for (int32_t d = 0; d < q->axis; ++d) outer *= out->shape.dims[d];
    for (unsigned d = (unsigned)q->axis + 1; d < out->shape.ndim; ++d) inner *= out->shape.dims[d];
    uint8_t *dst = out->data;
    for (int64_t o = 0; o < outer; ++o) {
        for (unsigned i = 0; i < op->n_in; ++i) {
            const fs_tensor *in = fs_op_in(m, op, i);
            const size_t chunk = (size_t)(in->shape.dims[q->axis] * inner) * esize;
            memcpy(dst, in->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    }
    return FS_OK;
}
