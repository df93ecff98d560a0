/* The few newlib hooks the firmware can reach. There is no heap: every buffer is static, so
 * _sbrk always fails (a malloc inside newlib returns NULL instead of growing into the stack). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

void *_sbrk(ptrdiff_t incr);

void *_sbrk(ptrdiff_t incr) {
    (void)incr;
    errno = ENOMEM;
    return (void *)-1;
}
