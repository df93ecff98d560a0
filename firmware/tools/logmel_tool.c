/* x86 test tool: int16 LE PCM on stdin -> float32 log-mel frames (n_mels each) on stdout,
 * through the streaming front end in chunks of a size given as argv[1] (default 1000 samples),
 * so tests exercise frames that straddle chunk boundaries. */
#include <stdio.h>
#include <stdlib.h>

#include "logmel.h"

static int write_frame(void *user, const float *logmel) {
    (void)user;
    return fwrite(logmel, sizeof(float), FS_FEAT_N_MELS, stdout) == FS_FEAT_N_MELS ? 0 : 1;
}

int main(int argc, char **argv) {
    static fs_logmel ctx;
    static int16_t chunk[65536];
    long size = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    if (size <= 0 || size > 65536) {
        fprintf(stderr, "logmel-tool: chunk size must be 1..65536\n");
        return 2;
    }
    fs_logmel_reset(&ctx);
    size_t n;
    while ((n = fread(chunk, sizeof(int16_t), (size_t)size, stdin)) > 0) {
        if (fs_logmel_push(&ctx, chunk, n, write_frame, NULL)) return 1;
    }
    if (fs_logmel_finish(&ctx, write_frame, NULL)) return 1;
    fprintf(stderr, "frames %u samples %u\n", ctx.frames, ctx.samples);
    return 0;
}
