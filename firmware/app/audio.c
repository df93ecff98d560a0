#include "audio.h"

static fs_audio serial_ring;

fs_audio *fs_audio_serial(void) { return &serial_ring; }

void fs_audio_clear(fs_audio *a) { a->tail = a->head; }

size_t fs_audio_available(const fs_audio *a) { return (size_t)(a->head - a->tail); }

bool fs_audio_write(fs_audio *a, const int16_t *pcm, size_t n) {
    uint32_t h = a->head;
    if (n > FS_AUDIO_RING_SAMPLES - (size_t)(h - a->tail)) return false;
    for (size_t i = 0; i < n; i++) a->data[(h + i) & (FS_AUDIO_RING_SAMPLES - 1u)] = pcm[i];
    __asm volatile("" ::: "memory"); /* data before index (in-order core: a compiler barrier) */
    a->head = h + (uint32_t)n;
    return true;
}

size_t fs_audio_read(fs_audio *a, int16_t *dst, size_t max) {
    uint32_t t = a->tail;
    size_t n = (size_t)(a->head - t);
    if (n > max) n = max;
    for (size_t i = 0; i < n; i++) dst[i] = a->data[(t + i) & (FS_AUDIO_RING_SAMPLES - 1u)];
    __asm volatile("" ::: "memory");
    a->tail = t + (uint32_t)n;
    return n;
}
