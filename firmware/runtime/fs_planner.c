/* Arena planning: lifetimes of activation tensors and per-op scratch, then
 * greedy placement (the same strategy as TFLite Micro's GreedyMemoryPlanner,
 * so the planned region is never larger than TFLM's for the same model).
 *
 * Reshape-like ops (RESHAPE, SQUEEZE, EXPAND_DIMS) do not copy: their output
 * is an alias of their input's buffer, whose lifetime is extended to cover
 * the alias. An operator whose prepare declared it can run in place
 * (FS_INPLACE_OK: depthwise with multiplier 1, pointwise CONV_2D with no more
 * output than input channels) gets the same treatment when its input 0 dies
 * at it and is no graph input or output: its output joins the input's buffer
 * (sized for the larger of the two), and its scratch grows by the in-place
 * temp. Then the region can be smaller than TFLM's, which never shares an
 * operator's input and output. */
#include <string.h>

#include "fs_internal.h"

#define FS_PLAN_ALIGN 16u

static int fs_overlap(const fs_plan_buf *a, const fs_plan_buf *b) {
    return a->first <= b->last && b->first <= a->last;
}

uint32_t fs_plan_greedy(fs_plan_buf *bufs, uint32_t n, uint32_t *order, uint32_t *placed) {
    /* Stable insertion sort by size, largest first. */
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t j = i;
        while (j > 0 && bufs[order[j - 1]].size < bufs[i].size) {
            order[j] = order[j - 1];
            --j;
        }
        order[j] = i;
    }
    uint32_t n_placed = 0, total = 0;
    for (uint32_t oi = 0; oi < n; ++oi) {
        fs_plan_buf *b = &bufs[order[oi]];
        uint32_t candidate = 0;
        /* `placed` is sorted by offset; find the first gap among buffers alive
         * at the same time that is large enough. */
        for (uint32_t pi = 0; pi < n_placed; ++pi) {
            const fs_plan_buf *p = &bufs[placed[pi]];
            if (!fs_overlap(p, b)) continue;
            if (p->offset >= candidate && p->offset - candidate >= b->size) break;
            if (p->offset + p->size > candidate) candidate = p->offset + p->size;
        }
        b->offset = candidate;
        if (candidate + b->size > total) total = candidate + b->size;
        uint32_t at = n_placed;
        while (at > 0 && bufs[placed[at - 1]].offset > candidate) {
            placed[at] = placed[at - 1];
            --at;
        }
        placed[at] = order[oi];
        ++n_placed;
    }
    return total;
}

/* Planning state of one tensor, in the temporary area. */
typedef struct fs_plan_tensor {
    int16_t first, last; /* lifetime in op indices, -1 = no buffer */
    int16_t root;        /* tensor whose buffer this one uses (itself unless an alias) */
    int16_t buf;         /* index into the planner's buffers, for roots */
    int16_t pinned;      /* root: a graph input or output uses the buffer */
} fs_plan_tensor;

static int16_t fs_root(const fs_plan_tensor *pt, int16_t t) {
    while (pt[t].root != t) t = pt[t].root;
    return t;
}

static void fs_touch(fs_plan_tensor *r, int32_t op) {
    if (r->first < 0 || op < r->first) r->first = (int16_t)op;
    if (op > r->last) r->last = (int16_t)op;
}

/* In-place operators, in execution order so that chains (depthwise, then pointwise, ...) all
 * end up in one buffer: output 0 becomes an alias of input 0's root when that root is not
 * pinned to a graph input or output and its last use is this op. */
