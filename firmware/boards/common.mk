# Shared by every board.mk: the sources of one firmware image and where its model comes from.
# A board.mk sets FW_CC, FW_CFLAGS, FW_LDFLAGS, BOARD_SRC and FW_OUT, then includes this file.
MACHINE   ?= Polisher
MODEL_DIR ?= models/$(MACHINE)

include dsp/dsp.mk
include app/app.mk

APP_SRC := $(APP_PROTOCOL_SRC) $(APP_DEVICE_SRC)
FW_SRC  := $(RUNTIME_SRC) $(DSP_SRC) $(APP_SRC) $(BOARD_SRC) $(MODEL_DIR)/model_data.c
FW_INC  := -I$(RUNTIME_DIR) $(DSP_INC) -Iapp -Iboards/$(BOARD) -I$(MODEL_DIR)
FW_OBJ  := $(patsubst %.c,$(FW_OUT)/obj/%.o,$(notdir $(FW_SRC)))
vpath %.c $(sort $(dir $(FW_SRC)))
# The front end's objects (logmel.c and CMSIS-DSP's FFT) get its flags (dsp/dsp.mk says why).
$(patsubst %.c,$(FW_OUT)/obj/%.o,$(notdir $(DSP_SRC))): FW_CFLAGS += $(DSP_CFLAGS)
# On the Cortex-M4 boards, CMSIS-DSP's FFT files get the optimisation that measured fewest
# instructions per hop (docs/frontend.md, "Compiler flags"; logmel_stages.c on QEMU), not the
# board's -O2: -Os for the radix-8 butterflies and the real split (27,138 and 12,806 instead of
# 28,922 and 14,848; -O3 changes nothing, -Os -funroll-loops the same as -Os), -funroll-loops for
# the bit reversal (4,043 instead of 4,265); -O2 -funroll-loops gives the split 13,317. Neither
# touches floating-point semantics (no -ffast-math; dsp.mk's -ffp-contract=off still applies), so
# the emulator, built as before, still computes the same features bit for bit. The flags come
# after -O2 and so override it.
ifneq ($(BOARD),emu)
$(FW_OUT)/obj/arm_cfft_radix8_f32.o $(FW_OUT)/obj/arm_rfft_fast_f32.o: FW_CFLAGS += -Os
$(FW_OUT)/obj/arm_bitreversal2.o: FW_CFLAGS += -funroll-loops
endif
# Rebuilt when these flags change (objects do not otherwise depend on the makefiles).
$(patsubst %.c,$(FW_OUT)/obj/%.o,$(notdir $(CMSIS_DSP_SRC))): boards/common.mk

ifeq ($(wildcard $(MODEL_DIR)/model_config.h),)
$(error no exported model in firmware/$(MODEL_DIR): run `make export MACHINE=$(MACHINE)` first)
endif

# Objects remember which model directory they were built for: a stamp holding its path, rewritten
# only when it changes, so switching MODEL_DIR rebuilds everything that includes model headers.
FW_MODEL_STAMP := $(FW_OUT)/model-dir
_FW_MODEL_ABS := $(abspath $(MODEL_DIR))
$(shell mkdir -p $(FW_OUT) && (echo '$(_FW_MODEL_ABS)' | cmp -s - $(FW_MODEL_STAMP) || \
    echo '$(_FW_MODEL_ABS)' > $(FW_MODEL_STAMP)))
