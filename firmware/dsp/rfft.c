/* Real FFT of n points through one complex FFT of n/2 points (the standard "packing" trick):
 * z[m] = x[2m] + i x[2m+1], Z = FFT(z), then X[k] = E[k] + W^k O[k] with
 * E[k] = (Z[k] + conj Z[M-k]) / 2 and O[k] = (Z[k] - conj Z[M-k]) / 2i. Halves the work. */
#include "rfft.h"

/* In-place iterative radix-2 decimation-in-time FFT of size m (m = n/2). Twiddles come from the
 * size-n table: W_len^k = W_n^(k * n / len). */
static void complex_fft(float *re, float *im, size_t m, size_t n, const float *tw_re,
                        const float *tw_im) {
    for (size_t i = 1, j = 0; i < m; i++) {  /* bit-reversal permutation */
        size_t bit = m >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            float t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (size_t len = 2; len <= m; len <<= 1) {
        size_t half = len >> 1, stride = n / len;
        for (size_t base = 0; base < m; base += len) {
            for (size_t k = 0; k < half; k++) {
                float wr = tw_re[k * stride], wi = tw_im[k * stride];
                size_t a = base + k, b = a + half;
                float vr = re[b] * wr - im[b] * wi;
                float vi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - vr; im[b] = im[a] - vi;
                re[a] += vr;        im[a] += vi;
            }
        }
    }
}

void fs_rfft_power(const float *x, size_t n, const float *tw_re, const float *tw_im,
                   float *zr, float *zi, float *power) {
    size_t m = n / 2;
    for (size_t i = 0; i < m; i++) {
        zr[i] = x[2 * i];
        zi[i] = x[2 * i + 1];
    }
    complex_fft(zr, zi, m, n, tw_re, tw_im);
    /* k = 0 and k = m (Nyquist) are real. */
    float dc = zr[0] + zi[0], ny = zr[0] - zi[0];
    power[0] = dc * dc;
    power[m] = ny * ny;
    for (size_t k = 1; k < m; k++) {
        float ar = zr[k], ai = zi[k], br = zr[m - k], bi = -zi[m - k]; /* b = conj Z[m-k] */
        float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
        float dr = 0.5f * (ar - br), di = 0.5f * (ai - bi);
        float orr = di, oi = -dr;  /* O = d / i */
        float xr = er + tw_re[k] * orr - tw_im[k] * oi;
        float xi = ei + tw_re[k] * oi + tw_im[k] * orr;
        power[k] = xr * xr + xi * xi;
    }
}
