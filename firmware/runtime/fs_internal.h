/* Internal interfaces shared by the loader, the planner and the operators.
 * Not part of the public API (fs_runtime.h). */
#ifndef FS_INTERNAL_H
#define FS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fs_flatbuffer.h"
#include "fs_runtime.h"

/* Kernel context: what a kernel may use besides its tensors (CMSIS-NN's
 * cmsis_nn_context): the scratch buffer its prepare asked for. */
typedef struct fs_kctx {
    void *scratch;
    size_t scratch_bytes;
} fs_kctx;

/* One operator instance, in the persistent part of the arena. */
typedef struct fs_op {
    void *data;              /* op parameters computed by prepare (persistent arena) */
    int16_t *io;             /* n_in input tensor indices, then n_out outputs; -1 = absent */
    uint32_t scratch_offset; /* from fs_model.base, set by the planner */
    uint32_t scratch_bytes;  /* requested by prepare (the planner adds the in-place temp) */
    uint8_t kind;            /* index into fs_op_kinds */
    uint8_t n_in, n_out;
    uint8_t inplace;        /* FS_INPLACE_* below */
    uint16_t inplace_bytes; /* temp the eval needs to write output 0 over input 0 */
    uint8_t fused;          /* FS_FUSE_*: part of a residual block run by rows (fs_fuse.c) */
} fs_op;

/* fs_op.fused: the block runs at its first op (HEAD); the others (MEMBER) are skipped. */
#define FS_FUSE_HEAD 1u
#define FS_FUSE_MEMBER 2u

/* A residual block run row by row (fs_fuse.c): CONV_2D a (x -> h), CONV_2D b (h -> g), the
 * optional projection CONV_2D p (x -> s; -1: none, the skip is x), ADD (g, skip) -> y, y in x's
 * buffer. Op indices; the head op's scratch holds h's window, g's and s's rows, the y rows held
 * back and the lazy multipliers at the offsets below, then the ops' own scratch. */
typedef struct fs_fuse_block {
    int16_t a, b, p, add, first; /* first: the lowest op index of the block (its head) */
    uint8_t g_input;             /* which ADD input is g */
    uint8_t delay;               /* y rows held back in the scratch before they go over x */
    uint32_t g_row_off, s_row_off, y_rows_off, kernel_off;
    uint32_t mult_off[4]; /* a, b, p: their lazy multipliers in the scratch (0: none) */
    uint32_t scratch[4];  /* a, b, p, ADD: their own scratch (without those multipliers) */
} fs_fuse_block;

/* Find the blocks (after every prepare, before planning) and set their ops' scratch. */
fs_status fs_fuse_find(fs_model *m);
/* The block whose head is op `op`. */
const fs_fuse_block *fs_fuse_at(const fs_model *m, uint32_t op);
/* Run one block: k is its head op's scratch. */
fs_status fs_fuse_eval(fs_model *m, const fs_fuse_block *f, const fs_kctx *k);

/* fs_op.inplace: prepare sets FS_INPLACE_OK when its eval can write output 0 over input 0
 * (given inplace_bytes of temp); the planner adds FS_INPLACE_CHOSEN when it made them share
 * one buffer (input 0 dies at this op), and then puts the temp at the start of the op's
 * scratch, the kernel's own scratch after it (fs_inplace_split). */
#define FS_INPLACE_OK 1u
#define FS_INPLACE_CHOSEN 2u

/* Prepare's offer to run in place with `temp` bytes of temp; none when the temp does not fit
 * inplace_bytes. */
static inline void fs_offer_inplace(fs_op *op, uint32_t temp) {
    if (temp > 0xffffu) return;
    op->inplace = FS_INPLACE_OK;
    op->inplace_bytes = (uint16_t)temp;
}

/* The in-place temp's bytes in the scratch of an op whose planner chose in-place. */
static inline uint32_t fs_inplace_temp_bytes(const fs_op *op) {
    return ((uint32_t)op->inplace_bytes + 15u) & ~15u;
}
/* For an op run in place: *temp = its in-place temp, and the kernel's own scratch. */
static inline fs_kctx fs_inplace_split(const fs_op *op, const fs_kctx *k, uint8_t **temp) {
    const uint32_t t = fs_inplace_temp_bytes(op);
    const fs_kctx rest = {k->scratch_bytes > t ? (uint8_t *)k->scratch + t : NULL,
                          k->scratch_bytes - t};
    *temp = (uint8_t *)k->scratch;
    return rest;
}

