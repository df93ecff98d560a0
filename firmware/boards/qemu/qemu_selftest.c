/* On-target self-test of the Cortex-M support code, for QEMU (SELFTEST=1 builds this instead of
 * cm_main.c). Results go to QEMU's stdout by semihosting, one "ok"/"FAIL" line per check, and
 * QEMU exits with the number of failed checks (0 = all passed) via SYS_EXIT_EXTENDED.
 * With `-append fault` it then executes an undefined instruction, to show the fault report on
 * the UART (and QEMU exits with status 70).
 *
 *   qemu-system-arm -M netduinoplus2 -display none -monitor none -serial stdio -icount shift=0 \
 *       -semihosting-config enable=on,target=native -kernel build/qemu-selftest/X/firmware.elf */
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "board.h"
#include "cm.h"
#include "cm_semihost.h"
#include "model_config.h"
#include "ring.h"

static alignas(16) uint8_t arena[FS_MODEL_ARENA_BYTES];
static fs_app app;
static cm_ring ring;
static volatile uint32_t initialised = 0x12345678u; /* .data */
static volatile uint32_t zeroed[16];                /* .bss */
static int failures;

static void check(int ok, const char *what, const char *detail) {
    char line[260];
    snprintf(line, sizeof line, "%s %s%s%s\n", ok ? "ok  " : "FAIL", what, *detail ? ": " : "",
             detail);
    cm_semihost_write0(line);
    failures += !ok;
}

/* Uses about `bytes` of stack, so the high-water mark must grow. */
__attribute__((noinline)) static uint32_t deep(volatile uint8_t *prev, int depth) {
    volatile uint8_t local[256];
    local[0] = (uint8_t)depth;
    if (prev) local[1] = prev[0];
    return depth ? deep(local, depth - 1) + local[0] : local[0];
}

/* A loop of a known instruction count: 2 per iteration (subs, bne). */
__attribute__((noinline)) static void spin_exact(uint32_t n) {
    __asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

int main(void) {
    char detail[200];
    board_init();

    check(initialised == 0x12345678u, ".data copied", "");
    int zero = 1;
    for (int i = 0; i < 16; i++) zero &= zeroed[i] == 0;
    check(zero, ".bss zeroed", "");

    volatile uint32_t *ram_end = (volatile uint32_t *)0x2002FFFCu; /* link.ld: 192 KiB SRAM */
    *ram_end = 0xA5A55A5Au;
    check(*ram_end == 0xA5A55A5Au, "last SRAM word (0x2002fffc) is RAM", "");

    volatile float x = 2.0f;
    float r = sqrtf(x) * sqrtf(x);
    check(fabsf(r - 2.0f) < 1e-6f, "FPU enabled (CPACR)", "");

    uint32_t t0 = board_cycles();
    spin_exact(100000);
    uint32_t dt = board_cycles() - t0;
    snprintf(detail, sizeof detail, "%lu ticks for 200000 loop instructions", (unsigned long)dt);
    check(dt >= 200000u && dt < 201000u, "cycle counter counts instructions (-icount shift=0)",
          detail);

    int ring_ok = 1;
    for (uint32_t i = 0; i < 3 * CM_RING_BYTES + 7; i++) {
        cm_ring_push(&ring, (uint8_t)i);
        ring_ok &= !cm_ring_empty(&ring) && cm_ring_pop(&ring) == (uint8_t)i;
    }
    for (uint32_t i = 0; i < CM_RING_BYTES + 5; i++) cm_ring_push(&ring, (uint8_t)i);
    ring_ok &= ring.dropped == 5;
    for (uint32_t i = 0; i < CM_RING_BYTES; i++) ring_ok &= cm_ring_pop(&ring) == (uint8_t)i;
    ring_ok &= cm_ring_empty(&ring);
    check(ring_ok, "ring buffer wraps, drops when full", "");

    size_t before = cm_stack_high_water();
    (void)deep(NULL, 16);
    size_t after = cm_stack_high_water();
    snprintf(detail, sizeof detail, "%u -> %u of %u bytes", (unsigned)before, (unsigned)after,
             (unsigned)cm_stack_size());
    check(before > 0 && after >= 16 * 256 && after < cm_stack_size(),
          "stack painted, high-water mark grows", detail);

    fs_app_init(&app, arena, sizeof arena); /* sends HELLO on the UART */
    snprintf(detail, sizeof detail, "arena %u of %u bytes; %s",
             (unsigned)fs_model_arena_used(&app.model), (unsigned)sizeof arena, app.model_msg);
    check(app.model_ok, "model loads on target", detail);
    snprintf(detail, sizeof detail, "%u bytes after init", (unsigned)cm_stack_high_water());
    check(cm_stack_high_water() < cm_stack_size(), "stack high-water after model init", detail);

    static char cmdline[512]; /* QEMU passes "<kernel path> <-append text>" */
    int n = cm_semihost_cmdline(cmdline, sizeof cmdline);
    const char *last = n > 0 ? strrchr(cmdline, ' ') : NULL; /* the -append word */
    if (last && strcmp(last + 1, "fault") == 0) {
        cm_semihost_write0("faulting on purpose (udf)\n");
        __asm volatile("udf #0");
    }
    cm_semihost_exit(failures);
}
