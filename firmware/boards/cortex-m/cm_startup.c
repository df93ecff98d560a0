/* Vector table and reset handler shared by the Cortex-M4 boards.
 *
 * Memory layout (sections.ld): the stack sits at the bottom of its RAM region, so an overflow
 * runs off the start of RAM into unmapped memory and faults instead of silently overwriting
 * .data/.bss. The reset handler enables the FPU, paints the stack (cm_stack_high_water), copies
 * .data, zeroes .bss and calls main(). */
#include <stdint.h>

#include "board_cfg.h" /* CM_NUM_IRQ, CM_UART_IRQN: per chip */
#include "cm.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
int main(void);
void cm_reset_handler(void);
void cm_fault_entry(void); /* cm_fault.c: every fault and every unexpected interrupt */
void board_uart_irq(void); /* the board's UART receive interrupt */
#ifdef CM_SYSTICK_HANDLER
void CM_SYSTICK_HANDLER(void);
#else
#define CM_SYSTICK_HANDLER cm_fault_entry
#endif

typedef void (*cm_handler)(void);
/* ARMv7-M B1.5.3: word 0 is the initial main stack pointer, word n the handler of exception n;
 * exception 16 + k is IRQ k. */
typedef struct {
    uint32_t *initial_sp;
    cm_handler handler[15 + CM_NUM_IRQ];
} cm_vector_table;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init" /* the default range, then the used ones */
__attribute__((section(".isr_vector"), used)) const cm_vector_table cm_vectors = {
    .initial_sp = __stack_top,
    .handler =
        {
            [0 ... 14 + CM_NUM_IRQ] = cm_fault_entry,
            [1 - 1] = cm_reset_handler,
            [15 - 1] = CM_SYSTICK_HANDLER,
            [16 + CM_UART_IRQN - 1] = board_uart_irq,
        },
};
#pragma GCC diagnostic pop

void cm_reset_handler(void) {
    /* FPU first: CP10 and CP11 full access (B3.2.20), before any floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    cm_dsb_isb();

    /* Paint the stack below our own frame. */
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; p < sp; p++) *p = CM_STACK_PAINT;

    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) *dst++ = *src++;
    for (uint32_t *dst = __bss_start; dst < __bss_end;) *dst++ = 0;

    SCB_VTOR = (uint32_t)(uintptr_t)&cm_vectors;
    SCB_SHCSR |= SHCSR_FAULTS_ENA; /* MemManage/BusFault/UsageFault get their own names */
    SCB_CCR |= CCR_DIV_0_TRP;      /* integer division by zero traps instead of giving 0 */
    cm_dsb_isb();

    main();
    for (;;) cm_wfi();
}
