#ifndef FS_BOARD_EMU_H
#define FS_BOARD_EMU_H
/* Parse the emulator's command line (--stdio | --link PATH) and open its UART. 0 = ok. */
int board_emu_configure(int argc, char **argv);
#endif
