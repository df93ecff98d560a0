/* Bounds-checked FlatBuffers reader (see fs_flatbuffer.h).
 *
 * Format facts used (FlatBuffers binary format):
 *  - offset 0: uoffset (u32) to the root table; offset 4: file identifier.
 *  - a table starts with an soffset (i32): vtable position = table - soffset.
 *  - a vtable is u16 vtable length in bytes, u16 inline object size, then one
 *    u16 per field: the field's offset from the table start, 0 = absent.
 *  - offset fields (tables, vectors, strings) hold a u32 relative to the
 *    field's own position, pointing forward.
 *  - a vector starts with a u32 element count, elements follow. */
#include "fs_flatbuffer.h"

#include <string.h>

static const fs_fbt fs_fbt_absent = {0, 0, 0, 0};

void fs_fb_init(fs_fb *fb, const uint8_t *data, uint64_t len) {
    fb->p = data;
    fb->bad = 0;
    /* Positions are u32; anything larger than 2 GiB is not a flatbuffer TFLite
     * writes without external buffers anyway. */
    if (data == NULL || len > 0x7fffffffu) {
        fb->len = 0;
        fb->bad = 1;
    } else {
        fb->len = (uint32_t)len;
    }
}

/* Is [pos, pos+size) inside the buffer? Written to avoid overflow. */
static int fs_fb_in(const fs_fb *fb, uint64_t pos, uint64_t size) {
    return pos <= fb->len && size <= (uint64_t)fb->len - pos;
}

fs_fbt fs_fb_table_at(fs_fb *fb, uint32_t pos) {
    fs_fbt t;
    if (fb->bad || pos == 0 || !fs_fb_in(fb, pos, 4)) goto bad;
    {
        int64_t vt = (int64_t)pos - (int64_t)fs_ld_i32(fb->p + pos);
        if (vt < 0 || !fs_fb_in(fb, (uint64_t)vt, 4)) goto bad;
        t.pos = pos;
        t.vt = (uint32_t)vt;
        t.vt_len = fs_ld_u16(fb->p + t.vt);
        t.size = fs_ld_u16(fb->p + t.vt + 2);
        if (t.vt_len < 4 || (t.vt_len & 1u) || !fs_fb_in(fb, t.vt, t.vt_len)) goto bad;
        if (t.size < 4 || !fs_fb_in(fb, pos, t.size)) goto bad;
        return t;
    }
bad:
    fb->bad = 1;
    return fs_fbt_absent;
}

fs_fbt fs_fb_root(fs_fb *fb, const char ident[4]) {
    if (fb->bad || !fs_fb_in(fb, 0, 8)) {
        fb->bad = 1;
        return fs_fbt_absent;
    }
    if (memcmp(fb->p + 4, ident, 4) != 0) return fs_fbt_absent; /* caller reports */
    return fs_fb_table_at(fb, fs_ld_u32(fb->p));
}

uint32_t fs_fb_field(fs_fb *fb, const fs_fbt *t, unsigned id, unsigned size) {
    if (fb->bad || t->pos == 0) return 0;
    uint32_t slot = 4u + 2u * id;
    if (slot + 2u > t->vt_len) return 0; /* older writer: field absent */
    uint32_t off = fs_ld_u16(fb->p + t->vt + slot);
    if (off == 0) return 0;
    if (off < 4u || (uint64_t)off + size > t->size) {
        fb->bad = 1;
        return 0;
    }
    return t->pos + off;
}

uint8_t fs_fb_u8(fs_fb *fb, const fs_fbt *t, unsigned id, uint8_t def) {
    uint32_t f = fs_fb_field(fb, t, id, 1);
    return f ? fb->p[f] : def;
}

int32_t fs_fb_i32(fs_fb *fb, const fs_fbt *t, unsigned id, int32_t def) {
    uint32_t f = fs_fb_field(fb, t, id, 4);
    return f ? fs_ld_i32(fb->p + f) : def;
}

uint32_t fs_fb_u32(fs_fb *fb, const fs_fbt *t, unsigned id, uint32_t def) {
    uint32_t f = fs_fb_field(fb, t, id, 4);
    return f ? fs_ld_u32(fb->p + f) : def;
}

uint64_t fs_fb_u64(fs_fb *fb, const fs_fbt *t, unsigned id, uint64_t def) {
    uint32_t f = fs_fb_field(fb, t, id, 8);
    return f ? (uint64_t)fs_ld_i64(fb->p + f) : def;
}

float fs_fb_f32(fs_fb *fb, const fs_fbt *t, unsigned id, float def) {
    uint32_t f = fs_fb_field(fb, t, id, 4);
    return f ? fs_ld_f32(fb->p + f) : def;
}

/* Follow the u32 offset stored at position f. */
static uint32_t fs_fb_deref(fs_fb *fb, uint32_t f) {
    uint64_t target = (uint64_t)f + fs_ld_u32(fb->p + f);
    if (target == f || !fs_fb_in(fb, target, 4)) {
        fb->bad = 1;
        return 0;
    }
    return (uint32_t)target;
}

fs_fbt fs_fb_table(fs_fb *fb, const fs_fbt *t, unsigned id) {
    uint32_t f = fs_fb_field(fb, t, id, 4);
    if (f == 0) return fs_fbt_absent;
    uint32_t pos = fs_fb_deref(fb, f);
    if (pos == 0) return fs_fbt_absent;
    return fs_fb_table_at(fb, pos);
}

static fs_fbv fs_fb_vector_at(fs_fb *fb, uint32_t pos, unsigned elem_size) {
    fs_fbv v = {0, 0};
    uint32_t n = fs_ld_u32(fb->p + pos);
    if (!fs_fb_in(fb, (uint64_t)pos + 4u, (uint64_t)n * elem_size)) {
        fb->bad = 1;
        return v;
    }
    v.pos = pos + 4u;
    v.n = n;
    return v;
}

fs_fbv fs_fb_vector(fs_fb *fb, const fs_fbt *t, unsigned id, unsigned elem_size) {
    fs_fbv v = {0, 0};
    uint32_t f = fs_fb_field(fb, t, id, 4);
    if (f == 0) return v;
    uint32_t pos = fs_fb_deref(fb, f);
    if (pos == 0) return v;
    return fs_fb_vector_at(fb, pos, elem_size);
}

fs_fbt fs_fb_vec_table(fs_fb *fb, fs_fbv v, uint32_t i) {
    if (fb->bad || i >= v.n) {
        fb->bad = 1;
        return fs_fbt_absent;
    }
    uint32_t pos = fs_fb_deref(fb, v.pos + 4u * i);
    if (pos == 0) return fs_fbt_absent;
    return fs_fb_table_at(fb, pos);
}
