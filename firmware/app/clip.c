#include "clip.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "board.h"

fs_status fs_clip_init(fs_clip *clip, fs_model *model, char *msg, size_t msg_len) {
    memset(clip, 0, sizeof *clip);
    clip->model = model;
    fs_tensor *in = fs_model_input(model, 0);
    const fs_tensor *out = fs_model_output(model, 0);
    if (!in || !out || in->type != FS_INT8 || out->type != FS_INT8) {
        snprintf(msg, msg_len, "model needs one int8 input and one int8 output");
        return FS_ERR_TYPE;
    }
    if (in->bytes != FS_WINDOW_BYTES || out->bytes != FS_MODEL_OUTPUT_SIZE) {
        snprintf(msg, msg_len, "model input %u / output %u bytes, model_config.h says %u / %u",
                 (unsigned)in->bytes, (unsigned)out->bytes, (unsigned)FS_WINDOW_BYTES,
                 (unsigned)FS_MODEL_OUTPUT_SIZE);
        return FS_ERR_SHAPE;
    }
    if (in->scale != FS_MODEL_INPUT_SCALE || in->zero_point != FS_MODEL_INPUT_ZERO_POINT ||
        out->scale != FS_MODEL_OUTPUT_SCALE || out->zero_point != FS_MODEL_OUTPUT_ZERO_POINT) {
        snprintf(msg, msg_len, "model quantization differs from model_config.h: re-export");
        return FS_ERR_QUANT;
    }
    return FS_OK;
}

void fs_clip_begin(fs_clip *clip) {
    fs_logmel_reset(&clip->logmel);
    fs_scoring_reset(&clip->scoring, FS_MODEL_INPUT_SCALE, FS_MODEL_INPUT_ZERO_POINT,
                     FS_MODEL_OUTPUT_SCALE, FS_MODEL_OUTPUT_ZERO_POINT);
    clip->frames = 0;
    clip->frontend_cycles = 0;
    clip->inference_cycles = 0;
    clip->status = FS_OK;
}

/* Quantize as TFLite's QUANTIZE does: round half away from zero of x / scale, in float32. */
static int8_t quantize(float x) {
    float v = x / FS_MODEL_INPUT_SCALE;
    float r = v >= 0.0f ? floorf(v + 0.5f) : -floorf(-v + 0.5f);
    float q = r + (float)FS_MODEL_INPUT_ZERO_POINT;
    return (int8_t)(q > 127.0f ? 127 : q < -128.0f ? -128 : (int)q);
}

static uint32_t cycles(void *user) {
    (void)user;
    return board_cycles();
}

/* A window is due once it is full and then every FS_MODEL_WINDOW_HOP frames. */
static fs_status run_window(fs_clip *clip) {
    uint32_t first = clip->frames - FS_MODEL_WINDOW_FRAMES;
    for (uint32_t t = 0; t < FS_MODEL_WINDOW_FRAMES; t++)
        memcpy(clip->window + t * FS_FEAT_N_MELS, clip->ring[(first + t) % FS_MODEL_WINDOW_FRAMES],
               FS_FEAT_N_MELS);
    uint32_t start = board_cycles();
    fs_tensor *in = fs_model_input(clip->model, 0);
    memcpy(in->data, clip->window, FS_WINDOW_BYTES); /* refill every time: the arena is shared */
    fs_status st = fs_model_invoke_profiled(clip->model, cycles, NULL, clip->op_cycles,
                                            FS_PROFILE_MAX_OPS);
    clip->inference_cycles += (uint32_t)(board_cycles() - start);
    if (st != FS_OK) return st;
    const fs_tensor *out = fs_model_output(clip->model, 0);
    fs_scoring_add(&clip->scoring, clip->window, FS_WINDOW_BYTES, (const int8_t *)out->data,
                   out->bytes);
    return FS_OK;
}

static fs_status add_frame(fs_clip *clip, const int8_t *frame) {
    memcpy(clip->ring[clip->frames % FS_MODEL_WINDOW_FRAMES], frame, FS_FEAT_N_MELS);
    clip->frames++;
    if (clip->frames >= FS_MODEL_WINDOW_FRAMES &&
        (clip->frames - FS_MODEL_WINDOW_FRAMES) % FS_MODEL_WINDOW_HOP == 0)
        return run_window(clip);
    return FS_OK;
}

static int on_logmel(void *user, const float *logmel) {
    fs_clip *clip = user;
    int8_t q[FS_FEAT_N_MELS];
    for (size_t m = 0; m < FS_FEAT_N_MELS; m++) q[m] = quantize(logmel[m]);
    clip->status = add_frame(clip, q);
    return clip->status != FS_OK;
}

/* Front-end cycles are the total minus what the windows' inferences took meanwhile. */
static fs_status timed_frontend(fs_clip *clip, const int16_t *pcm, size_t n, int finish) {
    uint64_t before = clip->inference_cycles;
    uint32_t start = board_cycles();
    if (finish)
        fs_logmel_finish(&clip->logmel, on_logmel, clip);
    else
        fs_logmel_push(&clip->logmel, pcm, n, on_logmel, clip);
    uint32_t spent = board_cycles() - start;
    clip->frontend_cycles += spent - (clip->inference_cycles - before);
    return clip->status;
}

fs_status fs_clip_pcm(fs_clip *clip, const int16_t *pcm, size_t n) {
    return timed_frontend(clip, pcm, n, 0);
}

fs_status fs_clip_features(fs_clip *clip, const int8_t *frames, size_t n_frames) {
    for (size_t i = 0; i < n_frames; i++) {
        fs_status st = add_frame(clip, frames + i * FS_FEAT_N_MELS);
        if (st != FS_OK) return st;
    }
    return FS_OK;
}

fs_status fs_clip_end(fs_clip *clip, bool pcm_mode) {
    return pcm_mode ? timed_frontend(clip, NULL, 0, 1) : FS_OK;
}

uint32_t fs_clip_inferences(const fs_clip *clip) { return clip->scoring.count; }
