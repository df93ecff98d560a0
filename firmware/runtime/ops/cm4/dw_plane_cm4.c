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

/* The four planes of a fill, as one pointer and the bytes between planes: the stores of a
 * column then share one base register. */
typedef struct dw_planes4 {
    uint8_t *p;  /* plane 0, at the row being filled */
    int32_t gap; /* bytes from one plane to the next */
} dw_planes4;

static inline void put_half(const dw_planes4 *pl, int32_t u, int32_t k, int32_t v) {
    *(int16_t *)(void *)(pl->p + k * pl->gap + 2 * u) = (int16_t)v;
}

/* Zeros in plane words [w0, w1) of the four planes. The empty asm hides the pointer's steps
 * from gcc, which would otherwise turn each plane's run of words into a memset call: more
 * instructions than these few stores. */
static inline void zero_words4(const dw_planes4 *pl, int32_t w0, int32_t w1) {
    const int32_t g = pl->gap;
    for (uint8_t *w = pl->p + 4 * w0, *const end = pl->p + 4 * w1; w != end; w += 4) {
        __asm("" : "+r"(w));
        *(uint32_t *)(void *)w = 0;
        *(uint32_t *)(void *)(w + g) = 0;
        *(uint32_t *)(void *)(w + 2 * g) = 0;
        *(uint32_t *)(void *)(w + 3 * g) = 0;
    }
}

/* One plane word of each of the four planes at w from the pixels at x and x + step. */
static inline void pair4(uint8_t *w, int32_t g, const int8_t *x, int32_t step, uint32_t off2) {
    const uint32_t p0 = fs_cm4_ld32(x), p1 = fs_cm4_ld32(x + step);
    const uint32_t a = __sxtab16(off2, p0), b = fs_cm4_sxtab16_odd(off2, p0);
    const uint32_t c = __sxtab16(off2, p1), d = fs_cm4_sxtab16_odd(off2, p1);
    *(uint32_t *)(void *)w = pkhbt16(a, c);
    *(uint32_t *)(void *)(w + g) = pkhbt16(b, d);
    *(uint32_t *)(void *)(w + 2 * g) = pkhtb16(c, a);
    *(uint32_t *)(void *)(w + 3 * g) = pkhtb16(d, b);
}

/* Plane words [u / 2, u / 2 + words) (u even) of four channels from 2 * words pixels at src,
 * step bytes apart: per two pixels two loads, four SXTAB16, four PKHBT / PKHTB, four stores
 * (unrolled further, gcc runs out of registers and spills in the loop). */
static void pairs4(const dw_planes4 *pl, int32_t u, int32_t words, const int8_t *src, int32_t step,
                   uint32_t off2) {
    uint8_t *w = pl->p + 2 * u;
    for (uint8_t *const end = w + 4 * words; w != end; w += 4, src += 2 * step)
        pair4(w, pl->gap, src, step, off2);
}

/* Where a plane row's words come from, the same for every row of a fill: `lead` words of
 * zeros, then (odd_first) a word of a zero and the first pixel, `pairs` words of two pixels,
 * (odd_last) a word of the last pixel and a zero, zeros to the end of the pitch. */
typedef struct dw_row_words {
    int32_t lead, odd_first, pairs, odd_last, words;
} dw_row_words;

static dw_row_words row_words(const fs_cm4_dw_axis *ua, int32_t pitch) {
    const int32_t lo = ua->pad < pitch ? ua->pad : pitch;
    const int32_t hi = ua->pad + ua->in < pitch ? ua->pad + ua->in : pitch;
    dw_row_words r = {lo / 2, (lo & 1) && lo < hi, 0, 0, pitch / 2};
    const int32_t u = lo + r.odd_first; /* even */
    r.pairs = hi > u ? (hi - u) / 2 : 0;
    r.odd_last = hi > u && ((hi - u) & 1);
    return r;
}

