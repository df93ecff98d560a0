/* The audio source of MONITOR mode: a ring of 16-kHz mono int16 samples between the producer
 * that receives audio and the monitor that consumes it, 512 samples (one log-mel hop) at a time.
 *
 * Every board today returns the serial stream's ring from board_audio_source() (board.h): the
 * application writes the samples of received PCM frames into it. A microphone driver
 * (I2S/SAI/DFSDM with DMA) returns a ring its interrupt fills instead, and nothing in app/
 * changes: the monitor only ever reads through fs_audio_read().
 *
 * Single producer, single consumer: indices run freely modulo 2^32, each side writes only its
 * own, after the data it publishes, so an interrupt may produce while the main loop consumes. */
#ifndef FS_AUDIO_H
#define FS_AUDIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FS_AUDIO_RING_SAMPLES
#define FS_AUDIO_RING_SAMPLES 4096u /* 256 ms: room for two 1024-sample PCM frames and more */
#endif
_Static_assert((FS_AUDIO_RING_SAMPLES & (FS_AUDIO_RING_SAMPLES - 1u)) == 0,
               "the audio ring's size is a power of two");

typedef struct {
    volatile uint32_t head; /* samples written (producer) */
    volatile uint32_t tail; /* samples read (consumer) */
    int16_t data[FS_AUDIO_RING_SAMPLES];
} fs_audio;

/* The ring of the serial stream (static storage), what board_audio_source() returns today. */
fs_audio *fs_audio_serial(void);
/* Empty the ring (consumer side, with the producer quiet: at a session's start or overrun). */
void fs_audio_clear(fs_audio *a);
size_t fs_audio_available(const fs_audio *a);
/* All n samples, or none when they do not fit (returns false: the caller counts an overrun). */
bool fs_audio_write(fs_audio *a, const int16_t *pcm, size_t n);
/* Up to max samples into dst; returns how many. */
size_t fs_audio_read(fs_audio *a, int16_t *dst, size_t max);

#endif
