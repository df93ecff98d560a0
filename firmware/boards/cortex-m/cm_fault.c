/* Fault report: one plain-text line on the UART, written polled with interrupts off, then the
 * board's cm_board_fault_exit() (a reset on hardware, a semihosting exit under QEMU).
 *
 *   FAULT <kind> exc=<n> pc=<hex> lr=<hex> psr=<hex> sp=<hex> r0=.. r1=.. r2=.. r3=.. r12=..
 *         cfsr=<hex> hfsr=<hex> mmfar=<hex> bfar=<hex>          (all on one line)
 *
 * The line is preceded by a frame delimiter (0x00) so the host's decoder ends whatever frame it
 * was in; the host then sees one bad frame (the text) and, after the reset, the board's HELLO.
 * Unexpected interrupts come here too (kind "irq<k>"). Registers are those the core stacked at
 * exception entry (ARMv7-M B1.5.6); the stack pointer is checked first so that a report after a
 * stack overflow does not fault again. */
#include <stdint.h>

#include "cm.h"

void cm_fault_report(const uint32_t *frame, uint32_t exc_return);

/* Hand the stacked frame (MSP or PSP, per EXC_RETURN bit 2) and EXC_RETURN to C. */
__attribute__((naked)) void cm_fault_entry(void) {
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b cm_fault_report\n\t");
}

void cm_puts_polled(const char *s) {
    while (*s) cm_uart_putc_polled((uint8_t)*s++);
}

static void put_hex(const char *name, uint32_t v) {
    char buf[12];
    buf[0] = ' ';
    buf[1] = '\0';
    cm_puts_polled(buf);
    cm_puts_polled(name);
    buf[0] = '=';
    for (int i = 0; i < 8; i++) buf[1 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
    buf[9] = '\0';
    cm_puts_polled(buf);
}

static void put_dec(uint32_t v) {
    char buf[12];
    int n = 11;
    buf[n] = '\0';
    do {
        buf[--n] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v && n > 0);
    cm_puts_polled(buf + n);
}

static const char *kind(uint32_t exc) {
    switch (exc) {
        case 2: return "NMI";
        case 3: return "HardFault";
        case 4: return "MemManage";
        case 5: return "BusFault";
        case 6: return "UsageFault";
        case 11: return "SVCall";
        case 12: return "DebugMonitor";
        case 14: return "PendSV";
        case 15: return "SysTick";
        default: return exc >= 16 ? "irq" : "reserved";
    }
}

__attribute__((used, noreturn)) void cm_fault_report(const uint32_t *frame, uint32_t exc_return) {
    cm_disable_irq();
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    uint32_t exc = ipsr & 0x1FFu;

    cm_uart_putc_polled(0);
    cm_puts_polled("\r\nFAULT ");
    cm_puts_polled(kind(exc));
    if (exc >= 16) put_dec(exc - 16);
    cm_puts_polled(" exc=");
    put_dec(exc);
    uintptr_t sp = (uintptr_t)frame;
    int frame_ok = sp >= (uintptr_t)__stack_bottom && sp + 32u <= (uintptr_t)__stack_top;
    if (frame_ok) {
        put_hex("pc", frame[6]);
        put_hex("lr", frame[5]);
        put_hex("psr", frame[7]);
    }
    /* The stack pointer before the exception: past the 8-word (or, with FP state, 26-word)
     * frame, plus the alignment word when xPSR bit 9 says one was inserted. */
    uint32_t words = (exc_return & 0x10u) ? 8u : 26u;
    uint32_t pre_sp = (uint32_t)sp + 4u * words + (frame_ok && (frame[7] & 0x200u) ? 4u : 0u);
    put_hex("sp", pre_sp);
    if (frame_ok) {
        put_hex("r0", frame[0]);
        put_hex("r1", frame[1]);
        put_hex("r2", frame[2]);
        put_hex("r3", frame[3]);
        put_hex("r12", frame[4]);
    } else {
        cm_puts_polled(" stack-overflow");
    }
    put_hex("cfsr", SCB_CFSR);
    put_hex("hfsr", SCB_HFSR);
    put_hex("mmfar", SCB_MMFAR);
    put_hex("bfar", SCB_BFAR);
    put_hex("exc_return", exc_return);
    cm_puts_polled("\r\n");
    cm_uart_putc_polled(0);
    cm_board_fault_exit();
}

_Noreturn void cm_system_reset(void) {
    cm_dsb_isb();
    SCB_AIRCR = AIRCR_SYSRESETREQ;
    cm_dsb_isb();
    for (;;) {
    }
}
