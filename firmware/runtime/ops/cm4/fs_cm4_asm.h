/* The structs that the naked assembly functions of the Cortex-M4 kernels read through a pointer
 * (fs_cm4_dot_pairs in fs_cm4.c; dw_plane_asm_cm4.c keeps its own list), and where their
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

/* Kept out of clang-format: it refolds these lists differently on every pass. */
// clang-format off
#define FS_CM4_PAIRS_LAYOUT(F) \
    F(fs_cm4_pairs, w, 0) F(fs_cm4_pairs, x, 4) F(fs_cm4_pairs, depth, 8) \
    F(fs_cm4_pairs, blocks, 12) F(fs_cm4_pairs, acc, 16) F(fs_cm4_pairs, pairs, 20) \
    F(fs_cm4_pairs, has8, 24) F(fs_cm4_pairs, has4, 28)
// clang-format on

#define FS_CM4_ASM_CHECK(type, field, offset)         \
    _Static_assert(offsetof(type, field) == (offset), \
                   #type "." #field ": not where the asm reads it");
#define FS_CM4_ASM_EQU(type, field, offset) ".equ .L" #type "_" #field ", " #offset "\n\t"

/* The field's offset as an asm immediate, and the memory operand [reg, #offset]. */
#define FS_CM4_OFF(type, field) "#.L" #type "_" #field
#define FS_CM4_AT(reg, type, field) "[" reg ", " FS_CM4_OFF(type, field) "]"

FS_CM4_PAIRS_LAYOUT(FS_CM4_ASM_CHECK)

#endif /* FS_CM4_ASM_H */
