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
#define BAUD 921600u

/* Registers and their fields, named after ST's SVD (STM32F446x.svd in the cmsis-svd 0.4 sdist):
 * a register is <PERIPHERAL>_<REGISTER> at its absolute address, a field
 * <PERIPHERAL>_<REGISTER>_<FIELD> = FIELD(bit position, width). tests/boards/test_svd_f446.py
 * checks every address, position and width here against the SVD, and that the code below
 * uses no other shift or mask. MASK(f) is a field's bits, VAL(f, v) the value v placed in it. */
#define FIELD(pos, width) ((pos) | (width) << 8)
#define MASK(f) ((0xFFFFFFFFu >> (32u - ((f) >> 8))) << ((f) & 0xFFu))
#define VAL(f, v) ((uint32_t)(v) << ((f) & 0xFFu))

/* RCC (RM0390 6.3). */
#define RCC_CR CM_REG(0x40023800u)
#define RCC_PLLCFGR CM_REG(0x40023804u)
#define RCC_CFGR CM_REG(0x40023808u)
#define RCC_AHB1ENR CM_REG(0x40023830u)
#define RCC_APB1ENR CM_REG(0x40023840u)
#define RCC_CR_HSION FIELD(0, 1)
#define RCC_CR_HSIRDY FIELD(1, 1)
#define RCC_CR_HSEON FIELD(16, 1)
#define RCC_CR_HSERDY FIELD(17, 1)
#define RCC_CR_HSEBYP FIELD(18, 1)
#define RCC_CR_PLLON FIELD(24, 1)
#define RCC_CR_PLLRDY FIELD(25, 1)
/* The SVD lists PLLM, PLLN, PLLP, PLLQ, SW and SWS bit by bit (PLLM0 .. PLLM5, ...); here they
 * are whole fields. It has no PLLR (bits 30:28 in RM0390), so PLLR is never written: it keeps
 * its reset value 2, in range for the I2S/SAI clocks (unused here). */
#define RCC_PLLCFGR_PLLM FIELD(0, 6)
#define RCC_PLLCFGR_PLLN FIELD(6, 9)
#define RCC_PLLCFGR_PLLP FIELD(16, 2)
#define RCC_PLLCFGR_PLLSRC FIELD(22, 1)
#define RCC_PLLCFGR_PLLQ FIELD(24, 4)
#define RCC_CFGR_SW FIELD(0, 2)
#define RCC_CFGR_SWS FIELD(2, 2)
#define RCC_CFGR_HPRE FIELD(4, 4)
#define RCC_CFGR_PPRE1 FIELD(10, 3)
#define RCC_CFGR_PPRE2 FIELD(13, 3)
#define RCC_AHB1ENR_GPIOAEN FIELD(0, 1)
#define RCC_APB1ENR_USART2EN FIELD(17, 1)
#define RCC_APB1ENR_PWREN FIELD(28, 1)
#define SW_PLL 2u /* SW, SWS: PLL_P is the system clock */
#define PPRE1_DIV4 5u
#define PPRE2_DIV2 4u

/* PWR (RM0390 5.4). */
#define PWR_CR CM_REG(0x40007000u)
#define PWR_CSR CM_REG(0x40007004u)
#define PWR_CR_VOS FIELD(14, 2)
#define PWR_CR_ODEN FIELD(16, 1)
#define PWR_CR_ODSWEN FIELD(17, 1)
#define PWR_CSR_ODRDY FIELD(16, 1)
#define PWR_CSR_ODSWRDY FIELD(17, 1)
#define VOS_SCALE1 3u

/* FLASH_ACR (RM0390 3.8.1). The SVD gives LATENCY 3 bits, RM0390 4; 5 wait states fit both,
 * and the bit they disagree on is written 0. */
#define FLASH_ACR CM_REG(0x40023C00u)
#define FLASH_ACR_LATENCY FIELD(0, 3)
#define FLASH_ACR_PRFTEN FIELD(8, 1)
#define FLASH_ACR_ICEN FIELD(9, 1)
#define FLASH_ACR_DCEN FIELD(10, 1)
#define LATENCY_5WS 5u

/* GPIOA (RM0390 7.4): 2 bits per pin in MODER (2 = alternate function), OSPEEDR (2 = fast) and
 * PUPDR (1 = pull-up), 4 bits per pin 0-7 in AFRL. */
