#include "logmel.h"

#include <string.h>

#include "dsp/transform_functions.h" /* CMSIS-DSP: arm_rfft_fast_f32 */
#include "feature_tables.h"

/* The frame's real FFT is CMSIS-DSP's arm_rfft_fast_f32 (its 512-point complex FFT, bit
 * reversal and real split); the size-specific init links only n_fft's tables. */
#define FS_CAT3_(a, b, c) a##b##c
#define FS_CAT3(a, b, c) FS_CAT3_(a, b, c)
#define FS_RFFT_INIT(n) FS_CAT3(arm_rfft_fast_init_, n, _f32)
#if FS_FEAT_HOP > FS_FEAT_N_FFT || FS_FEAT_HOP % 8
#error "logmel.c: the hop must be a multiple of 8 and not exceed n_fft"
#endif
#define HALF (FS_FEAT_N_FFT / 2)

/* Scale. Samples enter the FFT as integers (the PCM value times the window), not divided by
 * 32768 as soundfile reads them: the power is 2^30 times |X[k]|^2 of the [-1, 1) signal. Powers
 * of two are exact in float, so this changes no rounding anywhere (nothing comes near overflow
 * or the subnormals); the logarithm takes the 2^30 off its exponent. */
#define POWER_SCALE_LOG2 30
#define POWER_SCALE 1073741824.0f /* 2^POWER_SCALE_LOG2 */

static arm_rfft_fast_instance_f32 fft;

void fs_logmel_reset(fs_logmel *ctx) {
    /* Cannot fail: the instance is not NULL and n_fft is a size CMSIS-DSP has. The instance only
     * points at const tables and is the same for every context, so one serves them all. */
    (void)FS_RFFT_INIT(FS_FEAT_N_FFT)(&fft);
    memset(ctx->ring, 0, sizeof ctx->ring);
    ctx->pos = FS_FEAT_N_FFT / 2; /* centring: the first frame starts n_fft/2 zeros early */
    ctx->have = FS_FEAT_N_FFT / 2;
    ctx->samples = 0;
    ctx->frames = 0;
}

/* x[i] = r[i] * w[i] for n samples, n a multiple of 8; r 4-byte aligned. The Cortex-M4 version
 * (8 samples a loop: LDM, VLDM, VCVT of the 16-bit integer, VMUL, VSTM) computes exactly what the
 * C does: the conversion is exact, the product rounded once. */
static void window_run(const int16_t *r, const float *w, float *x, size_t n) {
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
    for (size_t blocks = n / 8; blocks; blocks--)
        __asm volatile(
            "ldmia  %[r]!, {r4, r5, r6, r7}\n\t"
            "vldmia %[w]!, {s8-s15}\n\t"
            "asr    r8, r4, #16\n\t"
            "vmov   s0, s1, r4, r8\n\t"
            "asr    r8, r5, #16\n\t"
            "vmov   s2, s3, r5, r8\n\t"
            "asr    r8, r6, #16\n\t"
            "vmov   s4, s5, r6, r8\n\t"
            "asr    r8, r7, #16\n\t"
            "vmov   s6, s7, r7, r8\n\t"
            "vcvt.f32.s16 s0, s0, #0\n\t"
            "vcvt.f32.s16 s1, s1, #0\n\t"
            "vcvt.f32.s16 s2, s2, #0\n\t"
            "vcvt.f32.s16 s3, s3, #0\n\t"
            "vcvt.f32.s16 s4, s4, #0\n\t"
            "vcvt.f32.s16 s5, s5, #0\n\t"
            "vcvt.f32.s16 s6, s6, #0\n\t"
            "vcvt.f32.s16 s7, s7, #0\n\t"
            "vmul.f32 s0, s0, s8\n\t"
            "vmul.f32 s1, s1, s9\n\t"
            "vmul.f32 s2, s2, s10\n\t"
            "vmul.f32 s3, s3, s11\n\t"
            "vmul.f32 s4, s4, s12\n\t"
            "vmul.f32 s5, s5, s13\n\t"
            "vmul.f32 s6, s6, s14\n\t"
            "vmul.f32 s7, s7, s15\n\t"
            "vstmia %[x]!, {s0-s7}\n\t"
            : [r] "+r"(r), [w] "+r"(w), [x] "+r"(x)
            :
            : "r4", "r5", "r6", "r7", "r8", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8",
              "s9", "s10", "s11", "s12", "s13", "s14", "s15", "memory");
#else
    for (size_t i = 0; i < n; i++) x[i] = (float)r[i] * w[i];
#endif
}

