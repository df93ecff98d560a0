#include "cobs.h"

/* Reserve one output byte; false (and overflow set) if dst is full. */
static bool fs_cobs_encoder_reserve(fs_cobs_encoder *ctx, size_t *pos) {
    if (ctx->overflow || ctx->o >= ctx->cap) {
        ctx->overflow = true;
        return false;
    }
    *pos = ctx->o++;
    return true;
}

void fs_cobs_encoder_init(fs_cobs_encoder *ctx, uint8_t *dst, size_t cap) {
    ctx->dst = dst;
    ctx->cap = cap;
    ctx->o = 0;
    ctx->code_pos = 0;
    ctx->code = 1u;
    ctx->full = false;
    ctx->overflow = false;
    (void)fs_cobs_encoder_reserve(ctx, &ctx->code_pos);
}

void fs_cobs_encoder_push(fs_cobs_encoder *ctx, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len && !ctx->overflow; i++) {
        size_t pos;
        if (ctx->full) {
            /* Open the next piece only now: a full piece at the very end needs no successor. */
            if (!fs_cobs_encoder_reserve(ctx, &ctx->code_pos)) {
                return;
            }
            ctx->code = 1u;
            ctx->full = false;
        }
        if (data[i] == 0u) {
            ctx->dst[ctx->code_pos] = ctx->code;
            if (!fs_cobs_encoder_reserve(ctx, &ctx->code_pos)) {
                return;
            }
            ctx->code = 1u;
        } else {
            if (!fs_cobs_encoder_reserve(ctx, &pos)) {
                return;
            }
            ctx->dst[pos] = data[i];
            ctx->code++;
            if (ctx->code == 0xFFu) {
                ctx->dst[ctx->code_pos] = 0xFFu;
                ctx->full = true;
            }
        }
    }
}

fs_cobs_status fs_cobs_encoder_finish(fs_cobs_encoder *ctx, size_t *out_len) {
    *out_len = 0;
    if (ctx->overflow) {
        return FS_COBS_OVERFLOW;
    }
    if (!ctx->full) {
        ctx->dst[ctx->code_pos] = ctx->code;
    }
    *out_len = ctx->o;
    return FS_COBS_OK;
}

fs_cobs_status fs_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                              size_t *out_len) {
    fs_cobs_encoder enc;
    fs_cobs_encoder_init(&enc, dst, cap);
    fs_cobs_encoder_push(&enc, src, len);
    return fs_cobs_encoder_finish(&enc, out_len);
}

void fs_cobs_decoder_reset(fs_cobs_decoder *ctx) {
    ctx->left = 0;
    ctx->zero_pending = false;
}

bool fs_cobs_decoder_push(fs_cobs_decoder *ctx, uint8_t byte, uint8_t *out) {
    if (ctx->left > 0u) {
        ctx->left--;
        *out = byte;
        return true;
    }
    /* A code byte: it starts a new piece, so the previous piece's implicit zero is real. */
    bool emit = ctx->zero_pending;
    ctx->left = (uint8_t)(byte - 1u);
    ctx->zero_pending = byte != 0xFFu;
    if (emit) {
        *out = 0u;
    }
    return emit;
}

bool fs_cobs_decoder_complete(const fs_cobs_decoder *ctx) { return ctx->left == 0u; }

fs_cobs_status fs_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap,
                              size_t *out_len) {
    fs_cobs_decoder dec;
    size_t o = 0;
    *out_len = 0;
    fs_cobs_decoder_reset(&dec);
    for (size_t i = 0; i < len; i++) {
        uint8_t b;
        if (src[i] == 0u) {
            return FS_COBS_INVALID;
        }
        if (fs_cobs_decoder_push(&dec, src[i], &b)) {
            if (o >= cap) {
                return FS_COBS_OVERFLOW;
            }
            dst[o++] = b;
        }
    }
    if (!fs_cobs_decoder_complete(&dec)) {
        return FS_COBS_INVALID;
    }
    *out_len = o;
    return FS_COBS_OK;
}