/* Word j of the four planes. */
static inline void put_word4(const dw_planes4 *pl, int32_t j, uint32_t w0, uint32_t w1, uint32_t w2,
                             uint32_t w3) {
    uint8_t *w = pl->p + 4 * j;
    *(uint32_t *)(void *)w = w0;
    *(uint32_t *)(void *)(w + pl->gap) = w1;
    *(uint32_t *)(void *)(w + 2 * pl->gap) = w2;
    *(uint32_t *)(void *)(w + 3 * pl->gap) = w3;
}

/* Plane row of four channels from the input row src (its pixel at u = pad first), laid out
 * as rw says: whole words throughout, the odd pixels at either end packed with their zero. */
static void row4(const dw_planes4 *pl, const dw_row_words *rw, int32_t step, const int8_t *src,
                 uint32_t off2) {
    zero_words4(pl, 0, rw->lead);
    int32_t j = rw->lead;
    if (rw->odd_first) {
        const uint32_t x = fs_cm4_ld32(src);
        const uint32_t a = __sxtab16(off2, x), b = fs_cm4_sxtab16_odd(off2, x);
        put_word4(pl, j++, a << 16, b << 16, a & 0xFFFF0000u, b & 0xFFFF0000u);
        src += step;
    }
    pairs4(pl, 2 * j, rw->pairs, src, step, off2);
    j += rw->pairs;
    src += 2 * rw->pairs * step;
    if (rw->odd_last) {
        const uint32_t x = fs_cm4_ld32(src);
        const uint32_t a = __sxtab16(off2, x), b = fs_cm4_sxtab16_odd(off2, x);
        put_word4(pl, j++, a & 0xFFFFu, b & 0xFFFFu, a >> 16, b >> 16);
    }
    zero_words4(pl, j, rw->words);
}

/* Plane row of n < 4 channels, one byte at a time (no read past the pixel's last channel). */
static void row_n(const dw_planes4 *pl, int32_t n, const fs_cm4_dw_axis *ua, int32_t pitch,
                  const int8_t *src, int32_t offset) {
    for (int32_t u = 0; u < pitch; ++u) {
        const int32_t iu = u - ua->pad;
        const int inside = iu >= 0 && iu < ua->in;
        for (int32_t k = 0; k < n; ++k)
            put_half(pl, u, k, inside ? src[iu * ua->in_step + k] + offset : 0);
    }
}

/* A plane row of zeros (padding along v) in n planes (pitch is even): for four planes, two
 * words of each per STRD (1.5 instructions a word of the four planes, against 10 for gcc's
 * loop of word stores); an odd last word by zero_words4. */
static void zero_row(const dw_planes4 *pl, int32_t n, int32_t pitch) {
    if (n != 4) {
        for (int32_t k = 0; k < n; ++k) memset(pl->p + k * pl->gap, 0, 2u * (uint32_t)pitch);
        return;
    }
    const int32_t words = pitch / 2;
    if (words >= 2) {
        uint8_t *p0 = pl->p, *p1 = p0 + pl->gap, *p2 = p1 + pl->gap, *p3 = p2 + pl->gap;
        const uint8_t *const end = p0 + 4 * (words & ~1);
        const uint32_t z = 0;
        __asm volatile(
            "1:\n\t"
            "strd    %[z], %[z], [%[p0]], #8\n\t"
            "strd    %[z], %[z], [%[p1]], #8\n\t"
            "strd    %[z], %[z], [%[p2]], #8\n\t"
            "strd    %[z], %[z], [%[p3]], #8\n\t"
            "cmp     %[p0], %[end]\n\t"
            "bne     1b\n\t"
            : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [p3] "+r"(p3)
            : [z] "r"(z), [end] "r"(end)
            : "cc", "memory");
    }
    if (words & 1) zero_words4(pl, words - 1, words);
}

