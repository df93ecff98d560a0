#ifndef FS_BOARD_EMU_H
#define FS_BOARD_EMU_H
/* Parse the emulator's command line (--stdio | --link PATH) and open its UART. 0 = ok. */
int board_emu_configure(int argc, char **argv);
/* 1 once after SIGUSR1 (the emulator's reset button), else 0. */
int board_emu_take_reset(void);
#endif
