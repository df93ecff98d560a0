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
 * the real and imaginary parts of X[1] ... X[n/2 - 1]. Only for mel_general (see below). */
static void power_spectrum(const float *spec, float *p) {
    p[0] = spec[0] * spec[0];
    p[HALF] = spec[1] * spec[1];
    for (size_t k = 1; k < HALF; k++)
        p[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
}

/* log2(x) for x > 0 and normal: its exponent, plus log2 of the mantissa m in [1, 2) from a table
 * of 32 intervals: with c the centre of m's interval (1 + (2i + 1)/64, i its top five mantissa
 * bits), log2(m) = log2(c) + log2(1 + r), r = (m - c) / c, |r| <= 1/64, and log2(1 + r) =
 * r q(r), q of degree 2 fitted to log2(1 + r) / r there (weighted least squares, reweighted
 * towards equal ripple: at most 4.0e-9 from log2). m - c is exact, an integer of the mantissa's
 * low 18 bits times 2^-23. Table: 1/c and log2(c) each rounded once to float32. Evaluated in
 * float32 the mantissa's part is at most 6.1e-8 from log2 (all 2^23 mantissas checked), 1.8e-7 dB
 * in the features; float32's own rounding of a value near -100 dB is 7.6e-6 dB. (Replaced a
 * degree-7 polynomial over [sqrt(1/2), sqrt(2)), 9.6e-8, which took 9 more instructions a band.) */
static const float log2_table[32][2] = {
    {0.984615386f, 0.0223678127f}, {0.955223858f, 0.0660891905f}, {0.927536249f, 0.108524457f},
    {0.901408434f, 0.149747118f},  {0.876712322f, 0.189824566f},  {0.853333354f, 0.228818685f},
    {0.83116883f, 0.266786546f},   {0.810126603f, 0.303780735f},  {0.790123463f, 0.339850008f},
    {0.771084309f, 0.375039428f},  {0.752941191f, 0.409390926f},  {0.735632181f, 0.442943484f},
    {0.719101131f, 0.475733429f},  {0.703296721f, 0.507794619f},  {0.688172042f, 0.539158821f},
    {0.673684239f, 0.56985563f},   {0.659793794f, 0.599912822f},  {0.646464646f, 0.629356623f},
    {0.633663356f, 0.65821147f},   {0.621359229f, 0.686500549f},  {0.609523833f, 0.714245498f},
    {0.598130822f, 0.741466999f},  {0.587155938f, 0.768184304f},  {0.576576591f, 0.794415891f},
    {0.566371679f, 0.820178986f},  {0.556521714f, 0.845490038f},  {0.547008574f, 0.870364726f},
    {0.537815154f, 0.89481777f},   {0.528925598f, 0.918863237f},  {0.520325184f, 0.942514479f},
    {0.512000024f, 0.965784311f},  {0.503937006f, 0.988684714f},
};

static inline __attribute__((always_inline)) float log2_of(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t exponent = (int32_t)(bits >> 23) - 127;
    const float *t = log2_table[(bits >> 18) & 31u];
    float r = (float)((int32_t)(bits & 0x3FFFFu) - 0x20000) * 1.1920929e-7f * t[0]; /* 2^-23 */
    float q = 0.481002003f;
    q = q * r - 0.721423447f;
    q = q * r + 1.44269502f;
    return (float)(exponent - POWER_SCALE_LOG2) + (t[1] + r * q);
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

#define FLOOR_P (FS_FEAT_LOG_FLOOR * POWER_SCALE) /* the floor, in the power's scale */

/* The band energies, floored, band by band from the table: the power spectrum first (into p, any
 * HALF + 1 floats), then each band's dot product. Used when the filterbank does not have the
 * shape mel_fused needs (never for asd.features' filterbank; tests/firmware/dsp checks that). */
static void mel_general(const float *spec, float *p, float *out) {
    power_spectrum(spec, p);
    const float *w = fs_feat_mel_weight;
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
        float acc = dot(&w, p + fs_feat_mel_first[b], fs_feat_mel_count[b]);
        out[b] = acc > FLOOR_P ? acc : FLOOR_P;
    }
}

#define DB_PER_LOG2 (FS_FEAT_DB_PER_LOG10 * 0.301029996f) /* log10(2) */

/* A band's energy to dB: floored, then the logarithm. */
static inline __attribute__((always_inline)) float band_db(float acc) {
    return DB_PER_LOG2 * log2_of(acc > FLOOR_P ? acc : FLOOR_P);
}

/* The features straight from the spectrum, with the power spectrum computed on the way, bin by
 * bin, each bin's power used for both bands it belongs to while still in a register (no power
 * array, no bin outside the bands), and each band's logarithm taken as soon as it is complete.
 * Mel triangles overlap in pairs: segment j of the spectrum, from band j's first bin to band
 * j+1's, holds band j's rising weights and band j-1's falling ones; after it band j-1 is
 * complete. Each band still adds w[k] * p[k] over its own bins in ascending k, starting from 0
 * (its first term is the product itself: 0 + x is x), exactly as dot() does: the features are
 * the same bits as mel_general's (logmel_stages.c checks it on the Cortex-M4,
 * tests/firmware/dsp/mel_check.c on x86).
 *
 * seg[j] (fs_logmel_reset derives it from the band table): bits 24-31 the bins of segment j in
 * both bands j-1 and j (they come first: both bands' bins are runs), 8-11 the bins after them in
 * band j-1 only, 12-15 those in band j only; bits 0-7 four times the number of band j's weights
 * beyond its rising run (to step from its falling weights to band j+1's first). */
static uint32_t seg[FS_FEAT_N_MELS + 1];
static int fused_ok;    /* seg describes the table exactly */
static int inner_plain; /* and segments 1 .. n_mels-1 have bins in both bands only, one at least */

#define SEG_BOTH(d) ((d) >> 24)
#define SEG_FALL(d) (((d) >> 8) & 15u)
#define SEG_RISE(d) (((d) >> 12) & 15u)
#define SEG_STEP(d) ((d) & 255u)

/* Derives seg from the band table; 0 (mel_general then) unless the filterbank has the shape
 * mel_fused needs: band b spans [first[b], end[b]) with first increasing, lying within segments
 * b and b+1 (end[b] <= first[b+2]), no bin in a segment outside both its bands, the first band
 * starting above bin 0 and the last ending below bin n/2 (the two real bins of the packed
 * spectrum), and every count fitting its field. */
static int derive_segments(void) {
    uint32_t start[FS_FEAT_N_MELS + 2], end[FS_FEAT_N_MELS];
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
        start[b] = fs_feat_mel_first[b];
        end[b] = start[b] + fs_feat_mel_count[b];
        if (fs_feat_mel_count[b] == 0 || (b > 0 && start[b] <= start[b - 1])) return 0;
    }
    if (FS_FEAT_N_MELS < 2 || start[0] < 1 || end[FS_FEAT_N_MELS - 1] > HALF) return 0;
    start[FS_FEAT_N_MELS] = end[FS_FEAT_N_MELS - 2];
    start[FS_FEAT_N_MELS + 1] = end[FS_FEAT_N_MELS - 1];
    for (size_t j = 0; j <= FS_FEAT_N_MELS; j++) {
        uint32_t lo = start[j], hi = start[j + 1];
        if (hi < lo || (j < FS_FEAT_N_MELS && end[j] > start[j + 2])) return 0;
        uint32_t rise = 0, fall = 0; /* runs of bands j and j-1 in the segment, from lo */
        if (j < FS_FEAT_N_MELS) rise = (end[j] < hi ? end[j] : hi) - lo;
        if (j > 0 && end[j - 1] > lo) fall = (end[j - 1] < hi ? end[j - 1] : hi) - lo;
        uint32_t both = rise < fall ? rise : fall;
        uint32_t step = j < FS_FEAT_N_MELS ? 4 * (fs_feat_mel_count[j] - rise) : 0;
        if ((rise > fall ? rise : fall) != hi - lo || both > 255 || fall - both > 15 ||
            rise - both > 15 || step > 255)
            return 0;
        seg[j] = both << 24 | (rise - both) << 12 | (fall - both) << 8 | step;
    }
    return 1;
}