/* Prepare-time context handed to an operator. */
typedef struct fs_prep {
    fs_model *m;
    fs_op *op;
    uint32_t index; /* operator index, for messages */
    fs_fbt options; /* builtin options table (pos 0 = absent: defaults apply) */
} fs_prep;

typedef fs_status (*fs_prepare_fn)(fs_prep *p);
typedef fs_status (*fs_eval_fn)(const fs_model *m, const fs_op *op, const fs_kctx *k);

/* Static description of a supported builtin operator (fs_ops.c). */
typedef struct fs_op_kind {
    int32_t builtin; /* BuiltinOperator code */
    const char *name;
    uint8_t options_type; /* expected BuiltinOptions union type */
    uint8_t min_in, max_in, n_out;
    uint8_t aliases;     /* output 0 may share input 0's memory (reshape-like ops) */
    uint8_t optional_in; /* bit i set: input i may be absent (-1), e.g. a bias */
    fs_prepare_fn prepare;
    fs_eval_fn eval;
} fs_op_kind;

extern const fs_op_kind fs_op_kinds[];
extern const unsigned fs_op_kind_count;
/* Index into fs_op_kinds, or -1 if the builtin is not supported. */
int fs_op_kind_find(int32_t builtin);
/* Name of any builtin operator code for messages; "builtin" if it has none
 * (the loader's message adds the number: "builtin (builtin 200) at op 3"). */
const char *fs_builtin_name(int32_t builtin);

/* Record a failure: m->status = s, m->msg = "<status text>: <detail>".
 * The format understands %d (int), %u (unsigned) and %s only. Returns s. */
fs_status fs_fail(fs_model *m, fs_status s, const char *fmt, ...);
/* The same for an operator's prepare, named first from what the loader knows:
 * m->msg = "<status text>: op <index> <NAME>: <detail>". Returns s. */
fs_status fs_op_fail(fs_prep *p, fs_status s, const char *fmt, ...);

/* Persistent allocation from the arena's tail (8-byte aligned, zeroed);
 * NULL and an FS_ERR_ARENA failure recorded when it does not fit. */
void *fs_persist(fs_model *m, size_t bytes);

/* Tensors of an operator; NULL for an absent optional input (-1). */
static inline fs_tensor *fs_op_in(const fs_model *m, const fs_op *op, unsigned i) {
    if (i >= op->n_in || op->io[i] < 0) return NULL;
    return &m->tensors[op->io[i]];
}
static inline fs_tensor *fs_op_out(const fs_model *m, const fs_op *op, unsigned i) {
    return &m->tensors[op->io[op->n_in + i]];
}

static inline int64_t fs_shape_count(const fs_shape *s) {
    int64_t n = 1;
    for (unsigned i = 0; i < s->ndim; ++i) n *= s->dims[i];
    return n;
}
/* Dimension i counted from the end (0 = last); 1 beyond the rank. */
static inline int32_t fs_dim_from_end(const fs_shape *s, unsigned i) {
    return i < s->ndim ? s->dims[s->ndim - 1 - i] : 1;
}
int fs_shape_equal(const fs_shape *a, const fs_shape *b);

/* Per-channel quantization of tensor t, read from the model at prepare
 * time: count of scales, and accessors. All validated at load. */
uint32_t fs_quant_count(fs_model *m, int tensor_index);
float fs_quant_scale(fs_model *m, int tensor_index, uint32_t i);
int64_t fs_quant_zero_point(fs_model *m, int tensor_index, uint32_t i);
int32_t fs_quant_dim(fs_model *m, int tensor_index);

/* Option readers bound to the current operator. */
static inline int32_t fs_opt_i32(fs_prep *p, unsigned id, int32_t def) {
    return fs_fb_i32(&p->m->fb, &p->options, id, def);
}
static inline uint8_t fs_opt_u8(fs_prep *p, unsigned id, uint8_t def) {
    return fs_fb_u8(&p->m->fb, &p->options, id, def);
}
static inline float fs_opt_f32(fs_prep *p, unsigned id, float def) {
    return fs_fb_f32(&p->m->fb, &p->options, id, def);
}

