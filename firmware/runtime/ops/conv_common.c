/* Shared by the convolution family and the pools (TFLM's conv_common and padding.h): output size
 * and padding of SAME/VALID geometry, and the prepare shared by CONV_2D and DEPTHWISE_CONV_2D
 * (types, quantization, stride/dilation/padding geometry, per-channel multipliers). */
#include <string.h>

#include "../fs_quant.h"
#include "../fs_schema.h"
#include "fs_ops.h"

int32_t fs_conv_out_size(int padding, int32_t in, int32_t filter, int32_t stride,
                         int32_t dilation) {
    const int64_t effective = (int64_t)(filter - 1) * dilation + 1;
    if (stride <= 0) return 0;
    if (padding == FS_PADDING_SAME) return (int32_t)(((int64_t)in + stride - 1) / stride);
    if (padding == FS_PADDING_VALID) {
        const int64_t n = (int64_t)in + stride - effective;
        return n < 0 ? 0 : (int32_t)(n / stride);
    }
    return 0;
}

int32_t fs_conv_padding(int32_t stride, int32_t dilation, int32_t in, int32_t filter, int32_t out) {
    const int64_t effective = (int64_t)(filter - 1) * dilation + 1;
    int64_t total = (int64_t)(out - 1) * stride + effective - in;
    if (total < 0) total = 0;
    return (int32_t)(total / 2);
}

void fs_conv_geometry(int padding, int32_t in_h, int32_t in_w, int32_t k_h, int32_t k_w,
                      fs_conv_geom *g, int32_t *oh, int32_t *ow) {
    *oh = fs_conv_out_size(padding, in_h, k_h, g->stride_h, g->dilation_h);
    *ow = fs_conv_out_size(padding, in_w, k_w, g->stride_w, g->dilation_w);
    g->pad_h = fs_conv_padding(g->stride_h, g->dilation_h, in_h, k_h, *oh);
    g->pad_w = fs_conv_padding(g->stride_w, g->dilation_w, in_w, k_w, *ow);
}

fs_status fs_conv_prepare_common(fs_prep *p, int depthwise, fs_conv_channels_fn channels) {
    fs_model *m = p->m;
    const fs_tensor *in = fs_op_in(m, p->op, 0), *f = fs_op_in(m, p->op, 1);
    const fs_tensor *bias = fs_op_in(m, p->op, 2), *out = fs_op_out(m, p->op, 0);
    fs_status s = fs_expect_weighted_io(p, in, f, "filter", bias, out);
    if (s) return s;
    if (in->shape.ndim != 4 || f->shape.ndim != 4 || out->shape.ndim != 4)
        return fs_op_fail(p, FS_ERR_SHAPE, "tensors must be 4-D");

    fs_conv_params *q = fs_op_params(p, sizeof *q);
    if (!q) return m->status;
    const int padding = fs_opt_u8(p, depthwise ? FS_DW_PADDING : FS_CONV_PADDING, FS_PADDING_SAME);
    q->g.stride_w = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_W : FS_CONV_STRIDE_W, 0);
    q->g.stride_h = fs_opt_i32(p, depthwise ? FS_DW_STRIDE_H : FS_CONV_STRIDE_H, 0);
    q->g.dilation_w = fs_opt_i32(p, depthwise ? FS_DW_DILATION_W : FS_CONV_DILATION_W, 1);
    q->g.dilation_h = fs_opt_i32(p, depthwise ? FS_DW_DILATION_H : FS_CONV_DILATION_H, 1);
    if (padding > FS_PADDING_VALID || q->g.stride_w < 1 || q->g.stride_h < 1 ||
        q->g.dilation_w < 1 || q->g.dilation_h < 1 || q->g.stride_w > 1024 ||
        q->g.stride_h > 1024 || q->g.dilation_w > 1024 || q->g.dilation_h > 1024)
        return fs_op_fail(p, FS_ERR_OPTIONS, "padding %d, strides %d/%d, dilations %d/%d", padding,
                          q->g.stride_h, q->g.stride_w, q->g.dilation_h, q->g.dilation_w);

    int32_t oh, ow;
    fs_conv_geometry(padding, in->shape.dims[1], in->shape.dims[2], f->shape.dims[1],
                     f->shape.dims[2], &q->g, &oh, &ow);
    if (out->shape.dims[0] != in->shape.dims[0] || out->shape.dims[1] != oh ||
        out->shape.dims[2] != ow)
        return fs_op_fail(p, FS_ERR_SHAPE, "output %dx%d, geometry gives %dx%d", out->shape.dims[1],
                          out->shape.dims[2], oh, ow);
    q->input_offset = -in->zero_point;
    q->output_offset = out->zero_point;
    if ((s = fs_prepare_activation(p, depthwise ? FS_DW_ACT : FS_CONV_ACT, out, &q->act_min,
                                   &q->act_max)))
        return s;

    const int32_t out_c = out->shape.dims[3];
    if (bias && fs_shape_count(&bias->shape) != out_c)
        return fs_op_fail(p, FS_ERR_SHAPE, "bias has wrong length");
    if ((f->flags & FS_TENSOR_PER_CHANNEL) && fs_quant_dim(m, p->op->io[1]) != (depthwise ? 3 : 0))
        return fs_op_fail(p, FS_ERR_QUANT, "per-channel dimension");
    int32_t *mult, *shift;
