/* Model loading: validate the flatbuffer completely, build tensor and
 * operator records in the arena's tail, prepare every operator, plan memory.
 * Nothing is used before it has been checked; see docs/firmware.md. Then
 * invoke and the public accessors. Messages: fs_message.c; persistent
 * allocation: fs_arena.c; quantization read at prepare time: fs_tensor_quant.c. */
#include <math.h>
#include <string.h>

#include "fs_internal.h"
#include "fs_schema.h"

/* Limits that keep indices in int16 and loops bounded. */
#define FS_MAX_TENSORS 32000u
#define FS_MAX_OPS 32000u
#define FS_MAX_OP_IO 64u

/* ---- tensor helpers ------------------------------------------------------ */

size_t fs_type_size(int type) {
    switch (type) {
        case FS_FLOAT32:
        case FS_INT32: return 4;
        case FS_INT64: return 8;
        case FS_INT16: return 2;
        case FS_UINT8:
        case FS_INT8:
        case FS_BOOL: return 1;
        default: return 0;
    }
}

static int fs_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

int fs_shape_equal(const fs_shape *a, const fs_shape *b) {
    if (a->ndim != b->ndim) return 0;
    for (unsigned i = 0; i < a->ndim; ++i)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

/* ---- tensors ------------------------------------------------------------ */

static fs_status fs_load_tensor(fs_model *m, fs_fbv tensors, fs_fbv buffers, uint32_t i) {
    fs_fb *fb = &m->fb;
    fs_tensor *t = &m->tensors[i];
    fs_fbt tt = fs_fb_vec_table(fb, tensors, i);
    fs_fbv shape = fs_fb_vector(fb, &tt, FS_TFL_TENSOR_SHAPE, 4);
    const int type = fs_fb_u8(fb, &tt, FS_TFL_TENSOR_TYPE, FS_FLOAT32);
    const uint32_t buffer = fs_fb_u32(fb, &tt, FS_TFL_TENSOR_BUFFER, 0);
    fs_fbt quant = fs_fb_table(fb, &tt, FS_TFL_TENSOR_QUANT);
    const uint8_t is_variable = fs_fb_u8(fb, &tt, FS_TFL_TENSOR_IS_VARIABLE, 0);
    fs_fbt sparsity = fs_fb_table(fb, &tt, FS_TFL_TENSOR_SPARSITY);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "tensor %u", i);

    if (shape.n > FS_MAX_DIMS)
        return fs_fail(m, FS_ERR_SHAPE, "tensor %u has rank %u > 6", i, shape.n);
    t->shape.ndim = shape.n;
    int64_t count = 1;
    for (uint32_t d = 0; d < shape.n; ++d) {
        const int32_t v = fs_fb_vec_i32(fb, shape, d);
        if (v <= 0) return fs_fail(m, FS_ERR_SHAPE, "tensor %u has dimension %d", i, v);
        count *= v;
        if (count > 0x7fffffff) return fs_fail(m, FS_ERR_LIMIT, "tensor %u too large", i);
    }
    /* Dimensions are used in place, like TFLM does, when the little-endian
     * int32 vector is aligned; otherwise (a misaligned model array) copied. */
    if (shape.n) {
        const uint8_t *src = fb->p + shape.pos;
        if (((uintptr_t)src & 3u) == 0 && fs_little_endian()) {
            t->shape.dims = (const int32_t *)(const void *)src;
        } else {
            int32_t *copy = fs_persist(m, shape.n * sizeof(int32_t));
            if (!copy) return m->status;
            for (uint32_t d = 0; d < shape.n; ++d) copy[d] = fs_fb_vec_i32(fb, shape, d);
            t->shape.dims = copy;
        }
    }
    const size_t esize = fs_type_size(type);
    if (esize == 0) return fs_fail(m, FS_ERR_TYPE, "tensor %u has type %d", i, type);
    if ((uint64_t)count * esize > 0x7fffffffu)
        return fs_fail(m, FS_ERR_LIMIT, "tensor %u too large", i);
    t->type = (uint8_t)type;
    t->bytes = (uint32_t)((uint64_t)count * esize);
    if (is_variable) return fs_fail(m, FS_ERR_GRAPH, "tensor %u is a variable (state) tensor", i);
    if (sparsity.pos) return fs_fail(m, FS_ERR_TYPE, "tensor %u is sparse", i);

    /* Data: a non-empty buffer makes the tensor a constant. */
    if (buffer >= buffers.n)
        return fs_fail(m, FS_ERR_MALFORMED, "tensor %u buffer %u out of range", i, buffer);
    fs_fbt bt = fs_fb_vec_table(fb, buffers, buffer);
    fs_fbv data = fs_fb_vector(fb, &bt, FS_BUFFER_DATA, 1);
    const uint64_t ext_off = fs_fb_u64(fb, &bt, FS_BUFFER_OFFSET, 0);
    const uint64_t ext_size = fs_fb_u64(fb, &bt, FS_BUFFER_SIZE, 0);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "buffer %u of tensor %u", buffer, i);
    if (ext_off > 1 || ext_size)
        return fs_fail(m, FS_ERR_LIMIT, "tensor %u uses an external buffer", i);
    if (data.n) {
        if (data.n != t->bytes)
            return fs_fail(m, FS_ERR_SHAPE, "tensor %u has %u data bytes, shape needs %u", i,
                           data.n, t->bytes);
        /* Constant data stays in the model and is never written (see fs_tensor). */
        t->data = (uint8_t *)(uintptr_t)(fb->p + data.pos);
        t->flags |= FS_TENSOR_CONST;
    }

    /* Quantization. */
    fs_fbv scale = fs_fb_vector(fb, &quant, FS_Q_SCALE, 4);
    fs_fbv zp = fs_fb_vector(fb, &quant, FS_Q_ZERO_POINT, 8);
    const uint8_t details = fs_fb_u8(fb, &quant, FS_Q_DETAILS_TYPE, 0);
    const int32_t qdim = fs_fb_i32(fb, &quant, FS_Q_QUANT_DIM, 0);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "quantization of tensor %u", i);
    if (details) return fs_fail(m, FS_ERR_QUANT, "tensor %u has custom quantization", i);
    const int quantized_type = type == FS_INT8 || type == FS_UINT8 || type == FS_INT16;
    if (quantized_type && scale.n == 0)
        return fs_fail(m, FS_ERR_QUANT, "int8 tensor %u has no quantization", i);
    if (scale.n) {
        if (zp.n != scale.n)
            return fs_fail(m, FS_ERR_QUANT, "tensor %u has %u scales but %u zero points", i,
                           scale.n, zp.n);
        if (scale.n > 1) {
            if (qdim < 0 || qdim >= (int32_t)t->shape.ndim ||
                (uint32_t)t->shape.dims[qdim] != scale.n)
                return fs_fail(m, FS_ERR_QUANT, "tensor %u: %u scales do not match dimension %d", i,
                               scale.n, qdim);
            t->flags |= FS_TENSOR_PER_CHANNEL;
        }
        for (uint32_t c = 0; c < scale.n; ++c) {
            const float s = fs_fb_vec_f32(fb, scale, c);
            const int64_t z = fs_fb_vec_i64(fb, zp, c);
            if (!(s > 0.0f) || isinf(s))
                return fs_fail(m, FS_ERR_QUANT, "tensor %u has a bad scale", i);
            const int64_t zlo = type == FS_UINT8 ? 0 : (type == FS_INT8 ? -128 : INT32_MIN);
            const int64_t zhi = type == FS_UINT8 ? 255 : (type == FS_INT8 ? 127 : INT32_MAX);
            if (z < zlo || z > zhi)
                return fs_fail(m, FS_ERR_QUANT, "tensor %u zero point out of range", i);
        }
        t->scale = fs_fb_vec_f32(fb, scale, 0);
        t->zero_point = (int32_t)fs_fb_vec_i64(fb, zp, 0);
    }
    return FS_OK;
}

