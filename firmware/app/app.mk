# firstshot firmware: the application's sources (frame layer app/protocol.c, cobs.c, crc32.c;
# the device's main loop, clip, scoring, stats, monitor, audio) and the frame layer's x86 test
# tool. A make fragment: firmware/Makefile and boards/common.mk include it, and it also works
# alone, from the firmware directory (the frame parser's fuzz harness: fuzz/fuzz.mk):
#
#   make -C firmware -f app/app.mk frame-codec [SANITIZE=1]   build/tools[-san]/frame-codec
#
# Everything here is prefixed (APP_*) or comes from host.mk (HOST_CC, warnings, SANITIZE) so that
# the including Makefile's CC/CFLAGS (the ARM cross compiler) are never used for this x86
# program. All outputs go under $(BUILD).

include host.mk
APP_DIR ?= app

# Sources of the frame layer; the board firmware compiles these with its own flags.
APP_PROTOCOL_SRC := $(APP_DIR)/protocol.c $(APP_DIR)/cobs.c $(APP_DIR)/crc32.c
APP_PROTOCOL_HDR := $(APP_DIR)/protocol.h $(APP_DIR)/cobs.h $(APP_DIR)/crc32.h
# The rest of the application (needs an exported model's headers): boards/common.mk links these.
# stats.c is the stats input's accumulator; it compiles with any model, clip.c uses it only
# when model_config.h says FS_MODEL_INPUT_KIND 1.
APP_DEVICE_SRC := $(APP_DIR)/app.c $(APP_DIR)/clip.c $(APP_DIR)/scoring.c $(APP_DIR)/stats.c \
                  $(APP_DIR)/monitor.c $(APP_DIR)/audio.c

APP_FRAME_CODEC := $(TOOLS_OUT)/frame-codec

.PHONY: frame-codec

frame-codec: $(APP_FRAME_CODEC)

$(APP_FRAME_CODEC): tools/frame_codec.c $(APP_PROTOCOL_SRC) $(APP_PROTOCOL_HDR) $(APP_DIR)/app.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(CSTD) $(WARN) $(HOST_OPT) -I$(APP_DIR) -o $@ \
	    tools/frame_codec.c $(APP_PROTOCOL_SRC)
