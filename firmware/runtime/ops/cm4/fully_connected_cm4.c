/* FULLY_CONNECTED, Cortex-M4 DSP kernel (KERNELS=cm4, kernels.mk): the same results as
 * fs_fully_connected_s8 (ops/fully_connected.c), byte for byte.
 *
 * Prepare is the reference one plus a scratch request of 2 bytes per input: each input row is
 * expanded once to int16 with the input offset added (fs_cm4.h), then two weight rows at a time
 * are multiplied against it with SMLAD (fs_cm4_dot2), and each sum is requantized as the
 * reference does. The weights are read in place. Weights with a nonzero zero point (never made
 * by TFLite's int8 converter) keep the reference kernel. */
#include "../../fs_quant.h"
#include "../fs_ops.h"
#include "fs_cm4.h"

fs_status __real_fs_fully_connected_prepare(fs_prep *p);
fs_status __real_fs_fully_connected_eval(const fs_model *m, const fs_op *op, const fs_kctx *k);
fs_status __wrap_fs_fully_connected_prepare(fs_prep *p);
fs_status __wrap_fs_fully_connected_eval(const fs_model *m, const fs_op *op, const fs_kctx *k);

static void fs_fully_connected_cm4_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                                      const fs_shape *in_shape, const int8_t *in,
                                      const fs_shape *w_shape, const int8_t *w,
                                      const uint8_t *bias, const fs_shape *out_shape, int8_t *out) {
  (void)in_shape;
  const uint32_t units = (uint32_t)fs_dim_from_end(out_shape, 0);
  const uint32_t depth = (uint32_t)fs_dim_from_end(w_shape, 0);
  uint32_t count = 1; /* batches: every output dimension but the last */
  for (unsigned i = 0; i + 1 < out_shape->ndim; ++i) count *= (uint32_t)out_shape->dims[i];
  const fs_cm4_out q = {bias, p->pc_multiplier, p->pc_shift, p->multiplier, p->shift,
                        p->output_offset, p->act_min, p->act_max};
  for (uint32_t b = 0; b < count; ++b) {
    fs_cm4_expand(k->scratch, in + (size_t)b * depth, depth, p->input_offset);
    fs_cm4_matvec(&q, w, k->scratch, depth, 0, units, out + (size_t)b * units);
  }
}

fs_status __wrap_fs_fully_connected_prepare(fs_prep *p) {
  const fs_status s = __real_fs_fully_connected_prepare(p);
  if (s != FS_OK) return s;
  const fs_fully_connected_params *q = p->op->data;
  const fs_tensor *w = fs_op_in(p->m, p->op, 1);
  if (q->pc_multiplier || q->weights_offset == 0)
    p->op->scratch_bytes = fs_cm4_expanded_bytes((uint32_t)w->shape.dims[1]);
  return FS_OK;
}

fs_status __wrap_fs_fully_connected_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  if (!k->scratch) return __real_fs_fully_connected_eval(m, op, k); /* not for this kernel */
  const fs_tensor *in = fs_op_in(m, op, 0), *w = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
  fs_tensor *out = fs_op_out(m, op, 0);
  fs_fully_connected_cm4_s8(k, op->data, &in->shape, (const int8_t *)in->data, &w->shape,
                            (const int8_t *)w->data, bias ? bias->data : NULL, &out->shape,
                            (int8_t *)out->data);
  return FS_OK;
}
