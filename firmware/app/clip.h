/* One clip through the device: PCM -> log-mel -> int8 frames -> model windows -> score.
 * In FEATURES mode the host sends the int8 frames and the front end is skipped. */
#ifndef FS_CLIP_H
#define FS_CLIP_H
#include <stdbool.h>
#include <stdint.h>

#include "fs_runtime.h"
#include "logmel.h"
#include "model_config.h"
#include "scoring.h"

#define FS_WINDOW_BYTES (FS_MODEL_WINDOW_FRAMES * FS_FEAT_N_MELS)
#define FS_PROFILE_MAX_OPS 64  /* ops profiled per inference; later ops report 0 cycles */

typedef struct {
    fs_model *model;
    fs_logmel logmel;
    fs_scoring scoring;
    int8_t ring[FS_MODEL_WINDOW_FRAMES][FS_FEAT_N_MELS]; /* last frames, oldest overwritten */
    int8_t window[FS_WINDOW_BYTES];                     /* one model input, frame-major */
    uint32_t frames;          /* int8 frames received or computed */
    uint64_t frontend_cycles;
    uint64_t inference_cycles;
    fs_status status;         /* first failure of the model, FS_OK otherwise */
    uint32_t op_cycles[FS_PROFILE_MAX_OPS]; /* per op, of the last inference */
} fs_clip;

/* Check the model against model_config.h; FS_OK or a status with a message in msg. */
fs_status fs_clip_init(fs_clip *clip, fs_model *model, char *msg, size_t msg_len);
void fs_clip_begin(fs_clip *clip);
/* Feed data; non-zero status when the model failed. */
fs_status fs_clip_pcm(fs_clip *clip, const int16_t *pcm, size_t n);
fs_status fs_clip_features(fs_clip *clip, const int8_t *frames, size_t n_frames);
/* End of clip (PCM mode emits the padded tail frames first). */
fs_status fs_clip_end(fs_clip *clip, bool pcm_mode);
uint32_t fs_clip_inferences(const fs_clip *clip);

#endif
