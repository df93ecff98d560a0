# Every fuzz harness of the firmware, in one place: firmware/Makefile includes this file after
# the runtime sources (RUNTIME_SRC, RUNTIME_INC) and app/app.mk (APP_PROTOCOL_SRC/HDR, APP_DIR).
# Compilers and FUZZ_FLAGS (ASan + UBSan) come from host.mk. Each harness has three targets:
#
#   make -C firmware fuzz SECONDS=60       every harness below for SECONDS each
#   model loader (fuzz_model_loader.c):    fuzz-model-loader   build/fuzz/fuzz_model_loader
#                                          fuzz-replay         replay its saved corpus once
#   frame parser (fuzz_frame_parser.c):    fuzz-frame          run libFuzzer on its corpus
#                                          fuzz-frame-parser   build/fuzz/fuzz_frame_parser
#                                          fuzz-frame-replay   build/fuzz/fuzz_frame_parser_replay
#
# The libFuzzer builds need clang; the replay builds (FS_FUZZ_STANDALONE_MAIN: a main() that runs
# the files it is given) use $(HOST_CC), so the saved corpora are replayed without libFuzzer.
# Running libFuzzer writes new inputs to build/fuzz/<harness>-corpus/ so that the saved corpus
# under fuzz/corpus/ stays small and reviewed; crashes land in build/fuzz/<harness>-artifacts/.

.PHONY: fuzz fuzz-model-loader fuzz-replay fuzz-frame fuzz-frame-parser fuzz-frame-replay
fuzz: fuzz-model-loader fuzz-frame

# ---- model loader: fs_model_load on any bytes, one inference when it accepts ------------------
FUZZ_MODEL_CORPUS := fuzz/corpus/model_loader
FUZZ_MODEL_SRC    := $(RUNTIME_SRC) fuzz/fuzz_model_loader.c
FUZZ_MODEL_DEPS   := $(FUZZ_MODEL_SRC) $(wildcard $(RUNTIME_DIR)/*.h $(RUNTIME_DIR)/ops/*.h)

fuzz-model-loader: $(FUZZ_OUT)/fuzz_model_loader
	@mkdir -p $(FUZZ_OUT)/model-corpus $(FUZZ_OUT)/model-artifacts
	$< -max_total_time=$(SECONDS) -max_len=65536 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_OUT)/model-artifacts/ $(FUZZ_OUT)/model-corpus $(FUZZ_MODEL_CORPUS)

fuzz-replay: $(FUZZ_OUT)/fuzz_model_loader_replay
	$< $(FUZZ_MODEL_CORPUS)/*

$(FUZZ_OUT)/fuzz_model_loader: $(FUZZ_MODEL_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(RUNTIME_INC) -o $@ $(FUZZ_MODEL_SRC) -lm

$(FUZZ_OUT)/fuzz_model_loader_replay: $(FUZZ_MODEL_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(FUZZ_FLAGS) -DFS_FUZZ_STANDALONE_MAIN $(RUNTIME_INC) -o $@ $(FUZZ_MODEL_SRC) -lm

# ---- frame parser: the protocol's parser, COBS and frame encoder on any byte stream -----------
FUZZ_FRAME_CORPUS := fuzz/corpus/frame_parser
FUZZ_FRAME_SRC    := fuzz/fuzz_frame_parser.c $(APP_PROTOCOL_SRC)
FUZZ_FRAME_DEPS   := $(FUZZ_FRAME_SRC) $(APP_PROTOCOL_HDR)

fuzz-frame: $(FUZZ_OUT)/fuzz_frame_parser
	@mkdir -p $(FUZZ_OUT)/frame-corpus $(FUZZ_OUT)/frame-artifacts
	$< -max_total_time=$(SECONDS) -max_len=6000 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_OUT)/frame-artifacts/ $(FUZZ_OUT)/frame-corpus $(FUZZ_FRAME_CORPUS)

fuzz-frame-parser: $(FUZZ_OUT)/fuzz_frame_parser
fuzz-frame-replay: $(FUZZ_OUT)/fuzz_frame_parser_replay

$(FUZZ_OUT)/fuzz_frame_parser: $(FUZZ_FRAME_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer -I$(APP_DIR) -o $@ $(FUZZ_FRAME_SRC)

$(FUZZ_OUT)/fuzz_frame_parser_replay: $(FUZZ_FRAME_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(FUZZ_FLAGS) -DFS_FUZZ_STANDALONE_MAIN -I$(APP_DIR) -o $@ $(FUZZ_FRAME_SRC)
