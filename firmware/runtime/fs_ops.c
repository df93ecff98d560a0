/* The table of supported operators, and builtin names for messages. */
#include "fs_schema.h"
#include "ops/fs_ops.h"

/* Which prepare/eval runs for each supported builtin. FULLY_CONNECTED, CONV_2D,
 * DEPTHWISE_CONV_2D, ADD and PAD/PADV2 (FS_CM4_OR_REF below) have a Cortex-M4 version: the
 * Cortex-M4 board builds (KERNELS=cm4, their default: ops/cm4/kernels.mk defines FS_KERNELS_CM4=1)
 * register fs_<op>_cm4_prepare/_eval of ops/cm4/<op>_cm4.c for them; every other build (x86 tools,
 * emulator, KERNELS=ref) the portable fs_<op>_prepare/_eval of ops/<op>.c, as for all the other
 * operators (FS_REF). A DSP version falls back to the reference kernel for parameters it does
 * not serve, as its prepare records (FS_KERNEL_REF in the op's parameters, ops/fs_ops.h). */
#ifndef FS_KERNELS_CM4
#define FS_KERNELS_CM4 0
#endif
#if FS_KERNELS_CM4
#define FS_CM4_OR_REF(op) fs_##op##_cm4_prepare, fs_##op##_cm4_eval
#else
#define FS_CM4_OR_REF(op) fs_##op##_prepare, fs_##op##_eval
#endif

#define FS_REF(op) fs_##op##_prepare, fs_##op##_eval

/* Optional inputs: bit i set, input i may be absent (-1). */
#define FS_BIAS_OPTIONAL 4u

#define K(code, nm, opt, mn, mx, nout, alias, optional, prepare_and_eval) \
    {code, nm, opt, mn, mx, nout, alias, optional, prepare_and_eval}

const fs_op_kind fs_op_kinds[] = {
    K(FS_BUILTIN_FULLY_CONNECTED, "FULLY_CONNECTED", FS_OPT_FULLY_CONNECTED, 2, 3, 1, 0,
      FS_BIAS_OPTIONAL, FS_CM4_OR_REF(fully_connected)),
    K(FS_BUILTIN_CONV_2D, "CONV_2D", FS_OPT_CONV_2D, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      FS_CM4_OR_REF(conv_2d)),
    K(FS_BUILTIN_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", FS_OPT_DEPTHWISE_CONV_2D, 2, 3, 1, 0,
      FS_BIAS_OPTIONAL, FS_CM4_OR_REF(depthwise_conv_2d)),
    K(FS_BUILTIN_AVERAGE_POOL_2D, "AVERAGE_POOL_2D", FS_OPT_POOL_2D, 1, 1, 1, 0, 0,
      FS_REF(average_pool_2d)),
    K(FS_BUILTIN_MAX_POOL_2D, "MAX_POOL_2D", FS_OPT_POOL_2D, 1, 1, 1, 0, 0, FS_REF(max_pool_2d)),
    K(FS_BUILTIN_ADD, "ADD", FS_OPT_ADD, 2, 2, 1, 0, 0, FS_CM4_OR_REF(add)),
    K(FS_BUILTIN_MUL, "MUL", FS_OPT_MUL, 2, 2, 1, 0, 0, FS_REF(mul)),
    K(FS_BUILTIN_MEAN, "MEAN", FS_OPT_REDUCER, 2, 2, 1, 0, 0, FS_REF(mean)),
    K(FS_BUILTIN_SOFTMAX, "SOFTMAX", FS_OPT_SOFTMAX, 1, 1, 1, 0, 0, FS_REF(softmax)),
    K(FS_BUILTIN_LOGISTIC, "LOGISTIC", FS_OPT_NONE, 1, 1, 1, 0, 0, FS_REF(logistic)),
    K(FS_BUILTIN_QUANTIZE, "QUANTIZE", FS_OPT_QUANTIZE, 1, 1, 1, 0, 0, FS_REF(quantize)),
    K(FS_BUILTIN_DEQUANTIZE, "DEQUANTIZE", FS_OPT_DEQUANTIZE, 1, 1, 1, 0, 0, FS_REF(dequantize)),
    K(FS_BUILTIN_PAD, "PAD", FS_OPT_PAD, 2, 2, 1, 0, 0, FS_CM4_OR_REF(pad)),
    K(FS_BUILTIN_PADV2, "PADV2", FS_OPT_PADV2, 2, 3, 1, 0, 0, FS_CM4_OR_REF(pad)),
    K(FS_BUILTIN_CONCATENATION, "CONCATENATION", FS_OPT_CONCATENATION, 1, 10, 1, 0, 0,
      FS_REF(concatenation)),
    K(FS_BUILTIN_RESHAPE, "RESHAPE", FS_OPT_RESHAPE, 1, 2, 1, 1, 0, FS_REF(reshape)),
    K(FS_BUILTIN_SQUEEZE, "SQUEEZE", FS_OPT_SQUEEZE, 1, 1, 1, 1, 0, FS_REF(squeeze)),
    K(FS_BUILTIN_EXPAND_DIMS, "EXPAND_DIMS", FS_OPT_EXPAND_DIMS, 2, 2, 1, 1, 0, FS_REF(reshape)),
};
#undef K
#undef FS_CM4_OR_REF
#undef FS_REF

