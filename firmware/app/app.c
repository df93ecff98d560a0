#include "app.h"

#include <stdio.h>
#include <string.h>

#include "board.h"
#include "messages.h" /* body offsets, generated from host/messages.py */
#include "model_data.h"

enum { MODE_PCM = 0, MODE_FEATURES = 1 };

static void send(fs_app *app, uint8_t type, uint8_t seq, const uint8_t *body, size_t len) {
    app->tx_len = 0;
    if (fs_protocol_frame_encode(type, seq, body, len, app->tx, sizeof app->tx, &app->tx_len) ==
        FS_PROTOCOL_OK)
        board_uart_write(app->tx, app->tx_len);
}

static void send_error(fs_app *app, uint8_t seq, fs_protocol_status code, const char *text) {
    size_t len = strlen(text);
    if (len > FS_PROTOCOL_MAX_BODY - 1) len = FS_PROTOCOL_MAX_BODY - 1;
    app->body[0] = (uint8_t)code;
    memcpy(app->body + 1, text, len);
    send(app, FS_MSG_ERROR, seq, app->body, len + 1);
}

/* ACK: the request was consumed; its body is the acknowledged type. */
static void send_ack(fs_app *app, const fs_frame *f) {
    uint8_t acked = f->type;
    send(app, FS_MSG_ACK, f->seq, &acked, 1);
}

static size_t put_text(uint8_t *p, const char *s) {
    size_t len = strlen(s);
    if (len > 255) len = 255;
    p[0] = (uint8_t)len;
    memcpy(p + 1, s, len);
    return len + 1;
}

/* Lowercase hex SHA-256 from model_config.h -> 32 raw bytes. */
static void put_sha256(uint8_t *p) {
    const char *hex = FS_MODEL_SHA256;
    for (size_t i = 0; i < 32; i++) {
        uint8_t v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            v = (uint8_t)(v << 4 | (c <= '9' ? c - '0' : c - 'a' + 10));
        }
        p[i] = v;
    }
}

static void send_info(fs_app *app, uint8_t type, uint8_t seq) {
    uint8_t *p = app->body;
    fs_protocol_put_u16(p + FS_BODY_INFO_PROTOCOL, FS_PROTOCOL_VERSION);
    fs_protocol_put_u16(p + FS_BODY_INFO_FW_VERSION, FS_FW_VERSION);
    fs_protocol_put_u32(p + FS_BODY_INFO_CORE_HZ, board_core_hz());
    fs_protocol_put_u32(p + FS_BODY_INFO_ARENA_BYTES, (uint32_t)fs_model_arena_used(&app->model));
    fs_protocol_put_u16(p + FS_BODY_INFO_MAX_BODY, FS_PROTOCOL_MAX_BODY);
    fs_protocol_put_u32(p + FS_BODY_INFO_SAMPLE_RATE, FS_FEAT_SAMPLE_RATE);
    fs_protocol_put_u16(p + FS_BODY_INFO_N_FFT, FS_FEAT_N_FFT);
    fs_protocol_put_u16(p + FS_BODY_INFO_HOP, FS_FEAT_HOP);
    fs_protocol_put_u16(p + FS_BODY_INFO_N_MELS, FS_FEAT_N_MELS);
    fs_protocol_put_u16(p + FS_BODY_INFO_CONTEXT_FRAMES, FS_FEAT_CONTEXT_FRAMES);
    memcpy(p + FS_BODY_INFO_FEATURE_KEY, FS_FEAT_KEY, 16);
    put_sha256(p + FS_BODY_INFO_MODEL_SHA256);
    size_t n = FS_BODY_INFO_SIZE;
    n += put_text(p + n, board_name());
    n += put_text(p + n, FS_MODEL_NAME);
    send(app, type, seq, p, n);
}