/* The frame, windowed: it starts at the oldest sample, ring[pos] (pos a multiple of 8: the hop
 * and n_fft / 2 are). */
static void window(const fs_logmel *ctx, float *x) {
    size_t first = FS_FEAT_N_FFT - ctx->pos;
    window_run(ctx->ring + ctx->pos, fs_feat_window, x, first);
    window_run(ctx->ring, fs_feat_window + first, x + first, FS_FEAT_N_FFT - first);
}

/* |X[k]|^2 from arm_rfft_fast_f32's packed spectrum: X[0] and X[n/2] (both real) first, then
 * the real and imaginary parts of X[1] ... X[n/2 - 1]. */
static void power_spectrum(const float *spec, float *p) {
    p[0] = spec[0] * spec[0];
    p[HALF] = spec[1] * spec[1];
    for (size_t k = 1; k < HALF; k++)
        p[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
}

/* log2(x) for x > 0 and normal: the exponent, and log2 of the mantissa m in [sqrt(1/2), sqrt(2))
 * as f q(f), f = m - 1, with q of degree 7 fitted to log2(1 + f) / f over that interval (weighted
 * least squares, reweighted towards equal ripple). Evaluated in float32 the error is at most
 * 9.6e-8 against log2 (all 2^23 mantissas checked), 2.9e-7 dB in the features; float32's own
 * rounding of a value near -100 dB is 7.6e-6 dB. */
static inline __attribute__((always_inline)) float log2_of(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t u = bits + (0x3F800000u - 0x3F3504F3u); /* 0x3F3504F3: sqrt(1/2) */
    int32_t exponent = (int32_t)(u >> 23) - 127;
    bits = (u & 0x007FFFFFu) + 0x3F3504F3u;
    float m;
    memcpy(&m, &bits, sizeof m);
    float f = m - 1.0f;
    float q = -0.145728230f;
    q = q * f + 0.236883983f;
    q = q * f - 0.250071853f;
    q = q * f + 0.286708444f;
    q = q * f - 0.360087037f;
    q = q * f + 0.480939418f;
    q = q * f - 0.721357167f;
    q = q * f + 1.44269478f;
    return (float)(exponent - POWER_SCALE_LOG2) + f * q;
}

/* sum of w[k] p[k], k = 0 .. n-1, added in that order; *w moves past the n weights. The
 * Cortex-M4 version loads 4, then 2, then 1 at a time (VLDM) and does the same multiplies and
 * additions in the same order as the C. */
static inline __attribute__((always_inline)) float dot(const float **w, const float *p, size_t n) {
    float acc = 0.0f;
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
    const float *wp = *w;
    size_t groups;
    __asm volatile(
        "lsrs     %[g], %[n], #2\n\t"
        "beq      2f\n"
        "1:\n\t"
        "vldmia   %[w]!, {s8-s11}\n\t"
        "vldmia   %[p]!, {s12-s15}\n\t"
        "vmul.f32 s8, s8, s12\n\t"
        "vmul.f32 s9, s9, s13\n\t"
        "vmul.f32 s10, s10, s14\n\t"
        "vmul.f32 s11, s11, s15\n\t"
        "vadd.f32 %[acc], %[acc], s8\n\t"
        "vadd.f32 %[acc], %[acc], s9\n\t"
        "vadd.f32 %[acc], %[acc], s10\n\t"
        "vadd.f32 %[acc], %[acc], s11\n\t"
        "subs     %[g], %[g], #1\n\t"
        "bne      1b\n"
        "2:\n\t"
        "tst      %[n], #2\n\t"
        "beq      3f\n\t"
        "vldmia   %[w]!, {s8, s9}\n\t"
        "vldmia   %[p]!, {s12, s13}\n\t"
        "vmul.f32 s8, s8, s12\n\t"
        "vmul.f32 s9, s9, s13\n\t"
        "vadd.f32 %[acc], %[acc], s8\n\t"
        "vadd.f32 %[acc], %[acc], s9\n"
        "3:\n\t"
        "tst      %[n], #1\n\t"
        "beq      4f\n\t"
        "vldmia   %[w]!, {s8}\n\t"
        "vldmia   %[p]!, {s12}\n\t"
        "vmul.f32 s8, s8, s12\n\t"
        "vadd.f32 %[acc], %[acc], s8\n"
        "4:\n\t"
        : [w] "+r"(wp), [p] "+r"(p), [g] "=&r"(groups), [acc] "+t"(acc)
        : [n] "r"(n)
        : "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "cc", "memory");
    *w = wp;
#else
    for (size_t k = 0; k < n; k++) acc += (*w)[k] * p[k];
    *w += n;
#endif
    return acc;
}

static void frame_features(fs_logmel *ctx, float *out) {
    window(ctx, ctx->frame);
    arm_rfft_fast_f32(&fft, ctx->frame, ctx->spectrum, 0); /* forward, unscaled as numpy's */
    power_spectrum(ctx->spectrum, ctx->power);
    const float floor_p = FS_FEAT_LOG_FLOOR * POWER_SCALE; /* the floor, in the power's scale */
    const float db_per_log2 = FS_FEAT_DB_PER_LOG10 * 0.301029996f; /* log10(2) */
    const float *w = fs_feat_mel_weight;
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
        float acc = dot(&w, ctx->power + fs_feat_mel_first[b], fs_feat_mel_count[b]);
        out[b] = acc > floor_p ? acc : floor_p;
    }
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) out[b] = db_per_log2 * log2_of(out[b]);
}

