#include "stats.h"

#include <math.h>

_Static_assert(FS_FEAT_N_MELS % FS_STATS_POOL == 0, "mel bands pool in pairs");

void fs_stats_reset(fs_stats *s) {
    for (size_t b = 0; b < FS_STATS_BANDS; b++) {
        s->sum[b] = 0;
        s->sum_sq[b] = 0;
    }
    s->frames = 0;
}

void fs_stats_add(fs_stats *s, const int8_t *frame) {
    for (size_t b = 0; b < FS_STATS_BANDS; b++) {
        int32_t u = (int32_t)frame[FS_STATS_POOL * b] + (int32_t)frame[FS_STATS_POOL * b + 1];
        s->sum[b] += u;
        s->sum_sq[b] += (int64_t)(u * u);
    }
    s->frames++;
}

/* Every step in double, in the order of train.models.stats.device_stats and standardise; the
 * int64 sums convert to double exactly (below 2^53 for any clip shorter than ~4e12 frames). */
int fs_stats_finish(const fs_stats *s, float frame_scale, int32_t frame_zero, const float *mean,
                    const float *std, float *z) {
    if (s->frames == 0) return -1;
    double n = (double)s->frames;
    double scale = (double)frame_scale;
    for (size_t b = 0; b < FS_STATS_BANDS; b++) {
        double m = (double)s->sum[b] / n;
        double var = (double)s->sum_sq[b] / n - m * m;
        double band_mean = scale * (m / (double)FS_STATS_POOL - (double)frame_zero);
        double band_std = scale / (double)FS_STATS_POOL * sqrt(var > 0.0 ? var : 0.0);
        size_t j = FS_STATS_BANDS + b;
        z[b] = (float)((band_mean - (double)mean[b]) / (double)std[b]);
        z[j] = (float)((band_std - (double)mean[j]) / (double)std[j]);
    }
    return 0;
}
