/* The front end's stages one by one on the Cortex-M4 under QEMU (-icount shift=0: instructions),
 * and its Cortex-M4 assembly (windowing, mel dot products, the fused power + mel + logarithm, the
 * app's fs_quantize_n) checked against the portable C it replaces, bit for bit. A board main for
 * the qemu build (BOARD_MAIN), not part of any firmware:
 *
 *   make -C firmware BOARD=qemu MACHINE=stages MODEL_DIR=<any exported model dir, e.g.
 *       build/perf/models/ad01 after make perf> BOARD_MAIN=dsp/logmel_stages.c CM_VARIANT=-stages
 *   qemu-system-arm -M netduinoplus2 -display none -monitor none -serial null -icount shift=0 \
 *       -semihosting-config enable=on,target=native \
 *       -kernel firmware/build/qemu-stages/stages/firmware.elf
 *
 * One line per stage ("<stage> <instructions>"), then "mismatches <n>"; QEMU exits with n. The
 * build's -std=c11 keeps gcc from contracting the C references into VFMA, as -ffp-contract=off
 * does for logmel.c itself. */
#define __GNUC_PYTHON__ /* as dsp.mk builds CMSIS-DSP: no CMSIS-Core headers */
#include <stdio.h>

#include "board.h"
#include "cm_semihost.h"
#include "quantize.h" /* the app's per-frame quantization, checked here too */
/* logmel.c itself, for its static stages; its public functions renamed out of the way. */
#define fs_logmel_reset stages_reset
#define fs_logmel_push stages_push
#define fs_logmel_finish stages_finish
#include "logmel.c"

static fs_logmel ctx;
static float out[FS_FEAT_N_MELS];
static int16_t pcm[16000];
static int frames_seen;
static uint32_t mismatches;

static int on_frame(void *user, const float *logmel) {
    (void)user;
    (void)logmel;
    frames_seen++;
    return 0;
}

static void report(const char *what, uint32_t n) {
    char line[96];
    snprintf(line, sizeof line, "%-24s %8lu\n", what, (unsigned long)n);
    cm_semihost_write0(line);
}

static void differ(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) mismatches += memcmp(&a[i], &b[i], sizeof *a) != 0;
}

#define TIMED(label, stmt)                              \
    do {                                                \
        uint32_t t0_ = board_cycles();                  \
        stmt;                                           \
        report(label, board_cycles() - t0_ - overhead); \
    } while (0)

