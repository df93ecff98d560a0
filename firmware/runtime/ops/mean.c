/* MEAN (reduce over constant axes), int8, as TFLM's QuantizedMeanOrSum:
 * (sum - zp_in * n) requantized by in_scale / out_scale, with the 1/n folded
 * into the multiplier: shift = min(floor(log2 n), 32, 31 + out_shift),
 * multiplier = (multiplier << shift) / n, out_shift -= shift.
 *
 * Older TFLM releases had two more paths (a rounding 4-D H,W special case,
 * and plain truncating division when input and output quantization are
 * equal); the tflite-micro release this was checked against
 * (tests/firmware/golden/runtime/manifest.json) uses QuantizedMeanOrSum in
 * every int8 case, equal quantization included (golden mean_samequant_*).
 * Sums are accumulated in a per-op int32 scratch buffer (one per output): column sums when the
 * reduced axes are one block of dimensions, else an odometer over all of them. */
#include <stddef.h>

#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

/* The input as [outer, n_axis, inner] (row-major) when its reduced dimensions form one block
 * of consecutive dimensions, ignoring dimensions of size 1: the usual means over H and W of
 * NHWC, or over time of [1, T, F, 1]. 0 when they do not (e.g. axes 1 and 3 of 4). */
static int fs_mean_block(const fs_shape *s, uint32_t axis_mask, int64_t *outer, int64_t *inner) {
    int64_t before = 1, after = 1;
    int seen = 0, passed = 0; /* a reduced dimension seen; a kept one after it */
    for (unsigned d = 0; d < s->ndim; ++d) {
        if (s->dims[d] == 1) continue;
        if (axis_mask & (1u << d)) {
            if (passed) return 0;
            seen = 1;
        } else if (seen) {
            passed = 1;
            after *= s->dims[d];
        } else {
            before *= s->dims[d];
        }
    }
    *outer = before;
    *inner = after;
    return 1;
}

/* sum[a * inner + c] = sum over r of in[(a * n + r) * inner + c]: columns of the [n, inner]
 * slices summed four at a time in registers, each input byte read once (about 3 instructions
 * per byte on the Cortex-M4 against the odometer's 50). uint32 wraps as fs_add_wrap does. */
static void fs_mean_columns(const int8_t *in, size_t outer, size_t n, size_t inner, int32_t *sum) {
    for (size_t a = 0; a < outer; ++a, in += n * inner, sum += inner) {
        size_t c = 0;
        for (; c + 4 <= inner; c += 4) {
            uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            const int8_t *p = in + c;
            for (size_t r = 0; r < n; ++r, p += inner) {
                s0 += (uint32_t)(int32_t)p[0];
                s1 += (uint32_t)(int32_t)p[1];
                s2 += (uint32_t)(int32_t)p[2];
                s3 += (uint32_t)(int32_t)p[3];
            }
            sum[c] = (int32_t)s0;
            sum[c + 1] = (int32_t)s1;
            sum[c + 2] = (int32_t)s2;
            sum[c + 3] = (int32_t)s3;
        }
        for (; c < inner; ++c) {
            uint32_t s0 = 0;
            for (size_t r = 0; r < n; ++r) s0 += (uint32_t)(int32_t)in[r * inner + c];
            sum[c] = (int32_t)s0;
        }
    }
}

/* Any set of axes: one pass over the input, an odometer over its dimensions finding each
 * element's output. */
static void fs_mean_odometer(const fs_mean_params *p, const fs_shape *in_shape, const int8_t *in,
                             int64_t n_out, int32_t *sum) {
    const unsigned nd = in_shape->ndim;
    int32_t ostride[FS_MAX_DIMS], idx[FS_MAX_DIMS];
    int64_t stride = 1;
    for (unsigned d = nd; d-- > 0;) {
        idx[d] = 0;
        if (p->axis_mask & (1u << d)) {
            ostride[d] = 0;
        } else {
            ostride[d] = (int32_t)stride;
            stride *= in_shape->dims[d];
        }
    }
    for (int64_t i = 0; i < n_out; ++i) sum[i] = 0;
    const int64_t n_in = fs_shape_count(in_shape);
    int64_t o = 0;
    for (int64_t i = 0; i < n_in; ++i) {
        sum[o] = fs_add_wrap(sum[o], in[i]);
        for (unsigned d = nd; d-- > 0;) {
            o += ostride[d];
            if (++idx[d] < in_shape->dims[d]) break;
            o -= (int64_t)ostride[d] * in_shape->dims[d];
            idx[d] = 0;
        }
    }
}

