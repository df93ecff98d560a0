/* The planar DEPTHWISE_CONV_2D kernel (what and why: fs_cm4_dw.h). Exactly the reference
 * kernel's sums (int32, no overflow by fs_cm4_rq_ok's bound; padding adds zero in both) and
 * fs_mbqm's requantization (fs_cm4_rq.h). */
#include "fs_cm4.h"
#include "fs_cm4_dw.h"
#include "fs_cm4_rq.h"

#define FS_CM4_DW_MIN_SCRATCH 768
#define FS_CM4_DW_MAX_TAPS 16

static inline uint32_t pkhbt16(uint32_t lo, uint32_t hi) { /* (lo.lo, hi.lo) */
    uint32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
static inline uint32_t pkhtb16(uint32_t hi, uint32_t lo) { /* (lo.hi, hi.hi) */
    uint32_t r;
    __asm("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}

static void axis(fs_cm4_dw_axis *a, int32_t out, int32_t in, int32_t stride, int32_t pad,
                 int32_t taps, int32_t in_step, int32_t out_step, int32_t w_step) {
    const fs_cm4_dw_axis v = {out, in, stride, pad, taps, in_step, out_step, w_step};
    *a = v;
}

/* The plan for input and output images [ih][iw][c] and [oh][ow][oc], oc = c * mult, and a
 * filter whose taps are fx (along x) and fy (along y) bytes apart, channels fc. */
typedef struct dw_shapes {
    int32_t ih, iw, c, oh, ow, oc, kh, kw, fx, fy, fc;
} dw_shapes;

static int plan_common(const fs_conv_params *p, const dw_shapes *s, fs_cm4_dw_plan *plan) {
    const fs_conv_geom *g = &p->g;
    if (!p->fast_requant || g->dilation_w != 1 || g->dilation_h != 1 || s->oc % s->c) return 0;
    const int x_ok = s->kw == 3 && g->stride_w <= 2 && s->kh <= FS_CM4_DW_MAX_TAPS;
    const int y_ok = s->kh == 3 && g->stride_h <= 2 && s->kw <= FS_CM4_DW_MAX_TAPS;
    if (x_ok && (!y_ok || s->ow >= s->oh)) { /* rows along x */
        axis(&plan->u, s->ow, s->iw, g->stride_w, g->pad_w, s->kw, s->c, s->oc, s->fx);
        axis(&plan->v, s->oh, s->ih, g->stride_h, g->pad_h, s->kh, s->iw * s->c, s->ow * s->oc,
             s->fy);
    } else if (y_ok) { /* rows along y: the plane is the image transposed */
        axis(&plan->u, s->oh, s->ih, g->stride_h, g->pad_h, s->kh, s->iw * s->c, s->ow * s->oc,
             s->fy);
        axis(&plan->v, s->ow, s->iw, g->stride_w, g->pad_w, s->kw, s->c, s->oc, s->fx);
    } else {
        return 0;
    }
    plan->mult = s->oc / s->c;
    plan->fc = s->fc;
    plan->pitch = (((plan->u.out - 1) * plan->u.stride + 4) + 1) & ~1;
    plan->planes = s->c < 4 ? s->c : 4;
    /* The band: as many output rows as the scratch budget allows (fs_cm4_dw.h), at least one. */
    const int64_t tensors = (int64_t)s->ih * s->iw * s->c + (int64_t)s->oh * s->ow * s->oc;
    const int64_t budget =
        tensors / 4 > FS_CM4_DW_MIN_SCRATCH ? tensors / 4 : FS_CM4_DW_MIN_SCRATCH;
    const int64_t row_bytes = 2 * plan->planes * plan->pitch;
    const int64_t fit = (budget - 12 * plan->v.taps) / row_bytes; /* plane rows within the budget */
    int64_t band = fit < plan->v.taps ? 1 : (fit - plan->v.taps) / plan->v.stride + 1;
    if (band > plan->v.out) band = plan->v.out;
    plan->band = (int32_t)band;
    plan->rows = (plan->band - 1) * plan->v.stride + plan->v.taps;
    return plan->u.out > 0 && plan->v.out > 0;
}

int fs_cm4_dw_plan_make(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out, fs_cm4_dw_plan *plan) {
    const int32_t c = in->dims[3], kw = f->dims[2];
    const dw_shapes s = {in->dims[1], in->dims[2], c, out->dims[1], out->dims[2], c, f->dims[1], kw,
                         c,           kw * c,      1};
    return p->depth_multiplier == 1 && out->dims[3] == c && plan_common(p, &s, plan);
}

int fs_cm4_dw_plan_stem(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out, fs_cm4_dw_plan *plan) {
    const int32_t kh = f->dims[1], kw = f->dims[2];
    const dw_shapes s = {in->dims[1], in->dims[2], 1, out->dims[1], out->dims[2], out->dims[3],
                         kh,          kw,          1, kw,           kh * kw};
    return in->dims[3] == 1 && f->dims[3] == 1 && plan_common(p, &s, plan);
}

uint32_t fs_cm4_dw_scratch_bytes(const fs_cm4_dw_plan *plan) {
    return 2u * (uint32_t)(plan->planes * plan->rows * plan->pitch) + 12u * (uint32_t)plan->v.taps;
}

/* ---- the planes ---------------------------------------------------------------------------- */

/* Plane column u of four channels from one pixel (4 bytes at src). */
static inline void put1(int16_t *const pl[4], int32_t u, const int8_t *src, uint32_t off2) {
    const uint32_t x = fs_cm4_ld32(src);
    const uint32_t a = __sxtab16(off2, x), b = fs_cm4_sxtab16_odd(off2, x);
    pl[0][u] = (int16_t)a;
    pl[2][u] = (int16_t)(a >> 16);
    pl[1][u] = (int16_t)b;
    pl[3][u] = (int16_t)(b >> 16);
}

/* Plane row of four channels from the input row src (its pixel at u = pad first). */
static void row4(int16_t *const pl[4], const fs_cm4_dw_axis *ua, int32_t pitch, const int8_t *src,
                 uint32_t off2) {
    const int32_t lo = ua->pad, hi = ua->pad + ua->in < pitch ? ua->pad + ua->in : pitch;
    const int32_t step = ua->in_step;
    int32_t u = 0;
    for (; u < lo && u < pitch; ++u) pl[0][u] = pl[1][u] = pl[2][u] = pl[3][u] = 0;
    if ((u & 1) && u < hi) put1(pl, u, src + (u - lo) * step, off2), ++u;
    for (; u + 1 < hi; u += 2) {
        const int8_t *s = src + (u - lo) * step;
        const uint32_t x = fs_cm4_ld32(s), y = fs_cm4_ld32(s + step);
        const uint32_t a = __sxtab16(off2, x), b = fs_cm4_sxtab16_odd(off2, x);
        const uint32_t c = __sxtab16(off2, y), d = fs_cm4_sxtab16_odd(off2, y);
        ((uint32_t *)(void *)pl[0])[u >> 1] = pkhbt16(a, c);
        ((uint32_t *)(void *)pl[2])[u >> 1] = pkhtb16(c, a);
        ((uint32_t *)(void *)pl[1])[u >> 1] = pkhbt16(b, d);
        ((uint32_t *)(void *)pl[3])[u >> 1] = pkhtb16(d, b);
    }
    if (u < hi) put1(pl, u, src + (u - lo) * step, off2), ++u;
    for (; u < pitch; ++u) pl[0][u] = pl[1][u] = pl[2][u] = pl[3][u] = 0;
}

/* Plane row of n < 4 channels, one byte at a time (no read past the pixel's last channel). */
static void row_n(int16_t *const pl[4], int32_t n, const fs_cm4_dw_axis *ua, int32_t pitch,
                  const int8_t *src, int32_t offset) {
    for (int32_t u = 0; u < pitch; ++u) {
        const int32_t iu = u - ua->pad;
        const int inside = iu >= 0 && iu < ua->in;
        for (int32_t k = 0; k < n; ++k)
            pl[k][u] = (int16_t)(inside ? src[iu * ua->in_step + k] + offset : 0);
    }
}

/* Plane rows 0..rows of n channels from padded input rows first.. (source row first - pad). */
static void fill(int16_t *planes, const fs_cm4_dw_plan *plan, int32_t n, const int8_t *src,
                 int32_t offset, int32_t first, int32_t rows) {
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x10001u;
    const int32_t size = plan->rows * plan->pitch;
    for (int32_t v = 0; v < rows; ++v) {
        /* Planes past the last channel (n < 4) get the same row as plane 0: never read. */
        int16_t *const pl[4] = {planes + v * plan->pitch, planes + (n > 1) * size + v * plan->pitch,
                                planes + 2 * (n > 2) * size + v * plan->pitch,
                                planes + 3 * (n > 3) * size + v * plan->pitch};
        const int32_t iv = first + v - plan->v.pad;
        if (iv < 0 || iv >= plan->v.in) {
            for (int32_t k = 0; k < n; ++k) memset(pl[k], 0, 2u * (uint32_t)plan->pitch);
        } else if (n == 4) {
            row4(pl, &plan->u, plan->pitch, src + iv * plan->v.in_step, off2);
        } else {
            row_n(pl, n, &plan->u, plan->pitch, src + iv * plan->v.in_step, offset);
        }
    }
}

/* ---- one channel --------------------------------------------------------------------------- */

typedef struct dw_row {
    const uint32_t *w; /* per filter row i: A, B, C (fs_cm4_dw.h) */
    int32_t taps, pitch_words, n, bias, m, r, k, lo, hi, ostep;
} dw_row;

static inline int8_t rq(const dw_row *d, int32_t acc) {
    return fs_cm4_clamp8(fs_cm4_rq_apply(acc, d->m, d->r, d->k), d->lo, d->hi);
}

static void row_s1(const dw_row *d, const uint32_t *row, int8_t *o) {
    const int32_t s = d->ostep;
    int32_t x = 0;
    for (; x + 4 <= d->n; x += 4, row += 2, o += 4 * s) {
        int32_t a0 = d->bias, a1 = d->bias, a2 = d->bias, a3 = d->bias;
        const uint32_t *w = d->w, *r = row;
        for (int32_t i = 0; i < d->taps; ++i, r += d->pitch_words, w += 3) {
            const uint32_t i0 = r[0], i2 = r[1], i4 = r[2], A = w[0], C = w[1], B = w[2];
            a0 = __smlabb(C, i2, __smlad(A, i0, a0));
            a1 = __smlatt(C, i0, __smlad(B, i2, a1));
            a2 = __smlabb(C, i4, __smlad(A, i2, a2));
            a3 = __smlatt(C, i2, __smlad(B, i4, a3));
        }
        o[0] = rq(d, a0);
        o[s] = rq(d, a1);
        o[2 * s] = rq(d, a2);
        o[3 * s] = rq(d, a3);
    }
    for (; x < d->n; x += 2, ++row, o += 2 * s) {
        int32_t a0 = d->bias, a1 = d->bias;
        const uint32_t *w = d->w, *r = row;
        for (int32_t i = 0; i < d->taps; ++i, r += d->pitch_words, w += 3) {
            a0 = __smlabb(w[1], r[1], __smlad(w[0], r[0], a0));
            a1 = __smlatt(w[1], r[0], __smlad(w[2], r[1], a1));
        }
        o[0] = rq(d, a0);
        if (x + 1 < d->n) o[s] = rq(d, a1);
    }
}

static void row_s2(const dw_row *d, const uint32_t *row, int8_t *o) {
    const int32_t s = d->ostep;
    int32_t x = 0;
    for (; x + 4 <= d->n; x += 4, row += 4, o += 4 * s) {
        int32_t a0 = d->bias, a1 = d->bias, a2 = d->bias, a3 = d->bias;
        const uint32_t *w = d->w, *r = row;
        for (int32_t i = 0; i < d->taps; ++i, r += d->pitch_words, w += 3) {
            const uint32_t i2 = r[1], i4 = r[2], i6 = r[3], A = w[0], C = w[1];
            a0 = __smlabb(C, i2, __smlad(A, r[0], a0));
            a1 = __smlabb(C, i4, __smlad(A, i2, a1));
            a2 = __smlabb(C, i6, __smlad(A, i4, a2));
            a3 = __smlabb(C, r[4], __smlad(A, i6, a3));
        }
        o[0] = rq(d, a0);
        o[s] = rq(d, a1);
        o[2 * s] = rq(d, a2);
        o[3 * s] = rq(d, a3);
    }
    for (; x < d->n; ++x, ++row, o += s) {
        int32_t a0 = d->bias;
        const uint32_t *w = d->w, *r = row;
        for (int32_t i = 0; i < d->taps; ++i, r += d->pitch_words, w += 3)
            a0 = __smlabb(w[1], r[1], __smlad(w[0], r[0], a0));
        o[0] = rq(d, a0);
    }
}

/* The weight words of channel c: per tap i along v, A = (w0, w1), C = (w2, w0), B = (w1, w2), in
 * that order (the stride-2 loop reads A and C with one LDRD). */
static void weights(uint32_t *wt, const fs_cm4_dw_plan *plan, const int8_t *f) {
    for (int32_t i = 0; i < plan->v.taps; ++i) {
        const int8_t *t = f + i * plan->v.w_step;
        const uint32_t w0 = (uint16_t)t[0], w1 = (uint16_t)t[plan->u.w_step],
                       w2 = (uint16_t)t[2 * plan->u.w_step];
        wt[3 * i] = w0 | (w1 << 16);
        wt[3 * i + 1] = w2 | (w0 << 16);
        wt[3 * i + 2] = w1 | (w2 << 16);
    }
}

/* Whole groups of four outputs in assembly (three filter rows, full int8 range); the rest in C. */
static void row_asm(dw_row *d, const uint32_t **row, int8_t **o, int32_t stride) {
    fs_cm4_dw_run run = {d->w, *row, 4 * d->pitch_words, d->n >> 2, *o, d->ostep, d->bias, d->m,
                         d->k, d->r};
    if (stride == 1)
        fs_cm4_dw_run_s1(&run);
    else
        fs_cm4_dw_run_s2(&run);
    *row = run.row;
    *o = run.out;
}

/* Output rows 0..nrows of the band in the planes; o: the band's first output. */
static void channel(dw_row *d, const fs_cm4_dw_plan *plan, const int16_t *plane, int8_t *o,
                    int32_t nrows) {
    const int asm_ok = plan->v.taps == 3 && d->lo == -128 && d->hi == 127 && d->n >= 4;
    const int32_t n = d->n;
    for (int32_t ov = 0; ov < nrows; ++ov) {
        const uint32_t *row =
            (const uint32_t *)(const void *)(plane + ov * plan->v.stride * plan->pitch);
        int8_t *orow = o + ov * plan->v.out_step;
        if (asm_ok) {
            row_asm(d, &row, &orow, plan->u.stride);
            d->n = n & 3;
            if (d->n) {
                if (plan->u.stride == 1)
                    row_s1(d, row, orow);
                else
                    row_s2(d, row, orow);
            }
            d->n = n;
            continue;
        }
        if (plan->u.stride == 1)
            row_s1(d, row, o + ov * plan->v.out_step);
        else
            row_s2(d, row, o + ov * plan->v.out_step);
    }
}

void fs_cm4_dw_plane(void *scratch, const fs_cm4_dw_plan *plan, const fs_conv_params *p,
                     int32_t batches, int32_t channels, const int8_t *in, const int8_t *f,
                     const uint8_t *bias, int8_t *out) {
    int16_t *planes = scratch;
    const int32_t size = plan->rows * plan->pitch;
    uint32_t *wt = (uint32_t *)(void *)(planes + plan->planes * size);
    const int32_t in_image = plan->u.in * plan->v.in * channels;
    const int32_t out_image = plan->u.out * plan->v.out * channels * plan->mult;
    dw_row d = {wt, plan->v.taps, plan->pitch / 2, plan->u.out,     0, 0, 0,
                0,  p->act_min,   p->act_max,      plan->u.out_step};
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t c0 = 0; c0 < channels; c0 += 4) {
            const int32_t n = channels - c0 < 4 ? channels - c0 : 4;
            for (int32_t v0 = 0; v0 < plan->v.out; v0 += plan->band) {
                const int32_t nb = plan->v.out - v0 < plan->band ? plan->v.out - v0 : plan->band;
                fill(planes, plan, n, in + b * in_image + c0, p->input_offset, v0 * plan->v.stride,
                     (nb - 1) * plan->v.stride + plan->v.taps);
                for (int32_t j = 0; j < n * plan->mult; ++j) {
                    const int32_t k = j / plan->mult,
                                  c = c0 * plan->mult + j; /* plane, output channel */
                    const fs_cm4_rq q =
                        fs_cm4_rq_make(p->pc_multiplier[c], p->pc_shift[c], p->output_offset);
                    weights(wt, plan, f + c * plan->fc);
                    d.bias = bias ? (int32_t)fs_cm4_ld32(bias + 4u * (uint32_t)c) : 0;
                    d.m = q.m;
                    d.r = q.r;
                    d.k = q.k;
                    channel(&d, plan, planes + k * size,
                            out + b * out_image + c + v0 * plan->v.out_step, nb);
                }
            }
        }
    }
}
