# Cortex-M4F board builds with Debian's arm-none-eabi-gcc and newlib-nano. A board.mk sets
#   BOARD_CHIP_SRC   its C files (clock, UART registers, cycle counter; cm_uart.c has the rest
#                    of the serial link)
#   BOARD_DESC       one line for the size report, e.g. "STM32F446RE, 512 KiB flash, 128 KiB SRAM"
# and may set STACK_BYTES, BOARD_MAIN (default: boards/cortex-m/cm_main.c), BOARD_DEFS,
# then includes this file. The board's link.ld (MEMORY: the chip's real sizes) makes the link
# fail when the image or the RAM does not fit; cm-size.sh turns that into a clear message.
#
# Outputs: build/<board>/<machine>/firmware.{elf,bin,hex,map}
CROSS       ?= arm-none-eabi-
# Kernels: cm4 (default) adds the Cortex-M4 DSP versions of FULLY_CONNECTED, CONV_2D and
# DEPTHWISE_CONV_2D (runtime/ops/cm4/, docs/performance.md); ref builds the portable reference
# kernels only. A non-default choice goes into the output path: build/<board>-ref/<machine>/.
KERNELS     ?= cm4
include runtime/ops/cm4/kernels.mk
# The application peaks at 2.7 KiB of stack (ad01 under QEMU, measured from the paint).
STACK_BYTES ?= 8192
BOARD_MAIN  ?= boards/cortex-m/cm_main.c

ifeq ($(shell command -v $(CROSS)gcc 2>/dev/null),)
$(error $(CROSS)gcc not found: run `make setup` as root, or `sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi`)
endif

FW_CC      := $(CROSS)gcc
FW_OUT     := $(BUILD)/$(BOARD)$(CM_VARIANT)$(KERNELS_SUFFIX)/$(MACHINE)
CM_ARCH    := -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
FW_CFLAGS  := $(CSTD) $(WARN) -Wshadow $(CM_ARCH) -O2 -g -ffunction-sections -fdata-sections \
              $(DEPFLAGS) -Iboards/cortex-m $(BOARD_DEFS)
CM_LDSCRIPT := boards/$(BOARD)/link.ld
FW_LDFLAGS := $(CM_ARCH) -nostartfiles --specs=nano.specs -Wl,--gc-sections \
              -Lboards/cortex-m -T$(CM_LDSCRIPT) -Wl,--defsym=__stack_size=$(STACK_BYTES) \
              -Wl,-Map=$(FW_OUT)/firmware.map -Wl,--print-memory-usage
BOARD_SRC  := $(BOARD_CHIP_SRC) $(BOARD_MAIN) boards/cortex-m/cm_startup.c \
              boards/cortex-m/cm_fault.c boards/cortex-m/cm_misc.c boards/cortex-m/cm_syscalls.c \
              boards/cortex-m/cm_uart.c

include boards/common.mk

ELF := $(FW_OUT)/firmware.elf

.PHONY: firmware
firmware: $(ELF) $(FW_OUT)/firmware.bin $(FW_OUT)/firmware.hex
	@sh boards/cortex-m/cm-size.sh $(ELF).mem "$(BOARD)" "$(MACHINE)" "$(BOARD_DESC)" \
	    $(FS_ARENA) $(STACK_BYTES)

FS_ARENA = $(shell sed -n 's/^[#]define FS_MODEL_ARENA_BYTES \([0-9]*\)u*/\1/p' $(MODEL_DIR)/model_config.h)

# The link's memory report goes to firmware.elf.mem; on overflow cm-size.sh explains and fails.
$(ELF): $(FW_OBJ) $(CM_LDSCRIPT) boards/cortex-m/sections.ld
	@echo "LD $@"
	@if $(FW_CC) -o $@ $(FW_OBJ) $(FW_LDFLAGS) -lm > $@.mem 2>&1; then :; else \
	    sh boards/cortex-m/cm-size.sh $@.mem "$(BOARD)" "$(MACHINE)" "$(BOARD_DESC)" \
	        $(FS_ARENA) $(STACK_BYTES) link-failed; rm -f $@; exit 1; fi

$(FW_OUT)/firmware.bin: $(ELF)
	$(CROSS)objcopy -O binary $< $@

$(FW_OUT)/firmware.hex: $(ELF)
	$(CROSS)objcopy -O ihex $< $@

$(FW_OUT)/obj/%.o: %.c $(MODEL_DIR)/model_config.h $(FW_MODEL_STAMP)
	@mkdir -p $(@D)
	@echo "CC $<"
	@$(FW_CC) $(FW_CFLAGS) $(FW_INC) -c -o $@ $<

# Not model_data.d: it names the model's .c, and a build with another MODEL_DIR would stop on
# "No rule to make target <old dir>/model_data.c" once that directory is gone. The rule above
# already makes every object depend on the model's config.
-include $(filter-out %/model_data.d,$(FW_OBJ:.o=.d))