#define GPIOA_MODER CM_REG(0x40020000u)
#define GPIOA_OSPEEDR CM_REG(0x40020008u)
#define GPIOA_PUPDR CM_REG(0x4002000Cu)
#define GPIOA_AFRL CM_REG(0x40020020u)
#define GPIOA_MODER_MODER2 FIELD(4, 2)
#define GPIOA_MODER_MODER3 FIELD(6, 2)
#define GPIOA_OSPEEDR_OSPEEDR2 FIELD(4, 2)
#define GPIOA_OSPEEDR_OSPEEDR3 FIELD(6, 2)
#define GPIOA_PUPDR_PUPDR2 FIELD(4, 2)
#define GPIOA_PUPDR_PUPDR3 FIELD(6, 2)
#define GPIOA_AFRL_AFRL2 FIELD(8, 4)
#define GPIOA_AFRL_AFRL3 FIELD(12, 4)

/* USART2 (RM0390 25.6). */
#define USART2_SR CM_REG(0x40004400u)
#define USART2_DR CM_REG(0x40004404u)
#define USART2_BRR CM_REG(0x40004408u)
#define USART2_CR1 CM_REG(0x4000440Cu)
#define USART2_SR_ORE FIELD(3, 1)
#define USART2_SR_RXNE FIELD(5, 1)
#define USART2_SR_TC FIELD(6, 1)
#define USART2_SR_TXE FIELD(7, 1)
#define USART2_BRR_DIV_Fraction FIELD(0, 4)
#define USART2_BRR_DIV_Mantissa FIELD(4, 12)
#define USART2_CR1_RE FIELD(2, 1)
#define USART2_CR1_TE FIELD(3, 1)
#define USART2_CR1_RXNEIE FIELD(5, 1)
#define USART2_CR1_UE FIELD(13, 1)

/* DBGMCU_CR (its address is in cm.h: the same on F4 and L4). */
#define DBGMCU_CR_DBG_SLEEP FIELD(0, 1)

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t spins) {
    while (spins--)
        if ((*reg & mask) == mask) return 1;
    return 0;
}

/* PLL input = source / m (2 MHz), VCO = input x n (360 MHz), PLL_P = VCO / 2 (PLLP 0),
 * PLL_Q = VCO / 8 = 45 MHz: Q feeds only the 48 MHz clocks (unused here) but must stay in range.
 * PLLR (not in the SVD, see above) and the reserved bits keep their reset values. */
static void pll_config(uint32_t m, uint32_t n, uint32_t src_hse) {
    const uint32_t fields = MASK(RCC_PLLCFGR_PLLM) | MASK(RCC_PLLCFGR_PLLN) |
                            MASK(RCC_PLLCFGR_PLLP) | MASK(RCC_PLLCFGR_PLLSRC) |
                            MASK(RCC_PLLCFGR_PLLQ);
    RCC_PLLCFGR = (RCC_PLLCFGR & ~fields) | VAL(RCC_PLLCFGR_PLLM, m) | VAL(RCC_PLLCFGR_PLLN, n) |
                  VAL(RCC_PLLCFGR_PLLP, 0u) | VAL(RCC_PLLCFGR_PLLSRC, src_hse) |
                  VAL(RCC_PLLCFGR_PLLQ, 8u);
}

static void clock_init(void) {
    RCC_APB1ENR |= MASK(RCC_APB1ENR_PWREN);
    (void)RCC_APB1ENR;                     /* let the enable take effect */
    PWR_CR |= VAL(PWR_CR_VOS, VOS_SCALE1); /* applies once the PLL is on */

    RCC_CR |= MASK(RCC_CR_HSEBYP); /* external clock on OSC_IN (PH0), no crystal */
    RCC_CR |= MASK(RCC_CR_HSEON);
    int hse = wait_set(&RCC_CR, MASK(RCC_CR_HSERDY), 200000u);
    if (hse) {
        pll_config(4u, 180u, 1u); /* 8 MHz / 4 = 2 MHz VCO input, x180, /2 */
    } else {
        RCC_CR &= ~(MASK(RCC_CR_HSEON) | MASK(RCC_CR_HSEBYP));
        RCC_CR |= MASK(RCC_CR_HSION);
        (void)wait_set(&RCC_CR, MASK(RCC_CR_HSIRDY), 200000u);
        pll_config(8u, 180u, 0u); /* 16 MHz / 8 = 2 MHz, same VCO */
    }
    RCC_CR |= MASK(RCC_CR_PLLON);
    (void)wait_set(&RCC_CR, MASK(RCC_CR_PLLRDY), 1000000u);

    /* Over-drive (RM0390 5.1.4): ODEN, wait ODRDY, ODSWEN, wait ODSWRDY. */
    PWR_CR |= MASK(PWR_CR_ODEN);
    (void)wait_set(&PWR_CSR, MASK(PWR_CSR_ODRDY), 1000000u);
    PWR_CR |= MASK(PWR_CR_ODSWEN);
    (void)wait_set(&PWR_CSR, MASK(PWR_CSR_ODSWRDY), 1000000u);

    /* Wait states before the faster clock, then the bus prescalers (AHB /1), then the switch. */
    FLASH_ACR = VAL(FLASH_ACR_LATENCY, LATENCY_5WS) | MASK(FLASH_ACR_PRFTEN) |
                MASK(FLASH_ACR_ICEN) | MASK(FLASH_ACR_DCEN);
    while ((FLASH_ACR & MASK(FLASH_ACR_LATENCY)) != VAL(FLASH_ACR_LATENCY, LATENCY_5WS)) {
    }
    RCC_CFGR = (RCC_CFGR & ~(MASK(RCC_CFGR_SW) | MASK(RCC_CFGR_HPRE) | MASK(RCC_CFGR_PPRE1) |
                             MASK(RCC_CFGR_PPRE2))) |
               VAL(RCC_CFGR_PPRE1, PPRE1_DIV4) | VAL(RCC_CFGR_PPRE2, PPRE2_DIV2);
    RCC_CFGR = (RCC_CFGR & ~MASK(RCC_CFGR_SW)) | VAL(RCC_CFGR_SW, SW_PLL);
    while ((RCC_CFGR & MASK(RCC_CFGR_SWS)) != VAL(RCC_CFGR_SWS, SW_PLL)) {
    }
}

