/* libFuzzer harness for the model loader (fs_model_load) and, for models it
 * accepts, one inference.
 *
 * Properties checked on every input:
 *  - the loader never reads outside the model bytes or writes outside the
 *    arena (ASan: the input is libFuzzer's exactly-sized buffer, and an
 *    accepted model is reloaded into a heap arena of exactly
 *    fs_model_arena_used() bytes before it runs);
 *  - a refusal comes with a status other than FS_OK and a one-line,
 *    terminated message; an acceptance reports a nonzero arena size;
 *  - inference of an accepted model stays inside its arena (ASan, UBSan).
 *
 * Build: make -C firmware fuzz (clang, -fsanitize=fuzzer,address,undefined),
 * or with -DFS_FUZZ_STANDALONE_MAIN to replay files without libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_runtime.h"

#define FS_FUZZ_CHECK(cond)                                                          \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* Inference on fuzzed models is skipped above this arena size to keep each
 * run fast (a fuzzed conv can claim much work from few bytes). */
#define FS_FUZZ_RUN_ARENA_MAX (48u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static _Alignas(16) uint8_t big_arena[256u * 1024u];
    fs_model m;
    const fs_status s = fs_model_load(&m, data, size, big_arena, sizeof big_arena);
    const char *msg = fs_model_message(&m);
    FS_FUZZ_CHECK(msg != NULL);
    const char *nul = memchr(msg, 0, FS_MSG_LEN);
    FS_FUZZ_CHECK(nul != NULL);
    const size_t len = (size_t)(nul - msg);
    FS_FUZZ_CHECK(memchr(msg, '\n', len) == NULL);
    if (s != FS_OK) {
        FS_FUZZ_CHECK(fs_model_arena_used(&m) == 0);
        FS_FUZZ_CHECK(fs_model_input(&m, 0) == NULL);
        FS_FUZZ_CHECK(fs_model_invoke(&m) == FS_ERR_NOT_LOADED);
        return 0;
    }
    const size_t used = fs_model_arena_used(&m);
    FS_FUZZ_CHECK(used > 0 && used <= sizeof big_arena);
    if (used > FS_FUZZ_RUN_ARENA_MAX) return 0;

    /* Reload into an arena of exactly the reported size and run once. */
    uint8_t *arena = aligned_alloc(16, used);
    FS_FUZZ_CHECK(arena != NULL);
    FS_FUZZ_CHECK(fs_model_load(&m, data, size, arena, used) == FS_OK);
    for (size_t i = 0; i < fs_model_input_count(&m); ++i) {
        fs_tensor *in = fs_model_input(&m, i);
        for (uint32_t b = 0; b < in->bytes; ++b) in->data[b] = (uint8_t)(b * 37u + size);
    }
    FS_FUZZ_CHECK(fs_model_invoke(&m) == FS_OK);
    free(arena);
    return 0;
}

#ifdef FS_FUZZ_STANDALONE_MAIN
/* Replay: run every file named on the command line through the harness. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 2;
        }
        size_t cap = 1u << 20;
        uint8_t *buf = malloc(cap);
        size_t n = buf ? fread(buf, 1, cap, f) : 0;
        const int too_big = buf && !feof(f);
        const int bad = !buf || ferror(f);
        fclose(f);
        if (bad || too_big) {
            fprintf(stderr, "%s: %s\n", argv[i], bad ? "read error" : "larger than 1 MiB");
            free(buf);
            return 2;
        }
        /* Exactly-sized copy so ASan sees any read past the end. */
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) return 2;
        memcpy(exact, buf, n);
        free(buf);
        (void)LLVMFuzzerTestOneInput(exact, n);
        free(exact);
        printf("ok %s (%zu bytes)\n", argv[i], n);
    }
    return 0;
}
#endif
