/* SQUEEZE: drops size-1 dimensions; the bytes are unchanged, so like
 * RESHAPE the output aliases the input (see reshape.c). */
#include <string.h>

#include "fs_ops.h"

fs_status fs_squeeze_prepare(fs_prep *p) {
  const fs_tensor *in = fs_op_in(p->m, p->op, 0), *out = fs_op_out(p->m, p->op, 0);
  fs_status s = fs_expect_type(p, out, in->type, "output");
  if (s) return s;
  if (in->bytes != out->bytes)
    return fs_fail(p->m, FS_ERR_SHAPE, "op %u SQUEEZE: %u bytes in, %u bytes out", p->index, in->bytes,
                   out->bytes);
  return FS_OK;
}

fs_status fs_squeeze_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  (void)k;
  const fs_tensor *in = fs_op_in(m, op, 0);
  fs_tensor *out = fs_op_out(m, op, 0);
  if (out->data != in->data) memmove(out->data, in->data, out->bytes);
  return FS_OK;
}
