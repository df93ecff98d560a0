/* The inner loops of the planar depthwise kernel (fs_cm4_dw.h) for its common case, three
 * filter rows (kws's and the cls model's 3x3) and the full int8 output range: every output row
 * of one channel in the band, in one call (the C loop per row cost ~100 instructions a row in
 * its tails and calls). Four outputs of one channel per group; all of r0-r12 and lr hold sums,
 * input words, weights and pointers, so the run is copied onto the stack and read there,
 * sp-relative, with no pointer register. Per group of four outputs (36 MACs): 24 multiply
 * instructions, 6 loads of input and weight words (LDM, LDRD), 1 of the bias, 2-3 plane row
 * steps, 1 LDM of the requantization constants with the output pointer, step and row end, 16
 * of requantization (4 per output: fs_cm4_dw.h), 7 of stores, 2 to step and loop (groups
 * come in pairs): about 59 (stride 1) and 60 (stride 2), against 79 before. A row ends with an
 * unpaired group and a last group of 1-3 outputs when it has them (the plane rows are wide
 * enough for that group's reads, or it reads into the weights behind the planes); 17
 * instructions step to the next row. */
#include <stddef.h>

#include "fs_cm4_asm.h" /* FS_CM4_ASM_CHECK / _EQU / _OFF */
#include "fs_cm4_dw.h"

/* Kept out of clang-format: it refolds these lists differently on every pass. */
// clang-format off
/* m, k, r, out, ostep and end are read with one LDM from sp, out_row, row, out_row_step,
 * row_step and out_end with another: their order is part of it. The asm copies the first 17
 * words (groups and rows are the C loop's). */
#define FS_CM4_DW_RUN_LAYOUT(F) \
    F(fs_cm4_dw_run, m, 0) F(fs_cm4_dw_run, k, 4) F(fs_cm4_dw_run, r, 8) \
    F(fs_cm4_dw_run, out, 12) F(fs_cm4_dw_run, ostep, 16) F(fs_cm4_dw_run, end, 20) \
    F(fs_cm4_dw_run, bias, 24) F(fs_cm4_dw_run, w, 28) F(fs_cm4_dw_run, pitch, 32) \
    F(fs_cm4_dw_run, pair_bytes, 36) F(fs_cm4_dw_run, tail, 40) F(fs_cm4_dw_run, rest, 44) \
    F(fs_cm4_dw_run, out_row, 48) F(fs_cm4_dw_run, row, 52) F(fs_cm4_dw_run, out_row_step, 56) \
    F(fs_cm4_dw_run, row_step, 60) F(fs_cm4_dw_run, out_end, 64)
// clang-format on
FS_CM4_DW_RUN_LAYOUT(FS_CM4_ASM_CHECK)

/* [sp, #field] of the copy. */
#define SP(field) "[sp, " FS_CM4_OFF(fs_cm4_dw_run, field) "]"

/* r9 = the address of out_row in the copy (out_row, row, out_row_step, row_step follow). */
#define AT_OUT_ROW "add    r9, sp, " FS_CM4_OFF(fs_cm4_dw_run, out_row) "\n\t"

/* Push, copy the run (r0) onto the stack (8 + 8 + 1 words), r11 = pitch, r12 = weights, r0
 * and r1 = out_row and row (ROW_START's). */
#define PROLOGUE                         \
    FS_CM4_DW_RUN_LAYOUT(FS_CM4_ASM_EQU) \
    "push   {r4-r11, lr}\n\t"                   \
    "sub    sp, sp, #72\n\t"                    \
    "ldmia  r0!, {r1-r8}\n\t"                   \
    "stmia  sp, {r1-r8}\n\t"                    \
    "ldmia  r0!, {r1-r8}\n\t"                   \
    "add    r9, sp, #32\n\t"                    \
    "stmia  r9, {r1-r8}\n\t"                    \
    "ldr    r1, [r0]\n\t"                       \
    "str    r1, [sp, #64]\n\t"                  \
    "ldr    r11, " SP(pitch) "\n\t"             \
    "ldr    r12, " SP(w) "\n\t"                 \
    AT_OUT_ROW                                  \
    "ldmia  r9, {r0, r1}\n\t"

#define EPILOGUE             \
    "add    sp, sp, #72\n\t" \
    "pop    {r4-r11, pc}\n\t"

/* Row start (r0 = out_row, r1 = row): r10 = row, out = out_row, end = r10 + pair_bytes: the
 * end of the pairs; flags: r10 == end (no pair). */
#define ROW_START \
    "mov    r10, r1\n\t"                        \
    "str    r0, " SP(out) "\n\t"                \
    "ldr    r1, " SP(pair_bytes) "\n\t"         \
    "add    r1, r10, r1\n\t"                    \
    "str    r1, " SP(end) "\n\t"                \
    "cmp    r10, r1\n\t"

