/* The device application: answers the serial protocol (docs/protocol.md) and scores clips.
 * Board-independent; a board's main() calls fs_app_init() once and fs_app_poll() forever. */
#ifndef FS_APP_H
#define FS_APP_H
#include <stdbool.h>
#include <stdint.h>

#include "clip.h"
#include "monitor.h"
#include "protocol.h"

#define FS_FW_VERSION 2u

typedef struct {
    fs_model model;
    fs_clip clip;
    fs_protocol_parser parser;
    uint8_t tx[FS_PROTOCOL_MAX_WIRE]; /* the last reply, kept for retransmissions */
    size_t tx_len;
    bool have_last; /* last_seq/last_type name the last accepted request */
    uint8_t last_seq, last_type;
    uint8_t body[FS_PROTOCOL_MAX_BODY];
    bool model_ok;
    bool clip_open;
    uint8_t clip_mode; /* 0 = PCM, 1 = FEATURES */
    bool monitor_open; /* a MONITOR session runs: data frames go to the monitor */
    bool monitor_live; /* PCM is acknowledged on arrival and processed when the link is idle */
    fs_monitor monitor;
    char model_msg[FS_MSG_LEN];
} fs_app;

/* Load the model from model_data.c into the arena and send HELLO. */
void fs_app_init(fs_app *app, uint8_t *arena, size_t arena_len);
/* Wait for one received byte and handle whatever frame it completes. */
void fs_app_poll(fs_app *app);

#endif
