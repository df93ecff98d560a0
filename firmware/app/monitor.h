/* MONITOR mode: an endless stream, no clip boundaries, a decision every hop (docs/protocol.md,
 * "MONITOR mode"). The front end and the model run through the clip's code (clip.c); what the
 * monitor adds is the window: the stream is cut into hops of hop_frames log-mel frames, each
 * hop's partial sums are kept in a ring of FS_MONITOR_MAX_HOPS blocks (bounded memory, sized at
 * build time), and after every hop the last window_hops blocks are added up, oldest first, and
 * scored as a clip's sums are:
 *   stats input   exact integer sums of the window's frames -> the clip's statistics, one
 *                 inference, its score (equal to the clip score of those frames);
 *   window input  the partial fs_scoring of the inferences that completed in each hop (errors
 *                 or embeddings) -> the clip's fs_scoring_verdict.
 * A segment starts at the session's start and again after an overrun: the front end and the
 * window restart there (a gap inside a window would give a score no reference can reproduce). */
#ifndef FS_MONITOR_H
#define FS_MONITOR_H
#include <stdbool.h>
#include <stdint.h>

#include "audio.h"
#include "clip.h"

#ifndef FS_MONITOR_HOP_FRAMES     /* defaults written by export into model_config.h */
#define FS_MONITOR_HOP_FRAMES 31u /* 0.992 s */
#endif
#ifndef FS_MONITOR_WINDOW_HOPS
#define FS_MONITOR_WINDOW_HOPS 10u /* the training clips' 10 s */
#endif
#ifndef FS_MONITOR_MAX_HOPS
#define FS_MONITOR_MAX_HOPS (FS_MONITOR_WINDOW_HOPS > 16u ? FS_MONITOR_WINDOW_HOPS : 16u)
#endif
#define FS_MONITOR_KEPT 16u /* decisions kept for GET_DECISION */

/* One DECISION (docs/protocol.md). */
typedef struct {
    uint32_t index;
    uint64_t end_sample, segment_start;
    float score;
    uint8_t decision;
    uint32_t window_frames, inferences;
    uint64_t busy_cycles, budget_cycles;
    uint32_t overrun_samples;
    uint16_t overruns;
} fs_decision;

#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
typedef struct { /* one hop's sums: int32 holds 65535 frames of 128^2 */
    int32_t sum[FS_FEAT_N_MELS], sum_sq[FS_FEAT_N_MELS], cross[FS_STATS_BANDS];
    uint32_t frames;
} fs_monitor_block;
#else
typedef fs_scoring fs_monitor_block; /* one hop's inferences */
#endif

typedef struct {
    fs_clip *clip;
    bool pcm;
    uint32_t hop_frames, window_hops;
    uint64_t start_sample;   /* the session's first sample in the stream */
    uint64_t received;       /* PCM samples received in the session, dropped ones included */
    uint64_t segment_start;  /* stream position of the segment's first sample */
    uint64_t segment_frames; /* frames completed in the segment */
    uint32_t hop_fill;       /* frames in the open hop */
    uint32_t hops;           /* hops closed in the segment */
    fs_monitor_block blocks[FS_MONITOR_MAX_HOPS];
#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
    fs_stats window; /* the window's sums, scratch */
#else
    fs_scoring window;
#endif
    uint32_t decisions;     /* issued in the session */
    uint64_t busy_cycles;   /* since the last decision */
    uint64_t budget_cycles; /* core_hz x one hop of audio */
    uint32_t overrun_samples;
    uint16_t overruns;
    fs_decision kept[FS_MONITOR_KEPT];
} fs_monitor;

typedef void (*fs_decision_fn)(void *user, const fs_decision *d);

/* NULL if the parameters can be honoured, else why not (the app answers bad_param). */
const char *fs_monitor_check(uint32_t hop_frames, uint32_t window_hops);
void fs_monitor_begin(fs_monitor *m, fs_clip *clip, bool pcm, uint32_t hop_frames,
                      uint32_t window_hops, uint64_t start_sample, uint32_t core_hz);
/* FEATURES: n int8 frames, processed at once. */
fs_status fs_monitor_frames(fs_monitor *m, const int8_t *frames, size_t n, fs_decision_fn emit,
                            void *user);
/* PCM: one hop of the front end (FS_FEAT_HOP samples) from the source, if it holds that many;
 * *done tells whether it did. */
fs_status fs_monitor_step(fs_monitor *m, fs_audio *src, bool *done, fs_decision_fn emit,
                          void *user);
/* PCM received: n samples written to the source (ok), or refused because they did not fit: an
 * overrun, which drops them and the source's content and starts a new segment after them. */
void fs_monitor_received(fs_monitor *m, fs_audio *src, size_t n, bool ok);
/* A kept decision by index, or NULL when it is not (or no longer) kept. */
const fs_decision *fs_monitor_kept(const fs_monitor *m, uint32_t index);

#endif
