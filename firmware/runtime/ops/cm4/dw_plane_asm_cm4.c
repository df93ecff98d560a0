/* The inner loops of the planar depthwise kernel (fs_cm4_dw.h) for its common case: three filter
 * rows (kws's and the cls model's 3x3) and the full int8 output range (act_min -128, act_max 127:
 * no activation, or ReLU / ReLU6 with the zero point at -128, as calibrated models have), so that
 * SSAT #8 is the clamp. Four outputs of one channel per iteration; all of r0-r12 and lr hold
 * sums, input words, weights and pointers, so the rest lives in fs_cm4_dw_run (its address at
 * [sp]). Per four outputs: 3 x 8 multiply instructions, 6 (stride 1) or 3 x 1 (stride 2) LDMs
 * and LDRDs, 6 per requantized output, 33 of bookkeeping: 79 (stride 1) per 36 MACs. */
#include "fs_cm4_asm.h" /* fs_cm4_dw_run's offsets (FS_CM4_DW_RUN_LAYOUT), checked there */

#define AT(reg, field) FS_CM4_AT(reg, fs_cm4_dw_run, field)

/* Sums start at the bias (lr = the run). */
#define INIT \
    "ldr    lr, [sp]\n\t"                       \
  "ldr    r0, " AT("lr", bias) "\n\t"         \
  "mov    r1, r0\n\t"                         \
  "mov    r2, r0\n\t"                         \
  "mov    r3, r0\n\t"

/* Stride 1, one filter row: r4-r6 = I0, I2, I4; r7 = A, r8 = C, r9 = B. */
#define MAC_S1                  \
    "smlad  r0, r7, r4, r0\n\t" \
    "smlabb r0, r8, r5, r0\n\t" \
    "smlad  r1, r9, r5, r1\n\t" \
    "smlatt r1, r8, r4, r1\n\t" \
    "smlad  r2, r7, r5, r2\n\t" \
    "smlabb r2, r8, r6, r2\n\t" \
    "smlad  r3, r9, r6, r3\n\t" \
    "smlatt r3, r8, r5, r3\n\t"

/* Stride 2, one filter row: r4-r8 = I0..I8 (words); r9 = A, lr = C. */
#define MAC_S2                  \
    "smlad  r0, r9, r4, r0\n\t" \
    "smlabb r0, lr, r5, r0\n\t" \
    "smlad  r1, r9, r5, r1\n\t" \
    "smlabb r1, lr, r6, r1\n\t" \
    "smlad  r2, r9, r6, r2\n\t" \
    "smlabb r2, lr, r7, r2\n\t" \
    "smlad  r3, r9, r7, r3\n\t" \
    "smlabb r3, lr, r8, r3\n\t"

/* fs_cm4_rq_apply and SSAT #8 on sum `a` with r4 = m, r5 = k, r6 = r (r7 scratch). */
#define RQ(a)               \
    "lsl    r7, " a         \
    ", #1\n\t"              \
    "smmulr r7, r7, r4\n\t" \
    "add    " a             \
    ", r7, r5\n\t"          \
    "add    " a ", " a      \
    ", r7, asr #31\n\t"     \
    "asr    " a ", " a      \
    ", r6\n\t"              \
    "ssat   " a ", #8, " a "\n\t"

/* Requantize r0-r3, store them ostep apart, count the group down (lr = the run). */
#define STORE_AND_COUNT \
    "ldr    lr, [sp]\n\t"                       \
  "add    r7, lr, " FS_CM4_OFF(fs_cm4_dw_run, m) "\n\t" \
  "ldmia  r7, {r4, r5, r6}\n\t"               \
  RQ("r0") RQ("r1") RQ("r2") RQ("r3")         \
  "ldrd   r7, r8, " AT("lr", out) "\n\t"      \
  "strb   r0, [r7]\n\t"                       \
  "strb   r1, [r7, r8]\n\t"                   \
  "add    r7, r7, r8, lsl #1\n\t"             \
  "strb   r2, [r7]\n\t"                       \
  "strb   r3, [r7, r8]\n\t"                   \
  "add    r7, r7, r8, lsl #1\n\t"             \
  "str    r7, " AT("lr", out) "\n\t"          \
  "ldr    r9, " AT("lr", groups) "\n\t"       \
  "subs   r9, r9, #1\n\t"                     \
  "str    r9, " AT("lr", groups) "\n\t"

#define PROLOGUE                         \
    FS_CM4_DW_RUN_LAYOUT(FS_CM4_ASM_EQU) \
    "push   {r4-r11, lr}\n\t"                   \
  "sub    sp, sp, #8\n\t"                     \
  "str    r0, [sp]\n\t"                       \
  "ldr    r10, " AT("r0", row) "\n\t"         \
  "ldr    r11, " AT("r0", pitch) "\n\t"       \
  "ldr    r12, " AT("r0", w) "\n\t"

#define EPILOGUE \
    "str    r10, " AT("lr", row) "\n\t"         \
  "add    sp, sp, #8\n\t"                     \
  "pop    {r4-r11, pc}\n\t"

__attribute__((naked, noinline)) void fs_cm4_dw_run_s1(fs_cm4_dw_run *run) {
    (void)run;
    __asm volatile(PROLOGUE "0:\n\t" INIT
                            "ldmia  r10, {r4, r5, r6}\n\t"
                            "ldmia  r12, {r7, r8, r9}\n\t" MAC_S1
                            "add    lr, r10, r11\n\t"
                            "ldmia  lr, {r4, r5, r6}\n\t"
                            "ldrd   r7, r8, [r12, #12]\n\t"
                            "ldr    r9, [r12, #20]\n\t" MAC_S1
                            "add    lr, lr, r11\n\t"
                            "ldmia  lr, {r4, r5, r6}\n\t"
                            "ldrd   r7, r8, [r12, #24]\n\t"
                            "ldr    r9, [r12, #32]\n\t" MAC_S1 STORE_AND_COUNT
                            "add    r10, r10, #8\n\t"
                            "bne    0b\n\t" EPILOGUE);
}

__attribute__((naked, noinline)) void fs_cm4_dw_run_s2(fs_cm4_dw_run *run) {
    (void)run;
    __asm volatile(PROLOGUE "0:\n\t" INIT
                            "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"
                            "ldrd   r9, lr, [r12]\n\t" MAC_S2
                            "add    r10, r10, r11\n\t"
                            "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"
                            "ldrd   r9, lr, [r12, #12]\n\t" MAC_S2
                            "add    r10, r10, r11\n\t"
                            "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"
                            "ldrd   r9, lr, [r12, #24]\n\t" MAC_S2
                            "sub    r10, r10, r11, lsl #1\n\t" STORE_AND_COUNT
                            "add    r10, r10, #16\n\t"
                            "bne    0b\n\t" EPILOGUE);
}
