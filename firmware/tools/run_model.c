/* run-model: run a .tflite model with the firstshot runtime on x86.
 *
 *   run-model [--count N] [--profile] [--arena BYTES] MODEL.tflite < in.bin > out.bin
 *
 * Reads N times the raw bytes of input tensor 0 from stdin (N = 1 unless
 * --count), runs the model on each, writes the raw bytes of output tensor 0
 * for each run to stdout (concatenated), and prints "arena_bytes N" to
 * stderr. To prove the reported arena figure, the model is loaded a second
 * time into an arena of exactly that many bytes and all runs use it.
 *
 * Exit status: 0 ok, 1 usage or I/O error, 2 model refused (one-line
 * message on stderr), 3 wrong input size, 4 run failed.
 *
 * This tool may use the heap and stdio; the runtime itself does not. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_runtime.h"

static uint32_t now_ns(void *user) {
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Reads exactly n bytes; returns how many were read (short at EOF). */
static size_t read_exact(uint8_t *dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t r = fread(dst + got, 1, n - got, stdin);
        if (r == 0) break;
        got += r;
    }
    return got;
}

static void usage(void) {
    fputs(
        "usage: run-model [--count N] [--profile] [--arena BYTES] MODEL.tflite < input.bin > "
        "output.bin\n",
        stderr);
}

/* All exits after allocation go through `done` so the sanitizer build
 * (LeakSanitizer) sees nothing left behind. */
int main(int argc, char **argv) {
    long count = 1;
    int profile = 0, rc = 1;
    size_t arena_len = 8u << 20;
    const char *path = NULL;
    uint8_t *model = NULL, *arena = NULL, *buf = NULL;
    uint32_t *cycles = NULL;
    uint64_t *total = NULL;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            count = strtol(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--arena") && i + 1 < argc) {
            arena_len = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--profile")) {
            profile = 1;
        } else if (argv[i][0] == '-' || path) {
            usage();
            return 1;
        } else {
            path = argv[i];
        }
    }
    if (!path || count < 1 || arena_len == 0) {
        usage();
        return 1;
    }
    size_t model_len = 0;
    uint8_t *file = read_file(path, &model_len);
    if (!file) {
        fprintf(stderr, "run-model: cannot read %s\n", path);
        return 1;
    }
    /* Copy into 16-byte aligned memory, as the exported C arrays are. */
    model = aligned_alloc(16, (model_len + 16u) & ~(size_t)15u);
    if (model) memcpy(model, file, model_len);
    free(file);
    arena = aligned_alloc(16, (arena_len + 15u) & ~(size_t)15u);
    if (!model || !arena) goto done;

    fs_model m;
    rc = 2;
    if (fs_model_load(&m, model, model_len, arena, arena_len) != FS_OK) {
        fprintf(stderr, "run-model: %s: %s\n", path, fs_model_message(&m));
        goto done;
    }
    /* Reload into an arena of exactly the reported size and run from there. */
    const size_t used = fs_model_arena_used(&m);
    free(arena);
    arena = aligned_alloc(16, used);
    if (!arena) {
        rc = 1;
        goto done;
    }
    if (fs_model_load(&m, model, model_len, arena, used) != FS_OK) {
        fprintf(stderr, "run-model: %s: reported arena of %zu bytes is too small: %s\n", path, used,
                fs_model_message(&m));
        goto done;
    }
    fprintf(stderr, "arena_bytes %zu\n", used);
    if (fs_model_input_count(&m) != 1) {
        fprintf(stderr, "run-model: %s: model has %zu inputs, run-model feeds exactly one\n", path,
                fs_model_input_count(&m));
        goto done;
    }
    fs_tensor *in = fs_model_input(&m, 0);
    const fs_tensor *out = fs_model_output(&m, 0);
    const size_t n_ops = fs_model_op_count(&m);
    cycles = calloc(n_ops, sizeof *cycles);
    total = calloc(n_ops, sizeof *total);
    buf = malloc(in->bytes ? in->bytes : 1);
    rc = 1;
    if (!cycles || !total || !buf) goto done;
    for (long r = 0; r < count; ++r) {
        const size_t got = read_exact(buf, in->bytes);
        if (got != in->bytes) {
            fprintf(stderr, "run-model: input %ld: got %zu bytes, model input is %u bytes\n", r,
                    got, in->bytes);
            rc = 3;
            goto done;
        }
        memcpy(in->data, buf, in->bytes);
        if (fs_model_invoke_profiled(&m, now_ns, NULL, cycles, n_ops) != FS_OK) {
            fprintf(stderr, "run-model: %s\n", fs_model_message(&m));
            rc = 4;
            goto done;
        }
        for (size_t i = 0; i < n_ops; ++i) total[i] += cycles[i];
        if (fwrite(out->data, 1, out->bytes, stdout) != out->bytes) goto done;
    }
    {
        uint8_t extra;
        if (fread(&extra, 1, 1, stdin) == 1) {
            fprintf(stderr, "run-model: more input than %ld x %u bytes\n", count, in->bytes);
            rc = 3;
            goto done;
        }
    }
    if (profile) {
        for (size_t i = 0; i < n_ops; ++i)
            fprintf(stderr, "op %zu %s scratch %zu ns %llu\n", i, fs_model_op_name(&m, i),
                    fs_model_op_scratch(&m, i), (unsigned long long)(total[i] / (uint64_t)count));
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    free(buf);
    free(cycles);
    free(total);
    free(arena);
    free(model);
    return rc;
}
