/* Facts from the TFLite flatbuffer schema (tensorflow/lite/schema/schema.fbs,
 * version 3): field ids of the tables the runtime reads, and enum values.
 * A field id is the field's declaration index in its table (a union takes
 * two ids: its _type then its value). */
#ifndef FS_SCHEMA_H
#define FS_SCHEMA_H

#define FS_TFL_IDENT "TFL3"
#define FS_TFL_SCHEMA_VERSION 3u

/* table Model */
enum {
    FS_MODEL_VERSION = 0,
    FS_MODEL_OPERATOR_CODES = 1,
    FS_MODEL_SUBGRAPHS = 2,
    FS_MODEL_BUFFERS = 4
};
/* table OperatorCode: deprecated_builtin_code is a byte (int8) kept for old
 * readers; builtin_code is an int32 added later. The real code is the larger
 * of the two (what TFLite's own GetBuiltinCode does). */
enum {
    FS_OPCODE_DEPRECATED_BUILTIN = 0,
    FS_OPCODE_CUSTOM = 1,
    FS_OPCODE_VERSION = 2,
    FS_OPCODE_BUILTIN = 3
};
/* table SubGraph */
enum { FS_SG_TENSORS = 0, FS_SG_INPUTS = 1, FS_SG_OUTPUTS = 2, FS_SG_OPERATORS = 3 };
/* table Tensor (FS_TFL_: not to be confused with the public tensor flags
 * FS_TENSOR_CONST, ... of fs_runtime.h) */
enum {
    FS_TFL_TENSOR_SHAPE = 0,
    FS_TFL_TENSOR_TYPE = 1,
    FS_TFL_TENSOR_BUFFER = 2,
    FS_TFL_TENSOR_QUANT = 4,
    FS_TFL_TENSOR_IS_VARIABLE = 5,
    FS_TFL_TENSOR_SPARSITY = 6
};
/* table QuantizationParameters */
enum { FS_Q_SCALE = 2, FS_Q_ZERO_POINT = 3, FS_Q_DETAILS_TYPE = 4, FS_Q_QUANT_DIM = 6 };
/* table Operator */
enum {
    FS_OP_OPCODE_INDEX = 0,
    FS_OP_INPUTS = 1,
    FS_OP_OUTPUTS = 2,
    FS_OP_OPTIONS_TYPE = 3,
    FS_OP_OPTIONS = 4,
    FS_OP_OPTIONS2_TYPE = 11
};
/* table Buffer: data, then offset/size (u64) used only by >2 GB models */
enum { FS_BUFFER_DATA = 0, FS_BUFFER_OFFSET = 1, FS_BUFFER_SIZE = 2 };

/* BuiltinOperator values the runtime knows by name. */
enum {
    FS_BUILTIN_ADD = 0,
    FS_BUILTIN_AVERAGE_POOL_2D = 1,
    FS_BUILTIN_CONCATENATION = 2,
    FS_BUILTIN_CONV_2D = 3,
    FS_BUILTIN_DEPTHWISE_CONV_2D = 4,
    FS_BUILTIN_DEQUANTIZE = 6,
    FS_BUILTIN_FULLY_CONNECTED = 9,
    FS_BUILTIN_LOGISTIC = 14,
    FS_BUILTIN_MAX_POOL_2D = 17,
    FS_BUILTIN_MUL = 18,
    FS_BUILTIN_RESHAPE = 22,
    FS_BUILTIN_SOFTMAX = 25,
    FS_BUILTIN_CUSTOM = 32,
    FS_BUILTIN_PAD = 34,
    FS_BUILTIN_MEAN = 40,
    FS_BUILTIN_SQUEEZE = 43,
    FS_BUILTIN_PADV2 = 60,
    FS_BUILTIN_EXPAND_DIMS = 70,
    FS_BUILTIN_QUANTIZE = 114
};

/* BuiltinOptions union type values. */
enum {
    FS_OPT_NONE = 0,
    FS_OPT_CONV_2D = 1,
    FS_OPT_DEPTHWISE_CONV_2D = 2,
    FS_OPT_POOL_2D = 5,
    FS_OPT_FULLY_CONNECTED = 8,
    FS_OPT_SOFTMAX = 9,
    FS_OPT_CONCATENATION = 10,
    FS_OPT_ADD = 11,
    FS_OPT_RESHAPE = 17,
    FS_OPT_MUL = 21,
    FS_OPT_PAD = 22,
    FS_OPT_REDUCER = 27,
    FS_OPT_SQUEEZE = 30,
    FS_OPT_DEQUANTIZE = 38,
    FS_OPT_PADV2 = 43,
    FS_OPT_EXPAND_DIMS = 52,
    FS_OPT_QUANTIZE = 89
};

/* Option table fields. */
enum {
    FS_CONV_PADDING = 0,
    FS_CONV_STRIDE_W = 1,
    FS_CONV_STRIDE_H = 2,
    FS_CONV_ACT = 3,
    FS_CONV_DILATION_W = 4,
    FS_CONV_DILATION_H = 5
};
enum {
    FS_DW_PADDING = 0,
    FS_DW_STRIDE_W = 1,
    FS_DW_STRIDE_H = 2,
    FS_DW_DEPTH_MULTIPLIER = 3,
    FS_DW_ACT = 4,
    FS_DW_DILATION_W = 5,
    FS_DW_DILATION_H = 6
};
enum {
    FS_POOL_PADDING = 0,
    FS_POOL_STRIDE_W = 1,
    FS_POOL_STRIDE_H = 2,
    FS_POOL_FILTER_W = 3,
    FS_POOL_FILTER_H = 4,
    FS_POOL_ACT = 5
};
enum {
    FS_FC_ACT = 0,
    FS_FC_WEIGHTS_FORMAT = 1,
    FS_FC_KEEP_NUM_DIMS = 2,
    FS_FC_ASYMMETRIC_QUANTIZE_INPUTS = 3
};
enum { FS_SOFTMAX_BETA = 0 };
enum { FS_CONCAT_AXIS = 0, FS_CONCAT_ACT = 1 };
enum { FS_ADD_ACT = 0 };
enum { FS_MUL_ACT = 0 };
enum { FS_REDUCER_KEEP_DIMS = 0 };
enum { FS_SQUEEZE_DIMS = 0 };

/* Padding and ActivationFunctionType enums. */
enum { FS_PADDING_SAME = 0, FS_PADDING_VALID = 1 };
enum { FS_ACT_NONE = 0, FS_ACT_RELU = 1, FS_ACT_RELU_N1_TO_1 = 2, FS_ACT_RELU6 = 3 };

#endif /* FS_SCHEMA_H */
