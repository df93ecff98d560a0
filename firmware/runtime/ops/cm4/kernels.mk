# Kernel selection for the Cortex-M board builds (included by boards/cortex-m/cortexm.mk), the
# way TFLite Micro's OPTIMIZED_KERNEL_DIR picks kernels/cmsis_nn/:
#
#   KERNELS=cm4  (default) compiles every runtime/ops/cm4/*.c and defines FS_KERNELS_CM4=1, so
#                that the operator table (runtime/fs_ops.c) registers fs_<op>_cm4_prepare and
#                fs_<op>_cm4_eval for FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, PAD and ADD. Those run
#                the reference prepare (same checks, same parameters), add what the DSP kernel
#                needs and record in the op's parameters which kernel its eval runs (FS_KERNEL_CM4,
#                or FS_KERNEL_REF where the DSP kernel does not apply). The portable sources are
#                not changed and stay in every build.
#   KERNELS=ref  the portable reference kernels only (FS_KERNELS_CM4=0); outputs go to
#                build/<board>-ref/...
#
# Any other value is refused. The define reaches every object through BOARD_DEFS (part of
# FW_CFLAGS in cortexm.mk). docs/performance.md has the figures; tests/boards/test_kernels_cm4.py
# the byte-exact tests.
CM4_KERNEL_DIR := $(RUNTIME_DIR)/ops/cm4
CM4_KERNEL_SRC := $(wildcard $(CM4_KERNEL_DIR)/*.c)

ifeq ($(KERNELS),cm4)
RUNTIME_SRC     += $(CM4_KERNEL_SRC)
BOARD_DEFS      += -DFS_KERNELS_CM4=1
KERNELS_SUFFIX  :=
else ifeq ($(KERNELS),ref)
BOARD_DEFS      += -DFS_KERNELS_CM4=0
KERNELS_SUFFIX  := -ref
else
$(error KERNELS=$(KERNELS): use KERNELS=cm4 (Cortex-M4 DSP kernels) or KERNELS=ref (portable))
endif
