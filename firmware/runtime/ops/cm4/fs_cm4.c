/* The out-of-line building block of the Cortex-M4 DSP kernels (declared in fs_cm4.h, which says
 * what the row-pair loop computes and why its bookkeeping lives in a struct). */
#include "fs_cm4.h"
#include "fs_cm4_rq.h"
#include "../../fs_runtime.h"

#include <stddef.h>

/* Byte offsets of fs_cm4_pairs' fields for the asm below (FS_CM4_AT(DEPTH) is "[lr, #8]"); the
 * compiler checks them against the struct. */
#define FS_CM4_PAIRS_W 0
#define FS_CM4_PAIRS_X 4
#define FS_CM4_PAIRS_DEPTH 8
#define FS_CM4_PAIRS_BLOCKS 12
#define FS_CM4_PAIRS_ACC 16
#define FS_CM4_PAIRS_PAIRS 20
#define FS_CM4_PAIRS_HAS8 24
#define FS_CM4_PAIRS_HAS4 28
_Static_assert(offsetof(fs_cm4_pairs, w) == FS_CM4_PAIRS_W, "fs_cm4_pairs.w");
_Static_assert(offsetof(fs_cm4_pairs, x) == FS_CM4_PAIRS_X, "fs_cm4_pairs.x");
_Static_assert(offsetof(fs_cm4_pairs, depth) == FS_CM4_PAIRS_DEPTH, "fs_cm4_pairs.depth");
_Static_assert(offsetof(fs_cm4_pairs, blocks) == FS_CM4_PAIRS_BLOCKS, "fs_cm4_pairs.blocks");
_Static_assert(offsetof(fs_cm4_pairs, acc) == FS_CM4_PAIRS_ACC, "fs_cm4_pairs.acc");
_Static_assert(offsetof(fs_cm4_pairs, pairs) == FS_CM4_PAIRS_PAIRS, "fs_cm4_pairs.pairs");
_Static_assert(offsetof(fs_cm4_pairs, has8) == FS_CM4_PAIRS_HAS8, "fs_cm4_pairs.has8");
_Static_assert(offsetof(fs_cm4_pairs, has4) == FS_CM4_PAIRS_HAS4, "fs_cm4_pairs.has4");
#define FS_CM4_STR2(x) #x
#define FS_CM4_STR(x) FS_CM4_STR2(x)
#define FS_CM4_AT(field) "[lr, #" FS_CM4_STR(FS_CM4_PAIRS_##field) "]"

#define FS_CM4_PAIRS_BODY8                                  \
  "ldmia  r4!, {r8, r9, r10, r11}\n\t"                       \
  "ldrd   r6, r12, [r2], #8\n\t"                            \
  "sxtb16 r7, r6\n\t"                                       \
  "sxtb16 r6, r6, ror #8\n\t"                               \
  "smlad  r0, r7, r8, r0\n\t"                               \
  "smlad  r0, r6, r9, r0\n\t"                               \
  "sxtb16 r7, r12\n\t"                                      \
  "sxtb16 r12, r12, ror #8\n\t"                             \
  "smlad  r0, r7, r10, r0\n\t"                              \
  "smlad  r0, r12, r11, r0\n\t"                             \
  "ldrd   r6, r12, [r3], #8\n\t"                            \
  "sxtb16 r7, r6\n\t"                                       \
  "sxtb16 r6, r6, ror #8\n\t"                               \
  "smlad  r1, r7, r8, r1\n\t"                               \
  "smlad  r1, r6, r9, r1\n\t"                               \
  "sxtb16 r7, r12\n\t"                                      \
  "sxtb16 r12, r12, ror #8\n\t"                             \
  "smlad  r1, r7, r10, r1\n\t"                              \
  "smlad  r1, r12, r11, r1\n\t"

__attribute__((naked, noinline)) void fs_cm4_dot_pairs(fs_cm4_pairs *a) {
  (void)a;
  __asm volatile(
      "push   {r4-r11, lr}\n\t"
      "mov    lr, r0\n\t"
      "ldr    r2, " FS_CM4_AT(W) "\n\t" /* w0 */
      "0:\n\t"
      "ldr    r3, " FS_CM4_AT(DEPTH) "\n\t"
      "add    r3, r2, r3\n\t"         /* w1 = w0 + depth */
      "ldr    r4, " FS_CM4_AT(X) "\n\t" /* x */
      "ldr    r5, " FS_CM4_AT(BLOCKS) "\n\t" /* blocks of 16 */
      "movs   r0, #0\n\t"
      "movs   r1, #0\n\t"
      "cmp    r5, #0\n\t"
      "beq    2f\n\t"
      "1:\n\t" FS_CM4_PAIRS_BODY8 FS_CM4_PAIRS_BODY8
      "subs   r5, r5, #1\n\t"
      "bne    1b\n\t"
      "2:\n\t"
      "ldr    r5, " FS_CM4_AT(HAS8) "\n\t"
      "cbz    r5, 3f\n\t" FS_CM4_PAIRS_BODY8
      "3:\n\t"
      "ldr    r5, " FS_CM4_AT(HAS4) "\n\t"
      "cbz    r5, 4f\n\t"
      "ldmia  r4!, {r8, r9}\n\t"
      "ldr    r6, [r2], #4\n\t"
      "sxtb16 r7, r6\n\t"
      "sxtb16 r6, r6, ror #8\n\t"
      "smlad  r0, r7, r8, r0\n\t"
      "smlad  r0, r6, r9, r0\n\t"
      "ldr    r6, [r3], #4\n\t"
      "sxtb16 r7, r6\n\t"
      "sxtb16 r6, r6, ror #8\n\t"
      "smlad  r1, r7, r8, r1\n\t"
      "smlad  r1, r6, r9, r1\n\t"
      "4:\n\t"
      "ldr    r6, " FS_CM4_AT(ACC) "\n\t"
      "strd   r0, r1, [r6], #8\n\t"
      "str    r6, " FS_CM4_AT(ACC) "\n\t"
      "mov    r2, r3\n\t"             /* next pair starts after w1's row */
      "ldr    r6, " FS_CM4_AT(PAIRS) "\n\t"
      "subs   r6, r6, #1\n\t"
      "str    r6, " FS_CM4_AT(PAIRS) "\n\t"
      "bne    0b\n\t"
      "pop    {r4-r11, pc}\n\t");
}

int fs_cm4_rq_ok(const int32_t *shift, int32_t shift1, uint32_t n, const fs_tensor *bias_t,
                 uint32_t taps) {
  if (bias_t && (!(bias_t->flags & FS_TENSOR_CONST) || !bias_t->data || bias_t->bytes < 4u * n)) return 0;
  const uint8_t *bias = bias_t ? bias_t->data : NULL;
  int64_t max_bias = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const int32_t s = shift ? shift[i] : shift1;
    if (s > -1 || s < -FS_CM4_RQ_MAX_RIGHT) return 0;
    if (bias) {
      const int64_t b = (int32_t)fs_cm4_ld32(bias + 4u * i);
      if ((b < 0 ? -b : b) > max_bias) max_bias = b < 0 ? -b : b;
    }
  }
  return (int64_t)taps * 128 * 255 + max_bias < (1ll << 30);
}
