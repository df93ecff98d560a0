/* NUCLEO-F446RE (MB1136): STM32F446RE, register facts from RM0390 and datasheet DS10693.
 *
 * Clock: HSE in bypass mode, fed 8 MHz by the ST-LINK's MCO (the Nucleo default), PLL
 * 8 / M=4 * N=180 / P=2 = 180 MHz, with the regulator in scale 1 and over-drive on (required
 * above 168 MHz), 5 flash wait states (RM0390 table 5, 2.7-3.6 V), AHB 180, APB1 45, APB2 90 MHz.
 * If the HSE does not start (MCO not connected: solder bridges SB16/SB50), the PLL runs from
 * HSI 16 MHz / M=8 instead, so the core clock is 180 MHz either way.
 *
 * UART: USART2 on PA2 (TX) / PA3 (RX), alternate function 7, wired to the ST-LINK virtual COM
 * port (/dev/ttyACM*), 921600 baud 8N1: BRR = 45 MHz / 921600 = 48.8 -> 49, an actual
 * 918367 baud (-0.35 %). Receive by interrupt into a ring buffer; transmit polled.
 * Cycle counter: DWT CYCCNT at 180 MHz. */
#include <stdint.h>

#include "board.h"
#include "board_cfg.h"
#include "cm.h"
#include "ring.h"

#define CORE_HZ 180000000u
#define APB1_HZ (CORE_HZ / 4u)
#define BAUD    921600u

/* RCC (RM0390 6.3), base 0x40023800. */
#define RCC_CR      CM_REG(0x40023800u)
#define RCC_PLLCFGR CM_REG(0x40023804u)
#define RCC_CFGR    CM_REG(0x40023808u)
#define RCC_AHB1ENR CM_REG(0x40023830u)
#define RCC_APB1ENR CM_REG(0x40023840u)
#define CR_HSION  (1u << 0)
#define CR_HSIRDY (1u << 1)
#define CR_HSEON  (1u << 16)
#define CR_HSERDY (1u << 17)
#define CR_HSEBYP (1u << 18)
#define CR_PLLON  (1u << 24)
#define CR_PLLRDY (1u << 25)
/* PLLCFGR: PLLM [5:0], PLLN [14:6], PLLP [17:16] (0 = /2), PLLSRC bit 22 (1 = HSE),
 * PLLQ [27:24], PLLR [30:28]. Q and R feed only the 48 MHz and I2S/SAI clocks (unused here) but
 * must stay in range: Q = 8 (45 MHz), R = 2. */
#define PLLCFGR(m, n, src_hse) \
    ((m) | (n) << 6 | 0u << 16 | (src_hse) << 22 | 8u << 24 | 2u << 28)
/* CFGR: SW [1:0] (2 = PLL_P), SWS [3:2], HPRE [7:4] (0 = /1), PPRE1 [12:10] (5 = /4),
 * PPRE2 [15:13] (4 = /2). */
#define CFGR_SW_PLL   2u
#define CFGR_SWS_MASK (3u << 2)
#define CFGR_SWS_PLL  (2u << 2)
#define CFGR_PPRE1_DIV4 (5u << 10)
#define CFGR_PPRE2_DIV2 (4u << 13)
#define AHB1ENR_GPIOAEN (1u << 0)
#define APB1ENR_USART2EN (1u << 17)
#define APB1ENR_PWREN    (1u << 28)

/* PWR (RM0390 5.4), base 0x40007000. */
#define PWR_CR  CM_REG(0x40007000u)
#define PWR_CSR CM_REG(0x40007004u)
#define PWR_CR_VOS_SCALE1 (3u << 14)
#define PWR_CR_ODEN   (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY   (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

/* FLASH_ACR (RM0390 3.8.1): LATENCY [3:0], PRFTEN bit 8, ICEN bit 9, DCEN bit 10. */
#define FLASH_ACR CM_REG(0x40023C00u)
#define ACR_LATENCY_5WS 5u
#define ACR_PRFTEN (1u << 8)
#define ACR_ICEN   (1u << 9)
#define ACR_DCEN   (1u << 10)

/* GPIOA (RM0390 7.4), base 0x40020000: MODER 2 bits per pin (2 = alternate function),
 * OSPEEDR 2 bits per pin, PUPDR 2 bits per pin (1 = pull-up), AFRL 4 bits per pin 0-7. */
#define GPIOA_MODER   CM_REG(0x40020000u)
#define GPIOA_OSPEEDR CM_REG(0x40020008u)
#define GPIOA_PUPDR   CM_REG(0x4002000Cu)
#define GPIOA_AFRL    CM_REG(0x40020020u)

/* USART2 (RM0390 25.6), base 0x40004400. */
#define USART2_SR  CM_REG(0x40004400u)
#define USART2_DR  CM_REG(0x40004404u)
#define USART2_BRR CM_REG(0x40004408u)
#define USART2_CR1 CM_REG(0x4000440Cu)
#define SR_ORE  (1u << 3)
#define SR_RXNE (1u << 5)
#define SR_TC   (1u << 6)
#define SR_TXE  (1u << 7)
#define CR1_RE     (1u << 2)
#define CR1_TE     (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define CR1_UE     (1u << 13)

