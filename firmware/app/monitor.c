#include "monitor.h"

#include <string.h>

#include "board.h"

const char *fs_monitor_check(uint32_t hop_frames, uint32_t window_hops) {
    if (hop_frames == 0 || window_hops == 0) return "hop_frames and window_hops must be > 0";
    if (window_hops > FS_MONITOR_MAX_HOPS)
        return "window_hops exceeds max_hops (FS_MONITOR_MAX_HOPS)";
    if ((uint64_t)hop_frames * window_hops > 65535u / 2u) return "window longer than 32767 frames";
#if FS_MODEL_INPUT_KIND != FS_INPUT_STATS
    /* every window then holds at least one completed inference */
    if (hop_frames * window_hops < FS_MODEL_WINDOW_FRAMES ||
        hop_frames * window_hops < FS_MODEL_WINDOW_HOP)
        return "window shorter than the model's input window";
#endif
    return NULL;
}

/* A new segment at stream position `start`: front end, inference schedule and hops restart. */
static void segment(fs_monitor *m, uint64_t start) {
    fs_clip_begin(m->clip);
    m->segment_start = start;
    m->segment_frames = 0;
    m->hop_fill = 0;
    m->hops = 0;
}

void fs_monitor_begin(fs_monitor *m, fs_clip *clip, bool pcm, uint32_t hop_frames,
                      uint32_t window_hops, uint64_t start_sample, uint32_t core_hz) {
    memset(m, 0, sizeof *m);
    m->clip = clip;
    m->pcm = pcm;
    m->hop_frames = hop_frames;
    m->window_hops = window_hops;
    m->start_sample = start_sample;
    m->budget_cycles = (uint64_t)hop_frames * FS_FEAT_HOP * core_hz / FS_FEAT_SAMPLE_RATE;
    segment(m, start_sample);
}

#if FS_MODEL_INPUT_KIND == FS_INPUT_STATS
/* The open hop's sums move into its block; the clip's accumulator starts the next hop. */
static void close_block(fs_monitor *m, fs_monitor_block *b) {
    fs_stats *s = &m->clip->stats;
    for (size_t i = 0; i < FS_FEAT_N_MELS; i++) {
        b->sum[i] = (int32_t)s->sum[i];
        b->sum_sq[i] = (int32_t)s->sum_sq[i];
    }
    for (size_t i = 0; i < FS_STATS_BANDS; i++) b->cross[i] = (int32_t)s->cross[i];
    b->frames = s->frames;
    fs_stats_reset(s);
}

static void add_block(fs_stats *w, const fs_monitor_block *b) {
    for (size_t i = 0; i < FS_FEAT_N_MELS; i++) {
        w->sum[i] += b->sum[i];
        w->sum_sq[i] += b->sum_sq[i];
    }
    for (size_t i = 0; i < FS_STATS_BANDS; i++) w->cross[i] += b->cross[i];
    w->frames += b->frames;
}

/* Exact integer sums of the window, then the clip's statistics and its one inference. */
static fs_status score_window(fs_monitor *m, fs_verdict *v, uint32_t *inferences) {
    fs_stats_reset(&m->window);
    for (uint32_t k = m->hops - m->window_hops; k != m->hops; k++)
        add_block(&m->window, &m->blocks[k % FS_MONITOR_MAX_HOPS]);
    fs_scoring_clear(&m->clip->scoring);
    fs_status st = fs_clip_run_stats(m->clip, &m->window);
    if (st != FS_OK) return st;
    *v = fs_scoring_verdict(&m->clip->scoring);
    *inferences = m->clip->scoring.count;
    fs_scoring_clear(&m->clip->scoring);
    return FS_OK;
}
#else
static void close_block(fs_monitor *m, fs_monitor_block *b) {
    *b = m->clip->scoring;
    fs_scoring_clear(&m->clip->scoring);
}

