/* The serial link of every Cortex-M board (app/board.h), all but the registers: the board's
 * receive interrupt pushes each byte into cm_uart_rx (ring.h) and its cm_uart_putc_polled sends
 * one; reading, waiting and writing are the same on every chip. */
#include "board.h"
#include "cm.h"
#include "ring.h"

cm_ring cm_uart_rx;

uint8_t board_uart_getc(void) {
    for (;;) {
        if (!cm_ring_empty(&cm_uart_rx)) return cm_ring_pop(&cm_uart_rx);
        /* Sleep until an interrupt. With interrupts masked the check and the WFI cannot race: WFI
         * still wakes on a pending interrupt, so no wake-up is lost. */
        cm_disable_irq();
        if (cm_ring_empty(&cm_uart_rx)) cm_wfi();
        cm_enable_irq();
    }
}

bool board_uart_ready(void) { return !cm_ring_empty(&cm_uart_rx); }

fs_audio *board_audio_source(void) { return fs_audio_serial(); }

void board_uart_write(const uint8_t *data, size_t len) {
    while (len--) cm_uart_putc_polled(*data++);
}
