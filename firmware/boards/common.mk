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

ifeq ($(wildcard $(MODEL_DIR)/model_config.h),)
$(error no exported model in firmware/$(MODEL_DIR): run `make export MACHINE=$(MACHINE)` first)
endif

# Objects remember which model directory they were built for: a stamp holding its path, rewritten
# only when it changes, so switching MODEL_DIR rebuilds everything that includes model headers.
FW_MODEL_STAMP := $(FW_OUT)/model-dir
_FW_MODEL_ABS := $(abspath $(MODEL_DIR))
$(shell mkdir -p $(FW_OUT) && (echo '$(_FW_MODEL_ABS)' | cmp -s - $(FW_MODEL_STAMP) || \
    echo '$(_FW_MODEL_ABS)' > $(FW_MODEL_STAMP)))