/* The hops' partial sums, oldest first, scored as a clip's. */
static fs_status score_window(fs_monitor *m, fs_verdict *v, uint32_t *inferences) {
    m->window = m->clip->scoring; /* the quantization */
    fs_scoring_clear(&m->window);
    for (uint32_t k = m->hops - m->window_hops; k != m->hops; k++)
        fs_scoring_merge(&m->window, &m->blocks[k % FS_MONITOR_MAX_HOPS]);
    *v = fs_scoring_verdict(&m->window);
    *inferences = m->window.count;
    return FS_OK;
}
#endif

static fs_status decide(fs_monitor *m, uint32_t *t0, fs_decision_fn emit, void *user) {
    fs_decision d;
    memset(&d, 0, sizeof d);
    fs_verdict v;
    fs_status st = score_window(m, &v, &d.inferences);
    if (st != FS_OK) return st;
    d.score = v.score;
    d.decision = v.anomaly;
    uint32_t now = board_cycles();
    m->busy_cycles += (uint32_t)(now - *t0);
    d.index = m->decisions++;
    d.end_sample = m->segment_start + m->segment_frames * FS_FEAT_HOP;
    d.segment_start = m->segment_start;
    d.window_frames = m->hop_frames * m->window_hops;
    d.busy_cycles = m->busy_cycles;
    d.budget_cycles = m->budget_cycles;
    d.overrun_samples = m->overrun_samples;
    d.overruns = m->overruns;
    m->kept[d.index % FS_MONITOR_KEPT] = d;
    m->busy_cycles = 0;
    emit(user, &d);
    *t0 = board_cycles(); /* sending the decision is not the device's processing */
    return FS_OK;
}

/* One frame went through the clip's code: count it, close the hop, decide when one is due. */
static fs_status after_frame(fs_monitor *m, uint32_t *t0, fs_decision_fn emit, void *user) {
    m->segment_frames++;
    if (++m->hop_fill < m->hop_frames) return FS_OK;
    close_block(m, &m->blocks[m->hops % FS_MONITOR_MAX_HOPS]);
    m->hop_fill = 0;
    m->hops++;
    return m->hops >= m->window_hops ? decide(m, t0, emit, user) : FS_OK;
}

fs_status fs_monitor_frames(fs_monitor *m, const int8_t *frames, size_t n, fs_decision_fn emit,
                            void *user) {
    uint32_t t0 = board_cycles();
    for (size_t i = 0; i < n; i++) {
        fs_status st = fs_clip_features(m->clip, frames + i * FS_FEAT_N_MELS, 1);
        if (st == FS_OK) st = after_frame(m, &t0, emit, user);
        if (st != FS_OK) return st;
    }
    m->busy_cycles += (uint32_t)(board_cycles() - t0);
    return FS_OK;
}

/* After the first n_fft/2 centring zeros the front end holds 512 samples, so every push of one
 * hop completes exactly one frame. */
fs_status fs_monitor_step(fs_monitor *m, fs_audio *src, bool *done, fs_decision_fn emit,
                          void *user) {
    *done = false;
    if (fs_audio_available(src) < FS_FEAT_HOP) return FS_OK;
    uint32_t t0 = board_cycles();
    int16_t pcm[FS_FEAT_HOP];
    fs_audio_read(src, pcm, FS_FEAT_HOP);
    fs_status st = fs_clip_pcm(m->clip, pcm, FS_FEAT_HOP);
    if (st == FS_OK) st = after_frame(m, &t0, emit, user);
    m->busy_cycles += (uint32_t)(board_cycles() - t0);
    *done = true;
    return st;
}

void fs_monitor_received(fs_monitor *m, fs_audio *src, size_t n, bool ok) {
    m->received += n;
    if (ok) return;
    size_t lost = n + fs_audio_available(src);
    fs_audio_clear(src);
    m->overrun_samples += (uint32_t)lost;
    m->overruns++;
    segment(m, m->start_sample + m->received);
}

const fs_decision *fs_monitor_kept(const fs_monitor *m, uint32_t index) {
    if (index >= m->decisions || m->decisions - index > FS_MONITOR_KEPT) return NULL;
    return &m->kept[index % FS_MONITOR_KEPT];
}
