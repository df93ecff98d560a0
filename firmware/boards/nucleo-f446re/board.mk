# NUCLEO-F446RE: STM32F446RE at 180 MHz, USART2 (PA2/PA3) to the ST-LINK virtual COM port.
#   make -C firmware BOARD=nucleo-f446re MACHINE=X      build/nucleo-f446re/X/firmware.elf
#   make flash BOARD=nucleo-f446re MACHINE=X            (docs/boards.md)
BOARD_CHIP_SRC := boards/nucleo-f446re/board_f446.c
BOARD_DESC     := STM32F446RE, 512 KiB flash, 128 KiB SRAM
include boards/cortex-m/cortexm.mk
