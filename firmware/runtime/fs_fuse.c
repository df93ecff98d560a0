/* Residual blocks run row by row (issue 16: half of TFLite Micro's arena).
 *
 * A residual block is CONV_2D a (x -> h), CONV_2D b (h -> g), optionally CONV_2D p (x -> s, the
 * projection), then ADD (g + x, or g + s) -> y. Run op by op, x and h are both whole tensors at
 * the moment b runs: in MLPerf Tiny's resnet two 32x32x16 tensors plus b's output, 48 KB of its
 * 52 KB arena. Run as one unit, output row by output row, h exists only as the few rows b's
 * filter needs (a window), g and s as one row each, and y is written over x's rows once nothing
 * will read them again, so the block needs x's buffer plus about a kilobyte.
 *
 * The rows are computed by the operators' own evals (reference or Cortex-M4 kernels, whatever
 * the build registers) on views: for one call the tensor records are pointed at the rows in
 * question and the convolution's top padding is adjusted, so every output byte is the one the
 * operator computes on the whole tensor. fs_fuse_find (load time, after every prepare) decides
 * which blocks qualify; the planner (fs_planner.c) gives their inner tensors no buffer, y the
 * buffer of x, and the first op of the block the scratch below; fs_model_invoke runs the block
 * at its first op. */
#include <string.h>

#include "fs_internal.h"
#include "fs_schema.h"
#include "ops/fs_ops.h"

#define FS_FUSE_ALIGN 16u
#define FS_FUSE_MAX_DELAY 4 /* y rows held back before they go over x (fs_overwrite_safe) */

static uint32_t fs_fuse_align(uint32_t n) {
    return (n + FS_FUSE_ALIGN - 1u) & ~(FS_FUSE_ALIGN - 1u);
}

static int fs_is_builtin(const fs_model *m, int32_t op, int32_t builtin) {
    return op >= 0 && op < (int32_t)m->n_ops && fs_op_kinds[m->ops[op].kind].builtin == builtin;
}

/* Row geometry of one convolution: output row j reads input rows [j * stride - pad, ... + kh). */
typedef struct fs_rows {
    int32_t stride, pad, kh, in_h;
} fs_rows;

static fs_rows fs_conv_rows(const fs_model *m, int32_t op) {
    const fs_op *o = &m->ops[op];
    const fs_conv_params *q = o->data;
    const fs_rows r = {q->g.stride_h, q->g.pad_h, fs_op_in(m, o, 1)->shape.dims[1],
                       fs_op_in(m, o, 0)->shape.dims[1]};
    return r;
}
static int32_t fs_rows_lo(const fs_rows *r, int32_t j) {
    const int32_t top = j * r->stride - r->pad;
    return top > 0 ? top : 0;
}
static int32_t fs_rows_hi(const fs_rows *r, int32_t j) {
    const int32_t end = j * r->stride - r->pad + r->kh;
    return end < r->in_h ? end : r->in_h;
}

/* Bytes of one row (width x channels) of a 4-D tensor. */
static uint32_t fs_row_bytes(const fs_tensor *t) {
    return (uint32_t)(t->shape.dims[2] * t->shape.dims[3]);
}

/* A convolution a block can run by rows: int8 NHWC, one batch, no dilation. */
static int fs_row_conv(const fs_model *m, int32_t op) {
    if (!fs_is_builtin(m, op, FS_BUILTIN_CONV_2D)) return 0;
    const fs_op *o = &m->ops[op];
    const fs_conv_params *q = o->data;
    const fs_tensor *in = fs_op_in(m, o, 0), *out = fs_op_out(m, o, 0);
    return q->g.dilation_h == 1 && in->shape.ndim == 4 && out->shape.ndim == 4 &&
           in->shape.dims[0] == 1 && in->type == FS_INT8 && out->type == FS_INT8 &&
           !(in->flags & FS_TENSOR_CONST);
}

/* Does tensor t feed exactly `uses` operators, all in [first, last], and no graph output? */
static int fs_used_only_in(const fs_model *m, int16_t t, uint32_t first, uint32_t last,
                           uint32_t uses) {
    if (m->tensors[t].flags & (FS_TENSOR_INPUT | FS_TENSOR_OUTPUT)) return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const fs_op *o = &m->ops[i];
        for (unsigned j = 0; j < o->n_in; ++j) {
            if (o->io[j] != t) continue;
            if (i < first || i > last || fs_op_kinds[o->kind].aliases) return 0;
            ++n;
        }
    }
    return n == uses;
}

