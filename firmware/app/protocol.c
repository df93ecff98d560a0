#include "protocol.h"

#include "crc32.h"

const char *fs_protocol_status_name(fs_protocol_status status) {
    switch (status) {
        case FS_PROTOCOL_PENDING: return "pending";
        case FS_PROTOCOL_OK: return "ok";
#define FS_X_(code, name, str) \
    case FS_PROTOCOL_##name: return str;
            FS_PROTOCOL_ERRORS(FS_X_)
#undef FS_X_
    }
    return "unknown";
}

bool fs_protocol_type_is_known(uint8_t type) {
    switch (type) {
#define FS_X_(code, name) case code:
        FS_PROTOCOL_MSG_TYPES(FS_X_)
#undef FS_X_
        return true;
        default: return false;
    }
}

void fs_protocol_parser_reset(fs_protocol_parser *ctx) {
    ctx->n = 0;
    fs_cobs_decoder_reset(&ctx->cobs);
    ctx->started = false;
    ctx->discarding = false;
}

/* A 0x00 ended the bytes received since the last delimiter: check them. */
static fs_protocol_status fs_protocol_parser_finish(const fs_protocol_parser *ctx,
                                                    fs_frame *frame) {
    if (!fs_cobs_decoder_complete(&ctx->cobs)) {
        return FS_PROTOCOL_BAD_FRAME;
    }
    if (ctx->n < FS_PROTOCOL_HEADER_SIZE + FS_PROTOCOL_CRC_SIZE) {
        return FS_PROTOCOL_BAD_FRAME;
    }
    size_t covered = ctx->n - FS_PROTOCOL_CRC_SIZE;
    if (fs_crc32_update(0, ctx->buf, covered) != fs_protocol_get_u32(ctx->buf + covered)) {
        return FS_PROTOCOL_BAD_CRC;
    }
    uint16_t len = fs_protocol_get_u16(ctx->buf + 2);
    if ((size_t)len != covered - FS_PROTOCOL_HEADER_SIZE) {
        return FS_PROTOCOL_BAD_FRAME;
    }
    frame->type = ctx->buf[0];
    frame->seq = ctx->buf[1];
    frame->len = len;
    frame->body = ctx->buf + FS_PROTOCOL_HEADER_SIZE;
    return FS_PROTOCOL_OK;
}

fs_protocol_status fs_protocol_parser_feed(fs_protocol_parser *ctx, uint8_t byte, fs_frame *frame) {
    if (byte == 0u) {
        fs_protocol_status st = FS_PROTOCOL_PENDING;
        if (ctx->started && !ctx->discarding) {
            st = fs_protocol_parser_finish(ctx, frame);
        }
        fs_protocol_parser_reset(ctx);
        return st;
    }
    if (ctx->discarding) {
        return FS_PROTOCOL_PENDING;
    }
    ctx->started = true;
    uint8_t out;
    if (fs_cobs_decoder_push(&ctx->cobs, byte, &out)) {
        if (ctx->n >= sizeof ctx->buf) {
            ctx->discarding = true;
            return FS_PROTOCOL_OVERSIZE;
        }
        ctx->buf[ctx->n++] = out;
    }
    return FS_PROTOCOL_PENDING;
}

fs_protocol_status fs_protocol_frame_encode(uint8_t type, uint8_t seq, const uint8_t *body,
                                            size_t len, uint8_t *out, size_t cap, size_t *out_len) {
    *out_len = 0;
    if (len > FS_PROTOCOL_MAX_BODY) {
        return FS_PROTOCOL_OVERSIZE;
    }
    if (cap < 1u) {
        return FS_PROTOCOL_OVERSIZE;
    }
    uint8_t header[FS_PROTOCOL_HEADER_SIZE];
    uint8_t crc_le[FS_PROTOCOL_CRC_SIZE];
    header[0] = type;
    header[1] = seq;
    fs_protocol_put_u16(header + 2, (uint16_t)len);
    uint32_t crc = fs_crc32_update(0, header, sizeof header);
    crc = fs_crc32_update(crc, body, len);
    fs_protocol_put_u32(crc_le, crc);

    fs_cobs_encoder enc;
    size_t n;
    fs_cobs_encoder_init(&enc, out, cap - 1u); /* one byte left for the delimiter */
    fs_cobs_encoder_push(&enc, header, sizeof header);
    fs_cobs_encoder_push(&enc, body, len);
    fs_cobs_encoder_push(&enc, crc_le, sizeof crc_le);
    if (fs_cobs_encoder_finish(&enc, &n) != FS_COBS_OK) {
        return FS_PROTOCOL_OVERSIZE;
    }
    out[n++] = 0u;
    *out_len = n;
    return FS_PROTOCOL_OK;
}
