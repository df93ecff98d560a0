/* frame-codec: x86 test tool for the firstshot frame layer (firmware/app/protocol.[ch]).
 *
 *   frame-codec [decode]              read bytes on stdin, feed them to the parser one byte at a
 *                                     time, print one line per event:
 *                                       FRAME type=0x11 seq=3 len=4 body=0100ffff
 *                                       ERROR bad_crc
 *                                     (a partial frame left at end of input prints nothing)
 *   frame-codec encode TYPE SEQ [HEX] write the wire bytes of one frame to stdout
 *                                     (TYPE and SEQ decimal or 0x-hex, HEX the body)
 *
 * Exit status: 0 on success, 1 if encode refuses the frame (prints ERROR <name>), 2 on usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static int usage(void) {
    fputs("usage: frame-codec [decode] | frame-codec encode TYPE SEQ [HEXBODY]\n", stderr);
    return 2;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int parse_u8(const char *s, uint8_t *out) {
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 0);
    if (*s == '\0' || end == NULL || *end != '\0' || v > 0xFFul) {
        return -1;
    }
    *out = (uint8_t)v;
    return 0;
}

static int run_encode(const char *type_s, const char *seq_s, const char *hex) {
    /* One spare byte so that an oversize body is reported by the encoder, not here. */
    static const size_t body_cap = FS_PROTOCOL_MAX_BODY + 1u;
    uint8_t body[FS_PROTOCOL_MAX_BODY + 1u];
    uint8_t wire[FS_PROTOCOL_MAX_WIRE];
    uint8_t type;
    uint8_t seq;
    size_t hex_len = strlen(hex);
    size_t len = hex_len / 2u;

    if (parse_u8(type_s, &type) != 0 || parse_u8(seq_s, &seq) != 0) {
        fputs("frame-codec: TYPE and SEQ must be integers 0..255\n", stderr);
        return 2;
    }
    if (hex_len % 2u != 0u) {
        fputs("frame-codec: HEXBODY must have an even number of digits\n", stderr);
        return 2;
    }
    if (len > body_cap) {
        printf("ERROR %s\n", fs_protocol_status_name(FS_PROTOCOL_OVERSIZE));
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2u * i]);
        int lo = hex_value(hex[2u * i + 1u]);
        if (hi < 0 || lo < 0) {
            fputs("frame-codec: HEXBODY is not hexadecimal\n", stderr);
            return 2;
        }
        body[i] = (uint8_t)(hi * 16 + lo);
    }
    size_t n;
    fs_protocol_status st = fs_protocol_frame_encode(type, seq, body, len, wire, sizeof wire, &n);
    if (st != FS_PROTOCOL_OK) {
        printf("ERROR %s\n", fs_protocol_status_name(st));
        return 1;
    }
    if (fwrite(wire, 1, n, stdout) != n || fflush(stdout) != 0) {
        perror("frame-codec: write");
        return 2;
    }
    return 0;
}

static int run_decode(void) {
    fs_protocol_parser parser;
    fs_frame frame;
    int c;

    fs_protocol_parser_reset(&parser);
    while ((c = getchar()) != EOF) {
        fs_protocol_status st = fs_protocol_parser_feed(&parser, (uint8_t)c, &frame);
        if (st == FS_PROTOCOL_PENDING) {
            continue;
        }
        if (st != FS_PROTOCOL_OK) {
            printf("ERROR %s\n", fs_protocol_status_name(st));
            continue;
        }
        printf("FRAME type=0x%02x seq=%u len=%u body=", (unsigned)frame.type, (unsigned)frame.seq,
               (unsigned)frame.len);
        for (size_t i = 0; i < frame.len; i++) {
            printf("%02x", (unsigned)frame.body[i]);
        }
        putchar('\n');
    }
    if (ferror(stdin)) {
        perror("frame-codec: read");
        return 2;
    }
    if (fflush(stdout) != 0) {
        perror("frame-codec: write");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 1 || (argc == 2 && strcmp(argv[1], "decode") == 0)) {
        return run_decode();
    }
    if (argc >= 4 && argc <= 5 && strcmp(argv[1], "encode") == 0) {
        return run_encode(argv[2], argv[3], argc == 5 ? argv[4] : "");
    }
    return usage();
}
