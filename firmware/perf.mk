# `make perf` for the top-level Makefile, which includes this file (`include firmware/perf.mk`):
# a benchmark, not a test. Builds the qemu firmware with KERNELS=ref and KERNELS=cm4 for MLPerf
# Tiny's ad01 and every exported model in firmware/models/*/, runs them in QEMU with
# -icount shift=0 (instruction counts, deterministic), estimates Cortex-M4 cycles from the same
# runs' logged instruction streams (host/cycle_model.py, host/cycle_trace.py) and writes
# docs/performance.json and docs/performance.md (host/perf.py). PERF_ARGS passes options, e.g.
# PERF_ARGS="--seconds 2".
PERF_DEPS ?= setup
PERF_ARGS ?=

.PHONY: perf
perf: $(PERF_DEPS)
	$(PY) host/perf.py $(PERF_ARGS)
