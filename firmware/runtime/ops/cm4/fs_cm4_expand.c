/* Activations of the Cortex-M4 kernels expanded to int16 with the input offset added, in the
 * split order of SXTB16 (fs_cm4.h describes it). */
#include "fs_cm4.h"

uint32_t fs_cm4_expanded_bytes(uint32_t n) { return (2u * n + 3u) & ~3u; }

void fs_cm4_expand(int16_t *dst, const int8_t *src, uint32_t n, int32_t offset) {
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) * 0x10001u;
    uint32_t *d = (uint32_t *)(void *)dst;
    uint32_t blocks = n >> 2;
    while (blocks >= 2) {
        const uint32_t a = fs_cm4_ld32(src), b = fs_cm4_ld32(src + 4);
        d[0] = __sxtab16(off2, a);
        d[1] = fs_cm4_sxtab16_odd(off2, a);
        d[2] = __sxtab16(off2, b);
        d[3] = fs_cm4_sxtab16_odd(off2, b);
        d += 4;
        src += 8;
        blocks -= 2;
    }
    if (blocks) {
        const uint32_t a = fs_cm4_ld32(src);
        d[0] = __sxtab16(off2, a);
        d[1] = fs_cm4_sxtab16_odd(off2, a);
        d += 2;
        src += 4;
    }
    int16_t *t = (int16_t *)(void *)d;
    for (uint32_t i = 0; i < (n & 3u); ++i) t[i] = (int16_t)(src[i] + offset);
}

void fs_cm4_expand_zero(int16_t *dst, uint32_t n) { memset(dst, 0, 2u * n); }
