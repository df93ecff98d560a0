#include "cm_semihost.h"

#include <stdint.h>

static int semihost(int op, const void *arg) {
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

_Noreturn void cm_semihost_exit(int code) {
    const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost(0x20, block);
    for (;;) {
    }
}

void cm_semihost_write0(const char *s) { semihost(0x04, s); }

int cm_semihost_cmdline(char *buf, size_t len) {
    uint32_t block[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)len};
    if (semihost(0x15, block) != 0) return -1;
    return (int)block[1];
}
