/* What a board supplies to the application (docs/boards.md): the protocol, runtime and scoring
 * never touch registers; each board implements these few functions. */
#ifndef FS_BOARD_H
#define FS_BOARD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio.h"

void board_init(void);
/* Next received byte, waiting for one (a board may sleep in between). */
uint8_t board_uart_getc(void);
/* True when a received byte is waiting, i.e. board_uart_getc() would return at once. MONITOR
 * mode processes audio only while nothing is waiting, so a live stream is never held up. */
bool board_uart_ready(void);
/* The audio MONITOR mode consumes (audio.h): the serial stream's ring on every board today. */
fs_audio *board_audio_source(void);
/* Send bytes; returns when they are queued or sent. */
void board_uart_write(const uint8_t *data, size_t len);
/* Free-running cycle counter (wraps; differences are taken modulo 2^32). */
uint32_t board_cycles(void);
/* Counter ticks per second: the core clock on hardware. */
uint32_t board_core_hz(void);
/* Board name reported in INFO, e.g. "nucleo-f446re". */
const char *board_name(void);

#endif
