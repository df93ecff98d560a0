/* The structs that the naked assembly functions of the Cortex-M4 kernels read through a pointer
 * (fs_cm4_dot_pairs in fs_cm4.c, the pixel-tile kernels of conv_tile_cm4.c; dw_plane_asm_cm4.c
 * keeps its own list), and where their
 * fields are. A naked function may hold basic asm only, so it cannot take offsetof() as an
 * operand: each layout is written once below as (type, field, byte offset), and that one list
 * both checks the offsets against the compiler's struct (FS_CM4_ASM_CHECK, at the end of this
 * header, in every file that includes it) and names them for the asm (FS_CM4_ASM_EQU: an
 * assembler symbol .L<type>_<field> per field, used as FS_CM4_AT("lr", fs_cm4_pairs, depth) ->
 * "[lr, #.Lfs_cm4_pairs_depth]"). A field moved in C without its offset here fails to compile. */
#ifndef FS_CM4_ASM_H
#define FS_CM4_ASM_H

#include <stddef.h>
#include <stdint.h>

/* The row-pair loop's bookkeeping (fs_cm4.c says what the loop computes). */
typedef struct fs_cm4_pairs {
    const int8_t *w;  /* first row; rows follow each other, `depth` bytes apart */
    const int16_t *x; /* expanded activations (fs_cm4_expand) */
    uint32_t depth;   /* inputs per row: a multiple of 4 */
    uint32_t blocks;  /* depth / 16 */
    int32_t *acc;     /* out: two sums per pair, advanced */
    uint32_t pairs;   /* row pairs (> 0), counted down */
    uint32_t has8;    /* depth & 8 */
    uint32_t has4;    /* depth & 4 */
} fs_cm4_pairs;

/* One call of a pixel-tile CONV_2D kernel (conv_tile_cm4.c says what it computes). The asm copies
 * the fields from `out` to `entry` into its stack frame and keeps its loop state there; `loops`
 * and `entry` are its own (computed from `steps`; their values on the way in are ignored). */
typedef struct fs_cm4_conv_run {
    int8_t *out;             /* channel 0's output of slot 0 */
    int32_t step1, step2;    /* bytes from slot 0's outputs to slot 1's, slot 2's */
    int32_t step3;           /* ... and slot 3's (unused with one slot) */
    int32_t out_offset;      /* output zero point */
    int32_t shift_off;       /* bytes from a channel's multiplier to its shift */
    const uint8_t *bias;     /* int32 per output channel, any alignment */
    const int32_t *mult_end; /* end of the multipliers */
    const int16_t *x;        /* the slots' expanded columns (conv_tile_cm4.c) */
    uint32_t loops, entry;   /* the asm's: unrolled iterations per channel, first step's address */
    const int8_t *w;         /* filter rows, [out_c][kk], read in place */
    const int32_t *mult;     /* per output channel (its shift at + shift_off bytes) */
    uint32_t steps;          /* kk / 4, > 0 */
} fs_cm4_conv_run;

/* Kept out of clang-format: it refolds these lists differently on every pass. */
// clang-format off
#define FS_CM4_PAIRS_LAYOUT(F) \
    F(fs_cm4_pairs, w, 0) F(fs_cm4_pairs, x, 4) F(fs_cm4_pairs, depth, 8) \
    F(fs_cm4_pairs, blocks, 12) F(fs_cm4_pairs, acc, 16) F(fs_cm4_pairs, pairs, 20) \
    F(fs_cm4_pairs, has8, 24) F(fs_cm4_pairs, has4, 28)

/* The asm copies out .. x with one LDM/STM and reads w, mult, steps with another LDM; LDM also
 * reads out .. shift_off, LDRD bias and mult_end, x and loops together. */
#define FS_CM4_CONV_RUN_LAYOUT(F) \
    F(fs_cm4_conv_run, out, 0) F(fs_cm4_conv_run, step1, 4) F(fs_cm4_conv_run, step2, 8) \
    F(fs_cm4_conv_run, step3, 12) F(fs_cm4_conv_run, out_offset, 16) \
    F(fs_cm4_conv_run, shift_off, 20) F(fs_cm4_conv_run, bias, 24) \
    F(fs_cm4_conv_run, mult_end, 28) F(fs_cm4_conv_run, x, 32) F(fs_cm4_conv_run, loops, 36) \
    F(fs_cm4_conv_run, entry, 40) F(fs_cm4_conv_run, w, 44) F(fs_cm4_conv_run, mult, 48) \
    F(fs_cm4_conv_run, steps, 52)
// clang-format on

#define FS_CM4_ASM_CHECK(type, field, offset)         \
    _Static_assert(offsetof(type, field) == (offset), \
                   #type "." #field ": not where the asm reads it");
#define FS_CM4_ASM_EQU(type, field, offset) ".equ .L" #type "_" #field ", " #offset "\n\t"

/* The field's offset as an asm immediate, and the memory operand [reg, #offset]. */
#define FS_CM4_OFF(type, field) "#.L" #type "_" #field
#define FS_CM4_AT(reg, type, field) "[" reg ", " FS_CM4_OFF(type, field) "]"

FS_CM4_PAIRS_LAYOUT(FS_CM4_ASM_CHECK)
FS_CM4_CONV_RUN_LAYOUT(FS_CM4_ASM_CHECK)

#endif /* FS_CM4_ASM_H */