/* An operator's parameters: fs_persist'ed (zeroed) and attached as op->data, where its eval
 * finds them; NULL and an FS_ERR_ARENA failure recorded when they do not fit. */
void *fs_op_params(fs_prep *p, size_t bytes);
/* The fused activation in option `id` of the current operator as the int8 range
 * [*act_min, *act_max] on out's quantization; an unknown activation is recorded as
 * "activation <code>". */
fs_status fs_prepare_activation(fs_prep *p, unsigned id, const fs_tensor *out, int32_t *act_min,
                                int32_t *act_max);

/* Common prepare checks, each recording a message on failure. */
fs_status fs_expect_type(fs_prep *p, const fs_tensor *t, int type, const char *what);
fs_status fs_expect_quantized(fs_prep *p, const fs_tensor *t, const char *what);
/* The tensor checks most prepares start with: every want[i].t has want[i].type, then every
 * want[i].t with `quantized` set has one scale and zero point, in the order given; the first
 * failure is recorded as fs_expect_type / fs_expect_quantized record it. */
typedef struct fs_io_want {
    const fs_tensor *t;
    const char *what;  /* for the message: "input", "weights", ... */
    uint8_t type;      /* fs_type */
    uint8_t quantized; /* 1: must be per-tensor quantized */
} fs_io_want;
fs_status fs_expect_io(fs_prep *p, const fs_io_want *want, unsigned n);
/* fs_expect_io over a list written in place:
 *   fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {out, "output", FS_INT8, 1}); */
#define FS_EXPECT_IO(p, ...)                             \
    fs_expect_io((p), (const fs_io_want[]){__VA_ARGS__}, \
                 (unsigned)(sizeof((const fs_io_want[]){__VA_ARGS__}) / sizeof(fs_io_want)))
/* in and out hold as many elements (QUANTIZE, DEQUANTIZE); else "sizes differ". */
fs_status fs_expect_same_count(fs_prep *p, const fs_tensor *in, const fs_tensor *out);
/* The tensor checks of FULLY_CONNECTED and the convolutions: int8 input, weights (`what`:
 * "weights", "filter") and output, input and output with one scale and zero point, then the
 * optional bias (NULL: absent) int32. */
fs_status fs_expect_weighted_io(fs_prep *p, const fs_tensor *in, const fs_tensor *w,
                                const char *what, const fs_tensor *bias, const fs_tensor *out);
/* Fetch the per-channel requantization arrays (multiplier, shift) for a
 * weights tensor: effective scale = in_scale * w_scale[c] / out_scale in
 * double, per output channel c (per-tensor weights are broadcast). */
fs_status fs_per_channel_multipliers(fs_prep *p, int weights_index, uint32_t channels,
                                     float in_scale, float out_scale, int32_t **mult,
                                     int32_t **shift);

/* The same into caller-provided arrays of `channels` entries (checks as above). */
fs_status fs_per_channel_multipliers_into(fs_prep *p, int weights_index, uint32_t channels,
                                          float in_scale, float out_scale, int32_t *mult,
                                          int32_t *shift);
/* `bytes` of prepare-time temporary at the arena base (not yet planned, so free): valid until
 * the next operator's prepare; NULL and an FS_ERR_ARENA failure recorded if it does not fit. */
void *fs_prep_temp(fs_prep *p, size_t bytes);

/* Greedy memory planner (fs_planner.c). */
typedef struct fs_plan_buf {
    uint32_t size;
    int32_t first, last; /* lifetime, op indices inclusive */
    uint32_t offset;     /* result */
} fs_plan_buf;
/* Places every buffer, largest first, at the lowest offset not overlapping
 * an already placed buffer with an overlapping lifetime. `order` and
 * `placed` are scratch arrays of n entries. Returns the total size. */
uint32_t fs_plan_greedy(fs_plan_buf *bufs, uint32_t n, uint32_t *order, uint32_t *placed);

/* Plans activations and scratch buffers of a prepared model (fs_planner.c). */
fs_status fs_plan_model(fs_model *m);

#endif /* FS_INTERNAL_H */