/* Is t the output of a reshape-like op (sharing another tensor's buffer)? */
static int fs_made_by_alias(const fs_model *m, int16_t t) {
    for (uint32_t i = 0; i < m->n_ops; ++i)
        if (fs_op_kinds[m->ops[i].kind].aliases && m->ops[i].io[m->ops[i].n_in] == t) return 1;
    return 0;
}

static int16_t fs_in(const fs_model *m, int32_t op, unsigned i) { return m->ops[op].io[i]; }
static int16_t fs_out(const fs_model *m, int32_t op) { return m->ops[op].io[m->ops[op].n_in]; }

/* With y's rows written `delay` rows late (0: as computed), may y's rows 0..r - delay go over
 * x's storage at the end of step r? Not while x's rows are still to be read: the rows a reads
 * for h rows not computed yet, the rows p reads for later s rows, and, without p, the later
 * rows ADD reads as its skip input. */
static int fs_overwrite_safe(const fs_model *m, const fs_fuse_block *f, int32_t delay) {
    const fs_rows ra = fs_conv_rows(m, f->a), rb = fs_conv_rows(m, f->b);
    const fs_tensor *x = &m->tensors[fs_in(m, f->a, 0)], *y = &m->tensors[fs_out(m, f->add)];
    const int32_t y_h = y->shape.dims[1];
    const uint64_t rx = fs_row_bytes(x), ry = fs_row_bytes(y);
    const int32_t h_h = m->tensors[fs_out(m, f->a)].shape.dims[1];
    for (int32_t r = delay; r + 1 < y_h; ++r) {
        /* The first x row a reads for the next h row it computes (none left: x's end). */
        const int32_t h_next = fs_rows_hi(&rb, r);
        int32_t need = h_next < h_h ? h_next * ra.stride - ra.pad : x->shape.dims[1];
        if (f->p >= 0) {
            const fs_rows rp = fs_conv_rows(m, f->p);
            const int32_t p_next = (r + 1) * rp.stride - rp.pad;
            if (p_next < need) need = p_next;
        } else if (r + 1 < need) {
            need = r + 1;
        }
        if (need < 0) need = 0;
        if ((uint64_t)(r + 1 - delay) * ry > (uint64_t)need * rx) return 0;
    }
    return 1;
}

/* The block whose ADD is op `add`, if it qualifies (ops consecutive: a, b and p in any order
 * with a before b, then the ADD). */
static int fs_match(const fs_model *m, int32_t add, fs_fuse_block *f) {
    if (!fs_is_builtin(m, add, FS_BUILTIN_ADD) || add < 2) return 0;
    const fs_tensor *y = &m->tensors[fs_out(m, add)];
    for (unsigned gi = 0; gi < 2; ++gi) { /* which ADD input is g */
        const int16_t g = fs_in(m, add, gi), skip = fs_in(m, add, 1 - gi);
        const int32_t b = fs_out(m, add - 1) == g ? add - 1 : add - 2; /* p may sit between */
        if (!fs_row_conv(m, b) || fs_out(m, b) != g) continue;
        const int32_t a = b - 1;
        if (!fs_row_conv(m, a) || fs_out(m, a) != fs_in(m, b, 0)) continue;
        const int16_t x = fs_in(m, a, 0);
        int32_t p = -1, first = a;
        if (skip == x && b != add - 1) continue; /* an op between b and the ADD: not a block */
        if (skip != x) { /* the projection: the op of the group that is neither a nor b */
            p = (add - 1 != b) ? add - 1 : a - 1;
            if (!fs_row_conv(m, p) || fs_out(m, p) != skip || fs_in(m, p, 0) != x) continue;
            if (p < first) first = p;
        }
        const fs_tensor *xt = &m->tensors[x], *gt = &m->tensors[g], *st = &m->tensors[skip];
        if (!fs_shape_equal(&gt->shape, &y->shape) || !fs_shape_equal(&st->shape, &y->shape) ||
            y->type != FS_INT8 || xt->shape.dims[1] == 0)
            continue;
        const uint32_t last = (uint32_t)add;
        /* x feeds a and p, or a and the ADD; the ADD is its last use. */
        if (!fs_used_only_in(m, x, (uint32_t)first, last, 2u) || fs_made_by_alias(m, x) ||
            !fs_used_only_in(m, fs_out(m, a), (uint32_t)first, last, 1) ||
            !fs_used_only_in(m, g, (uint32_t)first, last, 1) ||
            (p >= 0 && !fs_used_only_in(m, skip, (uint32_t)first, last, 1)))
            continue;
        memset(f, 0, sizeof *f);
        f->a = (int16_t)a;
        f->b = (int16_t)b;
        f->p = (int16_t)p;
        f->add = (int16_t)add;
        f->first = (int16_t)first;
        f->g_input = (uint8_t)gi;
        /* The smallest delay that makes writing y over x safe (taller filters need more). */
        for (int32_t d = 0; d <= FS_FUSE_MAX_DELAY; ++d) {
            f->delay = (uint8_t)d;
            if (fs_overwrite_safe(m, f, d)) return 1;
        }
    }
    return 0;
}

