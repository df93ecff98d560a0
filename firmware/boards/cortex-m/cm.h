/* Cortex-M4 core registers and the helpers shared by the STM32 boards (no CMSIS: the addresses
 * and bits below are the ARMv7-M Architecture Reference Manual's System Control Space).
 *
 * A board supplies app/board.h's board_init, board_cycles, board_core_hz and board_name (the
 * serial functions are cm_uart.c's), and
 *   void board_uart_irq(void);             receive interrupt: bytes into cm_uart_rx (ring.h)
 *   void cm_uart_putc_polled(uint8_t c);   one byte out, polled (board_uart_write, fault reports)
 *   void cm_board_fault_exit(void);        after a fault report: reset (hardware) or exit (QEMU)
 * and the IRQ numbers in its board_cfg.h (CM_NUM_IRQ, CM_UART_IRQN). */
#ifndef FS_CM_H
#define FS_CM_H
#include <stddef.h>
#include <stdint.h>

#define CM_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System Control Block (ARMv7-M B3.2.2). */
#define SCB_ICSR CM_REG(0xE000ED04u)
#define SCB_VTOR CM_REG(0xE000ED08u)
#define SCB_AIRCR CM_REG(0xE000ED0Cu) /* write with VECTKEY 0x05FA in [31:16] */
#define SCB_SCR CM_REG(0xE000ED10u)
#define SCB_CCR CM_REG(0xE000ED14u)
#define SCB_SHCSR CM_REG(0xE000ED24u)
#define SCB_CFSR CM_REG(0xE000ED28u) /* MMFSR [7:0], BFSR [15:8], UFSR [31:16] */
#define SCB_HFSR CM_REG(0xE000ED2Cu)
#define SCB_MMFAR CM_REG(0xE000ED34u)
#define SCB_BFAR CM_REG(0xE000ED38u)
#define SCB_CPACR CM_REG(0xE000ED88u) /* CP10/CP11 full access: bits [23:20] = 0xF */
#define AIRCR_SYSRESETREQ (0x05FAu << 16 | 1u << 2)
#define CCR_DIV_0_TRP (1u << 4)
#define SHCSR_FAULTS_ENA (1u << 16 | 1u << 17 | 1u << 18) /* MemManage, BusFault, UsageFault */

/* SysTick (B3.3). */
#define SYST_CSR CM_REG(0xE000E010u)
#define SYST_RVR CM_REG(0xE000E014u)
#define SYST_CVR CM_REG(0xE000E018u)

/* NVIC (B3.4): one enable bit per IRQ, 32 per register. */
#define NVIC_ISER(n) CM_REG(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) CM_REG(0xE000E180u + 4u * (n))

/* Debug: DEMCR.TRCENA powers the DWT, whose CYCCNT counts core clock cycles (C1.8). */
#define DEMCR CM_REG(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL CM_REG(0xE0001000u)
#define DWT_CYCCNT CM_REG(0xE0001004u)
/* STM32 DBGMCU_CR (same address on F4 and L4): DBG_SLEEP keeps the debug port alive in WFI. */
#define DBGMCU_CR CM_REG(0xE0042004u)

static inline void cm_irq_enable(unsigned irqn) { NVIC_ISER(irqn / 32u) = 1u << (irqn % 32u); }
static inline void cm_disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void cm_enable_irq(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void cm_wfi(void) { __asm volatile("wfi" ::: "memory"); }
static inline void cm_dsb_isb(void) { __asm volatile("dsb\n\tisb" ::: "memory"); }

/* DWT cycle counter at the core clock (hardware boards). */
void cm_dwt_start(void);
static inline uint32_t cm_dwt_cycles(void) { return DWT_CYCCNT; }

/* Stack: painted with CM_STACK_PAINT at reset, from __stack_bottom up to the reset handler's
 * frame. cm_stack_high_water() scans for the first overwritten word: the most stack ever used,
 * in bytes (an upper bound of the words touched). The linker symbols bound the stack. */
#define CM_STACK_PAINT 0xC0DEF00Du
extern uint32_t __stack_bottom[], __stack_top[];
size_t cm_stack_size(void);
size_t cm_stack_high_water(void);

/* Fault reports (fault.c): one text line, see docs/boards.md. Also used for unexpected IRQs. */
void cm_puts_polled(const char *s);
void cm_uart_putc_polled(uint8_t c);      /* board */
_Noreturn void cm_board_fault_exit(void); /* board */
_Noreturn void cm_system_reset(void);

/* Busy-wait ~n loop iterations (a few cycles each): only for start-up timeouts. */
void cm_spin(uint32_t n);

#endif
