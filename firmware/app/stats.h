/* Clip statistics for the stats model (FS_MODEL_INPUT_KIND == FS_INPUT_STATS): the int8 log-mel
 * frames are summed exactly over the whole clip, per mel band (S1 = sum q, S2 = sum q*q) and per
 * pair of adjacent bands (X = sum q[2b]*q[2b+1]), all int64 (exact, and an endless stream would
 * still fit). At the clip's end the sums give two things, in double, operation for operation as
 * the host's int8 reference (export/reference.py) computes them:
 *
 * 1. The model's input (train.models.stats.device_stats + standardise): the pooled pair
 *    u = q[2b] + q[2b+1] has sum u = S1[2b] + S1[2b+1] and sum u^2 = S2[2b] + S2[2b+1] + 2 X[b]
 *    (the same integers as summing u and u*u directly); m = sum u / N, var = sum u^2 / N - m*m,
 *    mean_b = scale * (m / 2 - zero), std_b = scale / 2 * sqrt(max(var, 0));
 *    z_i = (float)((s_i - mean_i) / std_i) for s = [means, stds] and the float32 constants.
 * 2. The residual scorer's 256 band statistics (train.models.stats.device_band_stats): per mel
 *    band m = S1/N, mean = scale * (m - zero), std = scale * sqrt(max(S2/N - m*m, 0)); and their
 *    PCA residual (pca_residual): z = band - mean_f32, r = sum z_i^2 - sum_j (sum_i P[j][i] z_i)^2,
 *    every sum a running sum from index 0 up. */
#ifndef FS_STATS_H
#define FS_STATS_H
#include <stddef.h>
#include <stdint.h>

#include "feature_config.h"

#define FS_STATS_POOL 2                                 /* mel bands per pooled band */
#define FS_STATS_BANDS (FS_FEAT_N_MELS / FS_STATS_POOL) /* 64 */
#define FS_STATS_SIZE (2 * FS_STATS_BANDS)              /* 128: means, then stds */
#define FS_STATS_BAND_SIZE (2 * FS_FEAT_N_MELS)         /* 256: band means, then band stds */

typedef struct {
    int64_t sum[FS_FEAT_N_MELS];    /* S1 per mel band */
    int64_t sum_sq[FS_FEAT_N_MELS]; /* S2 per mel band */
    int64_t cross[FS_STATS_BANDS];  /* X per pair of bands */
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
/* The 256 band statistics band[FS_STATS_BAND_SIZE] (means, then stds, dB, double). Returns 0,
 * or -1 (band untouched) when no frame was added. */
int fs_stats_bands(const fs_stats *s, float frame_scale, int32_t frame_zero, double *band);
/* The PCA residual of band[] (FS_STATS_BAND_SIZE values, overwritten with band - mean) outside
 * the k orthonormal rows of components (k x FS_STATS_BAND_SIZE floats, row-major). */
double fs_stats_residual(double *band, const float *mean, const float *components, size_t k);

#endif
