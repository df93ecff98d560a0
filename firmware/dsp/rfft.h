/* Power spectrum of a real frame by a radix-2 FFT (float32, no heap, caller-owned scratch). */
#ifndef FS_RFFT_H
#define FS_RFFT_H
#include <stddef.h>

/* Power |X[k]|^2 for k = 0..n/2 of the real sequence x[0..n-1]; n a power of two >= 4.
 * tw_re/tw_im hold e^(-2 pi i k / n) for k < n/2. scratch_re/scratch_im hold n/2 floats each.
 * power receives n/2 + 1 values. x is not modified. */
void fs_rfft_power(const float *x, size_t n, const float *tw_re, const float *tw_im,
                   float *scratch_re, float *scratch_im, float *power);

#endif
