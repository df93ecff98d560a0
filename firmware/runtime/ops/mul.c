/* MUL, int8 with broadcasting. TFLM reference: (a + a_off) * (b + b_off)
 * requantized by in1_scale * in2_scale / out_scale (double), + out offset,
 * clamped to the activation range. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

static void fs_mul_one(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out) {
  const fs_mul_params *p = ctx;
  const int32_t prod = (p->input1_offset + *a) * (p->input2_offset + *b);
  const int32_t r = p->output_offset + fs_mbqm(prod, p->multiplier, p->shift);
  *out = (int8_t)fs_clamp(r, p->act_min, p->act_max);
}

void fs_mul_s8(const fs_kctx *k, const fs_mul_params *p, const fs_shape *a_shape, const int8_t *a,
               const fs_shape *b_shape, const int8_t *b, const fs_shape *out_shape, int8_t *out) {
  (void)k;
  if (fs_shape_equal(a_shape, b_shape)) {
    const int64_t n = fs_shape_count(out_shape);
    for (int64_t i = 0; i < n; ++i) fs_mul_one(p, a + i, b + i, out + i);
  } else {
    fs_broadcast_s8(p, fs_mul_one, a_shape, a, b_shape, b, out_shape, out);
  }
}

fs_status fs_mul_prepare(fs_prep *p) {
  fs_model *m = p->m;
  const fs_tensor *a = fs_op_in(m, p->op, 0), *b = fs_op_in(m, p->op, 1), *out = fs_op_out(m, p->op, 0);
  fs_status s = FS_EXPECT_IO(p, {a, "input 1", FS_INT8, 1}, {b, "input 2", FS_INT8, 1}, {out, "output", FS_INT8, 1});
  if (s) return s;
  if (!fs_broadcast_shape_ok(&a->shape, &b->shape, &out->shape))
    return fs_op_fail(p, FS_ERR_SHAPE, "shapes do not broadcast to the output");
  fs_mul_params *q = fs_persist(m, sizeof *q);
  if (!q) return m->status;
  p->op->data = q;
  q->input1_offset = -a->zero_point;
  q->input2_offset = -b->zero_point;
  q->output_offset = out->zero_point;
  int shift;
  const double real = (double)a->scale * (double)b->scale / (double)out->scale;
  if (!fs_quantize_multiplier(real, &q->multiplier, &shift) || shift > 30)
    return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
  q->shift = shift;
  const int act = fs_opt_u8(p, FS_MUL_ACT, FS_ACT_NONE);
  if ((s = fs_activation_range_s8(act, out->scale, out->zero_point, &q->act_min, &q->act_max)))
    return fs_op_fail(p, s, "activation %d", act);
  return FS_OK;
}

fs_status fs_mul_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  const fs_tensor *a = fs_op_in(m, op, 0), *b = fs_op_in(m, op, 1);
  fs_tensor *out = fs_op_out(m, op, 0);
  fs_mul_s8(k, op->data, &a->shape, (const int8_t *)a->data, &b->shape, (const int8_t *)b->data,
            &out->shape, (int8_t *)out->data);
  return FS_OK;
}
