# The one convention of the firmware's x86 (host) builds: compilers, warnings and the sanitizer
# switch. firmware/Makefile, app/app.mk, dsp/dsp.mk and boards/emu/board.mk include it (each
# also works alone with `make -f`, from the firmware directory); including it twice is harmless.
#
#   SANITIZE=0 (default)  -O2                      outputs in $(BUILD)/tools/
#   SANITIZE=1            ASan + UBSan, -O1 -g     outputs in $(BUILD)/tools-san/
ifndef FS_HOST_MK
FS_HOST_MK := 1

BUILD    ?= build
HOST_CC  ?= gcc
CLANG    ?= clang
SANITIZE ?= 0
SECONDS  ?= 60

CSTD     := -std=c11
# Every build of the firmware's C, x86 and Cortex-M alike (boards/cortex-m/cortexm.mk), warns
# with these and stops on a warning.
WARN     := -Wall -Wextra -Werror -Wdouble-promotion -Wfloat-conversion -Wshadow
DEPFLAGS := -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(SANITIZE),1)
TOOLS_OUT := $(BUILD)/tools-san
HOST_OPT  := -O1 -g $(SAN_FLAGS)
SAN_DIR_SUFFIX := -san
else ifeq ($(SANITIZE),0)
TOOLS_OUT := $(BUILD)/tools
HOST_OPT  := -O2
SAN_DIR_SUFFIX :=
else
$(error SANITIZE=$(SANITIZE): use SANITIZE=1 (ASan + UBSan) or SANITIZE=0)
endif

# Fuzzing: every harness is built by clang with libFuzzer, ASan and UBSan; its replay build
# (FS_FUZZ_STANDALONE_MAIN: a main() that runs the files it is given) by $(HOST_CC).
FUZZ_OUT   := $(BUILD)/fuzz
FUZZ_FLAGS := $(CSTD) $(WARN) -O1 -g $(SAN_FLAGS)

endif
