# Kernel selection for the Cortex-M board builds (included by boards/cortex-m/cortexm.mk).
#
#   KERNELS=cm4  (default) every runtime/ops/cm4/<op>_cm4.c is compiled in and takes over the
#                operator's entry points fs_<op>_prepare and fs_<op>_eval through the linker's
#                --wrap: the operator table (fs_ops.c) then calls __wrap_fs_<op>_*, which run the
#                reference prepare (__real_fs_<op>_prepare: same checks, same parameters) and
#                add what the DSP kernel needs, and use the DSP kernel where it applies, else the
#                reference kernel. The portable sources are not changed and stay in every build.
#   KERNELS=ref  the portable reference kernels only; outputs go to build/<board>-ref/...
#
# docs/performance.md has the figures; tests/boards/test_kernels_cm4.py the byte-exact tests.
CM4_KERNEL_DIR := $(RUNTIME_DIR)/ops/cm4
CM4_KERNEL_SRC := $(wildcard $(CM4_KERNEL_DIR)/*_cm4.c)
CM4_KERNEL_OPS := $(patsubst %_cm4.c,%,$(notdir $(CM4_KERNEL_SRC)))

ifeq ($(KERNELS),cm4)
RUNTIME_SRC     += $(CM4_KERNEL_SRC)
KERNELS_LDFLAGS := $(foreach op,$(CM4_KERNEL_OPS),-Wl,--wrap=fs_$(op)_prepare -Wl,--wrap=fs_$(op)_eval)
KERNELS_SUFFIX  :=
else ifeq ($(KERNELS),ref)
KERNELS_LDFLAGS :=
KERNELS_SUFFIX  := -ref
else
$(error KERNELS=$(KERNELS): use KERNELS=cm4 (Cortex-M4 DSP kernels) or KERNELS=ref (portable))
endif
