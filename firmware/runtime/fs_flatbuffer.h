/* A small bounds-checked reader for FlatBuffers, written from the format
 * description (no generated code). Only what the TFLite schema needs:
 * tables, scalar fields, offsets to tables, vectors of scalars and of tables.
 *
 * Every access checks its bytes against the buffer. A failed check sets the
 * sticky fs_fb.bad flag and yields a default (0 / empty), so validation code
 * can read a whole table and test the flag once. All multi-byte values are
 * read byte by byte (little endian), so the buffer may have any alignment. */
#ifndef FS_FLATBUFFER_H
#define FS_FLATBUFFER_H

#include <stdint.h>

#include "fs_runtime.h"

/* A table: pos = absolute position of its start (0 = absent), vt = position
 * of its vtable, vt_len/size = vtable length and inline object size in bytes. */
typedef struct fs_fbt {
    uint32_t pos, vt, vt_len, size;
} fs_fbt;

/* A vector: pos = position of element 0, n = element count (0 when absent). */
typedef struct fs_fbv {
    uint32_t pos, n;
} fs_fbv;

static inline uint16_t fs_ld_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fs_ld_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int32_t fs_ld_i32(const uint8_t *p) { return (int32_t)fs_ld_u32(p); }
static inline int64_t fs_ld_i64(const uint8_t *p) {
    return (int64_t)((uint64_t)fs_ld_u32(p) | ((uint64_t)fs_ld_u32(p + 4) << 32));
}
static inline float fs_ld_f32(const uint8_t *p) {
    union {
        uint32_t u;
        float f;
    } v;
    v.u = fs_ld_u32(p);
    return v.f;
}

void fs_fb_init(fs_fb *fb, const uint8_t *data, uint64_t len);
/* Root table; also checks the 4-byte file identifier at offset 4. */
fs_fbt fs_fb_root(fs_fb *fb, const char ident[4]);
/* Open the table starting at pos (validates its vtable). */
fs_fbt fs_fb_table_at(fs_fb *fb, uint32_t pos);

/* Absolute position of field `id` if present and fully inside the table, else 0. */
uint32_t fs_fb_field(fs_fb *fb, const fs_fbt *t, unsigned id, unsigned size);

uint8_t fs_fb_u8(fs_fb *fb, const fs_fbt *t, unsigned id, uint8_t def);
int32_t fs_fb_i32(fs_fb *fb, const fs_fbt *t, unsigned id, int32_t def);
uint32_t fs_fb_u32(fs_fb *fb, const fs_fbt *t, unsigned id, uint32_t def);
uint64_t fs_fb_u64(fs_fb *fb, const fs_fbt *t, unsigned id, uint64_t def);
float fs_fb_f32(fs_fb *fb, const fs_fbt *t, unsigned id, float def);

/* Sub-table reached through an offset field; pos 0 when absent. */
fs_fbt fs_fb_table(fs_fb *fb, const fs_fbt *t, unsigned id);
/* Vector reached through an offset field; elements of elem_size bytes. */
fs_fbv fs_fb_vector(fs_fb *fb, const fs_fbt *t, unsigned id, unsigned elem_size);
/* Element i of a vector of tables (i must be < v.n). */
fs_fbt fs_fb_vec_table(fs_fb *fb, fs_fbv v, uint32_t i);

/* Elements of validated vectors: i < v.n is the caller's duty. */
static inline int32_t fs_fb_vec_i32(const fs_fb *fb, fs_fbv v, uint32_t i) {
    return fs_ld_i32(fb->p + v.pos + 4u * i);
}
static inline int64_t fs_fb_vec_i64(const fs_fb *fb, fs_fbv v, uint32_t i) {
    return fs_ld_i64(fb->p + v.pos + 8u * i);
}
static inline float fs_fb_vec_f32(const fs_fb *fb, fs_fbv v, uint32_t i) {
    return fs_ld_f32(fb->p + v.pos + 4u * i);
}

#endif /* FS_FLATBUFFER_H */
