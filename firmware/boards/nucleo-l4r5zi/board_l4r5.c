/* NUCLEO-L4R5ZI (MB1312): STM32L4R5ZI, register facts from RM0432 and datasheet DS12023.
 *
 * Clock: HSI16 -> PLL: 16 MHz / M=2 = 8 MHz VCO input, x N=30 = 240 MHz VCO, / R=2 = 120 MHz
 * SYSCLK = HCLK = PCLK1 = PCLK2. Above 80 MHz the regulator must be in range 1 *boost* mode
 * (PWR_CR5.R1MODE = 0) with 5 flash wait states (RM0432 table 12), and the switch goes through
 * HCLK = SYSCLK / 2 for at least 1 us (RM0432 5.1.8).
 *
 * UART: LPUART1 on PG7 (TX) / PG8 (RX), alternate function 8, wired to the ST-LINK virtual COM
 * port (UM2179). Port G pins 2-15 are powered by VddIO2, which must be declared valid
 * (PWR_CR2.IOSV) before they work. Kernel clock PCLK1 = 120 MHz; 921600 baud 8N1:
 * BRR = 256 * 120 MHz / 921600 = 33333 (error < 0.001 %). Receive by interrupt into a ring
 * buffer; transmit polled. Cycle counter: DWT CYCCNT at 120 MHz. */
#include <stdint.h>

#include "board.h"
#include "board_cfg.h"
#include "cm.h"
#include "ring.h"

#define CORE_HZ 120000000u
#define BAUD 921600u

/* RCC (RM0432 6.4), base 0x40021000. */
#define RCC_CR CM_REG(0x40021000u)
#define RCC_CFGR CM_REG(0x40021008u)
#define RCC_PLLCFGR CM_REG(0x4002100Cu)
#define RCC_AHB2ENR CM_REG(0x4002104Cu)
#define RCC_APB1ENR1 CM_REG(0x40021058u)
#define RCC_APB1ENR2 CM_REG(0x4002105Cu)
#define RCC_CCIPR CM_REG(0x40021088u)
#define CR_HSION (1u << 8)
#define CR_HSIRDY (1u << 10)
#define CR_PLLON (1u << 24)
#define CR_PLLRDY (1u << 25)
/* PLLCFGR: PLLSRC [1:0] (2 = HSI16), PLLM [7:4] (divide by PLLM + 1), PLLN [14:8],
 * PLLREN bit 24, PLLR [26:25] (0 = /2). */
#define PLLCFGR_VALUE (2u | (2u - 1u) << 4 | 30u << 8 | 1u << 24 | 0u << 25)
/* CFGR: SW [1:0] (3 = PLL), SWS [3:2], HPRE [7:4] (0 = /1, 8 = /2), PPRE1 [10:8], PPRE2 [13:11]
 * (0 = /1). */
#define CFGR_SW_MASK 3u
#define CFGR_SW_PLL 3u
#define CFGR_SWS_MASK (3u << 2)
#define CFGR_SWS_PLL (3u << 2)
#define CFGR_HPRE_MASK (0xFu << 4)
#define CFGR_HPRE_DIV2 (8u << 4)
#define CFGR_PPRE_MASK (0x3Fu << 8)
#define AHB2ENR_GPIOGEN (1u << 6)
#define APB1ENR1_PWREN (1u << 28)
#define APB1ENR2_LPUART1EN (1u << 0)
#define CCIPR_LPUART1SEL_MASK (3u << 10) /* 0 = PCLK1 */

/* PWR (RM0432 5.4), base 0x40007000. */
#define PWR_CR1 CM_REG(0x40007000u)
#define PWR_CR2 CM_REG(0x40007004u)
#define PWR_SR2 CM_REG(0x40007014u)
#define PWR_CR5 CM_REG(0x40007080u)
#define PWR_CR1_VOS_MASK (3u << 9)
#define PWR_CR1_VOS_RANGE1 (1u << 9)
#define PWR_CR2_IOSV (1u << 9)
#define PWR_SR2_VOSF (1u << 10)
#define PWR_CR5_R1MODE (1u << 8) /* 1 = range 1 normal, 0 = range 1 boost */

/* FLASH_ACR (RM0432 3.7.1): LATENCY [3:0], PRFTEN bit 8, ICEN bit 9, DCEN bit 10. */
#define FLASH_ACR CM_REG(0x40022000u)
#define ACR_LATENCY_5WS 5u
#define ACR_PRFTEN (1u << 8)
#define ACR_ICEN (1u << 9)
#define ACR_DCEN (1u << 10)

/* GPIOG (RM0432 8.5), base 0x48001800: MODER (reset: all analog, 3), OSPEEDR, PUPDR: 2 bits per
 * pin; AFRL pins 0-7, AFRH pins 8-15: 4 bits per pin. */
#define GPIOG_MODER CM_REG(0x48001800u)
#define GPIOG_OSPEEDR CM_REG(0x48001808u)
#define GPIOG_PUPDR CM_REG(0x4800180Cu)
#define GPIOG_AFRL CM_REG(0x48001820u)
#define GPIOG_AFRH CM_REG(0x48001824u)