#if FS_REQUANT_IN_SCRATCH
    /* Checked and computed now (the DSP prepares test them) into a prepare-time temporary. If
     * the integer path gives every channel the same numbers, each eval computes them again
     * into its scratch (fs_conv_requant_eval); otherwise they are kept, as TFLM does. */
    mult = fs_prep_temp(p, 8u * (uint32_t)out_c);
    if (!mult) return m->status;
    shift = mult + out_c;
    if ((s = fs_per_channel_multipliers_into(p, p->op->io[1], (uint32_t)out_c, in->scale,
                                             out->scale, mult, shift)))
        return s;
    q->requant_lazy = (uint8_t)fs_conv_requant_check(m, p->op, (uint32_t)out_c, mult, shift);
    if (!q->requant_lazy) {
        int32_t *keep = fs_persist(m, 8u * (uint32_t)out_c);
        if (!keep) return m->status;
        memcpy(keep, mult, 8u * (uint32_t)out_c);
        mult = keep;
        shift = keep + out_c;
    }
#else
    if ((s = fs_per_channel_multipliers(p, p->op->io[1], (uint32_t)out_c, in->scale, out->scale,
                                        &mult, &shift)))
        return s;
#endif
    q->pc_multiplier = mult;
    q->pc_shift = shift;
    if ((s = channels(p, q, in, f, out))) return s;
    fs_conv_requant_reserve(p);
    return FS_OK;
}

/* ---- per-channel multipliers at eval (FS_REQUANT_IN_SCRATCH) ---------------------------- */

/* fs_quantize_multiplier(double(a) * double(w) / double(o)) without doubles (Cortex-M4 has
 * single-precision floats only, and the software double divide, frexp and round cost about
 * 1,100 instructions per channel). Per operator, r = floor(ma * 2^62 / mo) for the mantissas
 * of the input and output scales (long division, one byte per 32-bit divide); per channel,
 * t = floor(mw * r / 2^24) for the weights scale's mantissa, within 2 of the exact x =
 * ma * mw * 2^38 / mo. Rounded to 53 bits as the double division rounds (to nearest, ties to
 * even) where those 2 units cannot change the outcome, else "undecided" (0); then frexp, round
 * (q * 2^31) and the flush below 2^-31 as fs_quantize_multiplier does them. Normal floats
 * only. Prepare compares it with the double path on every channel (fs_conv_requant_check):
 * an operator with an undecided or different channel keeps its arrays persistent. */
typedef struct fs_rq_op {
    uint64_t r;      /* floor(ma * 2^62 / mo), in (2^61, 2^63) */
    int32_t exp;     /* exponent of a / o's mantissas, less the 38 the fixed point adds */
    uint32_t ua, uo; /* the scales' bits */
    int ok;          /* both scales normal and positive */
} fs_rq_op;

static uint32_t fs_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int fs_f32_normal(uint32_t u) {
    const uint32_t x = (u >> 23) & 0xffu;
    return !(u >> 31) && x != 0 && x != 255;
}

