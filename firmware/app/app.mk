# firstshot firmware: protocol frame layer (app/protocol.c, app/cobs.c, app/crc32.c), its x86
# test tool and its fuzz harness. A make fragment: firmware/Makefile includes it, and it also
# works alone, from the firmware directory:
#
#   make -C firmware -f app/app.mk frame-codec [SANITIZE=1]   build/tools[-san]/frame-codec
#   make -C firmware -f app/app.mk fuzz-frame-parser          build/fuzz/fuzz_frame_parser (clang)
#   make -C firmware -f app/app.mk fuzz-frame-replay          build/fuzz/fuzz_frame_parser_replay
#   make -C firmware -f app/app.mk fuzz-frame SECONDS=60      run libFuzzer on the saved corpus
#
# Everything here is prefixed (APP_*) or comes from host.mk (HOST_CC, CLANG, warnings, SANITIZE)
# so that the including Makefile's CC/CFLAGS (the ARM cross compiler) are never used for these
# x86 programs. All outputs go under $(BUILD).

_APP_MK_STANDALONE := $(if $(filter-out $(lastword $(MAKEFILE_LIST)),$(MAKEFILE_LIST)),,1)
_APP_MK_PREV_GOAL := $(.DEFAULT_GOAL)

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
APP_FUZZ_DIR := $(FUZZ_OUT)
APP_FUZZ_FRAME := $(APP_FUZZ_DIR)/fuzz_frame_parser
APP_FUZZ_FRAME_REPLAY := $(APP_FUZZ_DIR)/fuzz_frame_parser_replay
APP_FUZZ_FRAME_CORPUS := fuzz/corpus/frame_parser
APP_FUZZ_FRAME_SRC := fuzz/fuzz_frame_parser.c

.PHONY: frame-codec fuzz-frame-parser fuzz-frame-replay fuzz-frame

frame-codec: $(APP_FRAME_CODEC)

$(APP_FRAME_CODEC): tools/frame_codec.c $(APP_PROTOCOL_SRC) $(APP_PROTOCOL_HDR) $(APP_DIR)/app.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(CSTD) $(WARN) $(HOST_OPT) -I$(APP_DIR) -o $@ \
	    tools/frame_codec.c $(APP_PROTOCOL_SRC)

# libFuzzer build (clang only), always with ASan + UBSan.
fuzz-frame-parser: $(APP_FUZZ_FRAME)

$(APP_FUZZ_FRAME): $(APP_FUZZ_FRAME_SRC) $(APP_PROTOCOL_SRC) $(APP_PROTOCOL_HDR) $(APP_DIR)/app.mk
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer -I$(APP_DIR) -o $@ \
	    $(APP_FUZZ_FRAME_SRC) $(APP_PROTOCOL_SRC)

# The same harness with a tiny main() that runs files: corpus replay without libFuzzer.
fuzz-frame-replay: $(APP_FUZZ_FRAME_REPLAY)

$(APP_FUZZ_FRAME_REPLAY): $(APP_FUZZ_FRAME_SRC) $(APP_PROTOCOL_SRC) $(APP_PROTOCOL_HDR) $(APP_DIR)/app.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(FUZZ_FLAGS) -DFS_FUZZ_STANDALONE_MAIN \
	    -I$(APP_DIR) -o $@ $(APP_FUZZ_FRAME_SRC) $(APP_PROTOCOL_SRC)

# Run libFuzzer for $(SECONDS) s. New inputs go to a scratch dir under $(BUILD) so the saved
# corpus stays small and reviewed; crashes are written to $(APP_FUZZ_DIR)/frame-artifacts/.
fuzz-frame: $(APP_FUZZ_FRAME)
	@mkdir -p $(APP_FUZZ_DIR)/frame-corpus $(APP_FUZZ_DIR)/frame-artifacts
	$(APP_FUZZ_FRAME) -max_total_time=$(SECONDS) -max_len=6000 -print_final_stats=1 \
	    -artifact_prefix=$(APP_FUZZ_DIR)/frame-artifacts/ \
	    $(APP_FUZZ_DIR)/frame-corpus $(APP_FUZZ_FRAME_CORPUS)

# Standalone: frame-codec is the default goal. Included: leave the includer's default alone.
ifeq ($(_APP_MK_STANDALONE),1)
.DEFAULT_GOAL := frame-codec
else ifeq ($(_APP_MK_PREV_GOAL),)
.DEFAULT_GOAL :=
endif
