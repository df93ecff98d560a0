/* Status codes of the firstshot runtime.
 *
 * One X-macro list is the single source of truth: the enum and the strings
 * returned by fs_status_str() are both generated from it, so a code can
 * never be added without its text (CMSIS-NN keeps them apart and drifts). */
#ifndef FS_STATUS_H
#define FS_STATUS_H

#define FS_STATUS_LIST(X)                                                    \
    X(FS_OK, "ok")                                                           \
    X(FS_ERR_ARG, "invalid argument")                                        \
    X(FS_ERR_TRUNCATED, "offset or length out of bounds of the model")       \
    X(FS_ERR_IDENTIFIER, "not a TFLite model (file identifier is not TFL3)") \
    X(FS_ERR_VERSION, "unsupported schema version (want 3)")                 \
    X(FS_ERR_MALFORMED, "malformed model")                                   \
    X(FS_ERR_SUBGRAPHS, "exactly one subgraph is supported")                 \
    X(FS_ERR_UNSUPPORTED_OP, "unsupported operator")                         \
    X(FS_ERR_TYPE, "unsupported or mismatched tensor type")                  \
    X(FS_ERR_SHAPE, "invalid or mismatched tensor shape")                    \
    X(FS_ERR_QUANT, "missing or invalid quantization parameters")            \
    X(FS_ERR_OPTIONS, "invalid or unsupported operator options")             \
    X(FS_ERR_GRAPH, "invalid graph")                                         \
    X(FS_ERR_LIMIT, "model exceeds a runtime limit")                         \
    X(FS_ERR_ARENA, "arena too small")                                       \
    X(FS_ERR_NOT_LOADED, "no model loaded")                                  \
    X(FS_ERR_EVAL, "operator failed at run time")

#define FS_STATUS_ENUM_(name, text) name,
typedef enum fs_status { FS_STATUS_LIST(FS_STATUS_ENUM_) FS_STATUS_COUNT } fs_status;
#undef FS_STATUS_ENUM_

/* Fixed text of a status code; never NULL (unknown codes give "unknown status"). */
const char *fs_status_str(fs_status s);

#endif /* FS_STATUS_H */
