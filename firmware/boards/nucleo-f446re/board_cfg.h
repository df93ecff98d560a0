/* STM32F446 (RM0390 table 38: 97 maskable interrupts). */
#ifndef FS_BOARD_CFG_H
#define FS_BOARD_CFG_H
#define CM_NUM_IRQ 97
#define CM_UART_IRQN 38 /* USART2 global interrupt */
#endif