/* Plane rows 0..rows of n channels from padded input rows first.. (source row first - pad).
 * Planes past the last channel (n < 4) are not written (never read for outputs). */
static void fill(int16_t *planes, const fs_cm4_dw_plan *plan, int32_t n, const int8_t *src,
                 int32_t offset, int32_t first, int32_t rows) {
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x10001u;
    dw_planes4 pl = {(uint8_t *)planes, 2 * plan->rows * plan->pitch};
    const dw_row_words rw = row_words(&plan->u, plan->pitch);
    for (int32_t v = 0; v < rows; ++v, pl.p += 2 * plan->pitch) {
        const int32_t iv = first + v - plan->v.pad;
        if (iv < 0 || iv >= plan->v.in)
            zero_row(&pl, n, plan->pitch);
        else if (n == 4)
            row4(&pl, &rw, plan->u.in_step, src + iv * plan->v.in_step, off2);
        else
            row_n(&pl, n, &plan->u, plan->pitch, src + iv * plan->v.in_step, offset);
    }
}

/* ---- one channel --------------------------------------------------------------------------- */

/* fs_cm4_rq_apply of a doubled sum (fs_cm4_dw.h says why this equals it). */
static inline int32_t rq_doubled(int32_t sum2, const fs_cm4_rq *q) {
    int32_t h;
    __asm("smmlar %0, %1, %2, %3" : "=r"(h) : "r"(sum2), "r"(q->m), "r"(q->k));
    return (h + (sum2 >> 31)) >> q->r;
}

/* Filter rows other than three (the asm's): one output at a time, in C. Output x of a plane
 * row, doubled: stride 1 pairs by parity (fs_cm4_dw.h), stride 2 like an even output. */
static void rows_c(const fs_cm4_dw_plan *plan, const fs_cm4_dw_run *run, const fs_cm4_rq *q,
                   int32_t lo, int32_t hi) {
    const int32_t n = 4 * run->groups + run->tail, pw = run->pitch / 4;
    for (int32_t ov = 0; ov < run->rows; ++ov) {
        const uint32_t *row =
            (const uint32_t *)(const void *)((const uint8_t *)run->row + ov * run->row_step);
        int8_t *o = run->out_row + ov * run->out_row_step;
        for (int32_t x = 0; x < n; ++x, o += run->ostep) {
            int32_t a = run->bias;
            const uint32_t *w = run->w;
            if (plan->u.stride == 2) {
                for (const uint32_t *r = row + x; w < run->w + 3 * plan->v.taps; w += 3, r += pw)
                    a = __smlabb(w[1], r[1], __smlad(w[0], r[0], a));
            } else if (x & 1) {
                for (const uint32_t *r = row + x / 2; w < run->w + 3 * plan->v.taps;
                     w += 3, r += pw)
                    a = __smlatt(w[1], r[0], __smlad(w[2], r[1], a));
            } else {
                for (const uint32_t *r = row + x / 2; w < run->w + 3 * plan->v.taps;
                     w += 3, r += pw)
                    a = __smlabb(w[1], r[1], __smlad(w[0], r[0], a));
            }
            *o = fs_cm4_clamp8(rq_doubled(a, q), lo, hi);
        }
    }
}

/* The doubled weight words of channel c: per tap i along v, A = (w0, w1), C = (w2, w0),
 * B = (w1, w2), in that order (the stride-2 loop reads A and C with one LDRD). Doubled, the
 * sums are 2x, which the requantization wants (|2x| < 2^31 by fs_cm4_rq_ok's bound). */
static inline void weights_row(uint32_t *wt, const int8_t *f, int32_t su) {
    const uint32_t w0 = (uint32_t)(2 * f[0]), w1 = (uint32_t)(2 * f[su]),
                   w2 = (uint32_t)(2 * f[2 * su]);
    wt[0] = pkhbt16(w0, w1);
    wt[1] = pkhbt16(w2, w0);
    wt[2] = pkhbt16(w1, w2);
}

