/* Per-channel quantization of a tensor, read from the model at prepare time (validated by the
 * loader, fs_model.c); see fs_internal.h. */
#include "fs_internal.h"
#include "fs_schema.h"

static fs_fbt fs_tensor_quant_table(fs_model *m, int t) {
    fs_fbv tv = {m->fb_tensors, m->fb_n_tensors};
    fs_fbt tt = fs_fb_vec_table(&m->fb, tv, (uint32_t)t);
    return fs_fb_table(&m->fb, &tt, FS_TFL_TENSOR_QUANT);
}

uint32_t fs_quant_count(fs_model *m, int t) {
    fs_fbt q = fs_tensor_quant_table(m, t);
    return fs_fb_vector(&m->fb, &q, FS_Q_SCALE, 4).n;
}

float fs_quant_scale(fs_model *m, int t, uint32_t i) {
    fs_fbt q = fs_tensor_quant_table(m, t);
    fs_fbv v = fs_fb_vector(&m->fb, &q, FS_Q_SCALE, 4);
    return i < v.n ? fs_fb_vec_f32(&m->fb, v, i) : 0.0f;
}

int64_t fs_quant_zero_point(fs_model *m, int t, uint32_t i) {
    fs_fbt q = fs_tensor_quant_table(m, t);
    fs_fbv v = fs_fb_vector(&m->fb, &q, FS_Q_ZERO_POINT, 8);
    return i < v.n ? fs_fb_vec_i64(&m->fb, v, i) : 0;
}

int32_t fs_quant_dim(fs_model *m, int t) {
    fs_fbt q = fs_tensor_quant_table(m, t);
    return fs_fb_i32(&m->fb, &q, FS_Q_QUANT_DIM, 0);
}
