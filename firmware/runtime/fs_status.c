#include "fs_status.h"

#define FS_STATUS_TEXT_(name, text) text,
static const char *const fs_status_text[FS_STATUS_COUNT] = {FS_STATUS_LIST(FS_STATUS_TEXT_)};
#undef FS_STATUS_TEXT_

const char *fs_status_str(fs_status s) {
    if ((unsigned)s >= (unsigned)FS_STATUS_COUNT) return "unknown status";
    return fs_status_text[s];
}
