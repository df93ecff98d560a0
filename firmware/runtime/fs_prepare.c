/* Checks and computations shared by operator prepare functions. */
#include "fs_internal.h"
#include "fs_quant.h"

static const char *fs_type_name(int type) {
  switch (type) {
    case FS_FLOAT32: return "float32";
    case FS_INT32: return "int32";
    case FS_UINT8: return "uint8";
    case FS_INT64: return "int64";
    case FS_BOOL: return "bool";
    case FS_INT16: return "int16";
    case FS_INT8: return "int8";
    default: return "?";
  }
}

fs_status fs_expect_type(fs_prep *p, const fs_tensor *t, int type, const char *what) {
  if (t && t->type == type) return FS_OK;
  return fs_op_fail(p, FS_ERR_TYPE, "%s is %s, want %s", what, t ? fs_type_name(t->type) : "missing",
                    fs_type_name(type));
}

fs_status fs_expect_quantized(fs_prep *p, const fs_tensor *t, const char *what) {
  if (t && t->scale > 0.0f && !(t->flags & FS_TENSOR_PER_CHANNEL)) return FS_OK;
  return fs_op_fail(p, FS_ERR_QUANT, "%s needs one scale and zero point", what);
}

fs_status fs_expect_io(fs_prep *p, const fs_io_want *want, unsigned n) {
  fs_status s;
  for (unsigned i = 0; i < n; ++i)
    if ((s = fs_expect_type(p, want[i].t, want[i].type, want[i].what))) return s;
  for (unsigned i = 0; i < n; ++i)
    if (want[i].quantized && (s = fs_expect_quantized(p, want[i].t, want[i].what))) return s;
  return FS_OK;
}

fs_status fs_per_channel_multipliers(fs_prep *p, int w, uint32_t channels, float in_scale,
                                     float out_scale, int32_t **mult, int32_t **shift) {
  fs_model *m = p->m;
  const uint32_t n = fs_quant_count(m, w);
  if (n != 1 && n != channels)
    return fs_op_fail(p, FS_ERR_QUANT, "weights have %u scales for %u channels", n, channels);
  for (uint32_t c = 0; c < n; ++c)
    if (fs_quant_zero_point(m, w, c) != 0)
      return fs_op_fail(p, FS_ERR_QUANT, "weights must be symmetric (zero point 0)");
  *mult = fs_persist(m, channels * sizeof(int32_t));
  *shift = fs_persist(m, channels * sizeof(int32_t));
  if (!*mult || !*shift) return m->status;
  /* PopulateConvolutionQuantizationParams: double(in) * double(w) / double(out). */
  for (uint32_t c = 0; c < channels; ++c) {
    const double ws = (double)fs_quant_scale(m, w, n == 1 ? 0 : c);
    const double eff = (double)in_scale * ws / (double)out_scale;
    int sh;
    if (!fs_quantize_multiplier(eff, &(*mult)[c], &sh))
      return fs_op_fail(p, FS_ERR_QUANT, "bad effective scale");
    (*shift)[c] = sh;
  }
  return FS_OK;
}
