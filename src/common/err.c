/* Error records for multi-step work: see berth_err_t in common.h. */
#include "berth/common.h"

#include <errno.h>
#include <string.h>

void berth_err_clear(berth_err_t *err)
{
    err->code = 0;
    err->status = 0;
    err->msg[0] = '\0';
}

static int err_vset(berth_err_t *err, int status, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code ? -code : -1;
    err->status = status;
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code ? -code : -1;
}

int berth_err_set(berth_err_t *err, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = err_vset(err, status, 0, fmt, ap);
    va_end(ap);
    return r;
}

int berth_err_sys(berth_err_t *err, int code, const char *fmt, ...)
{
    if (code < 0)
        code = -code;
    va_list ap;
    va_start(ap, fmt);
    int r = err_vset(err, BERTH_E_INTERNAL, code, fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
    }
    return r;
}

int berth_err_prefix(berth_err_t *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[sizeof(err->msg)];
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is acceptable: the message is for humans. */
    berth_buf_t b;
    buf_init(&b);
    buf_puts(&b, prefix);
    if (old[0]) {
        buf_puts(&b, ": ");
        buf_puts(&b, old);
    }
    size_t n = b.len < sizeof(err->msg) - 1 ? b.len : sizeof(err->msg) - 1;
    memcpy(err->msg, b.data, n);
    err->msg[n] = '\0';
    buf_free(&b);
    return err->code ? -err->code : -1;
}