/* Bytes of a convolution's lazily made per-channel multipliers and shifts (conv_common.c,
 * FS_REQUANT_IN_SCRATCH): 0 when its prepare kept them persistent. */
static uint32_t fs_lazy_requant_bytes(const fs_model *m, int32_t op) {
    const fs_conv_params *q = m->ops[op].data;
    return q->requant_lazy ? 8u * (uint32_t)fs_op_out(m, &m->ops[op], 0)->shape.dims[3] : 0u;
}

/* Scratch layout of a block: h's window, g's row, s's row, the ring of y rows held back (delay
 * > 0), the convolutions' lazy multipliers (made once per run, not once per row), then the ops'
 * own scratch (one at a time, so they share it). */
static void fs_fuse_layout(fs_model *m, fs_fuse_block *f) {
    const fs_tensor *h = &m->tensors[fs_out(m, f->a)], *y = &m->tensors[fs_out(m, f->add)];
    const fs_rows rb = fs_conv_rows(m, f->b);
    const uint32_t window = (uint32_t)rb.kh * fs_row_bytes(h);
    f->g_row_off = fs_fuse_align(window);
    f->s_row_off = f->g_row_off + fs_fuse_align(fs_row_bytes(y));
    f->y_rows_off = f->s_row_off + (f->p >= 0 ? fs_fuse_align(fs_row_bytes(y)) : 0u);
    uint32_t at =
        f->y_rows_off + (f->delay ? fs_fuse_align((f->delay + 1u) * fs_row_bytes(y)) : 0u);
    const int16_t ops[4] = {f->a, f->b, f->p, f->add};
    uint32_t own = 0;
    for (unsigned i = 0; i < 4; ++i) {
        if (ops[i] < 0) continue;
        const uint32_t lazy = i < 3 ? fs_lazy_requant_bytes(m, ops[i]) : 0u;
        f->mult_off[i] = lazy ? at : 0u;
        at += lazy;
        f->scratch[i] = m->ops[ops[i]].scratch_bytes - lazy; /* the multipliers were its tail */
        if (f->scratch[i] > own) own = f->scratch[i];
    }
    f->kernel_off = fs_fuse_align(at);
    const uint32_t last = (uint32_t)f->add;
    for (uint32_t i = (uint32_t)f->first; i <= last; ++i) {
        m->ops[i].fused = i == (uint32_t)f->first ? FS_FUSE_HEAD : FS_FUSE_MEMBER;
        m->ops[i].scratch_bytes = 0;
        m->ops[i].inplace = 0;
    }
    m->ops[f->first].scratch_bytes = f->kernel_off + own;
}

/* Is an op of [first, last] in a block already? (Blocks never share an op.) */
static int fs_any_fused(const fs_model *m, int32_t first, int32_t last) {
    for (int32_t i = first; i <= last; ++i)
        if (m->ops[i].fused) return 1;
    return 0;
}

fs_status fs_fuse_find(fs_model *m) {
    uint32_t n = 0;
    fs_fuse_block f;
    for (uint32_t i = 0; i < m->n_ops; ++i) n += (uint32_t)fs_match(m, (int32_t)i, &f);
    m->n_fuse = 0;
    if (!n) return FS_OK;
    m->fuse = fs_persist(m, n * sizeof(fs_fuse_block));
    if (!m->fuse) return m->status;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        if (!fs_match(m, (int32_t)i, &f) || fs_any_fused(m, f.first, f.add)) continue;
        fs_fuse_layout(m, &f);
        m->fuse[m->n_fuse++] = f;
    }
    return FS_OK;
}

