/* The 'global' DEPTHWISE_CONV_2D of the Cortex-M4 boards (fs_cm4_dw.h): one filter row that
 * spans the input row, so that every output row is one pixel (the cls model's 1x16 over
 * 4x16x128 -> 4x1x128). Each output is the dot product of one channel's `taps` inputs, which
 * lie ch bytes apart in one input row: four channels at a time, one word of input per tap,
 * SXTAB16 adds the input offset while it sign-extends (channels 0 and 2, then with ROR #8
 * 1 and 3), and SMLABB / SMLATT accumulate against weights sign-extended once per four
 * channels (two words per tap, on the stack) and used for every output row: 9.5 instructions
 * per 4 MACs. The pixel-major kernel paid a requantization loop per output pixel and the
 * weights' extension per tap and row (9.5 instructions per MAC on the cls model's). Needs no
 * scratch. */
#include "../fs_ops.h"
#include "fs_cm4.h"
#include "fs_cm4_dw.h"
#include "fs_cm4_rq.h"

int fs_cm4_dw_global_ok(const fs_conv_params *p, const fs_shape *in, const fs_shape *f,
                        const fs_shape *out) {
    const fs_conv_geom *g = &p->g;
    const int32_t taps = f->dims[2];
    return p->depth_multiplier == 1 && p->fast_requant && f->dims[1] == 1 && out->dims[2] == 1 &&
           g->pad_w == 0 && g->pad_h == 0 && taps <= FS_CM4_DW_GLOBAL_MAX_TAPS &&
           (taps - 1) * g->dilation_w < in->dims[2] && out->dims[3] == in->dims[3];
}

/* The weights of four channels at tap t, sign-extended: (w0, w2) and (w1, w3); two taps per
 * pass (the loop's step and branch paid once per two). */
static void expand_weights(uint32_t *wx, const int8_t *f, int32_t taps, int32_t ch) {
    uint32_t *const end = wx + 2 * (taps & ~1);
    for (; wx != end; wx += 4, f += 2 * ch) {
        const uint32_t w = fs_cm4_ld32(f), v = fs_cm4_ld32(f + ch);
        wx[0] = __sxtb16(w);
        wx[1] = fs_cm4_sxtb16_odd(w);
        wx[2] = __sxtb16(v);
        wx[3] = fs_cm4_sxtb16_odd(v);
    }
    if (taps & 1) {
        const uint32_t w = fs_cm4_ld32(f);
        wx[0] = __sxtb16(w);
        wx[1] = fs_cm4_sxtb16_odd(w);
    }
}

/* One tap of four channels: acc += w . (x + offset), w the tap's two expanded words. */
static inline void tap4(int32_t acc[4], const int8_t *x, const uint32_t *w, uint32_t off2) {
    const uint32_t v = fs_cm4_ld32(x);
    const uint32_t x02 = __sxtab16(off2, v), x13 = fs_cm4_sxtab16_odd(off2, v);
    acc[0] = __smlabb(w[0], x02, acc[0]);
    acc[2] = __smlatt(w[0], x02, acc[2]);
    acc[1] = __smlabb(w[1], x13, acc[1]);
    acc[3] = __smlatt(w[1], x13, acc[3]);
}

/* One tap in the asm below: the four channels' inputs at ADDR, the weights' LDRD (w advanced),
 * the offset added while sign-extending, four multiply-accumulates. */
#define DW_GLOBAL_TAP(ADDR)                  \
    "ldr     %[v], " ADDR                    \
    "\n\t"                                   \
    "ldrd    %[wa], %[wb], [%[w]], #8\n\t"   \
    "sxtab16 %[t], %[off], %[v]\n\t"         \
    "sxtab16 %[v], %[off], %[v], ror #8\n\t" \
    "smlabb  %[a0], %[wa], %[t], %[a0]\n\t"  \
    "smlatt  %[a2], %[wa], %[t], %[a2]\n\t"  \
    "smlabb  %[a1], %[wb], %[v], %[a1]\n\t"  \
    "smlatt  %[a3], %[wb], %[v], %[a3]\n\t"

/* acc[0..3] += the four channels' dot products over the taps (x: channel 0 of tap 0). Two taps
 * per pass in asm (gcc's loop paid 12 instructions a tap): per tap a load, two SXTAB16, one
 * LDRD of the weights, four multiplies; per two taps one pointer step and the loop. */
