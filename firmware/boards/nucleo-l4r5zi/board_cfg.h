/* STM32L4R5 (RM0432 table 58: 95 maskable interrupts). */
#ifndef FS_BOARD_CFG_H
#define FS_BOARD_CFG_H
#define CM_NUM_IRQ 95
#define CM_UART_IRQN 70 /* LPUART1 global interrupt */
#endif
