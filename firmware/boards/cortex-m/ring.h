/* Single-producer single-consumer byte ring: the UART receive interrupt pushes, the main loop
 * pops. Indices run freely (modulo 2^32) and the size is a power of two, so no lock is needed on
 * a single core: each side writes only its own index, after the data it publishes. */
#ifndef FS_CM_RING_H
#define FS_CM_RING_H
#include <stdbool.h>
#include <stdint.h>

#ifndef CM_RING_BYTES
#define CM_RING_BYTES 4096u /* >= two 2066-byte protocol frames on the wire */
#endif
_Static_assert((CM_RING_BYTES & (CM_RING_BYTES - 1u)) == 0, "ring size must be a power of two");

typedef struct {
    volatile uint32_t head;    /* written by the producer (ISR) */
    volatile uint32_t tail;    /* written by the consumer (main loop) */
    volatile uint32_t dropped; /* bytes lost because the ring was full */
    uint8_t data[CM_RING_BYTES];
} cm_ring;

static inline bool cm_ring_empty(const cm_ring *r) { return r->head == r->tail; }

static inline void cm_ring_push(cm_ring *r, uint8_t byte) {
    uint32_t h = r->head;
    if (h - r->tail >= CM_RING_BYTES) {
        r->dropped++;
        return;
    }
    r->data[h & (CM_RING_BYTES - 1u)] = byte;
    __asm volatile("" ::: "memory"); /* data before index (in-order core: a compiler barrier) */
    r->head = h + 1u;
}

/* Call only when not empty. */
static inline uint8_t cm_ring_pop(cm_ring *r) {
    uint32_t t = r->tail;
    uint8_t byte = r->data[t & (CM_RING_BYTES - 1u)];
    __asm volatile("" ::: "memory");
    r->tail = t + 1u;
    return byte;
}

/* The UART receive ring of the Cortex-M boards (cm_uart.c): the board's receive interrupt pushes,
 * board_uart_getc pops. */
extern cm_ring cm_uart_rx;

#endif
