/* Prepare-time quantization helpers; see fs_quant.h. */
#include "fs_quant.h"

#include <math.h>

#include "fs_schema.h"

/* The kernels need arithmetic right shifts of negative numbers (TFLite's
 * RoundingDivideByPOT and gemmlowp rely on it too). */
_Static_assert((-3 >> 1) == -2, "signed right shift must be arithmetic");

int fs_quantize_multiplier(double m, int32_t *quantized, int *shift) {
    *quantized = 0;
    *shift = 0;
    if (!(m >= 0.0) || isinf(m)) return 0; /* NaN, negative or infinite */
    if (m == 0.0) return 1;
    int e = 0;
    const double q = frexp(m, &e);
    int64_t q_fixed = (int64_t)round(q * 2147483648.0); /* round: half away from zero */
    if (q_fixed == (1ll << 31)) {
        q_fixed /= 2;
        ++e;
    }
    if (e < -31) { /* all bits would shift out: TFLite flushes to zero */
        e = 0;
        q_fixed = 0;
    }
    /* Kernels shift left by up to `shift` bits before the high multiply;
     * beyond 30 that overflows int32 for every input (TFLM leaves this
     * undefined; real models stay far below). Refuse such scale ratios. */
    if (e > 30) return 0;
    *quantized = (int32_t)q_fixed;
    *shift = e;
    return 1;
}

/* TFLite's Quantize() inside CalculateActivationRangeQuantizedImpl: float
 * division and float rounding, then a range check. */
static int fs_quantize_bound(float scale, int32_t zp, float f, int32_t *q) {
    const float t = roundf(f / scale);
    if (!(t >= -2147483648.0f && t < 2147483648.0f)) return 0;
    *q = zp + (int32_t)t;
    return 1;
}

fs_status fs_activation_range_s8(int act, float scale, int32_t zero_point, int32_t *act_min,
                                 int32_t *act_max) {
    const int32_t qmin = -128, qmax = 127;
    int32_t q;
    *act_min = qmin;
    *act_max = qmax;
    switch (act) {
        case FS_ACT_NONE: return FS_OK;
        case FS_ACT_RELU:
            if (!fs_quantize_bound(scale, zero_point, 0.0f, &q)) return FS_ERR_OPTIONS;
            *act_min = q > qmin ? q : qmin;
            return FS_OK;
        case FS_ACT_RELU6:
            if (!fs_quantize_bound(scale, zero_point, 0.0f, &q)) return FS_ERR_OPTIONS;
            *act_min = q > qmin ? q : qmin;
            if (!fs_quantize_bound(scale, zero_point, 6.0f, &q)) return FS_ERR_OPTIONS;
            *act_max = q < qmax ? q : qmax;
            return FS_OK;
        case FS_ACT_RELU_N1_TO_1:
            if (!fs_quantize_bound(scale, zero_point, -1.0f, &q)) return FS_ERR_OPTIONS;
            *act_min = q > qmin ? q : qmin;
            if (!fs_quantize_bound(scale, zero_point, 1.0f, &q)) return FS_ERR_OPTIONS;
            *act_max = q < qmax ? q : qmax;
            return FS_OK;
        default: /* TANH, SIGN_BIT: never fused in int8 models */ return FS_ERR_OPTIONS;
    }
}

int32_t fs_input_radius(int int_bits, int left_shift, int total_signed_bits) {
    const double max_rescaled = 1.0 * (double)((1 << int_bits) - 1) *
                                (double)(1ll << (total_signed_bits - int_bits)) /
                                (double)(1ll << left_shift);
    return (int32_t)floor(max_rescaled);
}