/* ---- run ---------------------------------------------------------------------------------- */

/* A tensor record pointed at `rows` rows starting at `data` (the other dimensions kept), and
 * what it was, to put back. */
typedef struct fs_view {
    fs_tensor *t;
    fs_tensor saved;
    int32_t dims[4];
} fs_view;

static void fs_view_rows(fs_view *v, fs_tensor *t, uint8_t *data, int32_t rows) {
    v->t = t;
    v->saved = *t;
    memcpy(v->dims, t->shape.dims, sizeof v->dims);
    v->dims[1] = rows;
    t->data = data;
    t->shape.dims = v->dims;
    t->bytes = (uint32_t)rows * fs_row_bytes(&v->saved);
}

static void fs_view_restore(fs_view *v) { *v->t = v->saved; }

/* Output row j of convolution `op`, reading input rows from `in` (which holds input row
 * `in_first` at its start) and writing the row to `out`. */
static fs_status fs_conv_row(fs_model *m, int32_t op, const uint8_t *in, int32_t in_first,
                             uint8_t *out, int32_t j, const fs_kctx *k) {
    fs_op *o = &m->ops[op];
    fs_conv_params *q = o->data;
    const fs_rows r = fs_conv_rows(m, op);
    const int32_t lo = fs_rows_lo(&r, j), hi = fs_rows_hi(&r, j);
    fs_tensor *ti = &m->tensors[o->io[0]];
    fs_view vi, vo;
    const uint32_t rb = fs_row_bytes(ti);
    fs_view_rows(&vi, ti, (uint8_t *)in + (size_t)(lo - in_first) * rb, hi - lo);
    fs_view_rows(&vo, &m->tensors[o->io[o->n_in]], out, 1);
    const int32_t pad = q->g.pad_h;
    q->g.pad_h =
        lo - (j * r.stride - pad); /* the rows above the view are padding only at the top */
    const fs_status s = fs_op_kinds[o->kind].eval(m, o, k);
    q->g.pad_h = pad;
    fs_view_restore(&vo);
    fs_view_restore(&vi);
    return s;
}

/* Row r of y = g row + skip row (ADD's inputs in the model's order). */
static fs_status fs_add_row(fs_model *m, const fs_fuse_block *f, uint8_t *g_row, uint8_t *skip_row,
                            uint8_t *out, const fs_kctx *k) {
    fs_op *o = &m->ops[f->add];
    fs_view v0, v1, vo;
    fs_view_rows(&v0, &m->tensors[o->io[0]], f->g_input == 0 ? g_row : skip_row, 1);
    fs_view_rows(&v1, &m->tensors[o->io[1]], f->g_input == 0 ? skip_row : g_row, 1);
    fs_view_rows(&vo, &m->tensors[o->io[2]], out, 1);
    const fs_status s = fs_op_kinds[o->kind].eval(m, o, k);
    fs_view_restore(&vo);
    fs_view_restore(&v1);
    fs_view_restore(&v0);
    return s;
}

/* The scratch op i of the block (a, b, p, ADD) asked for, in the block's shared kernel area. */
static fs_kctx fs_fuse_kctx(const fs_fuse_block *f, const fs_kctx *k, unsigned i) {
    const fs_kctx c = {f->scratch[i] ? (uint8_t *)k->scratch + f->kernel_off : NULL, f->scratch[i]};
    return c;
}

const fs_fuse_block *fs_fuse_at(const fs_model *m, uint32_t op) {
    for (uint32_t i = 0; i < m->n_fuse; ++i)
        if ((uint32_t)m->fuse[i].first == op) return &m->fuse[i];
    return NULL;
}

/* h's window: rows [first, first + count) of h, contiguous at `rows`. */
typedef struct fs_window {
    uint8_t *rows;
    uint32_t row_bytes;
    int32_t first, count;
} fs_window;

