# QEMU's netduinoplus2 (STM32F405): the board CI runs.
#   make -C firmware BOARD=qemu MACHINE=X [MODEL_DIR=..]      build/qemu/X/firmware.elf
#   make -C firmware BOARD=qemu MACHINE=X SELFTEST=1          build/qemu-selftest/X/firmware.elf
#   make -C firmware BOARD=qemu MACHINE=X RUNMODEL=1          build/qemu-runmodel<-ref>/X/firmware.elf
#     (the runtime alone, models and inputs from a pack in flash: host/qemu.py, docs/performance.md)
# Run: qemu-system-arm -M netduinoplus2 -nographic -icount shift=0 \
#        -serial tcp:127.0.0.1:PORT,server=on,wait=on -semihosting-config enable=on,target=native \
#        -kernel build/qemu/X/firmware.elf        (docs/boards.md)
BOARD_CHIP_SRC := boards/qemu/board_qemu.c boards/cortex-m/cm_semihost.c
BOARD_DESC     := STM32F405 as QEMU netduinoplus2 models it, 1 MiB flash, 192 KiB SRAM
ifeq ($(SELFTEST),1)
BOARD_MAIN := boards/qemu/qemu_selftest.c
CM_VARIANT := -selftest
endif
ifeq ($(RUNMODEL),1)
BOARD_MAIN := boards/qemu/qemu_run_model.c
CM_VARIANT := -runmodel
endif
include boards/cortex-m/cortexm.mk
