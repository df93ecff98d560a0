/* firstshot int8 runtime: public API.
 *
 * Executes a standard TFLite flatbuffer (.tflite, schema version 3) held in a
 * const byte array, with TFLite Micro's integer arithmetic (bit-exact with
 * its reference kernels). No heap, no mutable globals: the caller owns the
 * model struct and one arena (declare it alignas(16)).
 *
 *   static alignas(16) uint8_t arena[16 * 1024];
 *   fs_model m;
 *   if (fs_model_load(&m, model_data, model_len, arena, sizeof arena) != FS_OK)
 *     puts(fs_model_message(&m));
 *   fs_tensor *in = fs_model_input(&m, 0);     // int8, in->bytes bytes
 *   memcpy(in->data, features, in->bytes);
 *   fs_model_invoke(&m);
 *   const fs_tensor *out = fs_model_output(&m, 0);
 *
 * The model bytes must stay valid and unchanged while the model is used
 * (weights are read in place, never copied). */
#ifndef FS_RUNTIME_H
#define FS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "fs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest tensor rank accepted (TFLite Micro's RuntimeShape also stops at 6). */
#define FS_MAX_DIMS 6
/* Length of the error message buffer inside fs_model, terminator included. */
#define FS_MSG_LEN 112

/* Tensor element types; the numbers are TFLite's TensorType values. */
typedef enum fs_type {
    FS_FLOAT32 = 0,
    FS_INT32 = 2,
    FS_UINT8 = 3,
    FS_INT64 = 4,
    FS_BOOL = 6,
    FS_INT16 = 7,
    FS_INT8 = 9
} fs_type;

/* Sizes, outermost first. `dims` points into the model's shape vector when
 * the model is 4-byte aligned (as exported C arrays are), else into a copy
 * in the arena; constant either way. */
typedef struct fs_shape {
    const int32_t *dims;
    uint32_t ndim; /* 0 = scalar */
} fs_shape;

/* One tensor as the runtime sees it. Read-only for callers except the bytes
 * behind `data` of an input tensor. */
typedef struct fs_tensor {
    uint8_t *data; /* in the arena, or in the model for constants (never written) */
    fs_shape shape;
    float scale;        /* quantization scale (first channel's if per-channel), 0 if none */
    int32_t zero_point; /* quantization zero point */
    uint32_t bytes;     /* element count times element size */
    uint8_t type;       /* fs_type */
    uint8_t flags;      /* FS_TENSOR_* below */
} fs_tensor;

/* fs_tensor.flags (the schema's Tensor field ids are FS_TFL_TENSOR_*, fs_schema.h). */
#define FS_TENSOR_CONST 1u        /* data comes from the model's buffers */
#define FS_TENSOR_INPUT 2u        /* a graph input */
#define FS_TENSOR_OUTPUT 4u       /* a graph output */
#define FS_TENSOR_WRITTEN 8u      /* produced by an operator (load-time graph check) */
#define FS_TENSOR_PER_CHANNEL 16u /* more than one quantization scale */

struct fs_op;

/* The model bytes as seen by the bounds-checked flatbuffer reader
 * (fs_flatbuffer.h); `bad` is sticky: once an access fails, every later
 * read returns defaults and the loader reports the failure. */
typedef struct fs_fb {
    const uint8_t *p;
    uint32_t len;
    uint8_t bad;
} fs_fb;

/* A loaded model. Caller-allocated (static or on the stack); every pointer
 * inside points into the model bytes or the arena. Treat as opaque. */
typedef struct fs_model {
    fs_fb fb; /* model bytes */
    uint8_t loaded;
    uint8_t *arena; /* as given */
    size_t arena_len;
    uint8_t *base;     /* arena start aligned to 16: planned activations and scratch */
    uint8_t *end;      /* arena end aligned down to 16 */
    uint8_t *tail;     /* persistent allocations grow down from end to here */
    size_t head_bytes; /* size of the planned region at base */
    size_t temp_bytes; /* peak temporary use at base while planning */
    fs_tensor *tensors;
    struct fs_op *ops;
    int16_t *inputs;
    int16_t *outputs;
    uint32_t n_tensors, n_ops, n_inputs, n_outputs;
    struct fs_fuse_block *fuse; /* residual blocks run row by row (fs_fuse.c) */
    uint32_t n_fuse;
    uint32_t fb_tensors; /* flatbuffer position of the subgraph's tensor vector */
    uint32_t fb_n_tensors;
    fs_status status;
    char msg[FS_MSG_LEN];
} fs_model;

/* Parse and validate the whole model, prepare every operator and plan the
 * arena. On failure returns the status and fs_model_message() says why in
 * one line; nothing outside [data, data+len) or [arena, arena+arena_len) is
 * ever read or written. `data` may have any alignment. */
fs_status fs_model_load(fs_model *m, const uint8_t *data, size_t len, uint8_t *arena,
                        size_t arena_len);

/* Run all operators once. */
fs_status fs_model_invoke(fs_model *m);

/* Per-op profiling: `cycles` is a caller-supplied free-running counter (a
 * board's DWT->CYCCNT, a monotonic clock on x86); op_cycles[i] receives the
 * counter difference around op i (wrap-around safe). Entries beyond
 * op_cycles_len are not written. */
typedef uint32_t (*fs_cycle_fn)(void *user);
fs_status fs_model_invoke_profiled(fs_model *m, fs_cycle_fn cycles, void *user, uint32_t *op_cycles,
                                   size_t op_cycles_len);

size_t fs_model_input_count(const fs_model *m);
size_t fs_model_output_count(const fs_model *m);
/* NULL if not loaded or index out of range. Write the input bytes through
 * ->data (exactly ->bytes bytes). Inputs and outputs may share arena memory
 * with other activations and with each other (TFLite Micro plans them the
 * same way: in ad01 the input and output occupy the same bytes), so: refill
 * the input before every invoke, and read (or copy) the output before
 * writing the next input. */
fs_tensor *fs_model_input(fs_model *m, size_t index);
const fs_tensor *fs_model_output(const fs_model *m, size_t index);

/* Arena bytes needed: an alignas(16) arena of exactly this size loads the
 * same model (0 if not loaded). */
size_t fs_model_arena_used(const fs_model *m);

size_t fs_model_op_count(const fs_model *m);
/* Builtin operator name of op i ("FULLY_CONNECTED", ...), "?" if out of range. */
const char *fs_model_op_name(const fs_model *m, size_t index);
/* TFLite BuiltinOperator code of op i (e.g. 9 = FULLY_CONNECTED), -1 if out of range. */
int32_t fs_model_op_code(const fs_model *m, size_t index);
/* Scratch bytes op i asked for at prepare time (planned inside the arena). */
size_t fs_model_op_scratch(const fs_model *m, size_t index);

/* Status of the last load/invoke and its one-line message ("ok" when fine). */
fs_status fs_model_status(const fs_model *m);
const char *fs_model_message(const fs_model *m);

/* Bytes per element of a tensor type, 0 for unknown types. */
size_t fs_type_size(int type);

#ifdef __cplusplus
}
#endif

#endif /* FS_RUNTIME_H */
