/* DWT cycle counter, stack high-water mark, start-up busy-wait. */
#include "cm.h"

void cm_dwt_start(void) {
    DEMCR |= DEMCR_TRCENA; /* power the DWT and ITM */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
}

size_t cm_stack_size(void) { return (size_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom); }

/* Bytes of stack ever used since reset: from the top down to the lowest overwritten word. */
size_t cm_stack_high_water(void) {
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == CM_STACK_PAINT) p++;
    return (size_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

void cm_spin(uint32_t n) {
    for (volatile uint32_t i = 0; i < n; i++) {
    }
}
