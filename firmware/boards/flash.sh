#!/bin/sh
# flash.sh BOARD FIRMWARE_DIR [st-flash|openocd|pyocd]: write FIRMWARE_DIR/firmware.{bin,elf} to
# a Nucleo board through its on-board ST-LINK, with the given tool or the first one installed.
set -u
board=$1 dir=$2 tool=${3:-}
elf=$dir/firmware.elf
bin=$dir/firmware.bin

case $board in
nucleo-f446re)
    set -- -f board/st_nucleo_f4.cfg
    pyocd_target=stm32f446retx pyocd_pack=stm32f446re ;;
nucleo-l4r5zi)
    set -- -f interface/stlink.cfg -f target/stm32l4x.cfg \
        -c "reset_config srst_only srst_nogate connect_assert_srst"
    pyocd_target=stm32l4r5zitx pyocd_pack=stm32l4r5zi ;;
*)
    echo "flash.sh: unknown board '$board' (nucleo-f446re or nucleo-l4r5zi)" >&2; exit 2 ;;
esac
for f in "$elf" "$bin"; do
    [ -f "$f" ] || { echo "flash.sh: $f missing: build first (make -C firmware BOARD=$board MACHINE=...)" >&2; exit 1; }
done

if [ -z "$tool" ]; then
    for t in st-flash openocd pyocd; do
        if command -v $t >/dev/null 2>&1; then tool=$t; break; fi
    done
fi
if [ -z "$tool" ]; then
    cat >&2 <<MSG
make flash: no flashing tool found. Install one of:
  st-flash  (stlink-tools):  sudo apt-get install stlink-tools
  openocd:                   sudo apt-get install openocd
  pyocd:                     .venv/bin/pip install pyocd && .venv/bin/pyocd pack install $pyocd_pack
then plug the Nucleo in by its ST-LINK USB connector and run make flash again.
Without any tool: copy $bin to the NODE_* USB drive the ST-LINK mounts.
MSG
    exit 1
fi
command -v "$tool" >/dev/null 2>&1 || { echo "flash.sh: $tool is not installed" >&2; exit 1; }

echo "flashing $board with $tool: $elf"
case $tool in
st-flash)
    exec st-flash --reset write "$bin" 0x08000000 ;;
openocd)
    exec openocd "$@" -c "program $elf verify reset exit" ;;
pyocd)
    exec pyocd flash --target "$pyocd_target" "$elf" ;;
*)
    echo "flash.sh: unknown tool '$tool' (st-flash, openocd or pyocd)" >&2; exit 2 ;;
esac
