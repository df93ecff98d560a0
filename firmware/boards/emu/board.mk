# x86 emulation board: a Linux program whose UART is a pty (or stdio).
#   make -C firmware BOARD=emu MACHINE=X [SANITIZE=1]  ->  build/emu[-san]/X/firmware-emu
ifeq ($(SANITIZE),1)
FW_OUT   := $(BUILD)/emu-san/$(MACHINE)
FW_EXTRA := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
FW_OUT   := $(BUILD)/emu/$(MACHINE)
FW_EXTRA := -O2
endif
BOARD_SRC := boards/emu/board_emu.c boards/emu/main.c
FW_CC     := $(HOST_CC)
FW_CFLAGS := $(CSTD) $(WARN) -Wshadow $(FW_EXTRA) $(DEPFLAGS)

include boards/common.mk

.PHONY: firmware
firmware: $(FW_OUT)/firmware-emu

$(FW_OUT)/firmware-emu: $(FW_OBJ)
	$(FW_CC) $(FW_EXTRA) -o $@ $^ -Wl,--gc-sections -lm
	@echo "built $@ (model $(MODEL_DIR))"

$(FW_OUT)/obj/%.o: %.c $(MODEL_DIR)/model_config.h $(FW_MODEL_STAMP)
	@mkdir -p $(@D)
	$(FW_CC) $(FW_CFLAGS) $(FW_INC) -c -o $@ $<

# Not model_data.d: it names an earlier MODEL_DIR that may be gone (see cortexm.mk).
-include $(filter-out %/model_data.d,$(FW_OBJ:.o=.d))
