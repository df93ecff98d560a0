#include "stats.h"

#include <math.h>

_Static_assert(FS_FEAT_N_MELS % FS_STATS_POOL == 0, "mel bands pool in pairs");

void fs_stats_reset(fs_stats *s) {
    for (size_t m = 0; m < FS_FEAT_N_MELS; m++) {
        s->sum[m] = 0;
        s->sum_sq[m] = 0;
    }
    for (size_t b = 0; b < FS_STATS_BANDS; b++) s->cross[b] = 0;
    s->frames = 0;
}

void fs_stats_add(fs_stats *s, const int8_t *frame) {
    for (size_t b = 0; b < FS_STATS_BANDS; b++) {
        int32_t a = frame[FS_STATS_POOL * b];
        int32_t c = frame[FS_STATS_POOL * b + 1];
        s->sum[FS_STATS_POOL * b] += a;
        s->sum[FS_STATS_POOL * b + 1] += c;
        s->sum_sq[FS_STATS_POOL * b] += (int64_t)(a * a);
        s->sum_sq[FS_STATS_POOL * b + 1] += (int64_t)(c * c);
        s->cross[b] += (int64_t)(a * c);
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
        size_t lo = FS_STATS_POOL * b, hi = lo + 1;
        int64_t s1 = s->sum[lo] + s->sum[hi];                         /* sum u */
        int64_t s2 = s->sum_sq[lo] + s->sum_sq[hi] + 2 * s->cross[b]; /* sum u^2 */
        double m = (double)s1 / n;
        double var = (double)s2 / n - m * m;
        double band_mean = scale * (m / (double)FS_STATS_POOL - (double)frame_zero);
        double band_std = scale / (double)FS_STATS_POOL * sqrt(var > 0.0 ? var : 0.0);
        size_t j = FS_STATS_BANDS + b;
        z[b] = (float)((band_mean - (double)mean[b]) / (double)std[b]);
        z[j] = (float)((band_std - (double)mean[j]) / (double)std[j]);
    }
    return 0;
}

int fs_stats_bands(const fs_stats *s, float frame_scale, int32_t frame_zero, double *band) {
    if (s->frames == 0) return -1;
    double n = (double)s->frames;
    double scale = (double)frame_scale;
    for (size_t m = 0; m < FS_FEAT_N_MELS; m++) {
        double mu = (double)s->sum[m] / n;
        double var = (double)s->sum_sq[m] / n - mu * mu;
        band[m] = scale * (mu - (double)frame_zero);
        band[FS_FEAT_N_MELS + m] = scale * sqrt(var > 0.0 ? var : 0.0);
    }
    return 0;
}

double fs_stats_residual(double *band, const float *mean, const float *components, size_t k) {
    double zz = 0.0;
    for (size_t i = 0; i < FS_STATS_BAND_SIZE; i++) {
        band[i] -= (double)mean[i];
        zz += band[i] * band[i];
    }
    double pp = 0.0;
    for (size_t j = 0; j < k; j++) {
        const float *row = components + j * FS_STATS_BAND_SIZE;
        double p = 0.0;
        for (size_t i = 0; i < FS_STATS_BAND_SIZE; i++) p += (double)row[i] * band[i];
        pp += p * p;
    }
    return zz - pp;
}
