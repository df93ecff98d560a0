/* x86 check of firmware/dsp/logmel.c's fused bands (mel_fused: the power spectrum, the mel sums,
 * the floor and the logarithm in one pass) against the band-by-band path it replaced
 * (mel_general: power array, one dot product per band, then log2_of), bit for bit, on random
 * spectra at several levels (the quiet ones floored). logmel_stages.c does the same on the
 * Cortex-M4 for its assembly. Built by `make -C firmware -f dsp/dsp.mk mel-check`; prints
 * "fused <0|1> inner <0|1> mismatches <n>" and exits with n (2 if mel_fused is not in use). */
#include <stdio.h>

#include "logmel.c"

int main(void) {
    static fs_logmel ctx;
    static float spec[FS_FEAT_N_FFT], scratch[FS_FEAT_N_FFT], out[FS_FEAT_N_MELS],
        ref[FS_FEAT_N_MELS];
    fs_logmel_reset(&ctx);
    uint32_t s = 1, mismatches = 0;
    const float level[] = {1e6f, 3e3f, 1.0f, 1e-3f, 1e-6f, 0.0f};
    for (int trial = 0; trial < 600; trial++) {
        for (size_t i = 0; i < FS_FEAT_N_FFT; i++) {
            s = s * 1103515245u + 12345u;
            spec[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * level[trial % 6];
        }
        mel_fused(spec, out);
        mel_general(spec, scratch, ref);
        for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
            ref[b] = DB_PER_LOG2 * log2_of(ref[b]);
            mismatches += memcmp(&ref[b], &out[b], sizeof ref[b]) != 0;
        }
    }
    printf("fused %d inner %d mismatches %lu\n", fused_ok, inner_plain, (unsigned long)mismatches);
    return fused_ok ? (int)(mismatches > 0) : 2;
}
