/* Allocation helpers: running out of memory is fatal (STYLE: what may be fatal). */
#include "berth/common.h"

#include <string.h>
#include <unistd.h>

static void *oom(void)
{
    static const char msg[] = "berth: out of memory\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom();
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom();
}

char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    return p ? p : oom();
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    return p ? p : oom();
}

char *xvasprintf(const char *fmt, va_list ap)
{
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        return oom();
    return out;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = xvasprintf(fmt, ap);
    va_end(ap);
    return out;
}

void berth_freep(void *p)
{
    free(*(void **)p);
}

void berth_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void berth_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
    *f = NULL;
}
