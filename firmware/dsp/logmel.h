/* Streaming log-mel front end: 16-kHz int16 PCM in, log-mel frames out, exactly librosa's framing
 * (centred frames, n_fft/2 zeros before the first sample and after the last). */
#ifndef FS_LOGMEL_H
#define FS_LOGMEL_H
#include <stddef.h>
#include <stdint.h>

#include "feature_config.h"

/* Called once per finished frame with FS_FEAT_N_MELS values in dB. Returns 0 to go on; a non-zero
 * value stops the push and is returned by it (e.g. a failed inference). */
typedef int (*fs_frame_fn)(void *user, const float *logmel);

typedef struct {
    int16_t ring[FS_FEAT_N_FFT];   /* the last n_fft samples as pushed, oldest at ring[pos] */
    float frame[FS_FEAT_N_FFT];    /* windowed frame (arm_rfft_fast_f32 overwrites it; then
                                    * mel_general's power array, if that path runs) */
    float spectrum[FS_FEAT_N_FFT]; /* its packed real spectrum */
    float mel[FS_FEAT_N_MELS];
    uint32_t pos;     /* where the next sample goes in ring */
    uint32_t have;    /* samples of the frame being filled (its last one at pos-1) */
    uint32_t samples; /* PCM samples pushed since reset */
    uint32_t frames;  /* frames emitted since reset */
} fs_logmel;

/* Start a clip. Also readies the FFT, so call it before anything else. */
void fs_logmel_reset(fs_logmel *ctx);
/* Push PCM; emits every frame that is complete. */
int fs_logmel_push(fs_logmel *ctx, const int16_t *pcm, size_t n, fs_frame_fn emit, void *user);
/* End of clip: emits the remaining frames (zero padding at the end), 1 + samples / hop in all. */
int fs_logmel_finish(fs_logmel *ctx, fs_frame_fn emit, void *user);

#endif
