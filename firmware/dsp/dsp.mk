# Front-end sources and the x86 logmel test tool; included by firmware/Makefile, usable alone:
#   make -C firmware -f dsp/dsp.mk logmel-tool [SANITIZE=1]   build/tools[-san]/logmel-tool
include host.mk
PYTHON ?= .venv/bin/python  # run from the repository root
GEN ?= $(BUILD)/gen

# ---- CMSIS-DSP's float32 real FFT (arm_rfft_fast_f32) ------------------------------------
# From the pinned cmsisdsp sdist: ../third_party/sdists/fetch.py checks its SHA-256 and unpacks
# the files below into ../.cache/sdists/cmsisdsp-<version>/ (`make setup`; fetched here too when
# missing or when the pin in SHA256SUMS changes). The version is the one SHA256SUMS pins.
SDIST_SUMS    := ../third_party/sdists/SHA256SUMS
CMSIS_DSP_DIR := ../.cache/sdists/$(patsubst %.tar.gz,%,$(filter cmsisdsp-%.tar.gz,$(file < $(SDIST_SUMS))))
CMSIS_DSP_STAMP := $(CMSIS_DSP_DIR)/.sha256
CMSIS_DSP_SRC := $(addprefix $(CMSIS_DSP_DIR)/Source/, \
    TransformFunctions/arm_rfft_fast_f32.c TransformFunctions/arm_rfft_fast_init_f32.c \
    TransformFunctions/arm_cfft_f32.c TransformFunctions/arm_cfft_radix8_f32.c \
    TransformFunctions/arm_cfft_init_f32.c TransformFunctions/arm_bitreversal2.c \
    CommonTables/arm_common_tables.c CommonTables/arm_const_structs.c)
# -isystem: the project's -Werror warnings stay on for our code, not for CMSIS-DSP's headers.
CMSIS_DSP_INC := -isystem $(CMSIS_DSP_DIR)/Include -isystem $(CMSIS_DSP_DIR)/PrivateInclude
# -D__GNUC_PYTHON__ (what CMSIS-DSP's own setup.py builds with) drops its dependency on CMSIS-Core
# headers, on x86 and on the Cortex-M4 alike; for float32 it only turns off integer SIMD paths.
# -ffp-contract=off: no fused multiply-add on either side (Cortex-M4 has VFMA), so the x86
# emulator and the boards compute the same floats. Sections let --gc-sections drop the tables
# of every FFT size but n_fft's (arm_common_tables.c holds all of them).
CMSIS_DSP_CFLAGS := -D__GNUC_PYTHON__ -ffp-contract=off -ffunction-sections -fdata-sections

# Fetched while the makefiles are read, before any rule, so that a missing or tampered download
# stops the build with fetch.py's one-line error instead of a compiler error. Only when the
# unpacked tree's stamp is not the pinned hash (otherwise nothing runs), and not for `make clean`.
_CMSIS_DSP_PIN := $(shell sed -n 's/^\([0-9a-f]*\)  cmsisdsp-.*/\1/p' $(SDIST_SUMS))
_CMSIS_DSP_GOALS := $(if $(MAKECMDGOALS),$(filter-out clean,$(MAKECMDGOALS)),default)
ifneq ($(strip $(file < $(CMSIS_DSP_STAMP))),$(_CMSIS_DSP_PIN))
ifneq ($(_CMSIS_DSP_GOALS),)
ifneq ($(shell cd .. && $(PYTHON) third_party/sdists/fetch.py cmsisdsp >&2 || echo failed),)
$(error CMSIS-DSP is not in $(CMSIS_DSP_DIR) and fetching it failed (third_party/sdists/fetch.py): run `make setup`)
endif
endif
endif

# Front-end sources, include paths and flags, for every build that links the front end.
DSP_SRC    := dsp/logmel.c $(CMSIS_DSP_SRC)
DSP_INC    := -Idsp $(CMSIS_DSP_INC)
DSP_CFLAGS := $(CMSIS_DSP_CFLAGS)

# Feature headers come from asd.features (the single source of feature parameters).
$(GEN)/feature_config.h $(GEN)/feature_tables.h: ../asd/features.py ../export/feature_header.py
	cd .. && $(PYTHON) -m export.feature_header --out-dir firmware/$(GEN)

.PHONY: logmel-tool
logmel-tool: $(TOOLS_OUT)/logmel-tool

$(TOOLS_OUT)/logmel-tool: tools/logmel_tool.c $(DSP_SRC) dsp/*.h $(GEN)/feature_tables.h
	@mkdir -p $(@D)
	$(HOST_CC) $(CSTD) $(WARN) $(HOST_OPT) $(DSP_CFLAGS) $(DSP_INC) -I$(GEN) tools/logmel_tool.c \
	    $(DSP_SRC) -Wl,--gc-sections -lm -o $@

# x86 check that logmel.c's fused bands equal the band-by-band path bit for bit
# (tests/firmware/dsp/test_frontend.py runs it): the test's C includes logmel.c itself.
.PHONY: mel-check
mel-check: $(TOOLS_OUT)/mel-check

$(TOOLS_OUT)/mel-check: ../tests/firmware/dsp/mel_check.c $(DSP_SRC) dsp/*.h $(GEN)/feature_tables.h
	@mkdir -p $(@D)
	$(HOST_CC) $(CSTD) $(WARN) $(HOST_OPT) $(DSP_CFLAGS) $(DSP_INC) -I$(GEN) $< \
	    $(CMSIS_DSP_SRC) -Wl,--gc-sections -lm -o $@
