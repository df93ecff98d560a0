/* PAD and PADV2 on the Cortex-M4 boards (KERNELS=cm4; fs_ops.c registers fs_pad_cm4_prepare/_eval
 * there): the same bytes as fs_pad_s8 (ops/pad.c), written a run at a time instead of an element
 * at a time. The reference finds the input element of every output element through all the
 * dimensions (about 50 instructions per byte: the cls model's PAD of 17,680 bytes took 876,333);
 * here each innermost row is one memset of its leading border, one memcpy of the input row and
 * one memset of its trailing border, and whole border blocks of the outer dimensions one memset.
 * Prepare is the reference one (same checks); no scratch. */
#include <string.h>

#include "../fs_ops.h"

/* Output dimension d onwards at out, from input dimension d onwards at in; step[d]: output
 * bytes per index of dimension d, in_step[d] the same for the input. */
static void pad_dim(const fs_pad_params *p, const fs_shape *in_shape, unsigned d, unsigned nd,
                    const int64_t *step, const int64_t *in_step, const int8_t *in, int8_t *out) {
    const int32_t n = in_shape->dims[d];
    memset(out, p->value, (size_t)(p->before[d] * step[d]));
    out += p->before[d] * step[d];
    if (d + 1 == nd) {
        memcpy(out, in, (size_t)n);
    } else {
        for (int32_t i = 0; i < n; ++i, in += in_step[d], out += step[d])
            pad_dim(p, in_shape, d + 1, nd, step, in_step, in, out);
        out -= n * step[d];
    }
    memset(out + n * step[d], p->value, (size_t)(p->after[d] * step[d]));
}

fs_status fs_pad_cm4_prepare(fs_prep *p) { return fs_pad_prepare(p); }

fs_status fs_pad_cm4_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_tensor *in = fs_op_in(m, op, 0);
    fs_tensor *out = fs_op_out(m, op, 0);
    const unsigned nd = out->shape.ndim;
    if (nd == 0 || fs_shape_count(&out->shape) == 0) return fs_pad_eval(m, op, k);
    int64_t step[FS_MAX_DIMS], in_step[FS_MAX_DIMS];
    step[nd - 1] = in_step[nd - 1] = 1;
    for (unsigned d = nd - 1; d-- > 0;) {
        step[d] = step[d + 1] * out->shape.dims[d + 1];
        in_step[d] = in_step[d + 1] * in->shape.dims[d + 1];
    }
    pad_dim(op->data, &in->shape, 0, nd, step, in_step, (const int8_t *)in->data,
            (int8_t *)out->data);
    return FS_OK;
}
