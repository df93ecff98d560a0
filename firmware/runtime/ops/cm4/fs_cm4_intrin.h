/* One-instruction helpers of the Cortex-M4 DSP kernels (ops/cm4/) that gcc 12's arm_acle.h does
 * not offer: inline, so that each stays one instruction inside its caller's loop. Written from
 * the ARMv7-M architecture manual and ACLE. */
#ifndef FS_CM4_INTRIN_H
#define FS_CM4_INTRIN_H

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#if !defined(__ARM_FEATURE_DSP)
#error "ops/cm4 needs the ARMv7E-M DSP extension (-mcpu=cortex-m4 or later); build with KERNELS=ref"
#endif

static inline uint32_t fs_cm4_ld32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4); /* one LDR, unaligned allowed */
    return v;
}

/* SXTB16 with ROR #8: bytes 1 and 3 as two int16 (gcc 12's arm_acle.h has no __ror and does not
 * fold a rotate into SXTB16 by itself). */
static inline uint32_t fs_cm4_sxtb16_odd(uint32_t x) {
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* SXTAB16 with ROR #8: (a.lo + byte1, a.hi + byte3). */
static inline uint32_t fs_cm4_sxtab16_odd(uint32_t a, uint32_t x) {
    uint32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SMMULR: the high word of a * b, rounded. */
static inline int32_t fs_cm4_smmulr(int32_t a, int32_t b) {
    int32_t r;
    __asm("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

#endif /* FS_CM4_INTRIN_H */
