# firstshot — top-level commands (README.md "Two commands", "Other commands"). Every target runs
# setup first.
SHELL := /bin/bash
PY := .venv/bin/python
DATA ?= data
MACHINE ?= Polisher
# the default model kind (train/config.py DEFAULT_MODEL; docs/results.md says why)
MODEL ?= stats
# openocd (0.12) and stlink-tools (st-flash 1.7): the flashing tools `make flash` looks for.
DEB_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm clang libclang-rt-14-dev \
                openocd stlink-tools libportaudio2

PORT ?= emu
PRUNE ?=
RUN_DIR = runs/$(MACHINE)/$(MODEL)

.PHONY: setup debs test test-long demo data download summary clean export export-study bench ensure-data \
        monitor

setup: .venv/.installed debs sdists

# Re-installs only when requirements.txt or pyproject.toml changes; torch is pinned to the CPU
# wheel on disk. The project itself goes in editable (pyproject.toml says why), with the venv's
# own setuptools: no build dependency is downloaded.
.venv/.installed: requirements.txt pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Pinned sdists from the package registry into .cache/sdists/ (CMSIS-DSP's FFT for the front end,
# ST's STM32F446 SVD for tests/boards/test_svd_f446.py), checked against
# third_party/sdists/SHA256SUMS: a missing or tampered download stops here with one line.
.PHONY: sdists
sdists: .venv/.installed
	@$(PY) third_party/sdists/fetch.py cmsisdsp cmsis-svd

# Debian packages for the firmware builds, QEMU, fuzzing and flashing: installed when root, else the command.
debs:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get install -y -q --no-install-recommends $$missing >/dev/null \
	      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y $$missing"; \
	  fi; \
	fi

test: setup format-check
	$(PY) -m pytest

# Property-based tests with many more examples, and the slow cases.
test-long: setup
	FIRSTSHOT_LONG=1 $(PY) -m pytest

# Regenerated only when the generator changes (it is deterministic: same files every time).
data: setup $(DATA)/.synth-demo

$(DATA)/.synth-demo: $(wildcard asd/synth/*.py)
	$(PY) -m asd.synth --out $(DATA) --preset demo
	touch $@

download: setup
	$(PY) -m asd.download --data-root $(DATA)

summary: setup
	$(PY) -m asd.summary --data-root $(DATA)

# The main job on the embedded default data: synthetic demo set -> train -> prune/int8/verify/C
# export -> emulated firmware -> bench over its pty -> summary table and report path.
demo: setup
	@$(MAKE) --no-print-directory data
	$(PY) -m asd.summary --data-root $(DATA) --check
	@$(MAKE) --no-print-directory export MACHINE=$(MACHINE) MODEL=$(MODEL)
	@$(MAKE) --no-print-directory bench MACHINE=$(MACHINE) PORT=emu
	$(PY) host/monitor.py --port emu --machine $(MACHINE) --data-root $(DATA) --test-clips 3 --fast

# MACHINE's data: nothing to do when the data root holds its folder (real or synthetic, any name);
# the synthetic demo set (`make data`) when MACHINE is one of the demo's types; otherwise the
# one-line error listing the machines the root holds (`asd.summary --has` exits 3 for "make data").
ensure-data: setup
	@$(PY) -m asd.summary --data-root $(DATA) --has '$(MACHINE)' \
	  || { [ $$? = 3 ] && $(MAKE) --no-print-directory data; }

# Train (reused when RUN_DIR already holds this config), then prune (PRUNE=0.5 keeps half the
# MACs), quantize, verify against TFLite Micro and write firmware/models/$(MACHINE)/.
export: setup ensure-data
	$(PY) -m train --data-root $(DATA) --machine $(MACHINE) --model $(MODEL) --out $(RUN_DIR)
	$(PY) -m export --run $(RUN_DIR) --machine $(MACHINE) --data-root $(DATA) $(if $(PRUNE),--prune $(PRUNE))

# docs/export.md's table: each demo machine, ae and cls, unpruned and pruned to half the MACs
# (written to runs/study/; the study reports drops instead of failing on them).
STUDY_MACHINES ?= ToyCar fan Polisher
export-study: setup data
	@set -e; for m in $(STUDY_MACHINES); do for model in ae cls; do \
	  $(PY) -m train --data-root $(DATA) --machine $$m --model $$model --out runs/$$m/$$model; \
	  $(PY) -m export --run runs/$$m/$$model --machine $$m --data-root $(DATA) --max-drop 100 \
	      --out runs/study/$$m/$$model/int8; \
	  $(PY) -m export --run runs/$$m/$$model --machine $$m --data-root $(DATA) --max-drop 100 \
	      --prune 0.5 --out runs/study/$$m/$$model/pruned; \
	done; done
	$(PY) -m export.table runs/study | tee runs/study/table.md

# Stream the test clips to a device (PORT=emu | qemu | /dev/ttyACM0 | socket://127.0.0.1:4444).
bench: setup
	$(PY) host/bench.py --port $(PORT) --machine $(MACHINE) --data-root $(DATA) $(BENCH_ARGS)

# Continuous monitoring (docs/monitor.md): WAV="a.wav b.wav" streams files back to back, without
# WAV the microphone; MONITOR_ARGS for the rest (--log out.csv --check --hop 0.5 --window 5 ...).
monitor: setup
	$(PY) host/monitor.py --port $(PORT) --machine $(MACHINE) $(if $(WAV),--wav $(WAV),--mic) \
	  $(MONITOR_ARGS)

include firmware/boards/flash.mk
include firmware/perf.mk

# ---- C convention (.clang-format, issue 14) ---------------------------------------------------
# Every C file of the firmware is held to .clang-format, except the generated firmware/app/messages.h
# (host/messages.py writes it; `python -m host.messages --check` keeps it fresh) and the exported
# models (firmware/models/, not in the repository). `make test` runs format-check first.
.PHONY: format-check format
CLANG_FORMAT := .venv/bin/clang-format
FORMAT_FILES = $(sort $(filter-out firmware/app/messages.h firmware/models/%, \
                 $(shell find firmware -name '*.[ch]' -not -path 'firmware/models/*' -not -path 'firmware/build/*')))

# Lists the files and fails (with clang-format's diagnostics) when one differs from the style.
format-check: setup
	@echo "format-check: $(words $(FORMAT_FILES)) files: $(FORMAT_FILES)"
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

format: setup
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

clean:
	rm -rf runs reports firmware/build .cache

# ---- training (train/, issue 3) ---------------------------------------------------------------
.PHONY: train train-all fleet-bench
# One model on one machine type: runs/<machine>/<model>/ (see docs/results.md).
train: setup
	$(PY) -m train --data-root $(DATA) --machine $(MACHINE) --model $(MODEL) --out runs/$(MACHINE)/$(MODEL)

# Every machine type under $(DATA) with every model and the reference detector, then the table.
# The runs go in parallel on local Ray, one per core (python -m train.fleet, docs/fleet.md);
# WORKERS=N to use fewer cores, RAY_ADDRESS=host:6379 for a cluster. A failed run is reported
# and the table still made of the others; the exit status is then non-zero.
train-all: setup
	@rc=0; $(PY) -m train.fleet --data-root $(DATA) --machines all --models all --out runs \
	  $(if $(WORKERS),--workers $(WORKERS)) > /dev/null || rc=$$?; \
	$(PY) -m train.reference_pca --data-root $(DATA) --out runs && \
	$(PY) -m train.report runs --out runs/results.md && exit $$rc

# docs/fleet.md's measurement: the same tasks one after another with python -m train, then on the
# fleet (2 workers), from empty caches; FLEET_BENCH_ARGS="--repeat 3 --models cls" etc.
fleet-bench: setup
	$(PY) -m train.fleet_bench $(FLEET_BENCH_ARGS)

# ---- your own recordings (asd.ingest, issue 12) -----------------------------------------------
.PHONY: ingest
# Recordings SRC (folders or audio files: normal, source domain) -> $(DATA)/dev_data/raw/$(MACHINE)/
# in the official layout; optional TEST_NORMAL=, TEST_ANOMALY=, TARGET= and CLIP_SECONDS=
# (docs/data.md "Your own recordings"; paths with spaces: call python -m asd.ingest directly).
ingest: setup
	@[ "$(origin MACHINE)" != file ] && [ -n "$(SRC)" ] \
	  || { echo "error: usage: make ingest MACHINE=NAME SRC=folder [TEST_NORMAL=..] [TEST_ANOMALY=..]" >&2; exit 2; }
	$(PY) -m asd.ingest --data-root $(DATA) --machine $(MACHINE) --normal $(SRC) \
	  $(if $(TARGET),--target $(TARGET)) $(if $(TEST_NORMAL),--test-normal $(TEST_NORMAL)) \
	  $(if $(TEST_ANOMALY),--test-anomaly $(TEST_ANOMALY)) $(if $(CLIP_SECONDS),--seconds $(CLIP_SECONDS))
