/* The one-line failure messages of the runtime (fs_model_message): fs_fail and, for an
 * operator's prepare, fs_op_fail, with a formatter that knows %d, %u and %s and never writes past
 * FS_MSG_LEN. */
#include <stdarg.h>

#include "fs_internal.h"

static size_t fs_put(char *buf, size_t at, const char *s) {
    while (*s && at + 1 < FS_MSG_LEN) buf[at++] = *s++;
    buf[at] = 0;
    return at;
}

static size_t fs_put_uint(char *buf, size_t at, unsigned long v, int neg) {
    char tmp[24];
    int n = 0;
    if (neg) at = fs_put(buf, at, "-");
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v && n < (int)sizeof tmp);
    while (n > 0 && at + 1 < FS_MSG_LEN) buf[at++] = tmp[--n];
    buf[at] = 0;
    return at;
}

/* Appends fmt formatted (%d, %u and %s only) at `at`; returns the new length. */
static size_t fs_put_format(char *buf, size_t at, const char *fmt, va_list ap) {
    for (const char *f = fmt; *f && at + 1 < FS_MSG_LEN; ++f) {
        if (f[0] == '%' && f[1] == 'd') {
            const int v = va_arg(ap, int);
            at = fs_put_uint(buf, at, v < 0 ? 0ul - (unsigned long)v : (unsigned long)v, v < 0);
            ++f;
        } else if (f[0] == '%' && f[1] == 'u') {
            at = fs_put_uint(buf, at, va_arg(ap, unsigned), 0);
            ++f;
        } else if (f[0] == '%' && f[1] == 's') {
            const char *s2 = va_arg(ap, const char *);
            at = fs_put(buf, at, s2 ? s2 : "(null)");
            ++f;
        } else {
            buf[at++] = *f;
            buf[at] = 0;
        }
    }
    return at;
}

fs_status fs_fail(fs_model *m, fs_status s, const char *fmt, ...) {
    va_list ap;
    size_t at = fs_put(m->msg, 0, fs_status_str(s));
    m->status = s;
    if (!fmt || !*fmt) return s;
    at = fs_put(m->msg, at, ": ");
    va_start(ap, fmt);
    fs_put_format(m->msg, at, fmt, ap);
    va_end(ap);
    return s;
}

fs_status fs_op_fail(fs_prep *p, fs_status s, const char *fmt, ...) {
    fs_model *m = p->m;
    va_list ap;
    size_t at = fs_put(m->msg, 0, fs_status_str(s));
    m->status = s;
    at = fs_put(m->msg, at, ": op ");
    at = fs_put_uint(m->msg, at, p->index, 0);
    at = fs_put(m->msg, at, " ");
    at = fs_put(m->msg, at, fs_op_kinds[p->op->kind].name);
    at = fs_put(m->msg, at, ": ");
    va_start(ap, fmt);
    fs_put_format(m->msg, at, fmt, ap);
    va_end(ap);
    return s;
}
