# `make flash BOARD=nucleo-f446re|nucleo-l4r5zi MACHINE=X` for the top-level Makefile, which
# includes this file (`include firmware/boards/flash.mk`). Builds the firmware, then flashes it
# with the first of st-flash (stlink-tools), openocd or pyocd found on PATH; FLASH_TOOL=...
# picks one. MODEL_DIR=... (relative to firmware/) overrides firmware/models/$(MACHINE).
# FLASH_DEPS are the targets run first (the top level's setup).
FLASH_TOOL ?=
FLASH_DEPS ?= setup
FLASH_FW   := firmware/build/$(BOARD)/$(MACHINE)

.PHONY: flash
flash: $(FLASH_DEPS)
	@case "$(BOARD)" in nucleo-f446re|nucleo-l4r5zi) ;; \
	  *) echo "make flash: BOARD=nucleo-f446re or BOARD=nucleo-l4r5zi (got '$(BOARD)'); the qemu board runs in QEMU (docs/boards.md)" >&2; exit 2;; esac
	$(MAKE) -C firmware BOARD=$(BOARD) MACHINE=$(MACHINE) $(if $(MODEL_DIR),MODEL_DIR=$(MODEL_DIR))
	@sh firmware/boards/flash.sh $(BOARD) $(FLASH_FW) $(FLASH_TOOL)
	@echo "flashed $(BOARD) with $(MACHINE); next: python host/bench.py --port /dev/ttyACM0 --machine $(MACHINE)"
