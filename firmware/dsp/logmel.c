#include "logmel.h"

#include <math.h>
#include <string.h>

#include "dsp/transform_functions.h"   /* CMSIS-DSP: arm_rfft_fast_f32 */
#include "feature_tables.h"

/* The size-specific init links only n_fft's tables; the generic arm_rfft_fast_init_f32 would
 * pull in every size's (about 600 KB). The instance only points at const tables and is the same
 * for every context, so one serves them all. */
#define FS_CAT3(a, b, c) a##b##c
#define FS_RFFT_INIT(n) FS_CAT3(arm_rfft_fast_init_, n, _f32)
static arm_rfft_fast_instance_f32 fft;

void fs_logmel_reset(fs_logmel *ctx) {
    /* Cannot fail: the instance is not NULL, and an n_fft CMSIS-DSP lacks would not compile. */
    (void)FS_RFFT_INIT(FS_FEAT_N_FFT)(&fft);
    memset(ctx->buf, 0, sizeof ctx->buf);
    ctx->have = FS_FEAT_N_FFT / 2;  /* centring: the first frame starts n_fft/2 zeros early */
    ctx->samples = 0;
    ctx->frames = 0;
}

/* |X[k]|^2 for k = 0 .. n/2 from CMSIS-DSP's packed spectrum (DC and Nyquist are real). */
static void power_spectrum(const float *spec, float *power) {
    power[0] = spec[0] * spec[0];
    power[FS_FEAT_N_FFT / 2] = spec[1] * spec[1];
    for (size_t k = 1; k < FS_FEAT_N_FFT / 2; k++)
        power[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
}

void fs_logmel_frame(fs_logmel *ctx, const float *samples, float *out) {
    for (size_t i = 0; i < FS_FEAT_N_FFT; i++) ctx->frame[i] = samples[i] * fs_feat_window[i];
    arm_rfft_fast_f32(&fft, ctx->frame, ctx->spectrum, 0);   /* forward, unscaled as numpy's */
    power_spectrum(ctx->spectrum, ctx->power);
    const float *w = fs_feat_mel_weight;
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
        const float *p = ctx->power + fs_feat_mel_first[b];
        float acc = 0.0f;
        for (size_t k = 0; k < fs_feat_mel_count[b]; k++) acc += w[k] * p[k];
        w += fs_feat_mel_count[b];
        out[b] = FS_FEAT_DB_PER_LOG10 * log10f(acc > FS_FEAT_LOG_FLOOR ? acc : FS_FEAT_LOG_FLOOR);
    }
}

/* The buffer is full: emit its frame and keep the overlap for the next one. */
static int emit_frame(fs_logmel *ctx, fs_frame_fn emit, void *user) {
    fs_logmel_frame(ctx, ctx->buf, ctx->mel);
    ctx->frames++;
    memmove(ctx->buf, ctx->buf + FS_FEAT_HOP, (FS_FEAT_N_FFT - FS_FEAT_HOP) * sizeof(float));
    ctx->have = FS_FEAT_N_FFT - FS_FEAT_HOP;
    return emit(user, ctx->mel);
}

int fs_logmel_push(fs_logmel *ctx, const int16_t *pcm, size_t n, fs_frame_fn emit, void *user) {
    for (size_t i = 0; i < n; i++) {
        ctx->buf[ctx->have++] = (float)pcm[i] * (1.0f / 32768.0f);  /* as soundfile reads PCM_16 */
        ctx->samples++;
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
        memset(ctx->buf + ctx->have, 0, (FS_FEAT_N_FFT - ctx->have) * sizeof(float));
        ctx->have = FS_FEAT_N_FFT;
        int rc = emit_frame(ctx, emit, user);
        if (rc) return rc;
    }
    return 0;
}