static void fs_plan_inplace(fs_model *m, fs_plan_tensor *pt) {
    for (uint32_t t = 0; t < m->n_tensors; ++t)
        if (m->tensors[t].flags & (FS_TENSOR_INPUT | FS_TENSOR_OUTPUT))
            pt[fs_root(pt, (int16_t)t)].pinned = 1;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        fs_op *op = &m->ops[i];
        if (!(op->inplace & FS_INPLACE_OK)) continue;
        if (m->tensors[op->io[0]].flags & FS_TENSOR_CONST) continue;
        const int16_t in = fs_root(pt, op->io[0]), out = fs_root(pt, op->io[op->n_in]);
        if (in == out || pt[in].pinned || pt[in].last != (int16_t)i || pt[out].first != (int16_t)i)
            continue;
        pt[out].root = in;
        pt[in].last = pt[out].last;
        pt[in].pinned = pt[out].pinned;
        op->inplace |= FS_INPLACE_CHOSEN;
        if (op->inplace_bytes) op->scratch_bytes += fs_inplace_temp_bytes(op);
    }
}

/* Residual blocks run by rows (fs_fuse.c): h, g and s exist only in the head op's scratch, so
 * they get no buffer; y is written over x's rows, so it joins x's buffer (sized for the larger). */
static void fs_plan_fused(const fs_model *m, fs_plan_tensor *pt) {
    for (uint32_t i = 0; i < m->n_fuse; ++i) {
        const fs_fuse_block *f = &m->fuse[i];
        const fs_op *a = &m->ops[f->a], *add = &m->ops[f->add];
        const int16_t inner[3] = {a->io[a->n_in], m->ops[f->b].io[m->ops[f->b].n_in],
                                  f->p >= 0 ? m->ops[f->p].io[m->ops[f->p].n_in] : -1};
        for (unsigned j = 0; j < 3; ++j)
            if (inner[j] >= 0) pt[inner[j]].first = pt[inner[j]].last = -1;
        const int16_t x = fs_root(pt, a->io[0]), y = add->io[add->n_in];
        pt[y].root = x;
        if (pt[y].last > pt[x].last) pt[x].last = pt[y].last;
    }
}

