/* COBS (Consistent Overhead Byte Stuffing), written for firstshot.
 *
 * Encoding: the data is cut at every zero byte (and after 254 non-zero bytes); each piece is sent
 * as a code byte (piece length + 1, 1..255) followed by its non-zero bytes. A code below 0xFF
 * stands for a zero byte after its piece, except after the last piece. The output never contains
 * 0x00, so 0x00 can delimit frames. This encoder is canonical: it never emits a trailing empty
 * piece after a 0xFF block at the end of the data.
 *
 * The decoder exists in two forms: bulk (fs_cobs_decode) and incremental, one byte at a time
 * (fs_cobs_decoder_*), which the frame parser uses so that no encoded copy is ever buffered. */
#ifndef FS_COBS_H
#define FS_COBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound of the encoded size of n bytes (without the 0x00 delimiter). */
#define FS_COBS_ENCODED_MAX(n) ((n) + (n) / 254u + 1u)

typedef enum {
    FS_COBS_OK = 0,
    FS_COBS_OVERFLOW = 1, /* output buffer too small */
    FS_COBS_INVALID = 2,  /* not a valid encoding (a 0x00 inside, or a piece cut short) */
} fs_cobs_status;

/* Encode src[0..len) into dst (capacity cap); *out_len receives the encoded length.
 * src and dst must not overlap. */
fs_cobs_status fs_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                              size_t *out_len);

/* Incremental encoder: data may arrive in several pieces (e.g. header, body, CRC) and is
 * encoded in one pass (each code byte is back-filled). Owned by the caller. */
typedef struct {
    uint8_t *dst;
    size_t cap;
    size_t o;        /* next output position */
    size_t code_pos; /* position reserved for the current piece's code byte */
    uint8_t code;    /* current piece length + 1 */
    bool full;       /* the current piece reached 254 bytes and is closed */
    bool overflow;   /* dst was too small; further input is ignored */
} fs_cobs_encoder;

void fs_cobs_encoder_init(fs_cobs_encoder *ctx, uint8_t *dst, size_t cap);
void fs_cobs_encoder_push(fs_cobs_encoder *ctx, const uint8_t *data, size_t len);
/* Close the encoding; *out_len receives the encoded length (0 on overflow). */
fs_cobs_status fs_cobs_encoder_finish(fs_cobs_encoder *ctx, size_t *out_len);

/* Decode one encoded frame (without its 0x00 delimiter) into dst (capacity cap). */
fs_cobs_status fs_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                              size_t *out_len);

/* Incremental decoder state; owned by the caller. */
typedef struct {
    uint8_t left;      /* data bytes still expected in the current piece */
    bool zero_pending; /* the previous piece ended with an implicit zero */
} fs_cobs_decoder;

void fs_cobs_decoder_reset(fs_cobs_decoder *ctx);

/* Feed one encoded byte, which must not be 0x00 (the caller handles delimiters).
 * Returns true and stores the decoded byte in *out when the byte yields one (at most one). */
bool fs_cobs_decoder_push(fs_cobs_decoder *ctx, uint8_t byte, uint8_t *out);

/* At a 0x00 delimiter: true if the bytes fed since the reset form a complete encoding
 * (no piece cut short). The pending implicit zero of the last piece is dropped. */
bool fs_cobs_decoder_complete(const fs_cobs_decoder *ctx);

#endif
