/* ARM semihosting (the "Semihosting for AArch32 and AArch64" spec): BKPT 0xAB with the operation
 * in r0 and its argument block in r1. Only for QEMU (-semihosting-config enable=on) or a
 * debugger: on a board running alone, BKPT escalates to a HardFault. */
#ifndef FS_CM_SEMIHOST_H
#define FS_CM_SEMIHOST_H
#include <stddef.h>

/* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit: QEMU exits with `code`. */
_Noreturn void cm_semihost_exit(int code);
/* SYS_WRITE0 (0x04): a NUL-terminated string to the host's console (QEMU's stdout). */
void cm_semihost_write0(const char *s);
/* SYS_GET_CMDLINE (0x15): QEMU's -append text into buf; returns its length, or -1. */
int cm_semihost_cmdline(char *buf, size_t len);

#endif
