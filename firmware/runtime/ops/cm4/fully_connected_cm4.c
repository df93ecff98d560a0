/* FULLY_CONNECTED on the Cortex-M4 boards (KERNELS=cm4; fs_ops.c registers
 * fs_fully_connected_cm4_prepare/_eval there): the same results as fs_fully_connected_s8
 * (ops/fully_connected.c), byte for byte.
 *
 * Prepare is the reference one plus a scratch request of 2 bytes per input: each input row is
 * expanded once to int16 with the input offset added (fs_cm4.h), then two weight rows at a time
 * are multiplied against it with SMLAD (fs_cm4_dot2), and each sum is requantized as the
 * reference does. The weights are read in place. Weights with a nonzero zero point (never made
 * by TFLite's int8 converter) keep the reference kernel: prepare leaves FS_KERNEL_REF for them.
 * Per-channel ops that keep no multipliers (requant_lazy, fully_connected.c) run the rows a
 * block at a time after computing the block's multipliers. */
#include "../fs_ops.h"
#include "fs_cm4.h"

/* Units u0 .. u0 + n - 1 of one expanded batch row x, FS_FC_RQ_BLOCK at a time with their
 * multipliers computed on the stack (requant_lazy): the block's weights, bias and outputs are
 * its rows 0 .. n - 1 for fs_cm4_matvec. Not inlined: its 512-byte frame only when it runs. */
__attribute__((noinline)) static void fs_fc_cm4_lazy(const fs_cm4_out *q, const fs_conv_requant *rq,
                                                     const int8_t *w, const int16_t *x,
                                                     uint32_t depth, uint32_t units, int8_t *out) {
    for (uint32_t u0 = 0; u0 < units; u0 += FS_FC_RQ_BLOCK) {
        const uint32_t n = units - u0 < FS_FC_RQ_BLOCK ? units - u0 : FS_FC_RQ_BLOCK;
        int32_t mult[FS_FC_RQ_BLOCK], shift[FS_FC_RQ_BLOCK];
        fs_conv_requant_fill_fast(rq, u0, n, mult, shift);
        fs_cm4_out b = *q;
        b.bias = q->bias ? q->bias + 4u * u0 : NULL;
        b.mult = mult;
        b.shift = shift;
        fs_cm4_matvec(&b, w + (size_t)u0 * depth, x, depth, 0, n, out + u0);
    }
}

static void fs_fully_connected_cm4_s8(const fs_kctx *k, const fs_fully_connected_params *p,
                                      const fs_conv_requant *rq, const int8_t *in,
                                      const fs_shape *w_shape, const int8_t *w, const uint8_t *bias,
                                      const fs_shape *out_shape, int8_t *out) {
    const uint32_t units = (uint32_t)fs_dim_from_end(out_shape, 0);
    const uint32_t depth = (uint32_t)fs_dim_from_end(w_shape, 0);
    uint32_t count = 1; /* batches: every output dimension but the last */
    for (unsigned i = 0; i + 1 < out_shape->ndim; ++i) count *= (uint32_t)out_shape->dims[i];
    const fs_cm4_out q = {bias,          p->pc_multiplier, p->pc_shift,
                          p->multiplier, p->shift,         p->output_offset,
                          p->act_min,    p->act_max,       p->fast_requant};
    for (uint32_t b = 0; b < count; ++b) {
        fs_cm4_expand(k->scratch, in + (size_t)b * depth, depth, p->input_offset);
        if (rq)
            fs_fc_cm4_lazy(&q, rq, w, k->scratch, depth, units, out + (size_t)b * units);
        else
            fs_cm4_matvec(&q, w, k->scratch, depth, 0, units, out + (size_t)b * units);
    }
}

/* fs_cm4_rq_ok for a requant_lazy op, whose shifts exist a block at a time: the bias and taps
 * condition over all units, the shifts eight at a time (a small stack frame). */
__attribute__((noinline)) static int fs_fc_cm4_lazy_rq_ok(const fs_model *m, const fs_op *op,
                                                          uint32_t units, const fs_tensor *bias,
                                                          uint32_t depth) {
    if (!fs_cm4_rq_ok(NULL, -1, units, bias, depth)) return 0;
    const fs_conv_requant rq = fs_conv_requant_start(m, op);
    for (uint32_t u0 = 0; u0 < units; u0 += 8u) {
        const uint32_t n = units - u0 < 8u ? units - u0 : 8u;
        int32_t mult[8u], shift[8u];
        fs_conv_requant_fill_fast(&rq, u0, n, mult, shift);
        if (!fs_cm4_rq_ok(shift, 0, n, NULL, depth)) return 0;
    }
    return 1;
}

fs_status fs_fully_connected_cm4_prepare(fs_prep *p) {
    const fs_status s = fs_fully_connected_prepare(p);
    if (s != FS_OK) return s;
    fs_fully_connected_params *q = p->op->data;
    const fs_tensor *w = fs_op_in(p->m, p->op, 1), *bias = fs_op_in(p->m, p->op, 2);
    if (q->pc_multiplier || q->requant_lazy || q->weights_offset == 0) {
        q->kernel = FS_KERNEL_CM4;
        const uint32_t units = (uint32_t)w->shape.dims[0], depth = (uint32_t)w->shape.dims[1];
        q->fast_requant =
            (uint8_t)(q->requant_lazy ? fs_fc_cm4_lazy_rq_ok(p->m, p->op, units, bias, depth)
                                      : fs_cm4_rq_ok(q->pc_shift, q->shift, units, bias, depth));
        p->op->scratch_bytes = fs_cm4_expanded_bytes((uint32_t)w->shape.dims[1]);
    }
    return FS_OK;
}

/* The DSP kernel's eval. Kept out of line (noipa: compiled like the externally called function
 * it was before issue 14) so that the dispatch below leaves its code, and `make perf`, as they
 * were. It is only called when prepare chose FS_KERNEL_CM4, which always asks for scratch; the
 * scratch test is a guard, not the selection. */
__attribute__((noipa)) static fs_status eval_cm4(const fs_model *m, const fs_op *op,
                                                 const fs_kctx *k) {
    if (!k->scratch) return fs_fully_connected_eval(m, op, k);
    const fs_tensor *in = fs_op_in(m, op, 0), *w = fs_op_in(m, op, 1), *bias = fs_op_in(m, op, 2);
    fs_tensor *out = fs_op_out(m, op, 0);
    const fs_fully_connected_params *p = op->data;
    fs_conv_requant rq;
    if (p->requant_lazy) rq = fs_conv_requant_start(m, op);
    fs_fully_connected_cm4_s8(k, p, p->requant_lazy ? &rq : NULL, (const int8_t *)in->data,
                              &w->shape, (const int8_t *)w->data, bias ? bias->data : NULL,
                              &out->shape, (int8_t *)out->data);
    return FS_OK;
}

fs_status fs_fully_connected_cm4_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    const fs_fully_connected_params *p = op->data;
    return p->kernel == FS_KERNEL_CM4 ? eval_cm4(m, op, k) : fs_fully_connected_eval(m, op, k);
}
