/* One clip through the device: PCM -> log-mel -> int8 frames -> model inputs -> score.
 * In FEATURES mode the host sends the int8 frames and the front end is skipped.
 *
 * Two input kinds (FS_MODEL_INPUT_KIND in model_config.h, compile time):
 *   FS_INPUT_WINDOW  ae, cls: a window of FS_MODEL_WINDOW_FRAMES frames every FS_MODEL_WINDOW_HOP
 *                    frames is one inference (frames quantized with the model's input scale);
 *   FS_INPUT_STATS   stats: the frames (quantized with FS_MODEL_FRAME_SCALE/_ZERO_POINT) are
 *                    summed by stats.c; one inference at the end of the clip, on its statistics. */
#ifndef FS_CLIP_H
#define FS_CLIP_H
#include <stdbool.h>
#include <stdint.h>

#include "fs_runtime.h"
#include "logmel.h"
#include "model_config.h"
#include "scoring.h"

#define FS_INPUT_WINDOW 0
#define FS_INPUT_STATS 1
#ifndef FS_MODEL_INPUT_KIND /* exports before the stats kind, and every ae/cls export */
#define FS_MODEL_INPUT_KIND FS_INPUT_WINDOW
#endif

#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
#include "stats.h"
#define FS_INPUT_BYTES FS_STATS_SIZE /* the clip's 128 statistics */
#define FS_FRAME_SCALE FS_MODEL_FRAME_SCALE
#define FS_FRAME_ZERO_POINT FS_MODEL_FRAME_ZERO_POINT
#define FS_CLIP_TOO_SHORT_TEXT "clip too short for one inference: no log-mel frames"
#else
#define FS_WINDOW_BYTES (FS_MODEL_WINDOW_FRAMES * FS_FEAT_N_MELS)
#define FS_INPUT_BYTES FS_WINDOW_BYTES
#define FS_FRAME_SCALE FS_MODEL_INPUT_SCALE
#define FS_FRAME_ZERO_POINT FS_MODEL_INPUT_ZERO_POINT
#define FS_CLIP_TOO_SHORT_TEXT "clip too short for one inference"
#endif
#define FS_PROFILE_MAX_OPS 64 /* ops profiled per inference; later ops report 0 cycles */

typedef struct {
    fs_model *model;
    fs_logmel logmel;
    fs_scoring scoring;
#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
    fs_stats stats; /* the clip's sums so far */
#else
    /* the last frames, oldest overwritten, each twice (clip.c: a window is contiguous) */
    int8_t ring[2 * FS_MODEL_WINDOW_FRAMES * FS_FEAT_N_MELS];
#endif
#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
    int8_t input[FS_INPUT_BYTES]; /* the model's input, the clip's standardised statistics */
#endif
    uint32_t frames; /* int8 frames received or computed */
    uint64_t frontend_cycles;
    uint64_t inference_cycles;
    uint64_t scoring_cycles; /* fs_scoring_add after each inference, counted in neither above */
    fs_status status;        /* first failure of the model, FS_OK otherwise */
    uint32_t op_cycles[FS_PROFILE_MAX_OPS]; /* per op, of the last inference */
} fs_clip;

/* Check the model against model_config.h; FS_OK or a status with a message in msg. */
fs_status fs_clip_init(fs_clip *clip, fs_model *model, char *msg, size_t msg_len);
void fs_clip_begin(fs_clip *clip);
/* Feed data; non-zero status when the model failed. */
fs_status fs_clip_pcm(fs_clip *clip, const int16_t *pcm, size_t n);
fs_status fs_clip_features(fs_clip *clip, const int8_t *frames, size_t n_frames);
/* End of clip (PCM mode emits the padded tail frames first; the stats input runs its one
 * inference here). A clip too short for any inference returns FS_OK with 0 inferences. */
fs_status fs_clip_end(fs_clip *clip, bool pcm_mode);
uint32_t fs_clip_inferences(const fs_clip *clip);
#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
/* The one inference on the statistics of the sums s, scored into clip->scoring (the end of a
 * clip, or a monitor's window). */
fs_status fs_clip_run_stats(fs_clip *clip, const fs_stats *s);
#endif

#endif