/* Stride 1, one filter row: r4-r6 = I0, I2, I4; r7 = A, r8 = C, r9 = B. The first row's
 * SMLADs start r1-r3 and then r0 from the bias in r0 (one load instead of four). */
#define MAC_S1_FIRST            \
    "smlad  r1, r9, r5, r0\n\t" \
    "smlad  r2, r7, r5, r0\n\t" \
    "smlad  r3, r9, r6, r0\n\t" \
    "smlad  r0, r7, r4, r0\n\t" \
    "smlabb r0, r8, r5, r0\n\t" \
    "smlatt r1, r8, r4, r1\n\t" \
    "smlabb r2, r8, r6, r2\n\t" \
    "smlatt r3, r8, r5, r3\n\t"

#define MAC_S1                  \
    "smlad  r0, r7, r4, r0\n\t" \
    "smlabb r0, r8, r5, r0\n\t" \
    "smlad  r1, r9, r5, r1\n\t" \
    "smlatt r1, r8, r4, r1\n\t" \
    "smlad  r2, r7, r5, r2\n\t" \
    "smlabb r2, r8, r6, r2\n\t" \
    "smlad  r3, r9, r6, r3\n\t" \
    "smlatt r3, r8, r5, r3\n\t"

/* Four outputs from the group at r10 (lr: the plane row of filter rows 1 and 2). Groups come
 * in pairs that walk the weights both ways, so that r12 needs no reset: the forward group (F)
 * takes filter rows 0, 1, 2 (r12 from row 0's words to row 2's), the backward one (B) rows
 * 2, 1, 0 (r12 back to row 0's). A group that is not part of a pair is an F and then resets
 * r12 (RESET_W). */
#define GROUP_S1_F \
    "ldr    r0, " SP(bias) "\n\t"               \
    "ldmia  r10, {r4, r5, r6}\n\t"              \
    "ldmia  r12!, {r7, r8, r9}\n\t"             \
    MAC_S1_FIRST                                \
    "add    lr, r10, r11\n\t"                   \
    "ldmia  lr, {r4, r5, r6}\n\t"               \
    "ldmia  r12!, {r7, r8, r9}\n\t"             \
    MAC_S1                                      \
    "add    lr, lr, r11\n\t"                    \
    "ldmia  lr, {r4, r5, r6}\n\t"               \
    "ldmia  r12, {r7, r8, r9}\n\t"              \
    MAC_S1

#define GROUP_S1_B \
    "ldr    r0, " SP(bias) "\n\t"               \
    "add    lr, r10, r11, lsl #1\n\t"           \
    "ldmia  lr, {r4, r5, r6}\n\t"               \
    "ldmia  r12, {r7, r8, r9}\n\t"              \
    MAC_S1_FIRST                                \
    "sub    lr, lr, r11\n\t"                    \
    "ldmia  lr, {r4, r5, r6}\n\t"               \
    "ldmdb  r12!, {r7, r8, r9}\n\t"             \
    MAC_S1                                      \
    "ldmia  r10, {r4, r5, r6}\n\t"              \
    "ldmdb  r12!, {r7, r8, r9}\n\t"             \
    MAC_S1

#define RESET_W "sub    r12, r12, #24\n\t"

/* Stride 2, one filter row: r4-r8 = I0..I8 (words); r9 = A, lr = C. */
#define MAC_S2_FIRST            \
    "smlad  r1, r9, r5, r0\n\t" \
    "smlad  r2, r9, r6, r0\n\t" \
    "smlad  r3, r9, r7, r0\n\t" \
    "smlad  r0, r9, r4, r0\n\t" \
    "smlabb r0, lr, r5, r0\n\t" \
    "smlabb r1, lr, r6, r1\n\t" \
    "smlabb r2, lr, r7, r2\n\t" \
    "smlabb r3, lr, r8, r3\n\t"

#define MAC_S2                  \
    "smlad  r0, r9, r4, r0\n\t" \
    "smlabb r0, lr, r5, r0\n\t" \
    "smlad  r1, r9, r5, r1\n\t" \
    "smlabb r1, lr, r6, r1\n\t" \
    "smlad  r2, r9, r6, r2\n\t" \
    "smlabb r2, lr, r7, r2\n\t" \
    "smlad  r3, r9, r7, r3\n\t" \
    "smlabb r3, lr, r8, r3\n\t"

/* A and C of each filter row with one LDRD (B, the third word, is skipped); F and B as for
 * stride 1, r10 back at row 0 after each. */
#define GROUP_S2_F \
    "ldr    r0, " SP(bias) "\n\t"               \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12], #12\n\t"             \
    MAC_S2_FIRST                                \
    "add    r10, r10, r11\n\t"                  \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12], #12\n\t"             \
    MAC_S2                                      \
    "add    r10, r10, r11\n\t"                  \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12]\n\t"                  \
    MAC_S2                                      \
    "sub    r10, r10, r11, lsl #1\n\t"