int main(void) {
    board_init();
    uint32_t a0 = board_cycles(), overhead = board_cycles() - a0;
    uint32_t s = 12345;
    for (size_t i = 0; i < 16000; i++) {
        s = s * 1103515245u + 12345u;
        pcm[i] = (int16_t)((int32_t)(s >> 16) % 6000 - 3000);
    }
    stages_reset(&ctx);
    memcpy(ctx.ring, pcm, sizeof ctx.ring);
    ctx.pos = FS_FEAT_N_FFT / 2;

    TIMED("window", window(&ctx, ctx.frame));
    for (size_t i = 0; i < FS_FEAT_N_FFT; i++) {
        float x = (float)ctx.ring[(ctx.pos + i) % FS_FEAT_N_FFT] * fs_feat_window[i];
        differ(&x, &ctx.frame[i], 1);
    }
    /* The real FFT's parts, on a copy of the frame (each overwrites its input): the 512-point
     * complex FFT without and then with its bit reversal; the real split is the rest. */
    static float copy[FS_FEAT_N_FFT];
    memcpy(copy, ctx.frame, sizeof copy);
    TIMED("  cfft, no bit reversal", arm_cfft_f32(&fft.Sint, copy, 0, 0));
    memcpy(copy, ctx.frame, sizeof copy);
    TIMED("  cfft + bit reversal", arm_cfft_f32(&fft.Sint, copy, 0, 1));
    TIMED("rfft (arm_rfft_fast_f32)", arm_rfft_fast_f32(&fft, ctx.frame, ctx.spectrum, 0));
    /* The old stages, power spectrum then the bands' dot products (mel_general without the
     * floor), and the portable C of the dot product they must equal. */
    static float power[FS_FEAT_N_FFT / 2 + 1], ref[FS_FEAT_N_MELS];
    TIMED("power", power_spectrum(ctx.spectrum, power));
    TIMED("mel (from power)", {
        const float *w = fs_feat_mel_weight;
        for (size_t b = 0; b < FS_FEAT_N_MELS; b++)
            out[b] = dot(&w, power + fs_feat_mel_first[b], fs_feat_mel_count[b]);
    });
    const float *w = fs_feat_mel_weight;
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) {
        const float *p = power + fs_feat_mel_first[b];
        float acc = 0.0f;
        for (size_t k = 0; k < fs_feat_mel_count[b]; k++) acc += w[k] * p[k];
        w += fs_feat_mel_count[b];
        ref[b] = acc > FLOOR_P ? acc : FLOOR_P;
        differ(&acc, &out[b], 1);
    }
    /* What the front end runs: the power fused into the bands, floored, each band's dB as soon
     * as it is complete; the same bits as the C reference above (and as mel_general) with the
     * portable log2_of. Checked on a quiet frame too, where the floor decides. */
    mismatches += !fused_ok || !inner_plain; /* asd.features' filterbank has mel_fused's shape */
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) ref[b] = DB_PER_LOG2 * log2_of(ref[b]);
    TIMED("power + mel + log (fused)", mel_fused(ctx.spectrum, out));
    differ(ref, out, FS_FEAT_N_MELS);
    mel_general(ctx.spectrum, power, ref);
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) ref[b] = DB_PER_LOG2 * log2_of(ref[b]);
    differ(ref, out, FS_FEAT_N_MELS);
    static float quiet[FS_FEAT_N_FFT];
    for (size_t i = 0; i < FS_FEAT_N_FFT; i++) quiet[i] = ctx.spectrum[i] * 1e-9f;
    mel_fused(quiet, out);
    mel_general(quiet, power, ref);
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) ref[b] = DB_PER_LOG2 * log2_of(ref[b]);
    differ(ref, out, FS_FEAT_N_MELS);
    /* And with the C of the segments (what x86 runs) on the Cortex-M4. */
    inner_plain = 0;
    mel_fused(ctx.spectrum, out);
    inner_plain = 1;
    mel_general(ctx.spectrum, power, ref);
    for (size_t b = 0; b < FS_FEAT_N_MELS; b++) ref[b] = DB_PER_LOG2 * log2_of(ref[b]);
    differ(ref, out, FS_FEAT_N_MELS);
    TIMED("log", for (size_t b = 0; b < FS_FEAT_N_MELS; b++) out[b] = log2_of(out[b] + 1.0f));
    TIMED("frame", frame_features(&ctx, out));
    /* fs_quantize_n's assembly against fs_quantize (tests/firmware/app/test_quantize_c.py pins
     * that to asd.features.quantize): ties, the float32 sums that round up, saturation,
     * infinities, NaN, and pseudo-random values over the int8 range and beyond. */
    static float qx[4096];
    static int8_t qa[4096];
    const float qscale = 0.45f, below_half = 0.49999997f, inf = __builtin_inff();
    const float edge[] = {0.0f,
                          -0.0f,
                          below_half,
                          -below_half,
                          0.5f,
                          -0.5f,
                          1.5f,
                          -1.5f,
                          2.5f,
                          -2.5f,
                          511.9f,
                          512,
                          513,
                          -513,
                          1e9f,
                          -1e9f,
                          inf,
                          -inf,
                          __builtin_nanf("")};
    size_t nq = 0;
    for (int i = -300; i <= 300; i++) qx[nq++] = (float)i * 0.5f * qscale;
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        qx[nq++] = edge[i];
        qx[nq++] = edge[i] * qscale;
    }
    while (nq < 4096) {
        s = s * 1103515245u + 12345u;
        qx[nq++] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 400.0f;
    }
    TIMED("quantize (4096 values)", fs_quantize_n(qx, qa, nq, qscale, 60));
    for (size_t i = 0; i < nq; i++) mismatches += qa[i] != fs_quantize(qx[i], qscale, 60);
    fs_quantize_n(qx, qa, nq, 0.391015232f, -89);
    for (size_t i = 0; i < nq; i++) mismatches += qa[i] != fs_quantize(qx[i], 0.391015232f, -89);
    stages_reset(&ctx);
    TIMED("push 1 s (31 frames)", stages_push(&ctx, pcm, 16000, on_frame, NULL));
    TIMED("finish (1 frame)", stages_finish(&ctx, on_frame, NULL));
    mismatches += frames_seen != 32;
    report("mismatches", mismatches);
    cm_semihost_exit((int)mismatches);
}
