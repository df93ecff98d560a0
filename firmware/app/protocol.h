/* firstshot serial protocol, frame layer (docs/protocol.md).
 *
 *   wire:   COBS( header | body | crc32 ) 0x00
 *   header: type u8 | seq u8 | len u16 LE        crc32: zlib CRC-32 of header|body, u32 LE
 *
 * Board-independent: no registers, no heap, no mutable globals. The parser is a context struct
 * owned by the caller and fed one received byte at a time; it decodes COBS on the fly into a
 * bounded buffer, checks length and CRC, and resynchronises on the next 0x00 after any error.
 * It does not interpret `type`: unknown types, clip state and body lengths are the
 * application's checks (codes unknown_type, out_of_order, bad_length, ...). */
#ifndef FS_PROTOCOL_H
#define FS_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cobs.h"

#define FS_PROTOCOL_VERSION 3u /* 2: MONITOR mode; 3: RESULT scoring_cycles */
#define FS_PROTOCOL_HEADER_SIZE 4u
#define FS_PROTOCOL_CRC_SIZE 4u
#define FS_PROTOCOL_MAX_BODY 2048u
/* Largest decoded frame (header | body | crc): 2056 bytes. */
#define FS_PROTOCOL_MAX_FRAME \
    (FS_PROTOCOL_HEADER_SIZE + FS_PROTOCOL_MAX_BODY + FS_PROTOCOL_CRC_SIZE)
/* Largest frame on the wire, COBS overhead and the 0x00 delimiter included (bound). */
#define FS_PROTOCOL_MAX_WIRE (FS_COBS_ENCODED_MAX(FS_PROTOCOL_MAX_FRAME) + 1u)

/* Message types: X(code, NAME). Same codes as docs/protocol.md and host/protocol.py MsgType. */
#define FS_PROTOCOL_MSG_TYPES(X) \
    X(0x01, HELLO)               \
    X(0x02, GET_INFO)            \
    X(0x03, INFO)                \
    X(0x04, ACK)                 \
    X(0x10, CLIP_BEGIN)          \
    X(0x11, PCM)                 \
    X(0x12, FEATURES)            \
    X(0x13, CLIP_END)            \
    X(0x14, RESULT)              \
    X(0x15, GET_PROFILE)         \
    X(0x16, PROFILE)             \
    X(0x20, MONITOR_BEGIN)       \
    X(0x21, MONITOR_READY)       \
    X(0x22, DECISION)            \
    X(0x23, GET_DECISION)        \
    X(0x24, MONITOR_END)         \
    X(0x7F, ERROR)

typedef enum {
#define FS_X_(code, name) FS_MSG_##name = code,
    FS_PROTOCOL_MSG_TYPES(FS_X_)
#undef FS_X_
} fs_msg_type;

/* Error codes: X(code, NAME, "name"). The strings are what the host prints; codes, names and
 * strings are the table in docs/protocol.md and host/protocol.py ErrorCode (a test compares). */
#define FS_PROTOCOL_ERRORS(X)              \
    X(1, BAD_CRC, "bad_crc")               \
    X(2, BAD_FRAME, "bad_frame")           \
    X(3, OVERSIZE, "oversize")             \
    X(4, UNKNOWN_TYPE, "unknown_type")     \
    X(5, OUT_OF_ORDER, "out_of_order")     \
    X(6, BAD_LENGTH, "bad_length")         \
    X(7, CLIP_TOO_SHORT, "clip_too_short") \
    X(8, MODEL, "model")                   \
    X(9, BAD_PARAM, "bad_param")

/* Status of protocol calls: OK, PENDING (parser: no complete frame yet), or an error code.
 * Error codes are positive and fit the u8 `code` of an ERROR message. */
typedef enum {
    FS_PROTOCOL_PENDING = -1,
    FS_PROTOCOL_OK = 0,
#define FS_X_(code, name, str) FS_PROTOCOL_##name = code,
    FS_PROTOCOL_ERRORS(FS_X_)
#undef FS_X_
} fs_protocol_status;

/* "ok", "pending", the error's name, or "unknown". Never NULL. */
const char *fs_protocol_status_name(fs_protocol_status status);

/* True if `type` is one of FS_PROTOCOL_MSG_TYPES. */
bool fs_protocol_type_is_known(uint8_t type);

/* A decoded frame. `body` points into the parser's buffer: valid until the next feed/reset. */
typedef struct {
    uint8_t type;
    uint8_t seq;
    uint16_t len;
    const uint8_t *body;
} fs_frame;

/* Incremental parser; owned by the caller (about 2 KiB). Treat the fields as private. */
typedef struct {
    uint8_t buf[FS_PROTOCOL_MAX_FRAME]; /* decoded header | body | crc */
    size_t n;                           /* decoded bytes in buf */
    fs_cobs_decoder cobs;
    bool started;    /* at least one byte of the current frame was received */
    bool discarding; /* after oversize: drop bytes until the next 0x00 */
} fs_protocol_parser;

void fs_protocol_parser_reset(fs_protocol_parser *ctx);

/* Feed one received byte.
 *   FS_PROTOCOL_PENDING    nothing to do yet (also for empty frames, i.e. repeated 0x00)
 *   FS_PROTOCOL_OK         a 0x00 completed a valid frame, now in *frame
 *   FS_PROTOCOL_BAD_FRAME  a 0x00 completed an invalid COBS encoding, a frame shorter than
 *                          header + CRC, or one whose `len` disagrees with its size
 *   FS_PROTOCOL_BAD_CRC    a 0x00 completed a frame whose CRC does not match
 *   FS_PROTOCOL_OVERSIZE   this byte made the decoded frame exceed FS_PROTOCOL_MAX_FRAME;
 *                          reported at once, then bytes are dropped silently up to the next 0x00
 * After any status the parser is ready for the next byte; nothing is ever written out of
 * bounds. *frame is written only when OK is returned. */
fs_protocol_status fs_protocol_parser_feed(fs_protocol_parser *ctx, uint8_t byte, fs_frame *frame);

/* Encode one frame into out (capacity cap), delimiter included; *out_len receives the wire
 * size. FS_PROTOCOL_MAX_WIRE bytes are always enough.
 * Returns FS_PROTOCOL_OVERSIZE if len > FS_PROTOCOL_MAX_BODY or cap is too small (nothing
 * usable is written then). */
fs_protocol_status fs_protocol_frame_encode(uint8_t type, uint8_t seq, const uint8_t *body,
                                            size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Little-endian helpers for building and reading message bodies. */
static inline void fs_protocol_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void fs_protocol_put_u32(uint8_t *p, uint32_t v) {
    fs_protocol_put_u16(p, (uint16_t)v);
    fs_protocol_put_u16(p + 2, (uint16_t)(v >> 16));
}
static inline void fs_protocol_put_u64(uint8_t *p, uint64_t v) {
    fs_protocol_put_u32(p, (uint32_t)v);
    fs_protocol_put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t fs_protocol_get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}
static inline uint32_t fs_protocol_get_u32(const uint8_t *p) {
    return (uint32_t)fs_protocol_get_u16(p) | ((uint32_t)fs_protocol_get_u16(p + 2) << 16);
}

#endif
