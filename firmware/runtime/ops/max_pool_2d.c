/* MAX_POOL_2D, int8 NHWC. TFLM reference MaxPool (int8): maximum over the
 * window clipped to the input, then clamped to the activation range.
 * Prepare is shared with AVERAGE_POOL_2D (fs_pool_prepare). */
#include "../fs_quant.h"
#include "fs_ops.h"

fs_status fs_max_pool_2d_prepare(fs_prep *p) { return fs_pool_prepare(p); }

FS_EVAL_UNARY(max_pool_2d)

/* The maximum of each channel over the window, clamped to the activation range. */
static void max_window(const fs_pool_params *p, const fs_pool_window *w, int8_t *out) {
    for (int32_t c = 0; c < w->depth; ++c) {
        int32_t mx = -128;
        for (int32_t y = 0; y < w->rows; ++y)
            for (int32_t x = 0; x < w->cols; ++x) {
                const int8_t v = w->in[y * w->row_step + x * w->depth + c];
                if (v > mx) mx = v;
            }
        out[c] = (int8_t)fs_clamp(mx, p->act_min, p->act_max);
    }
}

void fs_max_pool_2d_s8(const fs_kctx *k, const fs_pool_params *p, const fs_shape *in_shape,
                       const int8_t *in, const fs_shape *out_shape, int8_t *out) {
    (void)k;
    fs_pool_s8(p, in_shape, in, out_shape, out, max_window);
}
