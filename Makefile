# firstshot — top-level commands (DESIGN.md "Command-line surface"). Every target runs setup first.
SHELL := /bin/bash
PY := .venv/bin/python
DATA ?= data
MACHINE ?= Polisher
MODEL ?= ae
DEB_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm clang libclang-rt-14-dev

.PHONY: setup debs test test-long demo data download summary clean

setup: .venv/.installed debs

# Re-installs only when requirements.txt changes; torch is pinned to the CPU wheel on disk.
.venv/.installed: requirements.txt
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# Debian packages for the firmware builds, QEMU and fuzzing: installed when root, else the command.
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

test: setup
	$(PY) -m pytest

# Property-based tests with many more examples, and the slow cases.
test-long: setup
	FIRSTSHOT_LONG=1 $(PY) -m pytest

data: setup
	$(PY) -m asd.synth --out $(DATA) --preset demo

download: setup
	$(PY) -m asd.download --data-root $(DATA)

summary: setup
	$(PY) -m asd.summary --data-root $(DATA)

demo: data
	$(PY) -m asd.summary --data-root $(DATA) --check

clean:
	rm -rf runs reports firmware/build .cache

# ---- training (train/, issue 3) ---------------------------------------------------------------
.PHONY: train train-all
# One model on one machine type: runs/<machine>/<model>/ (see docs/results.md).
train: setup
	$(PY) -m train --data-root $(DATA) --machine $(MACHINE) --model $(MODEL) --out runs/$(MACHINE)/$(MODEL)

# Every machine type under $(DATA) with every model, then the result table.
train-all: setup
	@set -e; for m in $$($(PY) -c "from asd.dataset import available_machines as a; print(' '.join(a('$(DATA)')))"); do \
	  for model in ae ae-maha cls; do \
	    $(PY) -m train --data-root $(DATA) --machine $$m --model $$model --out runs/$$m/$$model; \
	  done; \
	done; \
	$(PY) -m train.report runs --out runs/results.md
