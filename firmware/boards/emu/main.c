#include <stdalign.h>

#include "app.h"
#include "board.h"
#include "board_emu.h"

static alignas(16) uint8_t arena[FS_MODEL_ARENA_BYTES];
static fs_app app;

int main(int argc, char **argv) {
    int rc = board_emu_configure(argc, argv);
    if (rc) return rc;
    board_init();
    fs_app_init(&app, arena, sizeof arena);
    for (;;) {
        if (board_emu_take_reset()) fs_app_init(&app, arena, sizeof arena);
        fs_app_poll(&app);
    }
}
