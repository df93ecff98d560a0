/* Checks and computations shared by operator prepare functions. */
#include "fs_internal.h"
#include "fs_quant.h"
#include "fs_schema.h"

static const char *fs_type_name(int type) {
    switch (type) {
        case FS_FLOAT32: return "float32";
        case FS_INT32: return "int32";
        case FS_UINT8: return "uint8";
        case FS_INT64: return "int64";
        case FS_BOOL: return "bool";
        case FS_INT16: return "int16";
        case FS_INT8: return "int8";
        default: return "?";
    }
}

fs_status fs_expect_type(fs_prep *p, const fs_tensor *t, int type, const char *what) {
    if (t && t->type == type) return FS_OK;
    return fs_op_fail(p, FS_ERR_TYPE, "%s is %s, want %s", what,
                      t ? fs_type_name(t->type) : "missing", fs_type_name(type));
}

fs_status fs_expect_quantized(fs_prep *p, const fs_tensor *t, const char *what) {
    if (t && t->scale > 0.0f && !(t->flags & FS_TENSOR_PER_CHANNEL)) return FS_OK;
    return fs_op_fail(p, FS_ERR_QUANT, "%s needs one scale and zero point", what);
}

void *fs_op_params(fs_prep *p, size_t bytes) {
    void *q = fs_persist(p->m, bytes);
    if (q) p->op->data = q;
    return q;
}

fs_status fs_prepare_activation(fs_prep *p, unsigned id, const fs_tensor *out, int32_t *act_min,
                                int32_t *act_max) {
    const int act = fs_opt_u8(p, id, FS_ACT_NONE);
    const fs_status s = fs_activation_range_s8(act, out->scale, out->zero_point, act_min, act_max);
    return s ? fs_op_fail(p, s, "activation %d", act) : FS_OK;
}

fs_status fs_expect_io(fs_prep *p, const fs_io_want *want, unsigned n) {
    fs_status s;
    for (unsigned i = 0; i < n; ++i)
        if ((s = fs_expect_type(p, want[i].t, want[i].type, want[i].what))) return s;
    for (unsigned i = 0; i < n; ++i)
        if (want[i].quantized && (s = fs_expect_quantized(p, want[i].t, want[i].what))) return s;
    return FS_OK;
}

fs_status fs_expect_same_count(fs_prep *p, const fs_tensor *in, const fs_tensor *out) {
    if (fs_shape_count(&in->shape) == fs_shape_count(&out->shape)) return FS_OK;
    return fs_op_fail(p, FS_ERR_SHAPE, "sizes differ");
}

fs_status fs_expect_weighted_io(fs_prep *p, const fs_tensor *in, const fs_tensor *w,
                                const char *what, const fs_tensor *bias, const fs_tensor *out) {
    fs_status s = FS_EXPECT_IO(p, {in, "input", FS_INT8, 1}, {w, what, FS_INT8, 0},
                               {out, "output", FS_INT8, 1});
    if (s) return s;
    return bias ? fs_expect_type(p, bias, FS_INT32, "bias") : FS_OK;
}

fs_status fs_per_channel_multipliers_into(fs_prep *p, int w, uint32_t channels, float in_scale,
                                          float out_scale, int32_t *mult, int32_t *shift) {
    fs_model *m = p->m;
    const uint32_t n = fs_quant_count(m, w);
    if (n != 1 && n != channels)
        return fs_op_fail(p, FS_ERR_QUANT, "weights have %u scales for %u channels", n, channels);
    for (uint32_t c = 0; c < n; ++c)
        if (fs_quant_zero_point(m, w, c) != 0)
            return fs_op_fail(p, FS_ERR_QUANT, "weights must be symmetric (zero point 0)");
    /* PopulateConvolutionQuantizationParams: double(in) * double(w) / double(out). */
    for (uint32_t c = 0; c < channels; ++c) {
        const double ws = (double)fs_quant_scale(m, w, n == 1 ? 0 : c);
        const double eff = (double)in_scale * ws / (double)out_scale;
        int sh;
        if (!fs_quantize_multiplier(eff, &mult[c], &sh))
            return fs_op_fail(p, FS_ERR_QUANT, "bad effective scale");
        shift[c] = sh;
    }
    return FS_OK;
}

fs_status fs_per_channel_multipliers(fs_prep *p, int w, uint32_t channels, float in_scale,
                                     float out_scale, int32_t **mult, int32_t **shift) {
    fs_model *m = p->m;
    *mult = fs_persist(m, channels * sizeof(int32_t));
    *shift = fs_persist(m, channels * sizeof(int32_t));
    if (!*mult || !*shift) return m->status;
    return fs_per_channel_multipliers_into(p, w, channels, in_scale, out_scale, *mult, *shift);
}

void *fs_prep_temp(fs_prep *p, size_t bytes) {
    fs_model *m = p->m;
    if (bytes > (size_t)(m->tail - m->base)) {
        fs_fail(m, FS_ERR_ARENA, "have %u bytes, preparing op %u needs more",
                (unsigned)m->arena_len, (unsigned)p->index);
        return NULL;
    }
    return m->base;
}