static void send_result(fs_app *app, uint8_t seq) {
    fs_clip *clip = &app->clip;
    fs_verdict v = fs_scoring_verdict(&clip->scoring);
    uint32_t bits;
    memcpy(&bits, &v.score, 4);
    uint8_t *p = app->body;
    fs_protocol_put_u32(p + FS_BODY_RESULT_SCORE, bits);
    p[FS_BODY_RESULT_DECISION] = v.anomaly; /* the threshold of the clip's domain (scoring.h) */
    fs_protocol_put_u32(p + FS_BODY_RESULT_FRAMES, clip->frames);
    fs_protocol_put_u32(p + FS_BODY_RESULT_INFERENCES, fs_clip_inferences(clip));
    fs_protocol_put_u64(p + FS_BODY_RESULT_FRONTEND_CYCLES, clip->frontend_cycles);
    fs_protocol_put_u64(p + FS_BODY_RESULT_INFERENCE_CYCLES, clip->inference_cycles);
    fs_protocol_put_u64(p + FS_BODY_RESULT_SCORING_CYCLES, clip->scoring_cycles);
    send(app, FS_MSG_RESULT, seq, p, FS_BODY_RESULT_SIZE);
}

static void send_profile(fs_app *app, uint8_t seq) {
    size_t n_ops = fs_model_op_count(&app->model);
    size_t max_ops = (FS_PROTOCOL_MAX_BODY - 2) / 5;
    if (n_ops > max_ops) n_ops = max_ops;
    _Static_assert(FS_PROFILE_MAX_OPS <= (FS_PROTOCOL_MAX_BODY - 2) / 5, "profile fits a frame");
    uint8_t *p = app->body;
    fs_protocol_put_u16(p, (uint16_t)n_ops);
    for (size_t i = 0; i < n_ops; i++) {
        uint8_t *op = p + 2 + FS_BODY_PROFILE_OP_SIZE * i;
        op[FS_BODY_PROFILE_OP_OP_CODE] = (uint8_t)fs_model_op_code(&app->model, i);
        fs_protocol_put_u32(op + FS_BODY_PROFILE_OP_CYCLES,
                            i < FS_PROFILE_MAX_OPS ? app->clip.op_cycles[i] : 0);
    }
    send(app, FS_MSG_PROFILE, seq, p, 2 + FS_BODY_PROFILE_OP_SIZE * n_ops);
}

static void model_error(fs_app *app, uint8_t seq, fs_status st) {
    app->clip_open = false;
    send_error(app, seq, FS_PROTOCOL_MODEL,
               st == FS_OK ? app->model_msg : fs_model_message(&app->model));
}

/* ---- MONITOR mode (docs/protocol.md) ---- */

static void put_decision(uint8_t *p, const fs_decision *d) {
    uint32_t bits;
    memcpy(&bits, &d->score, 4);
    fs_protocol_put_u32(p + FS_BODY_DECISION_INDEX, d->index);
    fs_protocol_put_u64(p + FS_BODY_DECISION_END_SAMPLE, d->end_sample);
    fs_protocol_put_u64(p + FS_BODY_DECISION_SEGMENT_START, d->segment_start);
    fs_protocol_put_u32(p + FS_BODY_DECISION_SCORE, bits);
    p[FS_BODY_DECISION_DECISION] = d->decision;
    fs_protocol_put_u32(p + FS_BODY_DECISION_WINDOW_FRAMES, d->window_frames);
    fs_protocol_put_u32(p + FS_BODY_DECISION_INFERENCES, d->inferences);
    fs_protocol_put_u64(p + FS_BODY_DECISION_BUSY_CYCLES, d->busy_cycles);
    fs_protocol_put_u64(p + FS_BODY_DECISION_BUDGET_CYCLES, d->budget_cycles);
    fs_protocol_put_u32(p + FS_BODY_DECISION_OVERRUN_SAMPLES, d->overrun_samples);
    fs_protocol_put_u16(p + FS_BODY_DECISION_OVERRUNS, d->overruns);
}
#define FS_DECISION_BYTES FS_BODY_DECISION_SIZE

