/* The conditions of the short requantization (fs_cm4_rq.h), proved once at prepare. */
#include "fs_cm4_rq.h"

#include "../../fs_runtime.h"

int fs_cm4_rq_ok(const int32_t *shift, int32_t shift1, uint32_t n, const fs_tensor *bias_t,
                 uint32_t taps) {
    if (bias_t && (!(bias_t->flags & FS_TENSOR_CONST) || !bias_t->data || bias_t->bytes < 4u * n))
        return 0;
    const uint8_t *bias = bias_t ? bias_t->data : NULL;
    int64_t max_bias = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t s = shift ? shift[i] : shift1;
        if (s > -1 || s < -FS_CM4_RQ_MAX_RIGHT) return 0;
        if (bias) {
            const int64_t b = (int32_t)fs_cm4_ld32(bias + 4u * i);
            if ((b < 0 ? -b : b) > max_bias) max_bias = b < 0 ? -b : b;
        }
    }
    return (int64_t)taps * 128 * 255 + max_bias < (1ll << 30);
}