static void dot4(int32_t acc[4], const int8_t *x, int32_t step, const uint32_t *wx, int32_t taps,
                 uint32_t off2) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const uint32_t *const end = wx + 2 * (taps & ~1);
    if (wx != end) {
        uint32_t v, t, wa, wb;
        __asm volatile(
            "1:\n\t" DW_GLOBAL_TAP("[%[x]]") DW_GLOBAL_TAP("[%[x], %[step]]")
            "add     %[x], %[x], %[step], lsl #1\n\t"
            "cmp     %[w], %[end]\n\t"
            "bne     1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(wx),
              [v] "=&r"(v), [t] "=&r"(t), [wa] "=&r"(wa), [wb] "=&r"(wb)
            : [step] "r"(step), [off] "r"(off2), [end] "r"(end)
            : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    if (taps & 1) tap4(acc, x, wx, off2);
}

/* One channel's dot product, for the last 1-3 channels. */
static int32_t dot1(const int8_t *x, int32_t step, const int8_t *f, int32_t taps, int32_t ch,
                    int32_t offset) {
    int32_t a = 0;
    for (int32_t t = 0; t < taps; ++t, x += step, f += ch) a += *f * (*x + offset);
    return a;
}

/* The n channels' requantized outputs (the operator passed fs_cm4_rq_ok); with the full int8
 * range (full: lo -128, hi 127) SSAT is the clamp. */
static void store4(int8_t *o, const int32_t acc[4], const fs_cm4_rq q[4], int32_t n, int full,
                   int32_t lo, int32_t hi) {
    if (full && n == 4) {
        for (int32_t k = 0; k < 4; ++k)
            o[k] = (int8_t)__ssat(fs_cm4_rq_apply(acc[k], q[k].m, q[k].r, q[k].k), 8);
        return;
    }
    for (int32_t k = 0; k < n; ++k)
        o[k] = fs_cm4_clamp8(fs_cm4_rq_apply(acc[k], q[k].m, q[k].r, q[k].k), lo, hi);
}

void fs_cm4_dw_global(const fs_conv_params *p, const fs_shape *in_shape, const int8_t *in,
                      const fs_shape *f_shape, const int8_t *f, const uint8_t *bias,
                      const int32_t *mult, const int32_t *shift, int32_t c0, int32_t n,
                      const fs_shape *out_shape, int8_t *out) {
    const int32_t ch = in_shape->dims[3], taps = f_shape->dims[2];
    const int32_t step = p->g.dilation_w * ch;
    /* Output rows follow each other ch bytes apart (one pixel each), across batches too; their
     * input rows stride_h rows apart within a batch, the next batch's first row after. */
    const size_t in_row = (size_t)in_shape->dims[2] * (size_t)ch;
    const size_t row_step = (size_t)p->g.stride_h * in_row;
    const size_t in_image = (size_t)in_shape->dims[1] * in_row;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    const int full = p->act_min == -128 && p->act_max == 127;
    uint32_t wx[2 * FS_CM4_DW_GLOBAL_MAX_TAPS];
    fs_cm4_rq q[4];
    int32_t b[4] = {0, 0, 0, 0};
    for (int32_t k = 0; k < n; ++k) {
        q[k] = fs_cm4_rq_make(mult[k], shift[k], p->output_offset);
        b[k] = bias ? (int32_t)fs_cm4_ld32(bias + 4u * (uint32_t)(c0 + k)) : 0;
    }
    if (n == 4) expand_weights(wx, f + c0, taps, ch);
    int8_t *o = out + c0;
    for (int32_t batch = 0; batch < in_shape->dims[0]; ++batch) {
        const int8_t *x = in + (size_t)batch * in_image + c0;
        for (int32_t oy = 0; oy < out_shape->dims[1]; ++oy, x += row_step, o += ch) {
            int32_t acc[4] = {b[0], b[1], b[2], b[3]};
            if (n == 4) {
                dot4(acc, x, step, wx, taps, off2);
            } else {
                for (int32_t k = 0; k < n; ++k)
                    acc[k] += dot1(x + k, step, f + c0 + k, taps, ch, p->input_offset);
            }
            store4(o, acc, q, n, full, p->act_min, p->act_max);
        }
    }
}
