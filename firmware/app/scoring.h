/* Clip scoring on the device, with the constants export wrote into model_config.h:
 *   MSE        autoencoder: mean over the clip's inferences of the mean squared difference between
 *              the dequantized int8 input and the dequantized int8 output;
 *   EMBEDDING  classifier: mean of the dequantized (whitened) embeddings, squared Euclidean
 *              distance to the nearest centre, normalised by that centre's constants (one
 *              threshold for both domains). With the residual scorer (stats,
 *              FS_MODEL_PCA_COMPONENTS > 0) the nearest centre's distance d is multiplied, in
 *              double, by the clip's PCA residual r (fs_scoring_set_residual) and by the
 *              residual scale of the clip's domain: score = (float)(d * r * inv_scale[dom]),
 *              dom = 1 (target) when the mean embedding e has e . domain_axis > 0.5.
 * The decision (fs_scoring_verdict): score > FS_MODEL_THRESHOLD, or > FS_MODEL_THRESHOLD_TARGET
 * for a clip of the target domain dom = 1 (models with one threshold: both are the same). */
#ifndef FS_SCORING_H
#define FS_SCORING_H
#include <stddef.h>
#include <stdint.h>

#include "model_config.h"

#ifndef FS_MODEL_PCA_COMPONENTS /* every export without the residual scorer */
#define FS_MODEL_PCA_COMPONENTS 0
#endif
#ifndef FS_MODEL_THRESHOLD_TARGET /* every export with one threshold */
#define FS_MODEL_THRESHOLD_TARGET FS_MODEL_THRESHOLD
#endif

#define FS_SCORE_MSE 0
#define FS_SCORE_EMBEDDING 1

typedef struct {
    float out_scale; /* the output's quantization (the embedding); the input's is in scoring.c */
    int32_t out_zero;
    double sum; /* MSE: sum of per-inference errors */
#if FS_MODEL_SCORE_KIND == FS_SCORE_EMBEDDING
    double embedding[FS_MODEL_OUTPUT_SIZE]; /* sum of patch embeddings (double: see .c) */
#endif
    uint32_t count; /* inferences scored */
#if FS_MODEL_PCA_COMPONENTS > 0
    double residual; /* the clip's PCA residual (stats.c) */
#endif
} fs_scoring;

void fs_scoring_reset(fs_scoring *ctx, float in_scale, int32_t in_zero, float out_scale,
                      int32_t out_zero);
/* Sums and count back to zero; the quantization is kept. */
void fs_scoring_clear(fs_scoring *ctx);
/* dst += src: the sums and counts of two sets of inferences (one rounding per sum). */
void fs_scoring_merge(fs_scoring *dst, const fs_scoring *src);
/* One inference: its int8 input (n_in) and output (n_out). */
void fs_scoring_add(fs_scoring *ctx, const int8_t *input, size_t n_in, const int8_t *output,
                    size_t n_out);
#if FS_MODEL_PCA_COMPONENTS > 0
void fs_scoring_set_residual(fs_scoring *ctx, double residual);
#endif
/* What the device reports for a clip: its score, the domain whose threshold decided it
 * (0 source, 1 target) and the decision (1 = anomaly). */
typedef struct {
    float score;
    uint8_t domain;
    uint8_t anomaly;
} fs_verdict;

/* The clip's verdict; count must be > 0. */
fs_verdict fs_scoring_verdict(const fs_scoring *ctx);
/* The clip's score alone (fs_scoring_verdict's). */
float fs_scoring_score(const fs_scoring *ctx);

#endif
