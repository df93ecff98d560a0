/* run-model for QEMU (RUNMODEL=1 builds this instead of cm_main.c): the int8 runtime alone, on the
 * emulated Cortex-M4, fed with a "pack" of models and inputs that QEMU's generic loader places in
 * flash. Used by the kernel tests (tests/boards/test_kernels_cm4.py: KERNELS=ref vs KERNELS=cm4,
 * byte for byte) and by `make perf` (instructions per inference under -icount shift=0).
 *
 *   qemu-system-arm -M netduinoplus2 -display none -monitor none -serial null -icount shift=0 \
 *       -semihosting-config enable=on,target=native -kernel build/qemu-runmodel/X/firmware.elf \
 *       -device loader,file=pack.bin,addr=0x08040000,force-raw=on -append "0x08040000 out.bin"
 *
 * host/qemu.py writes the pack and parses the results. All numbers little-endian uint32.
 *   pack:    "FSRP", n_jobs, then n_jobs x {model_off, model_len, input_off, input_bytes,
 *            count, flags}; offsets from the start of the pack; flags bit 0: profile the last
 *            input per operator (one extra, profiled invoke).
 *   results: "FSRR", n_jobs, then per job: load status, arena_used, n_ops, count, out_bytes;
 *            count x {invoke status, instructions of fs_model_invoke, out_bytes output bytes};
 *            stack high-water mark, n_profiled (n_ops or 0), n_profiled x instructions per
 *            operator, msg_len, msg (the load failure's message).
 * The file is written through semihosting (SYS_OPEN/SYS_WRITE), QEMU exits with 0 when every
 * job ran (a model the runtime refuses is a result, not a failure), 1 on a bad pack.
 *
 * The stack is repainted before each job so its high-water mark is that job's (the runtime's
 * load + invoke, plus this harness's frame). */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "cm.h"
#include "cm_semihost.h"
#include "fs_runtime.h"

#define RM_ARENA_BYTES (128u * 1024u)
#define RM_MAX_OPS 256u
#define RM_PACK_MAGIC 0x50525346u   /* "FSRP" */
#define RM_RESULT_MAGIC 0x52525346u /* "FSRR" */

static alignas(16) uint8_t arena[RM_ARENA_BYTES];
static fs_model model;
static uint32_t op_instructions[RM_MAX_OPS];

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];

static int semihost(int op, void *arg) {
    register int r0 __asm("r0") = op;
    register void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int out_handle = -1;

static void out_write(const void *data, size_t len) {
    uint32_t block[3] = {(uint32_t)out_handle, (uint32_t)(uintptr_t)data, (uint32_t)len};
    if (len && semihost(0x05 /* SYS_WRITE */, block) != 0) {
        cm_semihost_write0("run-model: writing the results failed\n");
        cm_semihost_exit(1);
    }
}

static void out_u32(uint32_t v) { out_write(&v, 4); }

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t cycles(void *user) {
    (void)user;
    return board_cycles();
}

/* Paint the unused stack below the current frame again (cm_startup.c paints it at reset). */
__attribute__((noinline)) static void repaint_stack(void) {
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; p < sp - 16; p++) *p = CM_STACK_PAINT;
}

static _Noreturn void bad_pack(const char *why) {
    cm_semihost_write0("run-model: bad pack: ");
    cm_semihost_write0(why);
    cm_semihost_write0("\n");
    cm_semihost_exit(1);
}

