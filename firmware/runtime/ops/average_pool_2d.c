/* AVERAGE_POOL_2D, int8 NHWC. TFLM reference AveragePool (int8): the window
 * is clipped to the input (padding is not counted), the sum is divided by
 * the number of elements with rounding half away from zero, then clamped
 * to the activation range. No rescaling: input and output share quantization. */
#include "../fs_quant.h"
#include "fs_ops.h"

fs_status fs_average_pool_2d_prepare(fs_prep *p) { return fs_pool_prepare(p); }

FS_EVAL_UNARY(average_pool_2d)

/* Each channel's sum over the window divided by the window's size, rounded half away from zero
 * (rows * cols >= 1), clamped to the activation range. */
static void average_window(const fs_pool_params *p, const fs_pool_window *w, int8_t *out) {
    const int32_t count = w->rows * w->cols;
    for (int32_t c = 0; c < w->depth; ++c) {
        int32_t acc = 0;
        for (int32_t y = 0; y < w->rows; ++y)
            for (int32_t x = 0; x < w->cols; ++x) acc += w->in[y * w->row_step + x * w->depth + c];
        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        out[c] = (int8_t)fs_clamp(acc, p->act_min, p->act_max);
    }
}

void fs_average_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
                           const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    fs_pool_s8(p, in_shape, in, out_shape, out, average_window);
}
