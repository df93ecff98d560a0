/* STM32F405 as QEMU's netduinoplus2 models it (RM0090 table 61: 82 interrupts). */
#ifndef FS_BOARD_CFG_H
#define FS_BOARD_CFG_H
#define CM_NUM_IRQ 82
#define CM_UART_IRQN 37 /* USART1 global interrupt */
#endif
