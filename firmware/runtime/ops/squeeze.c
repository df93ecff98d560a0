/* SQUEEZE: drops size-1 dimensions; the bytes are unchanged, so like
 * RESHAPE the output aliases the input (see reshape.c). */
#include <string.h>

#include "../fs_schema.h"
#include "fs_ops.h"

fs_status fs_squeeze_prepare(fs_prep *p) {
    const fs_tensor *in = fs_op_in(p->m, p->op, 0), *out = fs_op_out(p->m, p->op, 0);
    fs_status s = fs_expect_type(p, out, in->type, "output");
    if (s) return s;
    /* As TFLM: the output is the input without the listed size-1 dimensions
     * (all size-1 dimensions when squeeze_dims is empty). */
    fs_fbv dims = fs_fb_vector(&p->m->fb, &p->options, FS_SQUEEZE_DIMS, 4);
    uint32_t drop = 0;
    for (uint32_t i = 0; i < dims.n; ++i) {
        int32_t d = fs_fb_vec_i32(&p->m->fb, dims, i);
        if (d < 0) d += in->shape.ndim;
        if (d < 0 || d >= (int32_t)in->shape.ndim || in->shape.dims[d] != 1)
            return fs_op_fail(p, FS_ERR_OPTIONS, "dimension %d cannot be squeezed", d);
        drop |= 1u << d;
    }
    int32_t want_dims[FS_MAX_DIMS];
    fs_shape want = {want_dims, 0};
    for (unsigned d = 0; d < in->shape.ndim; ++d) {
        const int squeezed = dims.n ? (int)((drop >> d) & 1u) : in->shape.dims[d] == 1;
        if (!squeezed) want_dims[want.ndim++] = in->shape.dims[d];
    }
    if (!fs_shape_equal(&want, &out->shape))
        return fs_op_fail(p, FS_ERR_SHAPE, "output shape does not match");
    return FS_OK;
}

FS_EVAL_COPY(squeeze)