const unsigned fs_op_kind_count = sizeof fs_op_kinds / sizeof fs_op_kinds[0];

int fs_op_kind_find(int32_t builtin) {
    for (unsigned i = 0; i < fs_op_kind_count; ++i)
        if (fs_op_kinds[i].builtin == builtin) return (int)i;
    return -1;
}

/* Names of unsupported builtins that int8 exporters commonly emit, so a
 * refusal names the culprit. Anything else is reported by number. */
static const struct {
    int16_t code;
    const char *name;
} fs_other_names[] = {
    {5, "DEPTH_TO_SPACE"},
    {8, "FLOOR"},
    {12, "L2_POOL_2D"},
    {16, "LSTM"},
    {19, "RELU"},
    {20, "RELU_N1_TO_1"},
    {21, "RELU6"},
    {23, "RESIZE_BILINEAR"},
    {28, "TANH"},
    {32, "CUSTOM"},
    {36, "GATHER"},
    {37, "BATCH_TO_SPACE_ND"},
    {38, "SPACE_TO_BATCH_ND"},
    {39, "TRANSPOSE"},
    {41, "SUB"},
    {42, "DIV"},
    {44, "UNIDIRECTIONAL_SEQUENCE_LSTM"},
    {45, "STRIDED_SLICE"},
    {47, "EXP"},
    {49, "SPLIT"},
    {50, "LOG_SOFTMAX"},
    {53, "CAST"},
    {54, "PRELU"},
    {55, "MAXIMUM"},
    {56, "ARG_MAX"},
    {57, "MINIMUM"},
    {65, "SLICE"},
    {67, "TRANSPOSE_CONV"},
    {74, "SUM"},
    {76, "RSQRT"},
    {82, "REDUCE_MAX"},
    {83, "PACK"},
    {88, "UNPACK"},
    {97, "RESIZE_NEAREST_NEIGHBOR"},
    {98, "LEAKY_RELU"},
    {99, "SQUARED_DIFFERENCE"},
    {102, "SPLIT_V"},
    {117, "HARD_SWISH"},
    {126, "BATCH_MATMUL"},
    {150, "GELU"},
};

const char *fs_builtin_name(int32_t builtin) {
    const int k = fs_op_kind_find(builtin);
    if (k >= 0) return fs_op_kinds[k].name;
    for (unsigned i = 0; i < sizeof fs_other_names / sizeof fs_other_names[0]; ++i)
        if (fs_other_names[i].code == builtin) return fs_other_names[i].name;
    return "builtin";
}