/* Unsolicited (seq 0) from its own buffer: app->tx keeps the reply a retransmission gets. */
static void emit_decision(void *user, const fs_decision *d) {
    (void)user;
    uint8_t body[FS_DECISION_BYTES];
    uint8_t wire[FS_COBS_ENCODED_MAX(FS_PROTOCOL_HEADER_SIZE + FS_DECISION_BYTES +
                                     FS_PROTOCOL_CRC_SIZE) +
                 1u];
    size_t n = 0;
    put_decision(body, d);
    if (fs_protocol_frame_encode(FS_MSG_DECISION, 0, body, sizeof body, wire, sizeof wire, &n) ==
        FS_PROTOCOL_OK)
        board_uart_write(wire, n);
}

static void monitor_failed(fs_app *app, uint8_t seq, fs_status st) {
    app->monitor_open = false;
    model_error(app, seq, st);
}

static void on_monitor_begin(fs_app *app, const fs_frame *f) {
    const uint8_t *b = f->body;
    if (f->len != FS_BODY_MONITOR_BEGIN_SIZE) {
        char text[40];
        snprintf(text, sizeof text, "MONITOR_BEGIN body is %u bytes",
                 (unsigned)FS_BODY_MONITOR_BEGIN_SIZE);
        send_error(app, f->seq, FS_PROTOCOL_BAD_LENGTH, text);
        return;
    }
    if (!app->model_ok) {
        model_error(app, f->seq, FS_OK);
        return;
    }
    uint32_t hop = fs_protocol_get_u16(b + FS_BODY_MONITOR_BEGIN_HOP_FRAMES),
             hops = fs_protocol_get_u16(b + FS_BODY_MONITOR_BEGIN_WINDOW_HOPS);
    if (!hop) hop = FS_MONITOR_HOP_FRAMES;
    if (!hops) hops = FS_MONITOR_WINDOW_HOPS;
    uint8_t mode = b[FS_BODY_MONITOR_BEGIN_MODE], live = b[FS_BODY_MONITOR_BEGIN_LIVE];
    const char *why = mode > MODE_FEATURES       ? "mode must be 0 (PCM) or 1 (FEATURES)"
                      : live > 1                 ? "live must be 0 or 1"
                      : live && mode != MODE_PCM ? "live needs PCM mode"
                                                 : fs_monitor_check(hop, hops);
    if (why) {
        send_error(app, f->seq, FS_PROTOCOL_BAD_PARAM, why);
        return;
    }
    uint64_t start = (uint64_t)fs_protocol_get_u32(b + FS_BODY_MONITOR_BEGIN_START_SAMPLE) |
                     (uint64_t)fs_protocol_get_u32(b + FS_BODY_MONITOR_BEGIN_START_SAMPLE + 4)
                         << 32;
    app->clip_open = false; /* a session replaces an open clip, or the running session */
    app->monitor_open = true;
    app->monitor_live = live;
    fs_audio_clear(board_audio_source());
    fs_monitor_begin(&app->monitor, &app->clip, mode == MODE_PCM, hop, hops, start,
                     board_core_hz());
    uint8_t *p = app->body;
    fs_protocol_put_u16(p + FS_BODY_MONITOR_READY_HOP_FRAMES, (uint16_t)hop);
    fs_protocol_put_u16(p + FS_BODY_MONITOR_READY_WINDOW_HOPS, (uint16_t)hops);
    fs_protocol_put_u16(p + FS_BODY_MONITOR_READY_MAX_HOPS, FS_MONITOR_MAX_HOPS);
    fs_protocol_put_u32(p + FS_BODY_MONITOR_READY_AUDIO_RING_SAMPLES, FS_AUDIO_RING_SAMPLES);
    fs_protocol_put_u32(p + FS_BODY_MONITOR_READY_FRAME_SAMPLES, FS_FEAT_HOP);
    fs_protocol_put_u64(p + FS_BODY_MONITOR_READY_START_SAMPLE, start);
    send(app, FS_MSG_MONITOR_READY, f->seq, p, FS_BODY_MONITOR_READY_SIZE);
}

/* Process whole hops of the audio source while any are there. */
static fs_status monitor_drain(fs_app *app) {
    bool done = true;
    fs_status st = FS_OK;
    while (done && st == FS_OK)
        st = fs_monitor_step(&app->monitor, board_audio_source(), &done, emit_decision, app);
    return st;
}