/* Graph inputs or outputs: indices into the tensor table, as int16. */
static fs_status fs_load_io(fs_model *m, fs_fbv v, int16_t **out, uint32_t *n, unsigned flag,
                            const char *what) {
    if (v.n == 0 || v.n > FS_MAX_OP_IO)
        return fs_fail(m, FS_ERR_GRAPH, "model has %u %ss", v.n, what);
    *out = fs_persist(m, v.n * sizeof(int16_t));
    if (!*out) return m->status;
    *n = v.n;
    for (uint32_t i = 0; i < v.n; ++i) {
        const int32_t t = fs_fb_vec_i32(&m->fb, v, i);
        if (t < 0 || (uint32_t)t >= m->n_tensors)
            return fs_fail(m, FS_ERR_GRAPH, "%s %u is tensor %d, out of range", what, i, t);
        if (m->tensors[t].flags & FS_TENSOR_CONST)
            return fs_fail(m, FS_ERR_GRAPH, "%s %u is a constant tensor", what, i);
        (*out)[i] = (int16_t)t;
        m->tensors[t].flags |= (uint8_t)flag;
    }
    return FS_OK;
}

/* ---- operators ---------------------------------------------------------- */

static fs_status fs_load_op(fs_model *m, fs_fbv opcodes, fs_fbv operators, uint32_t i,
                            fs_fbt *options) {
    fs_fb *fb = &m->fb;
    fs_op *op = &m->ops[i];
    fs_fbt ot = fs_fb_vec_table(fb, operators, i);
    const uint32_t opcode_index = fs_fb_u32(fb, &ot, FS_OP_OPCODE_INDEX, 0);
    fs_fbv ins = fs_fb_vector(fb, &ot, FS_OP_INPUTS, 4);
    fs_fbv outs = fs_fb_vector(fb, &ot, FS_OP_OUTPUTS, 4);
    const uint8_t opt_type = fs_fb_u8(fb, &ot, FS_OP_OPTIONS_TYPE, 0);
    *options = fs_fb_table(fb, &ot, FS_OP_OPTIONS);
    const uint8_t opt2_type = fs_fb_u8(fb, &ot, FS_OP_OPTIONS2_TYPE, 0);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "operator %u", i);
    if (opcode_index >= opcodes.n)
        return fs_fail(m, FS_ERR_MALFORMED, "operator %u opcode index out of range", i);

    fs_fbt ct = fs_fb_vec_table(fb, opcodes, opcode_index);
    const int32_t deprecated = (int8_t)fs_fb_u8(fb, &ct, FS_OPCODE_DEPRECATED_BUILTIN, 0);
    const int32_t builtin_new = fs_fb_i32(fb, &ct, FS_OPCODE_BUILTIN, 0);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "operator code %u", opcode_index);
    const int32_t builtin = deprecated > builtin_new ? deprecated : builtin_new;
    const int k = fs_op_kind_find(builtin);
    if (k < 0)
        return fs_fail(m, FS_ERR_UNSUPPORTED_OP, "%s (builtin %d) at op %u",
                       fs_builtin_name(builtin), builtin, i);
    const fs_op_kind *kind = &fs_op_kinds[k];
    op->kind = (uint8_t)k;

    if (ins.n < kind->min_in || ins.n > kind->max_in || outs.n != kind->n_out)
        return fs_fail(m, FS_ERR_GRAPH, "op %u %s has %u inputs and %u outputs", i, kind->name,
                       ins.n, outs.n);
    if (opt_type != FS_OPT_NONE && opt_type != kind->options_type)
        return fs_fail(m, FS_ERR_OPTIONS, "op %u %s has options of type %u", i, kind->name,
                       opt_type);
    if (opt_type == FS_OPT_NONE) options->pos = 0; /* defaults */
    if (opt2_type != 0)
        return fs_fail(m, FS_ERR_OPTIONS, "op %u %s uses builtin_options_2", i, kind->name);

    op->n_in = (uint8_t)ins.n;
    op->n_out = (uint8_t)outs.n;
    op->io = fs_persist(m, (ins.n + outs.n) * sizeof(int16_t));
    if (!op->io) return m->status;
    for (uint32_t j = 0; j < ins.n + outs.n; ++j) {
        const int is_in = j < ins.n;
        const int32_t t = is_in ? fs_fb_vec_i32(fb, ins, j) : fs_fb_vec_i32(fb, outs, j - ins.n);
        if (t < -1 || t >= (int32_t)m->n_tensors ||
            (t == -1 && !(is_in && (kind->optional_in >> j) & 1u)))
            return fs_fail(m, FS_ERR_GRAPH, "op %u %s refers to tensor %d", i, kind->name, t);
        op->io[j] = (int16_t)t;
        if (t < 0) continue;
        fs_tensor *tt = &m->tensors[t];
        if (is_in) {
            /* Topological order: every activation read must already exist. */
            if (!(tt->flags & (FS_TENSOR_CONST | FS_TENSOR_INPUT | FS_TENSOR_WRITTEN)))
                return fs_fail(m, FS_ERR_GRAPH, "op %u %s reads tensor %d before it is written", i,
                               kind->name, t);
        } else {
            if (tt->flags & (FS_TENSOR_CONST | FS_TENSOR_INPUT | FS_TENSOR_WRITTEN))
                return fs_fail(m, FS_ERR_GRAPH,
                               "op %u %s writes tensor %d that is constant or already written", i,
                               kind->name, t);
            tt->flags |= FS_TENSOR_WRITTEN;
        }
    }
    return FS_OK;
}

