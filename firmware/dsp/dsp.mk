# Front-end sources and the x86 logmel test tool; included by firmware/Makefile, usable alone:
#   make -C firmware -f dsp/dsp.mk logmel-tool
PYTHON ?= .venv/bin/python  # run from the repository root
BUILD ?= build
GEN ?= $(BUILD)/gen
DSP_SRC := dsp/rfft.c dsp/logmel.c
HOST_CC ?= gcc
HOST_CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Werror -Wdouble-promotion -Wfloat-conversion -Wshadow

# Feature headers come from asd.features (the single source of feature parameters).
$(GEN)/feature_config.h $(GEN)/feature_tables.h: ../asd/features.py ../export/feature_header.py
	cd .. && $(PYTHON) -m export.feature_header --out-dir firmware/$(GEN)

.PHONY: logmel-tool
logmel-tool: $(BUILD)/tools/logmel-tool$(SAN_SUFFIX)

$(BUILD)/tools/logmel-tool$(SAN_SUFFIX): tools/logmel_tool.c $(DSP_SRC) dsp/*.h $(GEN)/feature_tables.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -Idsp -I$(GEN) tools/logmel_tool.c $(DSP_SRC) -lm -o $@
