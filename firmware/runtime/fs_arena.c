/* Persistent allocations of a model (tensor and operator records, op parameters): from the
 * arena's tail downwards, while the planner (fs_planner.c) places activations and scratch from
 * its base upwards; fs_model_load sets both ends. */
#include <string.h>

#include "fs_internal.h"

void *fs_persist(fs_model *m, size_t bytes) {
    const size_t need = (bytes + 7u) & ~(size_t)7u;
    const size_t free_bytes = (size_t)(m->tail - m->base);
    if (need < bytes || need > free_bytes) {
        fs_fail(m, FS_ERR_ARENA, "have %u bytes, persistent data alone needs more",
                (unsigned)m->arena_len);
        return NULL;
    }
    m->tail -= need;
    memset(m->tail, 0, need);
    return m->tail;
}