/* ---- load --------------------------------------------------------------- */

static fs_status fs_load(fs_model *m) {
    fs_fb *fb = &m->fb;
    if (fb->len < 8)
        return fs_fail(m, FS_ERR_TRUNCATED, "%u bytes is too short for a model", fb->len);
    fs_fbt root = fs_fb_root(fb, FS_TFL_IDENT);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "root table");
    if (root.pos == 0) return fs_fail(m, FS_ERR_IDENTIFIER, NULL);
    const uint32_t version = fs_fb_u32(fb, &root, FS_MODEL_VERSION, 0);
    fs_fbv opcodes = fs_fb_vector(fb, &root, FS_MODEL_OPERATOR_CODES, 4);
    fs_fbv subgraphs = fs_fb_vector(fb, &root, FS_MODEL_SUBGRAPHS, 4);
    fs_fbv buffers = fs_fb_vector(fb, &root, FS_MODEL_BUFFERS, 4);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "model table");
    if (version != FS_TFL_SCHEMA_VERSION) return fs_fail(m, FS_ERR_VERSION, "version %u", version);
    if (subgraphs.n != 1) return fs_fail(m, FS_ERR_SUBGRAPHS, "model has %u", subgraphs.n);

    fs_fbt sg = fs_fb_vec_table(fb, subgraphs, 0);
    fs_fbv tensors = fs_fb_vector(fb, &sg, FS_SG_TENSORS, 4);
    fs_fbv inputs = fs_fb_vector(fb, &sg, FS_SG_INPUTS, 4);
    fs_fbv outputs = fs_fb_vector(fb, &sg, FS_SG_OUTPUTS, 4);
    fs_fbv operators = fs_fb_vector(fb, &sg, FS_SG_OPERATORS, 4);
    if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "subgraph table");
    if (tensors.n == 0 || tensors.n > FS_MAX_TENSORS)
        return fs_fail(m, FS_ERR_LIMIT, "%u tensors", tensors.n);
    if (operators.n == 0 || operators.n > FS_MAX_OPS)
        return fs_fail(m, FS_ERR_LIMIT, "%u operators", operators.n);
    m->fb_tensors = tensors.pos;
    m->fb_n_tensors = tensors.n;

    m->n_tensors = tensors.n;
    m->tensors = fs_persist(m, tensors.n * sizeof(fs_tensor));
    if (!m->tensors) return m->status;
    for (uint32_t i = 0; i < tensors.n; ++i) {
        fs_status s = fs_load_tensor(m, tensors, buffers, i);
        if (s != FS_OK) return s;
    }
    fs_status s = fs_load_io(m, inputs, &m->inputs, &m->n_inputs, FS_TENSOR_INPUT, "input");
    if (s != FS_OK) return s;
    s = fs_load_io(m, outputs, &m->outputs, &m->n_outputs, FS_TENSOR_OUTPUT, "output");
    if (s != FS_OK) return s;

    m->n_ops = operators.n;
    m->ops = fs_persist(m, operators.n * sizeof(fs_op));
    if (!m->ops) return m->status;
    for (uint32_t i = 0; i < operators.n; ++i) {
        fs_prep p = {m, &m->ops[i], i, {0, 0, 0, 0}};
        s = fs_load_op(m, opcodes, operators, i, &p.options);
        if (s != FS_OK) return s;
        s = fs_op_kinds[m->ops[i].kind].prepare(&p);
        if (fb->bad) return fs_fail(m, FS_ERR_TRUNCATED, "options of op %u", i);
        if (s != FS_OK) {
            if (m->status == FS_OK) fs_fail(m, s, "op %u %s", i, fs_op_kinds[m->ops[i].kind].name);
            return s;
        }
    }
    for (uint32_t i = 0; i < m->n_outputs; ++i) {
        const fs_tensor *t = &m->tensors[m->outputs[i]];
        if (!(t->flags & (FS_TENSOR_WRITTEN | FS_TENSOR_INPUT)))
            return fs_fail(m, FS_ERR_GRAPH, "output %u (tensor %d) is never written", i,
                           m->outputs[i]);
    }
    if ((s = fs_fuse_find(m)) != FS_OK) return s;
    return fs_plan_model(m);
}

