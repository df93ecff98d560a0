/* The x86 emulation board: a Linux process whose UART is a pseudo-terminal (or stdio), whose
 * cycle counter is CLOCK_MONOTONIC in nanoseconds, so `core_hz` is 1e9. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "board_emu.h"
#include "feature_config.h"

static int rx_fd = -1, tx_fd = -1;
static uint8_t rx_buf[4096];
static size_t rx_len, rx_pos;
static volatile sig_atomic_t reset_pending;

/* SIGUSR1 plays the reset button: the next poll re-initialises the app, which sends HELLO. */
static void on_reset_signal(int sig) {
    (void)sig;
    reset_pending = 1;
}

int board_emu_take_reset(void) {
    if (!reset_pending) return 0;
    reset_pending = 0;
    rx_pos = rx_len = 0; /* a real reset loses whatever the UART had received */
    return 1;
}

static void die(const char *what) {
    fprintf(stderr, "firmware-emu: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Open a pty whose slave end stays open here and in raw mode: nothing is echoed or translated
 * even before the host opens it, and a host that closes and reopens it finds it alive. */
static void open_pty(const char *link) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) die("posix_openpt");
    const char *name = ptsname(master);
    if (!name) die("ptsname");
    int slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) die(name);
    struct termios t;
    if (tcgetattr(slave, &t)) die("tcgetattr");
    cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t)) die("tcsetattr");
    if (link) {
        unlink(link);
        if (symlink(name, link)) die(link);
    }
    printf("%s\n", name); /* the host reads this line to find the port */
    fflush(stdout);
    rx_fd = tx_fd = master;
}

int board_emu_configure(int argc, char **argv) {
    const char *link = NULL;
    int use_stdio = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stdio")) {
            use_stdio = 1;
        } else if (!strcmp(argv[i], "--link") && i + 1 < argc) {
            link = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--stdio | --link PATH]\n"
                    "  serves the firmware protocol on a new pseudo-terminal (its path is "
                    "printed), or on stdin/stdout with --stdio\n",
                    argv[0]);
            return 2;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_reset_signal; /* no SA_RESTART: a blocking read returns EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    if (use_stdio) {
        rx_fd = 0;
        tx_fd = 1;
    } else {
        open_pty(link);
    }
    return 0;
}

void board_init(void) {}

uint8_t board_uart_getc(void) {
    while (rx_pos == rx_len) {
        if (reset_pending) return 0; /* a frame delimiter: harmless; main() then resets */
        ssize_t n = read(rx_fd, rx_buf, sizeof rx_buf);
        if (n == 0) exit(0); /* stdin closed: the session is over */
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == EIO) { /* pty: no slave open right now; wait for the host */
                usleep(10000);
                continue;
            }
            die("read");
        }
        rx_len = (size_t)n;
        rx_pos = 0;
    }
    return rx_buf[rx_pos++];
}

/* FIRSTSHOT_EMU_SLOW_US=N (tests only) plays a slower device: each hop of MONITOR processing
 * costs N microseconds more, so a live stream can outrun it and overrun the audio ring. */
static long slow_us(void) {
    static long us = -1;
    if (us < 0) {
        const char *s = getenv("FIRSTSHOT_EMU_SLOW_US");
        us = s ? atol(s) : 0;
    }
    return us;
}

bool board_uart_ready(void) {
    if (rx_pos < rx_len || reset_pending) return true;
    struct pollfd p = {.fd = rx_fd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0) return true;
    if (slow_us() > 0 && fs_audio_available(board_audio_source()) >= FS_FEAT_HOP)
        usleep((useconds_t)slow_us()); /* then the hop is processed, whatever arrived meanwhile */
    return false;
}

fs_audio *board_audio_source(void) { return fs_audio_serial(); }

void board_uart_write(const uint8_t *data, size_t len) {
    while (len) {
        ssize_t n = write(tx_fd, data, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            die("write");
        }
        data += n;
        len -= (size_t)n;
    }
}

uint32_t board_cycles(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

uint32_t board_core_hz(void) { return 1000000000u; }

const char *board_name(void) { return "emu"; }
