# NUCLEO-L4R5ZI: STM32L4R5ZI at 120 MHz, LPUART1 (PG7/PG8) to the ST-LINK virtual COM port;
# the MLPerf Tiny reference board.
#   make -C firmware BOARD=nucleo-l4r5zi MACHINE=X      build/nucleo-l4r5zi/X/firmware.elf
#   make flash BOARD=nucleo-l4r5zi MACHINE=X            (docs/boards.md)
BOARD_CHIP_SRC := boards/nucleo-l4r5zi/board_l4r5.c
BOARD_DESC     := STM32L4R5ZI, 2 MiB flash, 640 KiB SRAM
include boards/cortex-m/cortexm.mk
