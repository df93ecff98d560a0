/* One float32 log-mel value to int8, as TFLite's QUANTIZE and asd.features.quantize do it.
 * tests/firmware/app/test_quantize_c.py checks it against asd.features.quantize bit for bit. */
#ifndef FS_APP_QUANTIZE_H
#define FS_APP_QUANTIZE_H

#include <stddef.h>
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

/* fs_quantize of n values, x[i] into q[i]. The Cortex-M4 version computes the same int8 without a
 * branch: the division; round half away from zero as truncation of v + copysign(0.5, v) (the
 * float32 sum v - 0.5 for v < 0 is exactly -(-v + 0.5): rounding to nearest is symmetric); the
 * conversion, which on the Cortex-M4 saturates and takes NaN to 0 (so that no clamp to 512 is
 * needed); then a saturating add of the zero point and SSAT to int8. logmel_stages.c checks it
 * against fs_quantize bit for bit on QEMU (ties, the float32 sums that round up, saturation,
 * infinities, NaN, random values). */
static inline void fs_quantize_n(const float *x, int8_t *q, size_t n, float scale, int32_t zero) {
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
    for (; n; n--) {
        int32_t t;
        __asm volatile(
            "vldmia   %[x]!, {s0}\n\t"
            "vdiv.f32 s0, s0, %[scale]\n\t"
            "vmov     %[t], s0\n\t"
            "and      %[t], %[t], #0x80000000\n\t"
            "orr      %[t], %[t], #0x3f000000\n\t" /* copysign(0.5, v) */
            "vmov     s1, %[t]\n\t"
            "vadd.f32 s0, s0, s1\n\t"
            "vcvt.s32.f32 s0, s0\n\t" /* toward zero, saturating, NaN to 0 */
            "vmov     %[t], s0\n\t"
            "qadd     %[t], %[t], %[zero]\n\t"
            "ssat     %[t], #8, %[t]\n\t"
            "strb     %[t], [%[q]], #1\n\t"
            : [x] "+r"(x), [q] "+r"(q), [t] "=&r"(t)
            : [scale] "t"(scale), [zero] "r"(zero)
            : "s0", "s1", "memory");
    }
#else
    for (size_t i = 0; i < n; i++) q[i] = fs_quantize(x[i], scale, zero);
#endif
}

#endif