static int segments_plain(void) {
    for (size_t j = 1; j < FS_FEAT_N_MELS; j++)
        if (SEG_BOTH(seg[j]) == 0 || SEG_FALL(seg[j]) || SEG_RISE(seg[j])) return 0;
    return 1;
}

/* Segment j (j >= 1) in C: band j-1's sum acc_f completed and returned in dB, band j's begun in
 * *acc_r. */
static inline __attribute__((always_inline)) float segment(uint32_t word, const float **x,
                                                           const float **wf, const float **wr,
                                                           float acc_f, float *acc_r) {
    const float *p = *x, *f = *wf, *r = *wr;
    float acc = 0.0f;
    for (uint32_t n = SEG_BOTH(word); n; n--, p += 2) {
        float power = p[0] * p[0] + p[1] * p[1];
        acc_f += *f++ * power;
        acc += *r++ * power;
    }
    for (uint32_t n = SEG_FALL(word); n; n--, p += 2) acc_f += *f++ * (p[0] * p[0] + p[1] * p[1]);
    for (uint32_t n = SEG_RISE(word); n; n--, p += 2) acc += *r++ * (p[0] * p[0] + p[1] * p[1]);
    *x = p;
    *wf = r; /* band j falls in the next segment, from its next weight on */
    *wr = r + SEG_STEP(word) / 4;
    *acc_r = acc;
    return band_db(acc_f);
}

