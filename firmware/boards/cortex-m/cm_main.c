/* main() of every Cortex-M board: all state is static; the arena is sized by the export. */
#include <stdalign.h>

#include "app.h"
#include "board.h"
#include "model_config.h"

static alignas(16) uint8_t arena[FS_MODEL_ARENA_BYTES];
static fs_app app;

int main(void) {
    board_init();
    fs_app_init(&app, arena, sizeof arena);
    for (;;) fs_app_poll(&app);
}