/* Data of the session's mode (checked by on_data). Waiting mode: consumed, then ACKed, so the
 * host never overruns anything. Live: stored (or counted as an overrun), ACKed at once. */
static void on_monitor_data(fs_app *app, const fs_frame *f, const int16_t *pcm, size_t n) {
    fs_status st = FS_OK;
    if (app->monitor.pcm) {
        fs_audio *src = board_audio_source();
        fs_monitor_received(&app->monitor, src, n, fs_audio_write(src, pcm, n));
        if (!app->monitor_live) st = monitor_drain(app);
    } else {
        st = fs_monitor_frames(&app->monitor, (const int8_t *)f->body, f->len / FS_FEAT_N_MELS,
                               emit_decision, app);
    }
    if (st != FS_OK) {
        monitor_failed(app, f->seq, st);
        return;
    }
    send_ack(app, f);
}

static void on_monitor_end(fs_app *app, const fs_frame *f) {
    if (!app->monitor_open) {
        send_error(app, f->seq, FS_PROTOCOL_OUT_OF_ORDER, "MONITOR_END without MONITOR_BEGIN");
        return;
    }
    app->monitor_open = false;
    send_ack(app, f);
}

static void on_get_decision(fs_app *app, const fs_frame *f) {
    if (f->len != 4) {
        send_error(app, f->seq, FS_PROTOCOL_BAD_LENGTH, "GET_DECISION body is index u32");
        return;
    }
    const fs_decision *d =
        app->monitor_open ? fs_monitor_kept(&app->monitor, fs_protocol_get_u32(f->body)) : NULL;
    if (!d) {
        send_error(app, f->seq, FS_PROTOCOL_BAD_PARAM, "decision not kept (last 16 only)");
        return;
    }
    put_decision(app->body, d);
    send(app, FS_MSG_DECISION, f->seq, app->body, FS_DECISION_BYTES);
}

static void on_data(fs_app *app, const fs_frame *f) {
    uint8_t mode = f->type == FS_MSG_PCM ? MODE_PCM : MODE_FEATURES;
    bool monitoring = app->monitor_open;
    uint8_t want = monitoring ? (app->monitor.pcm ? MODE_PCM : MODE_FEATURES) : app->clip_mode;
    if (!(monitoring || app->clip_open) || mode != want) {
        send_error(app, f->seq, FS_PROTOCOL_OUT_OF_ORDER,
                   monitoring || app->clip_open ? "data of the wrong mode for this clip or session"
                                                : "data outside a clip");
        return;
    }
    size_t unit = mode == MODE_PCM ? 2 : FS_FEAT_N_MELS;
    if (f->len % unit) {
        send_error(app, f->seq, FS_PROTOCOL_BAD_LENGTH,
                   mode == MODE_PCM ? "PCM body must hold whole int16 samples"
                                    : "FEATURES body must hold whole n_mels frames");
        return;
    }
    fs_status st;
    int16_t pcm[FS_PROTOCOL_MAX_BODY / 2];
    if (mode == MODE_PCM)
        for (size_t i = 0; i < f->len / 2; i++)
            pcm[i] = (int16_t)fs_protocol_get_u16(f->body + 2 * i);
    if (monitoring) {
        on_monitor_data(app, f, pcm, f->len / 2);
        return;
    }
    if (mode == MODE_PCM) {
        st = fs_clip_pcm(&app->clip, pcm, f->len / 2);
    } else {
        st = fs_clip_features(&app->clip, (const int8_t *)f->body, f->len / FS_FEAT_N_MELS);
    }
    if (st != FS_OK) {
        model_error(app, f->seq, st);
        return;
    }
    send_ack(app, f);
}