/* The ring is full: emit its frame; the next one needs another hop of samples. */
static int emit_frame(fs_logmel *ctx, fs_frame_fn emit, void *user) {
    frame_features(ctx, ctx->mel);
    ctx->frames++;
    ctx->have = FS_FEAT_N_FFT - FS_FEAT_HOP;
    return emit(user, ctx->mel);
}

/* Up to n samples (NULL: zeros) into the ring, at most until the frame is full or the ring's end.
 */
static size_t fill(fs_logmel *ctx, const int16_t *pcm, size_t n) {
    size_t room = FS_FEAT_N_FFT - ctx->have, to_end = FS_FEAT_N_FFT - ctx->pos;
    size_t take = n < room ? n : room;
    if (take > to_end) take = to_end;
    if (pcm)
        memcpy(ctx->ring + ctx->pos, pcm, take * sizeof *pcm);
    else
        memset(ctx->ring + ctx->pos, 0, take * sizeof *pcm);
    ctx->pos = (ctx->pos + (uint32_t)take) % FS_FEAT_N_FFT;
    ctx->have += (uint32_t)take;
    return take;
}

int fs_logmel_push(fs_logmel *ctx, const int16_t *pcm, size_t n, fs_frame_fn emit, void *user) {
    while (n > 0) {
        size_t take = fill(ctx, pcm, n);
        pcm += take;
        n -= take;
        ctx->samples += (uint32_t)take;
        if (ctx->have == FS_FEAT_N_FFT) {
            int rc = emit_frame(ctx, emit, user);
            if (rc) return rc;
        }
    }
    return 0;
}

int fs_logmel_finish(fs_logmel *ctx, fs_frame_fn emit, void *user) {
    uint32_t total = 1u + ctx->samples / FS_FEAT_HOP;
    while (ctx->frames < total) {
        while (ctx->have < FS_FEAT_N_FFT) fill(ctx, NULL, FS_FEAT_N_FFT);
        int rc = emit_frame(ctx, emit, user);
        if (rc) return rc;
    }
    return 0;
}
