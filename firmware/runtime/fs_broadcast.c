/* Numpy-style broadcasting for the binary elementwise ops (ADD, MUL).
 * Shapes are aligned at their last dimension; a dimension of 1 repeats. */
#include "ops/fs_ops.h"

void *fs_elementwise_prepare(fs_prep *p, size_t bytes, fs_elementwise_io *t) {
    const fs_model *m = p->m;
    const fs_tensor *a = t->a = fs_op_in(m, p->op, 0), *b = t->b = fs_op_in(m, p->op, 1);
    const fs_tensor *out = t->out = fs_op_out(m, p->op, 0);
    if (FS_EXPECT_IO(p, {a, "input 1", FS_INT8, 1}, {b, "input 2", FS_INT8, 1},
                     {out, "output", FS_INT8, 1}))
        return NULL;
    if (!fs_broadcast_shape_ok(&a->shape, &b->shape, &out->shape)) {
        fs_op_fail(p, FS_ERR_SHAPE, "shapes do not broadcast to the output");
        return NULL;
    }
    fs_elementwise_offsets *off = fs_op_params(p, bytes);
    if (off) *off = (fs_elementwise_offsets){-a->zero_point, -b->zero_point, out->zero_point};
    return off;
}

int fs_broadcast_shape_ok(const fs_shape *a, const fs_shape *b, const fs_shape *out) {
    const unsigned nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    if (out->ndim != nd) return 0;
    for (unsigned i = 0; i < nd; ++i) {
        const int32_t da = fs_dim_from_end(a, i), db = fs_dim_from_end(b, i);
        if (da != db && da != 1 && db != 1) return 0;
        if (fs_dim_from_end(out, i) != (da == 1 ? db : da)) return 0;
    }
    return 1;
}

void fs_broadcast_s8(const void *ctx, fs_binary_fn fn, const fs_shape *a_shape, const int8_t *a,
                     const fs_shape *b_shape, const int8_t *b, const fs_shape *out_shape,
                     int8_t *out) {
    const unsigned nd = out_shape->ndim;
    int32_t dims[FS_MAX_DIMS], sa[FS_MAX_DIMS], sb[FS_MAX_DIMS], idx[FS_MAX_DIMS];
    int64_t stride_a = 1, stride_b = 1;
    /* Strides per output dimension, 0 where an input repeats. */
    for (unsigned i = 0; i < nd; ++i) {
        const unsigned d = nd - 1 - i;
        const int32_t da = fs_dim_from_end(a_shape, i), db = fs_dim_from_end(b_shape, i);
        dims[d] = out_shape->dims[d];
        sa[d] = da == 1 ? 0 : (int32_t)stride_a;
        sb[d] = db == 1 ? 0 : (int32_t)stride_b;
        stride_a *= da;
        stride_b *= db;
        idx[d] = 0;
    }
    const int64_t n = fs_shape_count(out_shape);
    int64_t oa = 0, ob = 0;
    for (int64_t k = 0; k < n; ++k) {
        fn(ctx, a + oa, b + ob, out + k);
        /* Odometer increment from the last dimension. */
        for (unsigned i = nd; i-- > 0;) {
            oa += sa[i];
            ob += sb[i];
            if (++idx[i] < dims[i]) break;
            oa -= (int64_t)sa[i] * dims[i];
            ob -= (int64_t)sb[i] * dims[i];
            idx[i] = 0;
        }
    }
}