static void on_clip_begin(fs_app *app, const fs_frame *f) {
    if (f->len != 1 || f->body[0] > MODE_FEATURES) {
        send_error(app, f->seq, FS_PROTOCOL_BAD_LENGTH, "CLIP_BEGIN body is one mode byte (0|1)");
        return;
    }
    if (!app->model_ok) {
        model_error(app, f->seq, FS_OK);
        return;
    }
    fs_clip_begin(&app->clip); /* an open clip, or a running session, is discarded */
    app->monitor_open = false;
    app->clip_open = true;
    app->clip_mode = f->body[0];
    send_ack(app, f);
}

static void on_clip_end(fs_app *app, const fs_frame *f) {
    if (!app->clip_open) {
        send_error(app, f->seq, FS_PROTOCOL_OUT_OF_ORDER, "CLIP_END without CLIP_BEGIN");
        return;
    }
    app->clip_open = false;
    fs_status st = fs_clip_end(&app->clip, app->clip_mode == MODE_PCM);
    if (st != FS_OK) {
        model_error(app, f->seq, st);
    } else if (fs_clip_inferences(&app->clip) == 0) {
        send_error(app, f->seq, FS_PROTOCOL_CLIP_TOO_SHORT, FS_CLIP_TOO_SHORT_TEXT);
    } else {
        send_result(app, f->seq);
    }
}

/* A request with the seq and type of the last one is a retransmission (its reply was lost):
 * send the same reply again without consuming the data twice. GET_INFO starts a new session. */
static void on_frame(fs_app *app, const fs_frame *f) {
    if (f->type == FS_MSG_GET_INFO) {
        app->have_last = false;
    } else if (app->have_last && f->seq == app->last_seq && f->type == app->last_type) {
        board_uart_write(app->tx, app->tx_len);
        return;
    } else {
        app->have_last = true;
        app->last_seq = f->seq;
        app->last_type = f->type;
    }
    switch (f->type) {
        case FS_MSG_GET_INFO: send_info(app, FS_MSG_INFO, f->seq); break;
        case FS_MSG_CLIP_BEGIN: on_clip_begin(app, f); break;
        case FS_MSG_PCM:
        case FS_MSG_FEATURES: on_data(app, f); break;
        case FS_MSG_CLIP_END: on_clip_end(app, f); break;
        case FS_MSG_GET_PROFILE: send_profile(app, f->seq); break;
        case FS_MSG_MONITOR_BEGIN: on_monitor_begin(app, f); break;
        case FS_MSG_MONITOR_END: on_monitor_end(app, f); break;
        case FS_MSG_GET_DECISION: on_get_decision(app, f); break;
        default: send_error(app, f->seq, FS_PROTOCOL_UNKNOWN_TYPE, "unknown message type"); break;
    }
}

void fs_app_init(fs_app *app, uint8_t *arena, size_t arena_len) {
    memset(app, 0, sizeof *app);
    fs_protocol_parser_reset(&app->parser);
    fs_status st = fs_model_load(&app->model, fs_model_data, fs_model_data_len, arena, arena_len);
    if (st == FS_OK)
        st = fs_clip_init(&app->clip, &app->model, app->model_msg, sizeof app->model_msg);
    else
        snprintf(app->model_msg, sizeof app->model_msg, "%s", fs_model_message(&app->model));
    app->model_ok = st == FS_OK;
    send_info(app, FS_MSG_HELLO, 0);
}

/* A live session's audio is processed one hop at a time while no received byte waits, so
 * incoming frames are taken (or counted as overruns) as they arrive. */
static bool monitor_idle_step(fs_app *app) {
    if (!app->monitor_open || !app->monitor.pcm || board_uart_ready()) return false;
    bool done = false;
    fs_status st = fs_monitor_step(&app->monitor, board_audio_source(), &done, emit_decision, app);
    if (st != FS_OK) monitor_failed(app, 0, st);
    return done;
}

void fs_app_poll(fs_app *app) {
    if (monitor_idle_step(app)) return;
    fs_frame frame;
    fs_protocol_status st = fs_protocol_parser_feed(&app->parser, board_uart_getc(), &frame);
    if (st == FS_PROTOCOL_OK)
        on_frame(app, &frame);
    else if (st != FS_PROTOCOL_PENDING)
        send_error(app, 0, st, fs_protocol_status_name(st));
}
