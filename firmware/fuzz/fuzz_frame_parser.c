/* libFuzzer harness for the frame layer: parser, COBS and frame encoder.
 *
 * Build with clang -fsanitize=fuzzer (make -C firmware fuzz-frame-parser), or
 * with -DFS_FUZZ_STANDALONE_MAIN to get a plain program that runs each file named on the
 * command line through the same function (corpus replay in tests, any compiler).
 *
 * Checked on every input (abort on violation):
 *  1. the parser, fed the input byte by byte, never returns anything but PENDING, OK,
 *     BAD_FRAME, BAD_CRC or OVERSIZE; every frame it returns is within bounds, re-encodes to a
 *     frame that decodes to the same thing;
 *  2. the parser's verdict on each delimited piece agrees with a bulk COBS decode of it;
 *  3. the input used as a body (when it fits) survives encode -> parse exactly;
 *  4. COBS encode -> decode of the input is the identity and the encoding has no 0x00. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "crc32.h"
#include "protocol.h"

#define FS_FUZZ_CHECK(cond)                                                                      \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_frame_parser: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Same answer as the parser for one delimited piece, computed independently (bulk decode). */
static fs_protocol_status fs_fuzz_reference_verdict(const uint8_t *piece, size_t n) {
    uint8_t buf[FS_PROTOCOL_MAX_FRAME];
    size_t len;
    fs_cobs_status cs = fs_cobs_decode(piece, n, buf, sizeof buf, &len);
    if (cs == FS_COBS_OVERFLOW) {
        return FS_PROTOCOL_OVERSIZE;
    }
    if (cs != FS_COBS_OK || len < 8u) {
        return FS_PROTOCOL_BAD_FRAME;
    }
    uint32_t crc = fs_crc32_update(0, buf, len - 4u);
    if (crc != fs_protocol_get_u32(buf + len - 4u)) {
        return FS_PROTOCOL_BAD_CRC;
    }
    if (fs_protocol_get_u16(buf + 2) != len - 8u) {
        return FS_PROTOCOL_BAD_FRAME;
    }
    return FS_PROTOCOL_OK;
}

static void fs_fuzz_check_frame(const fs_frame *frame) {
    uint8_t wire[FS_PROTOCOL_MAX_WIRE];
    size_t n;
    fs_protocol_parser p2;
    fs_frame f2;
    fs_protocol_status st = FS_PROTOCOL_PENDING;

    FS_FUZZ_CHECK(frame->len <= FS_PROTOCOL_MAX_BODY);
    FS_FUZZ_CHECK(fs_protocol_frame_encode(frame->type, frame->seq, frame->body, frame->len, wire,
                                           sizeof wire, &n) == FS_PROTOCOL_OK);
    FS_FUZZ_CHECK(n >= 2u && wire[n - 1u] == 0u && memchr(wire, 0, n - 1u) == NULL);
    fs_protocol_parser_reset(&p2);
    for (size_t i = 0; i < n; i++) {
        st = fs_protocol_parser_feed(&p2, wire[i], &f2);
        FS_FUZZ_CHECK(i + 1u == n || st == FS_PROTOCOL_PENDING);
    }
    FS_FUZZ_CHECK(st == FS_PROTOCOL_OK);
    FS_FUZZ_CHECK(f2.type == frame->type && f2.seq == frame->seq && f2.len == frame->len);
    FS_FUZZ_CHECK(memcmp(f2.body, frame->body, frame->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fs_protocol_parser parser;
    fs_frame frame;
    size_t piece_start = 0;
    int oversize_in_piece = 0;

    /* 1 and 2: stream through the parser. */
    fs_protocol_parser_reset(&parser);
    for (size_t i = 0; i < size; i++) {
        fs_protocol_status st = fs_protocol_parser_feed(&parser, data[i], &frame);
        switch (st) {
            case FS_PROTOCOL_PENDING: break;
            case FS_PROTOCOL_OK: fs_fuzz_check_frame(&frame); break;
            case FS_PROTOCOL_OVERSIZE:
                FS_FUZZ_CHECK(data[i] != 0u && !oversize_in_piece);
                oversize_in_piece = 1;
                break;
            case FS_PROTOCOL_BAD_FRAME:
            case FS_PROTOCOL_BAD_CRC: FS_FUZZ_CHECK(data[i] == 0u); break;
            default: FS_FUZZ_CHECK(0 && "unexpected status");
        }
        if (data[i] == 0u) {
            size_t n = i - piece_start;
            if (n > 0u) {
                fs_protocol_status ref = fs_fuzz_reference_verdict(data + piece_start, n);
                if (oversize_in_piece) {
                    FS_FUZZ_CHECK(st == FS_PROTOCOL_PENDING);
                    FS_FUZZ_CHECK(ref == FS_PROTOCOL_OVERSIZE);
                } else {
                    FS_FUZZ_CHECK(st == ref);
                }
            } else {
                FS_FUZZ_CHECK(st == FS_PROTOCOL_PENDING);
            }
            piece_start = i + 1u;
            oversize_in_piece = 0;
        }
    }

    /* 3: the input as a frame body. */
    if (size <= FS_PROTOCOL_MAX_BODY) {
        fs_frame in = {.type = size > 0u ? data[0] : 0u,
                       .seq = (uint8_t)size,
                       .len = (uint16_t)size,
                       .body = data};
        fs_fuzz_check_frame(&in);
    } else {
        uint8_t wire[16];
        size_t n = 1;
        FS_FUZZ_CHECK(fs_protocol_frame_encode(0x11u, 0u, data, size, wire, sizeof wire, &n) ==
                          FS_PROTOCOL_OVERSIZE &&
                      n == 0u);
    }

    /* 4: COBS round trip of the raw input (bounded to keep stack use small). */
    if (size <= 4096u) {
        uint8_t enc[FS_COBS_ENCODED_MAX(4096u)];
        uint8_t dec[4096u];
        size_t n_enc;
        size_t n_dec;
        FS_FUZZ_CHECK(fs_cobs_encode(data, size, enc, sizeof enc, &n_enc) == FS_COBS_OK);
        FS_FUZZ_CHECK(n_enc <= FS_COBS_ENCODED_MAX(size) && memchr(enc, 0, n_enc) == NULL);
        FS_FUZZ_CHECK(fs_cobs_decode(enc, n_enc, dec, sizeof dec, &n_dec) == FS_COBS_OK);
        FS_FUZZ_CHECK(n_dec == size && (size == 0u || memcmp(dec, data, size) == 0));
        if (n_enc > 0u) {
            /* One byte too small must overflow, not write past the end. */
            FS_FUZZ_CHECK(fs_cobs_encode(data, size, enc, n_enc - 1u, &n_enc) == FS_COBS_OVERFLOW);
        }
    }
    return 0;
}

#ifdef FS_FUZZ_STANDALONE_MAIN
/* Replay: run every file named on the command line through the harness. */
int main(int argc, char **argv) {
    static uint8_t buf[1u << 20];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        int too_big = !feof(f);
        int bad = ferror(f);
        fclose(f);
        if (bad || too_big) {
            fprintf(stderr, "%s: %s\n", argv[i], bad ? "read error" : "larger than 1 MiB");
            return 2;
        }
        (void)LLVMFuzzerTestOneInput(buf, n);
        printf("ok %s (%zu bytes)\n", argv[i], n);
    }
    return 0;
}
#endif