fs_status fs_model_load(fs_model *m, const uint8_t *data, size_t len, uint8_t *arena,
                        size_t arena_len) {
    if (!m) return FS_ERR_ARG;
    memset(m, 0, sizeof *m);
    if (!data || !arena) return fs_fail(m, FS_ERR_ARG, "NULL model or arena");
    fs_fb_init(&m->fb, data, len);
    if (m->fb.bad) return fs_fail(m, FS_ERR_LIMIT, "model size");
    m->arena = arena;
    m->arena_len = arena_len;
    const uintptr_t a = (uintptr_t)arena;
    const uintptr_t base = (a + 15u) & ~(uintptr_t)15u;
    const uintptr_t end = (a + arena_len) & ~(uintptr_t)15u;
    if (arena_len < 32 || end <= base)
        return fs_fail(m, FS_ERR_ARENA, "have %u bytes", (unsigned)arena_len);
    m->base = arena + (base - a);
    m->end = arena + (end - a);
    m->tail = m->end;
    fs_status s = fs_load(m);
    if (s != FS_OK) {
        if (m->status == FS_OK) fs_fail(m, s, NULL);
        m->loaded = 0;
        return s;
    }
    m->loaded = 1;
    fs_fail(m, FS_OK, NULL);
    return FS_OK;
}