static cm_ring rx;

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t spins) {
    while (spins--)
        if ((*reg & mask) == mask) return 1;
    return 0;
}

static void clock_init(void) {
    RCC_APB1ENR |= APB1ENR_PWREN;
    (void)RCC_APB1ENR;                       /* let the enable take effect */
    PWR_CR |= PWR_CR_VOS_SCALE1;             /* applies once the PLL is on */

    RCC_CR |= CR_HSEBYP;                     /* external clock on OSC_IN (PH0), no crystal */
    RCC_CR |= CR_HSEON;
    int hse = wait_set(&RCC_CR, CR_HSERDY, 200000u);
    if (hse) {
        RCC_PLLCFGR = PLLCFGR(4u, 180u, 1u);   /* 8 MHz / 4 = 2 MHz VCO input, x180, /2 */
    } else {
        RCC_CR &= ~(CR_HSEON | CR_HSEBYP);
        RCC_CR |= CR_HSION;
        (void)wait_set(&RCC_CR, CR_HSIRDY, 200000u);
        RCC_PLLCFGR = PLLCFGR(8u, 180u, 0u);   /* 16 MHz / 8 = 2 MHz, same VCO */
    }
    RCC_CR |= CR_PLLON;
    (void)wait_set(&RCC_CR, CR_PLLRDY, 1000000u);

    /* Over-drive (RM0390 5.1.4): ODEN, wait ODRDY, ODSWEN, wait ODSWRDY. */
    PWR_CR |= PWR_CR_ODEN;
    (void)wait_set(&PWR_CSR, PWR_CSR_ODRDY, 1000000u);
    PWR_CR |= PWR_CR_ODSWEN;
    (void)wait_set(&PWR_CSR, PWR_CSR_ODSWRDY, 1000000u);

    /* Wait states before the faster clock, then the bus prescalers, then the switch. */
    FLASH_ACR = ACR_LATENCY_5WS | ACR_PRFTEN | ACR_ICEN | ACR_DCEN;
    while ((FLASH_ACR & 0xFu) != ACR_LATENCY_5WS) {
    }
    RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | CFGR_PPRE1_DIV4 | CFGR_PPRE2_DIV2;
    RCC_CFGR = (RCC_CFGR & ~3u) | CFGR_SW_PLL;
    while ((RCC_CFGR & CFGR_SWS_MASK) != CFGR_SWS_PLL) {
    }
}

static void uart_init(void) {
    RCC_AHB1ENR |= AHB1ENR_GPIOAEN;
    RCC_APB1ENR |= APB1ENR_USART2EN;
    (void)RCC_APB1ENR;
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | 7u << 8 | 7u << 12;         /* PA2, PA3: AF7 */
    GPIOA_OSPEEDR = (GPIOA_OSPEEDR & ~(0xFu << 4)) | 0xAu << 4;            /* fast */
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(0xFu << 4)) | 1u << 6;                  /* RX pull-up */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | 0xAu << 4;                /* alternate */

    USART2_BRR = (APB1_HZ + BAUD / 2u) / BAUD;   /* 16x oversampling: BRR = fck / baud */
    USART2_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    cm_irq_enable(CM_UART_IRQN);
}

void board_init(void) {
    DBGMCU_CR |= 1u;   /* DBG_SLEEP: the ST-LINK can still attach while we sleep in WFI */
    clock_init();
    cm_dwt_start();
    uart_init();
}

/* Reading SR then DR clears RXNE and an overrun (ORE); an overrun loses bytes, which the
 * protocol's CRC and retransmission then handle. */
void board_uart_irq(void) {
    uint32_t sr;
    while ((sr = USART2_SR) & (SR_RXNE | SR_ORE)) cm_ring_push(&rx, (uint8_t)USART2_DR);
}

uint8_t board_uart_getc(void) {
    for (;;) {
        if (!cm_ring_empty(&rx)) return cm_ring_pop(&rx);
        cm_disable_irq();   /* WFI still wakes on a pending interrupt; no lost wake-up */
        if (cm_ring_empty(&rx)) cm_wfi();
        cm_enable_irq();
    }
}

bool board_uart_ready(void) { return !cm_ring_empty(&rx); }

fs_audio *board_audio_source(void) { return fs_audio_serial(); }

void cm_uart_putc_polled(uint8_t c) {
    while (!(USART2_SR & SR_TXE)) {
    }
    USART2_DR = c;
}

void board_uart_write(const uint8_t *data, size_t len) {
    while (len--) cm_uart_putc_polled(*data++);
}

uint32_t board_cycles(void) { return cm_dwt_cycles(); }

uint32_t board_core_hz(void) { return CORE_HZ; }

const char *board_name(void) { return "nucleo-f446re"; }

_Noreturn void cm_board_fault_exit(void) {
    while (!(USART2_SR & SR_TC)) {   /* let the report leave the shift register */
    }
    cm_system_reset();
}