static fs_rq_op fs_rq_op_make(uint32_t ua, uint32_t uo) {
    fs_rq_op op = {0, 0, ua, uo, fs_f32_normal(ua) && fs_f32_normal(uo)};
    if (!op.ok) return op;
    const uint32_t ma = (ua & 0x7fffffu) | 0x800000u, mo = (uo & 0x7fffffu) | 0x800000u;
    /* ma * 2^62 / mo: the dividend's bytes, most significant first (ma's 24 bits, then zeros);
     * the remainder stays below mo < 2^24, so (rem << 8) | byte fits 32 bits. */
    uint32_t rem = 0;
    for (int byte = 10; byte >= 0; --byte) {
        const int bit = byte * 8 - 62; /* the byte holds ma's bits [bit, bit + 8) */
        const uint32_t d = bit >= 0 ? (ma >> bit) & 0xffu : bit > -8 ? (ma << -bit) & 0xffu : 0u;
        rem = (rem << 8) | d;
        const uint32_t qd = rem / mo;
        rem -= qd * mo;
        op.r = (op.r << 8) | qd;
    }
    op.exp = ((int32_t)((ua >> 23) & 0xffu) - 150) - ((int32_t)((uo >> 23) & 0xffu) - 150) - 38;
    return op;
}

/* m53 * 2^(k + exp) as fs_quantize_multiplier's *quantized, *shift; 0 beyond its range. */
static int fs_rq_finish(uint64_t m53, int32_t k_exp, int32_t *mult, int32_t *shift) {
    int32_t e = 53 + k_exp;                                  /* frexp: q = m53 / 2^53 */
    int64_t q_fixed = (int64_t)((m53 + (1ull << 21)) >> 22); /* round(q * 2^31), q > 0 */
    if (q_fixed == (1ll << 31)) {
        q_fixed /= 2;
        ++e;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
    if (e > 30) return 0;
    *mult = (int32_t)q_fixed;
    *shift = e;
    return 1;
}

/* The undecided case, exactly: quot = floor(ma * mw * 2^34 / mo) by long division (57 to 59
 * bits) and its remainder, rounded to 53 bits with the remainder as the sticky bit. */
static int fs_rq_exact(const fs_rq_op *op, uint32_t uw, int32_t *mult, int32_t *shift) {
    const uint64_t prod =
        (uint64_t)((op->ua & 0x7fffffu) | 0x800000u) * ((uw & 0x7fffffu) | 0x800000u);
    const uint32_t mo = (op->uo & 0x7fffffu) | 0x800000u;
    uint64_t quot = 0;
    uint32_t rem = 0;
    for (int byte = 10; byte >= 0; --byte) {
        const int bit = byte * 8 - 34; /* dividend prod * 2^34: this byte is prod's [bit, bit+8) */
        const uint32_t d = bit >= 0   ? (uint32_t)(prod >> bit) & 0xffu
                           : bit > -8 ? (uint32_t)(prod << -bit) & 0xffu
                                      : 0u;
        rem = (rem << 8) | d;
        const uint32_t qd = rem / mo;
        rem -= qd * mo;
        quot = (quot << 8) | qd;
    }
    int k = 64 - __builtin_clzll(quot) - 53;
    const uint64_t low = quot & ((1ull << k) - 1u), half = 1ull << (k - 1);
    uint64_t m53 = quot >> k;
    if (low > half || (low == half && (rem != 0 || (m53 & 1u)))) ++m53;
    if (m53 == (1ull << 53)) {
        m53 >>= 1;
        ++k;
    }
    /* x = quot * 2^-34 * 2^(ea + ew - eo); op->exp has the -38 of the fast path's scaling. */
    return fs_rq_finish(m53, k - 34 + op->exp + 38 + ((int32_t)((uw >> 23) & 0xffu) - 150), mult,
                        shift);
}

static int fs_rq_channel(const fs_rq_op *op, uint32_t uw, int32_t *mult, int32_t *shift) {
    if (!op->ok || !fs_f32_normal(uw)) return 0;
    /* 32 x 32 -> 64-bit multiplies (UMULL): mw * r = mw * rh * 2^32 + mw * rl. */
    const uint32_t mw = (uw & 0x7fffffu) | 0x800000u;
    const uint32_t rh = (uint32_t)(op->r >> 32), rl = (uint32_t)op->r;
    const uint64_t t = (((uint64_t)mw * rh) << 8) + (((uint64_t)mw * rl) >> 24);
    /* t in (2^60, 2^63): normalized to bit 63 (z in 1..3), x * 2^z is in [n, n + err). */
    const int z = __builtin_clz((uint32_t)(t >> 32));
    const uint64_t n = t << z;
    const uint32_t low = (uint32_t)n & 0x7ffu, err = 2u << z;
    uint64_t m53 = n >> 11;
    int32_t k = 11 - z;
    if (low > 0x400u)
        ++m53;
    else if (low + err > 0x400u)
        return fs_rq_exact(op, uw, mult, shift); /* near the half-way point (~0.4 %) */
    if (m53 == (1ull << 53)) {                   /* (x just below a power of 2 rounds to it) */
        m53 >>= 1;
        ++k;
    }
    /* x = m53 * 2^(k + exp + ew). */
    return fs_rq_finish(m53, k + op->exp + ((int32_t)((uw >> 23) & 0xffu) - 150), mult, shift);
}

/* The weights' scale vector of a conv op; the model was validated at load, so these reads
 * cannot fail (fs_fb records failures in the fs_fb, hence the cast). */
static fs_fbv fs_conv_scales(const fs_model *m, const fs_op *op, fs_fb **fb) {
    *fb = (fs_fb *)(uintptr_t)&m->fb;
    const fs_fbv tv = {m->fb_tensors, m->fb_n_tensors};
    const fs_fbt tt = fs_fb_vec_table(*fb, tv, (uint32_t)op->io[1]);
    const fs_fbt qt = fs_fb_table(*fb, &tt, FS_TFL_TENSOR_QUANT);
    return fs_fb_vector(*fb, &qt, FS_Q_SCALE, 4);
}

static uint32_t fs_scale_bits(fs_fb *fb, fs_fbv scales, uint32_t c) {
    return fs_f32_bits(fs_fb_vec_f32(fb, scales, scales.n == 1 ? 0 : c));
}

int fs_conv_requant_check(const fs_model *m, const fs_op *op, uint32_t channels,
                          const int32_t *mult, const int32_t *shift) {
    fs_fb *fb;
    const fs_fbv scales = fs_conv_scales(m, op, &fb);
    const fs_rq_op rq = fs_rq_op_make(fs_f32_bits(fs_op_in(m, op, 0)->scale),
                                      fs_f32_bits(fs_op_out(m, op, 0)->scale));
    for (uint32_t c = 0; c < channels; ++c) {
        int32_t fm, fsh;
        if (!fs_rq_channel(&rq, fs_scale_bits(fb, scales, c), &fm, &fsh) || fm != mult[c] ||
            fsh != shift[c])
            return 0;
    }
    return 1;
}

void fs_conv_requant_reserve(fs_prep *p) {
    const fs_conv_params *q = p->op->data;
    if (!q->requant_lazy) return;
    const uint32_t c = (uint32_t)fs_op_out(p->m, p->op, 0)->shape.dims[3];
    p->op->scratch_bytes = ((p->op->scratch_bytes + 15u) & ~15u) + 8u * c;
}

fs_conv_requant fs_conv_requant_start(const fs_model *m, const fs_op *op) {
    fs_conv_requant r;
    fs_fb *fb;
    r.scales = fs_conv_scales(m, op, &fb);
    r.base = fb->p + r.scales.pos;
    r.per_tensor = r.scales.n == 1;
    const fs_rq_op rq = fs_rq_op_make(fs_f32_bits(fs_op_in(m, op, 0)->scale),
                                      fs_f32_bits(fs_op_out(m, op, 0)->scale));
    r.r = rq.r;
    r.exp = rq.exp;
    r.ua = rq.ua;
    r.uo = rq.uo;
    return r;
}

void fs_conv_requant_fill(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                          int32_t *shift) {
    const fs_rq_op rq = {r->r, r->exp, r->ua, r->uo, 1};
    for (uint32_t i = 0; i < n; ++i) { /* decided for every channel: prepare checked */
        uint32_t uw;
        memcpy(&uw, r->base + 4u * (r->per_tensor ? 0 : c0 + i), sizeof uw); /* little-endian */
        fs_rq_channel(&rq, uw, &mult[i], &shift[i]);
    }
}

fs_kctx fs_conv_requant_eval(const fs_model *m, const fs_op *op, const fs_kctx *k) {
    fs_conv_params *q = op->data;
    if (!q->requant_lazy) return *k;
    const uint32_t c = (uint32_t)fs_op_out(m, op, 0)->shape.dims[3];
    int32_t *mult = (int32_t *)(void *)((uint8_t *)k->scratch + k->scratch_bytes - 8u * c);
    const fs_conv_requant r = fs_conv_requant_start(m, op);
    fs_conv_requant_fill(&r, 0, c, mult, mult + c);
    q->pc_multiplier = mult;
    q->pc_shift = mult + c;
    const fs_kctx rest = {k->scratch_bytes > 8u * c ? k->scratch : NULL, k->scratch_bytes - 8u * c};
    return rest;
}

/* fs_conv_requant_fill's numbers in about a third of its instructions (the FULLY_CONNECTED
 * evals: a 128-unit layer recomputes them for its 16,384 MACs every inference): round(x *
 * 2^31) straight from the normalized fixed point n = t << z, as (n + 2^32) >> 33. That equals
 * fs_rq_channel's two roundings (to 53 bits, then to 31) except where n's low 33 bits lie
 * within 2^11 + 2^(z+1) of 2^32 (its 53-bit rounding, or t's error, could then carry into
 * bit 33); there, within 2^12, it asks fs_rq_channel. Prepare checked every channel
 * decided and representable. */
/* fs_rq_channel for fs_conv_requant_fill_fast's rare undecided channel (out of its loop,
 * which then keeps its registers). */
__attribute__((noinline)) static void fs_rq_slow(const fs_conv_requant *r, uint32_t uw,
                                                 int32_t *mult, int32_t *shift) {
    const fs_rq_op rq = {r->r, r->exp, r->ua, r->uo, 1};
    fs_rq_channel(&rq, uw, mult, shift);
}

void fs_conv_requant_fill_fast(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                               int32_t *shift) {
    const uint32_t rh = (uint32_t)(r->r >> 32), rl = (uint32_t)r->r;
    const int32_t e0 = 53 + 11 + r->exp - 150;
    const uint32_t step = r->per_tensor ? 0u : 4u;
    const uint8_t *p = r->base + step * c0;
    for (const int32_t *end = mult + n; mult != end; ++mult, ++shift, p += step) {
        uint32_t uw;
        memcpy(&uw, p, sizeof uw); /* little-endian */
        /* The 24-bit significand times r, shifted right by 24 and truncated: with the
         * significand moved to the top of a word (m8 = it << 8, bit 31 the implicit 1) that is
         * m8 * rh plus the high word of m8 * rl: the same bits, five instructions fewer. */
        const uint32_t m8 = (uw << 8) | 0x80000000u;
        const uint64_t t = (uint64_t)m8 * rh + (((uint64_t)m8 * rl) >> 32);
        const uint32_t th = (uint32_t)(t >> 32), tl = (uint32_t)t;
        const int z = __builtin_clz(th); /* 1 .. 3 */
        const uint32_t hi = (th << z) | (tl >> (32 - z)), lo = tl << z;
        int32_t e = e0 - z + (int32_t)((uw >> 23) & 0xffu);
        if (((hi & 1u) ? lo < 0x1000u : lo >= 0xfffff000u) || e > 30) {
            fs_rq_slow(r, uw, mult, shift);
            continue;
        }
        uint32_t q = (hi >> 1) + (hi & 1u);
        if (q == 0x80000000u) {
            q >>= 1;
            ++e;
        }
        if (e < -31) {
            q = 0;
            e = 0;
        }
        *mult = (int32_t)q;
        *shift = e;
    }
}

int fs_conv_requant_fill_checked(const fs_conv_requant *r, uint32_t c0, uint32_t n, int32_t *mult,
                                 int32_t *shift) {
    const fs_rq_op rq = {r->r, r->exp, r->ua, r->uo, fs_f32_normal(r->ua) && fs_f32_normal(r->uo)};
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t uw;
        memcpy(&uw, r->base + 4u * (r->per_tensor ? 0 : c0 + i), sizeof uw); /* little-endian */
        if (!fs_rq_channel(&rq, uw, &mult[i], &shift[i])) return 0;
    }
    return 1;
}
