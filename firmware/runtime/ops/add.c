/* ADD, int8 with broadcasting. TFLM's int8 scheme: both inputs are shifted
 * left by 20 bits, each rescaled to twice the larger input scale, summed,
 * and the sum rescaled to the output scale (all multipliers < 1, double
 * rounding), + output offset, clamped to the activation range. */
#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

static void fs_add_one(const void *ctx, const int8_t *a, const int8_t *b, int8_t *out) {
  const fs_add_params *p = ctx;
  const int32_t x = fs_shl_wrap(p->input1_offset + *a, p->left_shift);
  const int32_t y = fs_shl_wrap(p->input2_offset + *b, p->left_shift);
  const int32_t sx = fs_rdbpot(fs_srdhm(x, p->input1_multiplier), -p->input1_shift);
  const int32_t sy = fs_rdbpot(fs_srdhm(y, p->input2_multiplier), -p->input2_shift);
  const int32_t sum = fs_add_wrap(sx, sy);
  const int32_t r = fs_rdbpot(fs_srdhm(sum, p->output_multiplier), -p->output_shift) + p->output_offset;
  *out = (int8_t)fs_clamp(r, p->act_min, p->act_max);
}

void fs_add_s8(const fs_kctx *k, const fs_add_params *p, const fs_shape *a_shape, const int8_t *a,
               const fs_shape *b_shape, const int8_t *b, const fs_shape *out_shape, int8_t *out) {
  (void)k;
  if (fs_shape_equal(a_shape, b_shape)) {
    const int64_t n = fs_shape_count(out_shape);
    for (int64_t i = 0; i < n; ++i) fs_add_one(p, a + i, b + i, out + i);
  } else {
    fs_broadcast_s8(p, fs_add_one, a_shape, a, b_shape, b, out_shape, out);
  }
}

/* QuantizeMultiplierSmallerThanOneExp: 0 < m < 1, exponent <= 0. */
static int fs_small_multiplier(double m, int32_t *q, int32_t *shift) {
  int s;
  if (!(m > 0.0 && m < 1.0) || !fs_quantize_multiplier(m, q, &s) || s > 0) return 0;
  *shift = s;
  return 1;
}

fs_status fs_add_prepare(fs_prep *p) {
  fs_model *m = p->m;
  const fs_tensor *a = fs_op_in(m, p->op, 0), *b = fs_op_in(m, p->op, 1), *out = fs_op_out(m, p->op, 0);
  fs_status s = FS_EXPECT_IO(p, {a, "input 1", FS_INT8, 1}, {b, "input 2", FS_INT8, 1}, {out, "output", FS_INT8, 1});
  if (s) return s;
  if (!fs_broadcast_shape_ok(&a->shape, &b->shape, &out->shape))
    return fs_op_fail(p, FS_ERR_SHAPE, "shapes do not broadcast to the output");
  fs_add_params *q = fs_persist(m, sizeof *q);
  if (!q) return m->status;
  p->op->data = q;
  q->input1_offset = -a->zero_point;
  q->input2_offset = -b->zero_point;
  q->output_offset = out->zero_point;
  q->left_shift = 20;
  const double twice_max = 2.0 * (double)(a->scale > b->scale ? a->scale : b->scale);
  if (!fs_small_multiplier((double)a->scale / twice_max, &q->input1_multiplier, &q->input1_shift) ||
      !fs_small_multiplier((double)b->scale / twice_max, &q->input2_multiplier, &q->input2_shift) ||
      !fs_small_multiplier(twice_max / ((double)(1 << 20) * (double)out->scale), &q->output_multiplier,
                           &q->output_shift))
    return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
  const int act = fs_opt_u8(p, FS_ADD_ACT, FS_ACT_NONE);
  if ((s = fs_activation_range_s8(act, out->scale, out->zero_point, &q->act_min, &q->act_max)))
    return fs_op_fail(p, s, "activation %d", act);
  return FS_OK;
}

fs_status fs_add_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
  const fs_tensor *a = fs_op_in(m, op, 0), *b = fs_op_in(m, op, 1);
  fs_tensor *out = fs_op_out(m, op, 0);
  fs_add_s8(k, op->data, &a->shape, (const int8_t *)a->data, &b->shape, (const int8_t *)b->data,
            &out->shape, (int8_t *)out->data);
  return FS_OK;
}
