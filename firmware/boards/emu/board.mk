# x86 emulation board: a Linux program whose UART is a pty (or stdio).
#   make -C firmware BOARD=emu MACHINE=X [SANITIZE=1]  ->  build/emu[-san]/X/firmware-emu
# Compiler, warnings and the sanitizer switch: host.mk, as every x86 build.
include host.mk
FW_OUT    := $(BUILD)/emu$(SAN_DIR_SUFFIX)/$(MACHINE)
BOARD_SRC := boards/emu/board_emu.c boards/emu/main.c
FW_CC     := $(HOST_CC)
FW_CFLAGS := $(CSTD) $(WARN) -Wshadow $(HOST_OPT) $(DEPFLAGS)

include boards/common.mk

.PHONY: firmware
firmware: $(FW_OUT)/firmware-emu

$(FW_OUT)/firmware-emu: $(FW_OBJ)
	$(FW_CC) $(HOST_OPT) -o $@ $^ -Wl,--gc-sections -lm
	@echo "built $@ (model $(MODEL_DIR))"

$(FW_OUT)/obj/%.o: %.c $(MODEL_DIR)/model_config.h $(FW_MODEL_STAMP)
	@mkdir -p $(@D)
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -c -o $@ $<

# Not model_data.d: it names an earlier MODEL_DIR that may be gone (see cortexm.mk).
-include $(filter-out %/model_data.d,$(FW_OBJ:.o=.d))