static void mel_fused(const float *spec, float *out) {
    const float *x = spec + 2 * fs_feat_mel_first[0]; /* re, im of bin k at x[2k], x[2k + 1] */
    const float *wr = fs_feat_mel_weight;
    float acc = 0.0f; /* segment 0: band 0's rising weights only (derive_segments) */
    for (uint32_t n = SEG_RISE(seg[0]); n; n--, x += 2) acc += *wr++ * (x[0] * x[0] + x[1] * x[1]);
    const float *wf = wr;
    wr += SEG_STEP(seg[0]) / 4;
    size_t j = 1;
#if defined(__ARM_ARCH_7EM__) && defined(__ARM_FP)
    if (inner_plain) {
        /* Segments 1 .. n_mels-1, one a pass: the first bin (band j's sum starts with its
         * product), one more if the rest is odd (the segment's count even), the rest two at a
         * time; then band j-1's dB,
         * with the same operations in the same order as band_db and log2_of (the conversion of
         * m - c with 23 fraction bits is the C's exact (float)integer * 2^-23). */
        const uint32_t *d = seg + 1;
        uint32_t segments = FS_FEAT_N_MELS - 1, word, n, t;
        const float floor_p = FLOOR_P, a2 = 0.481002003f, a1 = 0.721423447f, a0 = 1.44269502f,
                    db = DB_PER_LOG2;
        __asm volatile(
            "0:\n\t"
            "ldr      %[word], [%[d]], #4\n\t"
            "vldmia   %[x]!, {s0, s1}\n\t"
            "vldmia   %[wf]!, {s2}\n\t"
            "vldmia   %[wr]!, {s15}\n\t"
            "vmul.f32 s0, s0, s0\n\t"
            "vmul.f32 s1, s1, s1\n\t"
            "vadd.f32 s0, s0, s1\n\t"
            "vmul.f32 s2, s2, s0\n\t"
            "vmul.f32 s15, s15, s0\n\t" /* band j's sum: its first product */
            "vadd.f32 %[acc], %[acc], s2\n\t"
            "lsrs     %[n], %[word], #25\n\t" /* both / 2; carry: both is odd */
            "bcs      2f\n\t"                 /* odd: the rest are pairs */
            "vldmia   %[x]!, {s0, s1}\n\t"
            "vldmia   %[wf]!, {s2}\n\t"
            "vldmia   %[wr]!, {s3}\n\t"
            "vmul.f32 s0, s0, s0\n\t"
            "vmul.f32 s1, s1, s1\n\t"
            "vadd.f32 s0, s0, s1\n\t"
            "vmul.f32 s2, s2, s0\n\t"
            "vmul.f32 s3, s3, s0\n\t"
            "vadd.f32 %[acc], %[acc], s2\n\t"
            "vadd.f32 s15, s15, s3\n\t"
            "subs     %[n], %[n], #1\n" /* even: one bin, then both / 2 - 1 pairs */
            "2:\n\t"
            "cbz      %[n], 4f\n"
            "3:\n\t"
            "vldmia   %[x]!, {s0-s3}\n\t"
            "vldmia   %[wf]!, {s4, s5}\n\t"
            "vldmia   %[wr]!, {s6, s7}\n\t"
            "vmul.f32 s0, s0, s0\n\t"
            "vmul.f32 s1, s1, s1\n\t"
            "vmul.f32 s2, s2, s2\n\t"
            "vmul.f32 s3, s3, s3\n\t"
            "vadd.f32 s0, s0, s1\n\t"
            "vadd.f32 s2, s2, s3\n\t"
            "vmul.f32 s4, s4, s0\n\t"
            "vmul.f32 s6, s6, s0\n\t"
            "vmul.f32 s5, s5, s2\n\t"
            "vmul.f32 s7, s7, s2\n\t"
            "vadd.f32 %[acc], %[acc], s4\n\t"
            "vadd.f32 s15, s15, s6\n\t"
            "vadd.f32 %[acc], %[acc], s5\n\t"
            "vadd.f32 s15, s15, s7\n\t"
            "subs     %[n], %[n], #1\n\t"
            "bne      3b\n"
            "4:\n\t"
            "vcmpe.f32 %[acc], %[floor]\n\t" /* band j-1: acc > floor ? acc : floor */
            "vmrs     APSR_nzcv, fpscr\n\t"
            "it       le\n\t"
            "vmovle.f32 %[acc], %[floor]\n\t"
            "vmov     %[t], %[acc]\n\t" /* log2_of */
            "ubfx     %[n], %[t], #18, #5\n\t"
            "add      %[n], %[tab], %[n], lsl #3\n\t"
            "vldmia   %[n], {s4, s5}\n\t" /* 1/c, log2 c */
            "ubfx     %[n], %[t], #0, #18\n\t"
            "sub      %[n], %[n], #0x20000\n\t"
            "lsrs     %[t], %[t], #23\n\t"
            "sub      %[t], %[t], #157\n\t" /* exponent - 30 */
            "vmov     s0, s1, %[n], %[t]\n\t"
            "vcvt.f32.s32 s0, s0, #23\n\t" /* m - c */
            "vcvt.f32.s32 s1, s1\n\t"
            "vmul.f32 s0, s0, s4\n\t" /* r */
            "vmul.f32 s2, %[a2], s0\n\t"
            "vsub.f32 s2, s2, %[a1]\n\t"
            "vmul.f32 s2, s2, s0\n\t"
            "vadd.f32 s2, s2, %[a0]\n\t"
            "vmul.f32 s2, s0, s2\n\t"
            "vadd.f32 s2, s5, s2\n\t"
            "vadd.f32 s2, s1, s2\n\t"
            "vmul.f32 s2, %[db], s2\n\t"
            "vstmia   %[out]!, {s2}\n\t"
            "vmov.f32 %[acc], s15\n\t" /* band j falls in the next segment */
            "mov      %[wf], %[wr]\n\t"
            "uxtab    %[wr], %[wr], %[word]\n\t" /* band j+1's first weight */
            "subs     %[segs], %[segs], #1\n\t"
            "bne      0b\n\t"
            : [x] "+r"(x), [wf] "+r"(wf), [wr] "+r"(wr), [d] "+r"(d), [out] "+r"(out),
              [segs] "+r"(segments), [word] "=&r"(word), [n] "=&l"(n), [t] "=&r"(t), [acc] "+t"(acc)
            : [floor] "t"(floor_p), [a2] "t"(a2), [a1] "t"(a1), [a0] "t"(a0), [db] "t"(db),
              [tab] "r"(log2_table)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s15", "cc", "memory");
        j = FS_FEAT_N_MELS;
    }
#endif
    for (; j <= FS_FEAT_N_MELS; j++) *out++ = segment(seg[j], &x, &wf, &wr, acc, &acc);
}

static void frame_features(fs_logmel *ctx, float *out) {
    window(ctx, ctx->frame);
    arm_rfft_fast_f32(&fft, ctx->frame, ctx->spectrum, 0); /* forward, unscaled as numpy's */
    if (fused_ok) {
        mel_fused(ctx->spectrum, out);
    } else {
        mel_general(ctx->spectrum, ctx->frame, out); /* the frame is the FFT's scratch by now */
        for (size_t b = 0; b < FS_FEAT_N_MELS; b++) out[b] = DB_PER_LOG2 * log2_of(out[b]);
    }
}

void fs_logmel_reset(fs_logmel *ctx) {
    /* Cannot fail: the instance is not NULL and n_fft is a size CMSIS-DSP has. The instance only
     * points at const tables and is the same for every context, so one serves them all. */
    (void)FS_RFFT_INIT(FS_FEAT_N_FFT)(&fft);
    fused_ok = derive_segments();
    inner_plain = fused_ok && segments_plain();
    memset(ctx->ring, 0, sizeof ctx->ring);
    ctx->pos = FS_FEAT_N_FFT / 2; /* centring: the first frame starts n_fft/2 zeros early */
    ctx->have = FS_FEAT_N_FFT / 2;
    ctx->samples = 0;
    ctx->frames = 0;
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
