/* The table of supported operators, and builtin names for messages. */
#include "fs_schema.h"
#include "ops/fs_ops.h"

/* Which prepare/eval runs for each supported builtin. The Cortex-M4 board builds
 * (KERNELS=cm4, the default there: ops/cm4/kernels.mk defines FS_KERNELS_CM4=1) register the DSP
 * versions of FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D from ops/cm4/<op>_cm4.c; every
 * other build (x86 tools, emulator, KERNELS=ref) the portable reference kernels of ops/<op>.c.
 * A DSP version falls back to the reference kernel for parameters it does not serve, as its
 * prepare records (FS_KERNEL_REF in the op's parameters, ops/fs_ops.h). */
#ifndef FS_KERNELS_CM4
#define FS_KERNELS_CM4 0
#endif

/* Optional inputs: bit i set, input i may be absent (-1). */
#define FS_BIAS_OPTIONAL 4u

#define K(code, nm, opt, mn, mx, nout, alias, optional, prepare, eval) \
  {code, nm, opt, mn, mx, nout, alias, optional, prepare, eval}

const fs_op_kind fs_op_kinds[] = {
#if FS_KERNELS_CM4
    K(FS_BUILTIN_FULLY_CONNECTED, "FULLY_CONNECTED", FS_OPT_FULLY_CONNECTED, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_fully_connected_cm4_prepare, fs_fully_connected_cm4_eval),
    K(FS_BUILTIN_CONV_2D, "CONV_2D", FS_OPT_CONV_2D, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_conv_2d_cm4_prepare, fs_conv_2d_cm4_eval),
    K(FS_BUILTIN_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", FS_OPT_DEPTHWISE_CONV_2D, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_depthwise_conv_2d_cm4_prepare, fs_depthwise_conv_2d_cm4_eval),
#else
    K(FS_BUILTIN_FULLY_CONNECTED, "FULLY_CONNECTED", FS_OPT_FULLY_CONNECTED, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_fully_connected_prepare, fs_fully_connected_eval),
    K(FS_BUILTIN_CONV_2D, "CONV_2D", FS_OPT_CONV_2D, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_conv_2d_prepare, fs_conv_2d_eval),
    K(FS_BUILTIN_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D", FS_OPT_DEPTHWISE_CONV_2D, 2, 3, 1, 0, FS_BIAS_OPTIONAL,
      fs_depthwise_conv_2d_prepare, fs_depthwise_conv_2d_eval),
#endif
    K(FS_BUILTIN_AVERAGE_POOL_2D, "AVERAGE_POOL_2D", FS_OPT_POOL_2D, 1, 1, 1, 0, 0,
      fs_average_pool_2d_prepare, fs_average_pool_2d_eval),
    K(FS_BUILTIN_MAX_POOL_2D, "MAX_POOL_2D", FS_OPT_POOL_2D, 1, 1, 1, 0, 0, fs_max_pool_2d_prepare, fs_max_pool_2d_eval),
    K(FS_BUILTIN_ADD, "ADD", FS_OPT_ADD, 2, 2, 1, 0, 0, fs_add_prepare, fs_add_eval),
    K(FS_BUILTIN_MUL, "MUL", FS_OPT_MUL, 2, 2, 1, 0, 0, fs_mul_prepare, fs_mul_eval),
    K(FS_BUILTIN_MEAN, "MEAN", FS_OPT_REDUCER, 2, 2, 1, 0, 0, fs_mean_prepare, fs_mean_eval),
    K(FS_BUILTIN_SOFTMAX, "SOFTMAX", FS_OPT_SOFTMAX, 1, 1, 1, 0, 0, fs_softmax_prepare, fs_softmax_eval),
    K(FS_BUILTIN_LOGISTIC, "LOGISTIC", FS_OPT_NONE, 1, 1, 1, 0, 0, fs_logistic_prepare, fs_logistic_eval),
    K(FS_BUILTIN_QUANTIZE, "QUANTIZE", FS_OPT_QUANTIZE, 1, 1, 1, 0, 0, fs_quantize_prepare, fs_quantize_eval),
    K(FS_BUILTIN_DEQUANTIZE, "DEQUANTIZE", FS_OPT_DEQUANTIZE, 1, 1, 1, 0, 0, fs_dequantize_prepare,
      fs_dequantize_eval),
    K(FS_BUILTIN_PAD, "PAD", FS_OPT_PAD, 2, 2, 1, 0, 0, fs_pad_prepare, fs_pad_eval),
    K(FS_BUILTIN_PADV2, "PADV2", FS_OPT_PADV2, 2, 3, 1, 0, 0, fs_pad_prepare, fs_pad_eval),
    K(FS_BUILTIN_CONCATENATION, "CONCATENATION", FS_OPT_CONCATENATION, 1, 10, 1, 0, 0, fs_concatenation_prepare,
      fs_concatenation_eval),
    K(FS_BUILTIN_RESHAPE, "RESHAPE", FS_OPT_RESHAPE, 1, 2, 1, 1, 0, fs_reshape_prepare, fs_reshape_eval),
    K(FS_BUILTIN_SQUEEZE, "SQUEEZE", FS_OPT_SQUEEZE, 1, 1, 1, 1, 0, fs_squeeze_prepare, fs_squeeze_eval),
    K(FS_BUILTIN_EXPAND_DIMS, "EXPAND_DIMS", FS_OPT_EXPAND_DIMS, 2, 2, 1, 1, 0, fs_reshape_prepare, fs_reshape_eval),
};
#undef K

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
    {5, "DEPTH_TO_SPACE"}, {8, "FLOOR"}, {12, "L2_POOL_2D"}, {16, "LSTM"}, {19, "RELU"},
    {20, "RELU_N1_TO_1"}, {21, "RELU6"}, {23, "RESIZE_BILINEAR"}, {28, "TANH"},
    {32, "CUSTOM"}, {36, "GATHER"}, {37, "BATCH_TO_SPACE_ND"}, {38, "SPACE_TO_BATCH_ND"},
    {39, "TRANSPOSE"}, {41, "SUB"}, {42, "DIV"}, {44, "UNIDIRECTIONAL_SEQUENCE_LSTM"},
    {45, "STRIDED_SLICE"}, {47, "EXP"}, {49, "SPLIT"}, {50, "LOG_SOFTMAX"}, {53, "CAST"},
    {54, "PRELU"}, {55, "MAXIMUM"}, {56, "ARG_MAX"}, {57, "MINIMUM"}, {65, "SLICE"},
    {67, "TRANSPOSE_CONV"}, {74, "SUM"}, {76, "RSQRT"}, {82, "REDUCE_MAX"}, {83, "PACK"},
    {88, "UNPACK"}, {97, "RESIZE_NEAREST_NEIGHBOR"}, {98, "LEAKY_RELU"},
    {99, "SQUARED_DIFFERENCE"}, {102, "SPLIT_V"}, {117, "HARD_SWISH"}, {126, "BATCH_MATMUL"},
    {150, "GELU"},
};

const char *fs_builtin_name(int32_t builtin) {
  const int k = fs_op_kind_find(builtin);
  if (k >= 0) return fs_op_kinds[k].name;
  for (unsigned i = 0; i < sizeof fs_other_names / sizeof fs_other_names[0]; ++i)
    if (fs_other_names[i].code == builtin) return fs_other_names[i].name;
  return "builtin";
}