static void uart_init(void) {
    RCC_AHB1ENR |= MASK(RCC_AHB1ENR_GPIOAEN);
    RCC_APB1ENR |= MASK(RCC_APB1ENR_USART2EN);
    (void)RCC_APB1ENR;
    GPIOA_AFRL = (GPIOA_AFRL & ~(MASK(GPIOA_AFRL_AFRL2) | MASK(GPIOA_AFRL_AFRL3))) |
                 VAL(GPIOA_AFRL_AFRL2, 7u) | VAL(GPIOA_AFRL_AFRL3, 7u); /* AF7 */
    GPIOA_OSPEEDR =
        (GPIOA_OSPEEDR & ~(MASK(GPIOA_OSPEEDR_OSPEEDR2) | MASK(GPIOA_OSPEEDR_OSPEEDR3))) |
        VAL(GPIOA_OSPEEDR_OSPEEDR2, 2u) | VAL(GPIOA_OSPEEDR_OSPEEDR3, 2u); /* fast */
    GPIOA_PUPDR = (GPIOA_PUPDR & ~(MASK(GPIOA_PUPDR_PUPDR2) | MASK(GPIOA_PUPDR_PUPDR3))) |
                  VAL(GPIOA_PUPDR_PUPDR3, 1u); /* RX pull-up */
    GPIOA_MODER = (GPIOA_MODER & ~(MASK(GPIOA_MODER_MODER2) | MASK(GPIOA_MODER_MODER3))) |
                  VAL(GPIOA_MODER_MODER2, 2u) | VAL(GPIOA_MODER_MODER3, 2u); /* alternate */

    /* 16x oversampling: USARTDIV = fck / baud in 1/16ths, mantissa and fraction. */
    uint32_t div = (APB1_HZ + BAUD / 2u) / BAUD;
    USART2_BRR = VAL(USART2_BRR_DIV_Mantissa, div / 16u) | VAL(USART2_BRR_DIV_Fraction, div % 16u);
    USART2_CR1 =
        MASK(USART2_CR1_UE) | MASK(USART2_CR1_TE) | MASK(USART2_CR1_RE) | MASK(USART2_CR1_RXNEIE);
    cm_irq_enable(CM_UART_IRQN);
}

void board_init(void) {
    DBGMCU_CR |= MASK(DBGMCU_CR_DBG_SLEEP); /* the ST-LINK can still attach in WFI */
    clock_init();
    cm_dwt_start();
    uart_init();
}

/* Reading SR then DR clears RXNE and an overrun (ORE); an overrun loses bytes, which the
 * protocol's CRC and retransmission then handle. */
void board_uart_irq(void) {
    uint32_t sr;
    while ((sr = USART2_SR) & (MASK(USART2_SR_RXNE) | MASK(USART2_SR_ORE)))
        cm_ring_push(&cm_uart_rx, (uint8_t)USART2_DR);
}

void cm_uart_putc_polled(uint8_t c) {
    while (!(USART2_SR & MASK(USART2_SR_TXE))) {
    }
    USART2_DR = c;
}

uint32_t board_cycles(void) { return cm_dwt_cycles(); }

uint32_t board_core_hz(void) { return CORE_HZ; }

const char *board_name(void) { return "nucleo-f446re"; }

_Noreturn void cm_board_fault_exit(void) {
    while (!(USART2_SR & MASK(USART2_SR_TC))) { /* let the report leave the shift register */
    }
    cm_system_reset();
}