/* Slides the window to h rows [lo, hi), computing the rows it lacks with a (from x). */
static fs_status fs_window_slide(fs_model *m, const fs_fuse_block *f, fs_window *w, int32_t lo,
                                 int32_t hi, const uint8_t *x, const fs_kctx *ka) {
    const int32_t drop = lo - w->first < w->count ? lo - w->first : w->count;
    if (drop > 0) {
        memmove(w->rows, w->rows + (size_t)drop * w->row_bytes,
                (size_t)(w->count - drop) * w->row_bytes);
        w->first += drop;
        w->count -= drop;
    }
    if (!w->count) w->first = lo;
    fs_status s = FS_OK;
    for (; w->first + w->count < hi && s == FS_OK; ++w->count)
        s = fs_conv_row(m, f->a, x, 0, w->rows + (size_t)w->count * w->row_bytes,
                        w->first + w->count, ka);
    return s;
}

/* y row r, held back in the ring of delay + 1 rows, goes over x. */
static void fs_put_row(const fs_fuse_block *f, uint8_t *x, const uint8_t *ring, int32_t r,
                       uint32_t ry) {
    memcpy(x + (size_t)r * ry, ring + (size_t)(r % (f->delay + 1)) * ry, ry);
}

/* Before the rows (on = 1): each convolution with lazy multipliers gets them made at its place
 * in the block's scratch and runs as if they were persistent; after them (on = 0) it is lazy
 * again. */
static void fs_fuse_requant(fs_model *m, const fs_fuse_block *f, uint8_t *scratch, int on) {
    const int16_t ops[3] = {f->a, f->b, f->p};
    for (unsigned i = 0; i < 3; ++i) {
        if (ops[i] < 0 || !f->mult_off[i]) continue;
        const fs_op *o = &m->ops[ops[i]];
        fs_conv_params *q = o->data;
        q->requant_lazy = (uint8_t)!on;
        if (!on) continue;
        const uint32_t c = (uint32_t)fs_op_out(m, o, 0)->shape.dims[3];
        int32_t *mult = (int32_t *)(void *)(scratch + f->mult_off[i]);
        const fs_conv_requant r = fs_conv_requant_start(m, o);
        fs_conv_requant_fill(&r, 0, c, mult, mult + c);
        q->pc_multiplier = mult;
        q->pc_shift = mult + c;
    }
}

fs_status fs_fuse_eval(fs_model *m, const fs_fuse_block *f, const fs_kctx *k) {
    uint8_t *scratch = k->scratch;
    uint8_t *x = m->tensors[fs_in(m, f->a, 0)].data; /* y's buffer too */
    const fs_tensor *y = &m->tensors[fs_out(m, f->add)];
    const int32_t y_h = y->shape.dims[1];
    const uint32_t ry = fs_row_bytes(y), rx = fs_row_bytes(&m->tensors[fs_in(m, f->a, 0)]);
    const fs_rows rb = fs_conv_rows(m, f->b);
    uint8_t *g_row = scratch + f->g_row_off, *s_row = scratch + f->s_row_off;
    uint8_t *ring = scratch + f->y_rows_off;
    fs_window w = {scratch, fs_row_bytes(&m->tensors[fs_out(m, f->a)]), 0, 0};
    const fs_kctx ka = fs_fuse_kctx(f, k, 0), kb = fs_fuse_kctx(f, k, 1),
                  kp = fs_fuse_kctx(f, k, 2), kadd = fs_fuse_kctx(f, k, 3);
    fs_status s = FS_OK;
    fs_fuse_requant(m, f, scratch, 1);
    for (int32_t r = 0; r < y_h && s == FS_OK; ++r) {
        s = fs_window_slide(m, f, &w, fs_rows_lo(&rb, r), fs_rows_hi(&rb, r), x, &ka);
        if (s == FS_OK) s = fs_conv_row(m, f->b, w.rows, w.first, g_row, r, &kb);
        uint8_t *skip = x + (size_t)r * rx;
        if (s == FS_OK && f->p >= 0) {
            s = fs_conv_row(m, f->p, x, 0, s_row, r, &kp);
            skip = s_row;
        }
        uint8_t *y_row = f->delay ? ring + (size_t)(r % (f->delay + 1)) * ry : x + (size_t)r * ry;
        if (s == FS_OK) s = fs_add_row(m, f, g_row, skip, y_row, &kadd);
        if (f->delay && r >= f->delay) fs_put_row(f, x, ring, r - f->delay, ry); /* now safe */
    }
    if (f->delay && s == FS_OK) /* the rows still held back: nothing reads x any more */
        for (int32_t r = y_h > f->delay ? y_h - f->delay : 0; r < y_h; ++r)
            fs_put_row(f, x, ring, r, ry);
    fs_fuse_requant(m, f, scratch, 0);
    return s;
}