void fs_mean_s8(const fs_kctx *k, const fs_mean_params *p, const fs_shape *in_shape,
                const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    int32_t *sum = k->scratch;
    const int64_t n_out = fs_shape_count(out_shape);
    int64_t n_axis = 1, outer, inner;
    for (unsigned d = 0; d < in_shape->ndim; ++d)
        if (p->axis_mask & (1u << d)) n_axis *= in_shape->dims[d];
    if (fs_mean_block(in_shape, p->axis_mask, &outer, &inner))
        fs_mean_columns(in, (size_t)outer, (size_t)n_axis, (size_t)inner, sum);
    else
        fs_mean_odometer(p, in_shape, in, n_out, sum);
    int shift = 0;
    while (shift < 62 && (n_axis >> (shift + 1)) != 0) ++shift; /* floor(log2 n) */
    if (shift > 32) shift = 32;
    if (shift > 31 + p->shift) shift = 31 + p->shift;
    const int32_t mult = (int32_t)(((int64_t)p->multiplier << shift) / n_axis);
    const int out_shift = p->shift - shift;
    const int left = out_shift > 0 ? out_shift : 0, right = out_shift > 0 ? 0 : -out_shift;
    const uint32_t zp_n = (uint32_t)(uint64_t)((int64_t)p->input_zp * n_axis);
    for (int64_t i = 0; i < n_out; ++i) {
        const int32_t x = fs_shl_wrap((int32_t)((uint32_t)sum[i] - zp_n), left);
        /* fs_srdhm(x, mult) for mult >= 0 (it is: multiplier and n are positive): (x * mult +
         * 2^30) >> 31 is the same integer as the nudged division truncating toward zero
         * (tests/boards/test_kernels_cm4.py's test_requantization_identity), and it never
         * saturates (that needs mult = INT32_MIN). */
        const int32_t high = (int32_t)(((int64_t)x * mult + (1ll << 30)) >> 31);
        const int32_t r = fs_rdbpot(high, right) + p->output_zp;
        out[i] = (int8_t)fs_clamp(r, -128, 127);
    }
}

fs_status fs_mean_prepare(fs_prep *p) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *axis = fs_op_in(m, p->op, 1),
                    *out = fs_op_out(m, p->op, 0);
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {axis, "axis", FS_INT32, 0},
                               {out, "output", FS_INT8, 1});
    if (s) return s;
    if (!(axis->flags & FS_TENSOR_CONST))
        return fs_op_fail(p, FS_ERR_GRAPH, "axis must be constant");
    fs_mean_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    const unsigned nd = in->shape.ndim;
    const uint32_t n_axes = axis->bytes / 4u;
    for (uint32_t i = 0; i < n_axes; ++i) {
        int32_t a = fs_ld_i32(axis->data + 4u * i);
        if (a < 0) a += (int32_t)nd;
        if (a < 0 || a >= (int32_t)nd) return fs_op_fail(p, FS_ERR_SHAPE, "axis out of range");
        q->axis_mask |= 1u << a;
    }
    /* The output shape must be the input's with reduced axes set to 1
     * (keep_dims) or removed. */
    const int keep = fs_opt_u8(p, FS_REDUCER_KEEP_DIMS, 0);
    int32_t want_dims[FS_MAX_DIMS];
    fs_shape want = {want_dims, 0};
    for (unsigned d = 0; d < nd; ++d) {
        const int reduced = (q->axis_mask >> d) & 1u;
        if (reduced && !keep) continue;
        want_dims[want.ndim++] = reduced ? 1 : in->shape.dims[d];
    }
    if (!fs_shape_equal(&want, &out->shape))
        return fs_op_fail(p, FS_ERR_SHAPE, "output shape does not match axes");
    q->input_zp = in->zero_point;
    q->output_zp = out->zero_point;
    int shift;
    if (!fs_quantize_multiplier((double)in->scale / (double)out->scale, &q->multiplier, &shift) ||
        shift > 30)
        return fs_op_fail(p, FS_ERR_QUANT, "scales out of range");
    q->shift = shift;
    p->op->scratch_bytes = (uint32_t)(out->bytes * sizeof(int32_t));
    return FS_OK;
}

FS_EVAL_UNARY(mean)
