/* RESHAPE (and EXPAND_DIMS, which shares this code): same bytes, new shape.
 * The planner makes the output an alias of the input's buffer, so eval
 * normally has nothing to do; the copy is kept for the case where the
 * buffers differ. The optional shape/axis input is not read: the output
 * tensor's static shape is authoritative, and prepare checks the counts. */
#include <string.h>

#include "fs_ops.h"

fs_status fs_reshape_prepare(fs_prep *p) {
    const fs_tensor *in = fs_op_in(p->m, p->op, 0), *out = fs_op_out(p->m, p->op, 0);
    fs_status s = fs_expect_type(p, out, in->type, "output");
    if (s) return s;
    if (in->bytes != out->bytes)
        return fs_op_fail(p, FS_ERR_SHAPE, "%u bytes in, %u bytes out", in->bytes, out->bytes);
    return FS_OK;
}

FS_EVAL_COPY(reshape)
