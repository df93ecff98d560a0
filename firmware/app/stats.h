/* Clip statistics for the stats model (FS_MODEL_INPUT_KIND == FS_INPUT_STATS): the int8 log-mel
 * frames are summed exactly, per pair of adjacent mel bands, over the whole clip; at its end the
 * sums become the band means and (population) standard deviations in dB, standardised into the
 * model's one input. The arithmetic is train.models.stats.device_stats + standardise, operation
 * for operation (the host's int8 reference computes the same bits):
 *   u = q[2b] + q[2b+1];  S1_b = sum u, S2_b = sum u*u over the N frames (int64: exact, and an
 *   endless stream would still fit);  in double: m = S1/N, var = S2/N - m*m,
 *   mean_b = scale * (m / 2 - zero),  std_b = scale / 2 * sqrt(max(var, 0));
 *   z_i = (float)((s_i - mean_i) / std_i) for s = [means, stds] and the float32 constants. */
#ifndef FS_STATS_H
#define FS_STATS_H
#include <stddef.h>
#include <stdint.h>

#include "feature_config.h"

#define FS_STATS_POOL 2                                 /* mel bands per pooled band */
#define FS_STATS_BANDS (FS_FEAT_N_MELS / FS_STATS_POOL) /* 64 */
#define FS_STATS_SIZE (2 * FS_STATS_BANDS)              /* 128: means, then stds */

typedef struct {
    int64_t sum[FS_STATS_BANDS];    /* S1_b */
    int64_t sum_sq[FS_STATS_BANDS]; /* S2_b */
    uint32_t frames;                /* N */
} fs_stats;

void fs_stats_reset(fs_stats *s);
/* One int8 frame of FS_FEAT_N_MELS values. */
void fs_stats_add(fs_stats *s, const int8_t *frame);
/* The standardised statistics z[FS_STATS_SIZE] with the frames' quantization (scale, zero) and
 * the standardisation constants mean[], std[] (FS_STATS_SIZE each). Returns 0, or -1 (z left
 * untouched) when no frame was added. */
int fs_stats_finish(const fs_stats *s, float frame_scale, int32_t frame_zero, const float *mean,
                    const float *std, float *z);

#endif
