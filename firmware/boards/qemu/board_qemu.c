/* QEMU netduinoplus2 board (STM32F405, RM0090).
 *
 * UART: USART1 on QEMU's first -serial. QEMU ignores the baud rate and the clock tree, and drops
 * bytes received before CR1.UE and CR1.RE are set, so the UART is enabled first thing and the
 * host waits for HELLO before it talks. QEMU delivers one byte at a time (the next only after DR
 * has been read), so nothing is ever overrun here.
 *
 * Cycle counter: QEMU models no DWT. TIM2 is a 32-bit timer that QEMU clocks at 1 GHz of
 * *virtual* time; with -icount shift=0 every instruction advances virtual time by exactly 1 ns,
 * so TIM2_CNT counts instructions executed (deterministic, run to run). board_core_hz() is
 * therefore 1e9 and "cycles" in RESULT/PROFILE are instructions under -icount shift=0 (without
 * -icount they are nanoseconds of host time). On a real F405 TIM2 would count APB1 timer clocks;
 * this board is for QEMU only.
 *
 * Faults: the report line goes to the UART, then QEMU exits with status 70 via semihosting
 * (so CI sees a crash as an exit code, not as a timeout). */
#include <stdint.h>

#include "board.h"
#include "board_cfg.h"
#include "cm.h"
#include "cm_semihost.h"
#include "ring.h"

/* RCC (RM0090 7.3): QEMU leaves it unimplemented; written so the intent is explicit. */
#define RCC_APB1ENR CM_REG(0x40023840u)
#define RCC_APB2ENR CM_REG(0x40023844u)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB2ENR_USART1EN (1u << 4)

/* USART1 (RM0090 30.6). */
#define USART1_SR CM_REG(0x40011000u)
#define USART1_DR CM_REG(0x40011004u)
#define USART1_BRR CM_REG(0x40011008u)
#define USART1_CR1 CM_REG(0x4001100Cu)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define SR_ORE (1u << 3)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define CR1_UE (1u << 13)

/* TIM2 (RM0090 18.4): 32-bit general-purpose timer. */
#define TIM2_CR1 CM_REG(0x40000000u)
#define TIM2_EGR CM_REG(0x40000014u)
#define TIM2_CNT CM_REG(0x40000024u)
#define TIM2_PSC CM_REG(0x40000028u)
#define TIM2_ARR CM_REG(0x4000002Cu)

void board_init(void) {
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;

    TIM2_PSC = 0;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = 1u; /* UG: load the prescaler */
    TIM2_CR1 = 1u; /* CEN */

    USART1_BRR = 0x2D9u; /* 115200 at 84 MHz on real silicon; QEMU ignores it */
    USART1_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    cm_irq_enable(CM_UART_IRQN);
}

void board_uart_irq(void) {
    while (USART1_SR & (SR_RXNE | SR_ORE)) cm_ring_push(&cm_uart_rx, (uint8_t)USART1_DR);
}

void cm_uart_putc_polled(uint8_t c) {
    while (!(USART1_SR & SR_TXE)) {
    }
    USART1_DR = c;
}

uint32_t board_cycles(void) { return TIM2_CNT; }

uint32_t board_core_hz(void) { return 1000000000u; }

const char *board_name(void) { return "qemu"; }

_Noreturn void cm_board_fault_exit(void) { cm_semihost_exit(70); }