/* Three filter rows (the asm's case) unrolled: no loop for the 256 channels of the cls
 * model's depthwise layers. */
static void weights(uint32_t *wt, const fs_cm4_dw_plan *plan, const int8_t *f) {
    const int32_t su = plan->u.w_step, sv = plan->v.w_step;
    if (plan->v.taps == 3) {
        weights_row(wt, f, su);
        weights_row(wt + 3, f + sv, su);
        weights_row(wt + 6, f + 2 * sv, su);
        return;
    }
    for (int32_t i = 0; i < plan->v.taps; ++i) weights_row(wt + 3 * i, f + i * sv, su);
}

void fs_cm4_dw_plane(void *scratch, const fs_cm4_dw_plan *plan, const fs_conv_params *p,
                     int32_t batches, int32_t channels, const int8_t *in, const int8_t *f,
                     const uint8_t *bias, int8_t *out) {
    int16_t *planes = scratch;
    const int32_t size = plan->rows * plan->pitch;
    uint32_t *wt = (uint32_t *)(void *)(planes + plan->planes * size);
    const int32_t in_image = plan->u.in * plan->v.in * channels;
    const int32_t out_image = plan->u.out * plan->v.out * channels * plan->mult;
    /* The asm's SSAT #8 is the clamp when the activation leaves the full int8 range. */
    const int use_asm = plan->v.taps == 3 && p->act_min == -128 && p->act_max == 127;
    fs_cm4_dw_run run; /* every field set here, but out and end (the asm's, set per row) */
    run.out = NULL;
    run.end = NULL;
    run.w = wt;
    run.ostep = plan->u.out_step;
    run.pitch = 2 * plan->pitch;
    run.groups = plan->u.out >> 2;
    run.tail = plan->u.out & 3;
    run.pair_bytes = (run.groups & ~1) * 8 * plan->u.stride; /* a group: 8 bytes per stride */
    run.rest = run.tail << 1 | (run.groups & 1);
    run.row_step = 2 * plan->v.stride * plan->pitch;
    run.out_row_step = plan->v.out_step;
    for (int32_t b = 0; b < batches; ++b) {
        for (int32_t c0 = 0; c0 < channels; c0 += 4) {
            const int32_t n = channels - c0 < 4 ? channels - c0 : 4;
            for (int32_t v0 = 0; v0 < plan->v.out; v0 += plan->band) {
                const int32_t nb = plan->v.out - v0 < plan->band ? plan->v.out - v0 : plan->band;
                fill(planes, plan, n, in + b * in_image + c0, p->input_offset, v0 * plan->v.stride,
                     (nb - 1) * plan->v.stride + plan->v.taps);
                run.rows = nb;
                for (int32_t j = 0; j < n * plan->mult; ++j) {
                    const int32_t k = j / plan->mult,
                                  c = c0 * plan->mult + j; /* plane, output channel */
                    const fs_cm4_rq q =
                        fs_cm4_rq_make(p->pc_multiplier[c], p->pc_shift[c], p->output_offset);
                    const int32_t b2 = bias ? 2 * (int32_t)fs_cm4_ld32(bias + 4u * (uint32_t)c) : 0;
                    weights(wt, plan, f + c * plan->fc);
                    run.m = q.m;
                    run.k = q.k;
                    run.r = q.r;
                    run.bias = b2;
                    run.row = (const uint32_t *)(const void *)(planes + k * size);
                    run.out_row = out + b * out_image + c + v0 * plan->v.out_step;
                    run.out_end = run.out_row + nb * plan->v.out_step;
                    if (!use_asm)
                        rows_c(plan, &run, &q, p->act_min, p->act_max);
                    else if (plan->u.stride == 1)
                        fs_cm4_dw_rows_s1(&run);
                    else
                        fs_cm4_dw_rows_s2(&run);
                }
            }
        }
    }
}