/* One job; noinline so its frame is below the repainted region's top. */
__attribute__((noinline)) static void run_job(const uint8_t *pack, const uint8_t *job) {
    const uint32_t model_off = rd32(job), model_len = rd32(job + 4);
    const uint32_t input_off = rd32(job + 8), input_bytes = rd32(job + 12);
    const uint32_t count = rd32(job + 16), flags = rd32(job + 20);

    fs_status st = fs_model_load(&model, pack + model_off, model_len, arena, sizeof arena);
    fs_tensor *in = st == FS_OK ? fs_model_input(&model, 0) : NULL;
    const fs_tensor *out = st == FS_OK ? fs_model_output(&model, 0) : NULL;
    if (st == FS_OK && in->bytes != input_bytes) st = FS_ERR_SHAPE;
    const uint32_t n_ops = st == FS_OK ? (uint32_t)fs_model_op_count(&model) : 0;
    const uint32_t out_bytes = st == FS_OK ? (uint32_t)out->bytes : 0;
    out_u32((uint32_t)st);
    out_u32(st == FS_OK ? (uint32_t)fs_model_arena_used(&model) : 0);
    out_u32(n_ops);
    out_u32(st == FS_OK ? count : 0);
    out_u32(out_bytes);
    const char *msg = st == FS_OK ? "" : (model.msg[0] ? model.msg : fs_status_str(st));
    for (uint32_t i = 0; st == FS_OK && i < count; i++) {
        memcpy(in->data, pack + input_off + i * input_bytes, input_bytes);
        const uint32_t t0 = board_cycles();
        const fs_status s = fs_model_invoke(&model);
        const uint32_t t1 = board_cycles();
        out_u32((uint32_t)s);
        out_u32(t1 - t0);
        out_write(out->data, out_bytes); /* before the next input: they may share memory */
    }
    const int profile = (flags & 1u) && st == FS_OK && count && n_ops <= RM_MAX_OPS;
    if (profile) {
        memcpy(in->data, pack + input_off + (count - 1) * input_bytes, input_bytes);
        if (fs_model_invoke_profiled(&model, cycles, NULL, op_instructions, RM_MAX_OPS) != FS_OK)
            memset(op_instructions, 0xff, sizeof op_instructions);
    }
    out_u32((uint32_t)cm_stack_high_water());
    out_u32(profile ? n_ops : 0);
    if (profile) out_write(op_instructions, 4u * n_ops);
    out_u32((uint32_t)strlen(msg));
    out_write(msg, strlen(msg));
}

int main(void) {
    board_init();
    static char cmdline[512]; /* "<kernel path> <pack address> <output file>" */
    const int n = cm_semihost_cmdline(cmdline, sizeof cmdline);
    if (n <= 0) bad_pack("no command line (-append \"ADDR OUT\")");
    char *out_path = strrchr(cmdline, ' ');
    if (!out_path) bad_pack("command line");
    *out_path++ = 0;
    char *addr_text = strrchr(cmdline, ' ');
    addr_text = addr_text ? addr_text + 1 : cmdline;
    uint32_t addr = 0;
    for (const char *c = addr_text + 2; *c; c++)
        addr = addr * 16u + (uint32_t)(*c <= '9' ? *c - '0' : (*c | 0x20) - 'a' + 10);
    /* QEMU's ELF loader also reserves .bss at its load address in flash (after .data). */
    const uint32_t image_end = (uint32_t)(uintptr_t)__data_load +
                               (uint32_t)((uintptr_t)__data_end - (uintptr_t)__data_start) +
                               (uint32_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start);
    if (addr < image_end || addr >= 0x08100000u || (addr & 15u))
        bad_pack("address overlaps the image");
    const uint8_t *pack = (const uint8_t *)(uintptr_t)addr;
    if (rd32(pack) != RM_PACK_MAGIC) bad_pack("magic (was the pack loaded with -device loader?)");
    const uint32_t n_jobs = rd32(pack + 4);

    uint32_t open_block[3] = {(uint32_t)(uintptr_t)out_path, 5 /* "wb" */,
                              (uint32_t)strlen(out_path)};
    out_handle = semihost(0x01 /* SYS_OPEN */, open_block);
    if (out_handle < 0) bad_pack("cannot open the output file");
    out_u32(RM_RESULT_MAGIC);
    out_u32(n_jobs);
    for (uint32_t j = 0; j < n_jobs; j++) {
        repaint_stack();
        run_job(pack, pack + 8 + 24u * j);
    }
    uint32_t close_block[1] = {(uint32_t)out_handle};
    semihost(0x02 /* SYS_CLOSE */, close_block);
    cm_semihost_exit(0);
}