/* ---- run ---------------------------------------------------------------- */

fs_status fs_model_invoke_profiled(fs_model *m, fs_cycle_fn cycles, void *user, uint32_t *op_cycles,
                                   size_t op_cycles_len) {
    if (!m) return FS_ERR_ARG;
    if (!m->loaded) return fs_fail(m, FS_ERR_NOT_LOADED, NULL);
    for (uint32_t i = 0; i < m->n_ops; ++i) {
        const fs_op *op = &m->ops[i];
        if (op->fused == FS_FUSE_MEMBER) { /* run by its block's head */
            if (cycles && op_cycles && i < op_cycles_len) op_cycles[i] = 0;
            continue;
        }
        const fs_kctx k = {op->scratch_bytes ? m->base + op->scratch_offset : NULL,
                           op->scratch_bytes};
        const uint32_t t0 = cycles ? cycles(user) : 0;
        const fs_status s = op->fused == FS_FUSE_HEAD ? fs_fuse_eval(m, fs_fuse_at(m, i), &k)
                                                      : fs_op_kinds[op->kind].eval(m, op, &k);
        if (cycles && op_cycles && i < op_cycles_len) op_cycles[i] = cycles(user) - t0;
        if (s != FS_OK) return fs_fail(m, s, "op %u %s", i, fs_op_kinds[op->kind].name);
    }
    return FS_OK;
}

fs_status fs_model_invoke(fs_model *m) { return fs_model_invoke_profiled(m, NULL, NULL, NULL, 0); }

size_t fs_model_input_count(const fs_model *m) { return m && m->loaded ? m->n_inputs : 0; }
size_t fs_model_output_count(const fs_model *m) { return m && m->loaded ? m->n_outputs : 0; }

fs_tensor *fs_model_input(fs_model *m, size_t i) {
    return m && m->loaded && i < m->n_inputs ? &m->tensors[m->inputs[i]] : NULL;
}

const fs_tensor *fs_model_output(const fs_model *m, size_t i) {
    return m && m->loaded && i < m->n_outputs ? &m->tensors[m->outputs[i]] : NULL;
}

size_t fs_model_arena_used(const fs_model *m) {
    if (!m || !m->loaded) return 0;
    const size_t low = m->head_bytes > m->temp_bytes ? m->head_bytes : m->temp_bytes;
    const size_t used = (size_t)(m->base - m->arena) + low + (size_t)(m->end - m->tail);
    return (used + 15u) & ~(size_t)15u;
}

size_t fs_model_op_count(const fs_model *m) { return m && m->loaded ? m->n_ops : 0; }

const char *fs_model_op_name(const fs_model *m, size_t i) {
    return m && m->loaded && i < m->n_ops ? fs_op_kinds[m->ops[i].kind].name : "?";
}

int32_t fs_model_op_code(const fs_model *m, size_t i) {
    return m && m->loaded && i < m->n_ops ? fs_op_kinds[m->ops[i].kind].builtin : -1;
}

size_t fs_model_op_scratch(const fs_model *m, size_t i) {
    return m && m->loaded && i < m->n_ops ? m->ops[i].scratch_bytes : 0;
}

fs_status fs_model_status(const fs_model *m) { return m ? m->status : FS_ERR_ARG; }

const char *fs_model_message(const fs_model *m) {
    if (!m) return fs_status_str(FS_ERR_ARG);
    return m->msg[0] ? m->msg : fs_status_str(m->status);
}