fs_status fs_plan_model(fs_model *m) {
    const int32_t last_op = (int32_t)m->n_ops - 1;
    const size_t room = (size_t)(m->tail - m->base);
    /* Temporaries sit at the arena base, where the planned region will later
     * be; their peak is counted in fs_model_arena_used(). */
    size_t temp = ((size_t)m->n_tensors * sizeof(fs_plan_tensor) + 15u) & ~(size_t)15u;
    if (temp > room)
        return fs_fail(m, FS_ERR_ARENA, "have %u bytes, planning needs more",
                       (unsigned)m->arena_len);
    fs_plan_tensor *pt = (fs_plan_tensor *)(void *)m->base;
    for (uint32_t t = 0; t < m->n_tensors; ++t) {
        pt[t].first = pt[t].last = pt[t].buf = -1;
        pt[t].root = (int16_t)t;
        pt[t].pinned = 0;
    }
    /* 1. Aliases: reshape outputs share their input's storage. */
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const fs_op *op = &m->ops[i];
        if (!fs_op_kinds[op->kind].aliases) continue;
        fs_tensor *in = &m->tensors[op->io[0]];
        fs_tensor *out = fs_op_out(m, op, 0);
        if (in->flags & FS_TENSOR_CONST) {
            out->data = in->data; /* view of constant data: no buffer at all */
            out->flags |= FS_TENSOR_CONST;
        } else {
            pt[op->io[op->n_in]].root = fs_root(pt, op->io[0]);
        }
    }
    /* 2. Lifetimes, accumulated on each root. Graph inputs live from the
     * start, graph outputs to the end (as in TFLite Micro). */
    for (uint32_t i = 0; i < m->n_inputs; ++i) fs_touch(&pt[fs_root(pt, m->inputs[i])], 0);
    for (uint32_t i = 0; i < m->n_outputs; ++i) {
        const int16_t r = fs_root(pt, m->outputs[i]);
        if (!(m->tensors[r].flags & FS_TENSOR_CONST)) fs_touch(&pt[r], last_op);
    }
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const fs_op *op = &m->ops[i];
        for (unsigned j = 0; j < (unsigned)op->n_in + op->n_out; ++j) {
            if (op->io[j] < 0) continue;
            const int16_t r = fs_root(pt, op->io[j]);
            if (!(m->tensors[r].flags & FS_TENSOR_CONST)) fs_touch(&pt[r], (int32_t)i);
        }
    }
    fs_plan_fused(m, pt);
    fs_plan_inplace(m, pt);
    /* 3. One planner buffer per live root and per scratch request. */
    uint32_t n = 0;
    for (uint32_t t = 0; t < m->n_tensors; ++t)
        if (pt[t].root == (int16_t)t && pt[t].first >= 0) pt[t].buf = (int16_t)n++;
    for (uint32_t i = 0; i < m->n_ops; ++i)
        if (m->ops[i].scratch_bytes) ++n;
    const size_t buf_bytes = (size_t)n * (sizeof(fs_plan_buf) + 2 * sizeof(uint32_t));
    if (temp + buf_bytes > room)
        return fs_fail(m, FS_ERR_ARENA, "have %u bytes, planning needs more",
                       (unsigned)m->arena_len);
    fs_plan_buf *bufs = (fs_plan_buf *)(void *)(m->base + temp);
    uint32_t *order = (uint32_t *)(void *)(bufs + n);
    uint32_t *placed = order + n;
    temp = (temp + buf_bytes + 15u) & ~(size_t)15u;
    m->temp_bytes = temp;
    for (uint32_t t = 0; t < m->n_tensors; ++t) {
        if (pt[t].buf < 0) continue;
        fs_plan_buf *b = &bufs[pt[t].buf];
        b->size = 0;
        b->first = pt[t].first;
        b->last = pt[t].last;
    }
    /* A root's buffer holds the largest tensor sharing it (in-place outputs may differ). */
    for (uint32_t t = 0; t < m->n_tensors; ++t) {
        if (m->tensors[t].flags & FS_TENSOR_CONST) continue;
        const int16_t r = fs_root(pt, (int16_t)t);
        if (pt[r].buf < 0) continue;
        const uint32_t size = (m->tensors[t].bytes + FS_PLAN_ALIGN - 1) & ~(FS_PLAN_ALIGN - 1);
        if (size > bufs[pt[r].buf].size) bufs[pt[r].buf].size = size;
    }
    uint32_t b = 0;
    for (uint32_t t = 0; t < m->n_tensors; ++t) b += pt[t].buf >= 0;
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        if (!m->ops[i].scratch_bytes) continue;
        bufs[b].size = (m->ops[i].scratch_bytes + FS_PLAN_ALIGN - 1) & ~(FS_PLAN_ALIGN - 1);
        bufs[b].first = bufs[b].last = (int32_t)i;
        ++b;
    }
    const uint32_t head = fs_plan_greedy(bufs, n, order, placed);
    if (head > room)
        return fs_fail(
            m, FS_ERR_ARENA, "have %u bytes, need %u", (unsigned)m->arena_len,
            (unsigned)((size_t)(m->base - m->arena) + head + (size_t)(m->end - m->tail)));
    m->head_bytes = head;
    /* 4. Hand out the offsets; aliases take their root's data. */
    for (uint32_t t = 0; t < m->n_tensors; ++t)
        if (pt[t].buf >= 0) m->tensors[t].data = m->base + bufs[pt[t].buf].offset;
    b = 0;
    for (uint32_t t = 0; t < m->n_tensors; ++t) b += pt[t].buf >= 0;
    for (uint32_t i = 0; i < m->n_ops; ++i)
        if (m->ops[i].scratch_bytes) m->ops[i].scratch_offset = bufs[b++].offset;
    for (uint32_t t = 0; t < m->n_tensors; ++t) {
        const int16_t r = fs_root(pt, (int16_t)t);
        if (r != (int16_t)t) m->tensors[t].data = m->tensors[r].data;
    }
    /* The temporaries are dead now; start from a clean region. */
    memset(m->base, 0, head > temp ? head : temp);
    return FS_OK;
}
