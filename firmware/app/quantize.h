/* One float32 log-mel value to int8, as TFLite's QUANTIZE and asd.features.quantize do it.
 * tests/firmware/app/test_quantize_c.py checks it against asd.features.quantize bit for bit. */
#ifndef FS_APP_QUANTIZE_H
#define FS_APP_QUANTIZE_H

#include <stdint.h>

/* Round half away from zero of v = x / scale in float32 (floor(|v| + 0.5) with the float32 sum),
 * plus zero, saturated. The floor of that non-negative sum is its truncation, one conversion
 * instead of a call to floorf, once |v| is clamped to 512, beyond which the result saturates
 * either way; NaN (never produced by the front end) maps to the zero point. */
static inline int8_t fs_quantize(float x, float scale, int32_t zero) {
    float v = x / scale;
    if (v != v) v = 0.0f;
    v = v > 512.0f ? 512.0f : v < -512.0f ? -512.0f : v;
    int32_t r = v >= 0.0f ? (int32_t)(v + 0.5f) : -(int32_t)(-v + 0.5f);
    int32_t q = r + zero;
    return (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
}

#endif