#define GROUP_S2_B \
    "ldr    r0, " SP(bias) "\n\t"               \
    "add    r10, r10, r11, lsl #1\n\t"          \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12]\n\t"                  \
    MAC_S2_FIRST                                \
    "sub    r10, r10, r11\n\t"                  \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12, #-12]!\n\t"           \
    MAC_S2                                      \
    "sub    r10, r10, r11\n\t"                  \
    "ldmia  r10, {r4, r5, r6, r7, r8}\n\t"      \
    "ldrd   r9, lr, [r12, #-12]!\n\t"           \
    MAC_S2

/* fs_cm4_rq_apply of the doubled sum `a` (r4 = m, r5 = k, r6 = r; lr scratch) and SSAT #8. */
#define RQ(a)              \
    "smmlar lr, " a        \
    ", r4, r5\n\t"         \
    "add    " a ", lr, " a \
    ", asr #31\n\t"        \
    "asr    " a ", " a     \
    ", r6\n\t"             \
    "ssat   " a ", #8, " a "\n\t"

/* r4-r9 = m, k, r, out, ostep, end; r0-r3 requantized. */
#define RQ4 "ldmia  sp, {r4, r5, r6, r7, r8, r9}\n\t" RQ("r0") RQ("r1") RQ("r2") RQ("r3")

/* Four outputs ostep apart; out advanced. */
#define STORE4                      \
    "strb   r0, [r7]\n\t"           \
    "strb   r1, [r7, r8]\n\t"       \
    "add    r7, r7, r8, lsl #1\n\t" \
    "strb   r2, [r7]\n\t"           \
    "strb   r3, [r7, r8]\n\t"       \
    "add    r7, r7, r8, lsl #1\n\t" \
    "str    r7, " SP(out) "\n\t"

/* The last group's 1-3 outputs (tail in r9). */
#define STORE_TAIL \
    "ldr    r9, " SP(tail) "\n\t"               \
    "strb   r0, [r7]\n\t"                       \
    "cmp    r9, #2\n\t"                         \
    "blt    2f\n\t"                             \
    "strb   r1, [r7, r8]\n\t"                   \
    "beq    2f\n\t"                             \
    "strb   r2, [r7, r8, lsl #1]\n\t"           \
    "2:\n\t"

/* The next output row (r0, r1 = out_row, row, stepped), or out at out_end. */
#define NEXT_ROW                          \
    AT_OUT_ROW                            \
    "ldmia  r9, {r0, r1, r2, r3, r4}\n\t" \
    "add    r0, r0, r2\n\t"               \
    "add    r1, r1, r3\n\t"               \
    "stmia  r9, {r0, r1}\n\t"             \
    "cmp    r0, r4\n\t"                   \
    "bne    0b\n\t"

/* One function per stride: its groups (F, B) and their bytes of plane row (STEP). Per row:
 * the pairs, then, if rest says so, an unpaired group and the last 1-3 outputs. */
#define ROWS(F, B, STEP) \
    PROLOGUE             \
    "0:\n\t"                                    \
    ROW_START                                   \
    "beq    3f\n\t"                             \
    "1:\n\t"                                    \
    F RQ4 STORE4                                \
    "add    r10, r10, #" STEP "\n\t"            \
    B RQ4 STORE4                                \
    "add    r10, r10, #" STEP "\n\t"            \
    "cmp    r10, r9\n\t"                        \
    "bne    1b\n\t"                             \
    "3:\n\t"                                    \
    "ldr    r2, " SP(rest) "\n\t"               \
    "cmp    r2, #0\n\t"                         \
    "beq    4f\n\t"                             \
    "tst    r2, #1\n\t"                         \
    "beq    5f\n\t"                             \
    F RESET_W RQ4 STORE4                        \
    "add    r10, r10, #" STEP "\n\t"            \
    "5:\n\t"                                    \
    "ldr    r2, " SP(tail) "\n\t"               \
    "cmp    r2, #0\n\t"                         \
    "beq    4f\n\t"                             \
    F RESET_W RQ4 STORE_TAIL                    \
    "4:\n\t"                                    \
    NEXT_ROW                                    \
    EPILOGUE

__attribute__((naked, noinline)) void fs_cm4_dw_rows_s1(const fs_cm4_dw_run *run) {
    (void)run;
    __asm volatile(ROWS(GROUP_S1_F, GROUP_S1_B, "8"));
}

__attribute__((naked, noinline)) void fs_cm4_dw_rows_s2(const fs_cm4_dw_run *run) {
    (void)run;
    __asm volatile(ROWS(GROUP_S2_F, GROUP_S2_B, "16"));
}