/* LPUART1 (RM0432 50.7), base 0x40008000. */
#define LPUART1_CR1 CM_REG(0x40008000u)
#define LPUART1_BRR CM_REG(0x4000800Cu)
#define LPUART1_ISR CM_REG(0x4000801Cu)
#define LPUART1_ICR CM_REG(0x40008020u)
#define LPUART1_RDR CM_REG(0x40008024u)
#define LPUART1_TDR CM_REG(0x40008028u)
#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define ISR_ERRORS (0xFu) /* PE, FE, NE, ORE: bits 0-3, cleared through ICR */
#define ISR_RXNE (1u << 5)
#define ISR_TC (1u << 6)
#define ISR_TXE (1u << 7)

static void wait_set(volatile uint32_t *reg, uint32_t mask) {
    for (uint32_t spins = 1000000u; spins && (*reg & mask) != mask; spins--) {
    }
}

static void clock_init(void) {
    RCC_APB1ENR1 |= APB1ENR1_PWREN;
    (void)RCC_APB1ENR1;
    PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_MASK) | PWR_CR1_VOS_RANGE1; /* the reset default */
    while (PWR_SR2 & PWR_SR2_VOSF) {
    }

    RCC_CR |= CR_HSION;
    wait_set(&RCC_CR, CR_HSIRDY);
    RCC_PLLCFGR = PLLCFGR_VALUE;
    RCC_CR |= CR_PLLON;
    wait_set(&RCC_CR, CR_PLLRDY);

    /* Boost (RM0432 5.1.8): HCLK = SYSCLK / 2 first, R1MODE = 0, wait states, switch, >= 1 us,
     * then HCLK = SYSCLK. */
    RCC_CFGR = (RCC_CFGR & ~(CFGR_HPRE_MASK | CFGR_PPRE_MASK)) | CFGR_HPRE_DIV2;
    PWR_CR5 &= ~PWR_CR5_R1MODE;
    FLASH_ACR = ACR_LATENCY_5WS | ACR_PRFTEN | ACR_ICEN | ACR_DCEN;
    while ((FLASH_ACR & 0xFu) != ACR_LATENCY_5WS) {
    }
    RCC_CFGR = (RCC_CFGR & ~CFGR_SW_MASK) | CFGR_SW_PLL;
    while ((RCC_CFGR & CFGR_SWS_MASK) != CFGR_SWS_PLL) {
    }
    cm_spin(200u); /* > 1 us at 60 MHz */
    RCC_CFGR &= ~CFGR_HPRE_MASK;
}

static void uart_init(void) {
    PWR_CR2 |= PWR_CR2_IOSV; /* VddIO2 valid: port G pins 2-15 usable */
    RCC_AHB2ENR |= AHB2ENR_GPIOGEN;
    RCC_APB1ENR2 |= APB1ENR2_LPUART1EN;
    RCC_CCIPR &= ~CCIPR_LPUART1SEL_MASK; /* kernel clock PCLK1 */
    (void)RCC_APB1ENR2;
    GPIOG_AFRL = (GPIOG_AFRL & ~(0xFu << 28)) | 8u << 28;         /* PG7: AF8 LPUART1_TX */
    GPIOG_AFRH = (GPIOG_AFRH & ~0xFu) | 8u;                       /* PG8: AF8 LPUART1_RX */
    GPIOG_OSPEEDR = (GPIOG_OSPEEDR & ~(0xFu << 14)) | 0xAu << 14; /* fast */
    GPIOG_PUPDR = (GPIOG_PUPDR & ~(0xFu << 14)) | 1u << 16;       /* RX pull-up */
    GPIOG_MODER = (GPIOG_MODER & ~(0xFu << 14)) | 0xAu << 14;     /* alternate function */

    LPUART1_BRR = (uint32_t)((256ull * CORE_HZ + BAUD / 2u) / BAUD);
    LPUART1_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    cm_irq_enable(CM_UART_IRQN);
}

void board_init(void) {
    DBGMCU_CR |= 1u; /* DBG_SLEEP: the ST-LINK can still attach while we sleep in WFI */
    clock_init();
    cm_dwt_start();
    uart_init();
}

/* Errors (overrun, framing, noise, parity) must be cleared in ICR or the interrupt repeats;
 * a lost byte is then caught by the protocol's CRC and retransmission. */
void board_uart_irq(void) {
    uint32_t isr;
    while ((isr = LPUART1_ISR) & (ISR_RXNE | ISR_ERRORS)) {
        if (isr & ISR_ERRORS) LPUART1_ICR = isr & ISR_ERRORS;
        if (isr & ISR_RXNE) cm_ring_push(&cm_uart_rx, (uint8_t)LPUART1_RDR);
    }
}

void cm_uart_putc_polled(uint8_t c) {
    while (!(LPUART1_ISR & ISR_TXE)) {
    }
    LPUART1_TDR = c;
}

uint32_t board_cycles(void) { return cm_dwt_cycles(); }

uint32_t board_core_hz(void) { return CORE_HZ; }

const char *board_name(void) { return "nucleo-l4r5zi"; }

_Noreturn void cm_board_fault_exit(void) {
    while (!(LPUART1_ISR & ISR_TC)) {
    }
    cm_system_reset();
}
