/* runtime: Docker's json-file log writer, used by the shim. One JSON object
 * per line, one write(2) per entry so a reader never sees half an entry
 * unless the disk fills (then the partial tail is at the end only). */
#include <errno.h>
#include <string.h>

#include "runtime/internal.h"

#define JSONLOG_MAX_LINE (16 * 1024) /* Docker splits longer lines the same way */

static const char hexdig[] = "0123456789abcdef";

void rt_jsonlog_encode(berth_buf_t *out, int stream, const char *buf, size_t len, int64_t ns)
{
    buf_puts(out, "{\"log\":\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        switch (c) {
        case '"':
            buf_puts(out, "\\\"");
            break;
        case '\\':
            buf_puts(out, "\\\\");
            break;
        case '\n':
            buf_puts(out, "\\n");
            break;
        case '\r':
            buf_puts(out, "\\r");
            break;
        case '\t':
            buf_puts(out, "\\t");
            break;
        /* Go's encoder escapes these for HTML safety; readers expect either. */
        case '<':
        case '>':
        case '&': {
            char esc[7] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15], 0};
            buf_puts(out, esc);
            break;
        }
        default:
            if (c < 0x20 || c == 0x7f) {
                char esc[7] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15], 0};
                buf_puts(out, esc);
            } else {
                buf_append(out, &buf[i], 1);
            }
        }
    }
    char ts[48];
    berth_format_time_ns(ns, ts, sizeof(ts));
    buf_printf(out, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream == 2 ? "stderr" : "stdout",
               ts);
}

int rt_jsonlog_open(rt_jsonlog_t *l, const char *path, int64_t max_size, int max_file)
{
    memset(l, 0, sizeof(*l));
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (l->fd < 0)
        return -errno;
    struct stat st;
    if (fstat(l->fd, &st) == 0)
        l->size = st.st_size;
    l->path = xstrdup(path);
    l->max_size = max_size;
    l->max_file = max_file < 1 ? 1 : max_file;
    for (size_t i = 0; i < 3; i++)
        buf_init(&l->partial[i]);
    buf_init(&l->line);
    return 0;
}

/* log -> log.1 -> ... -> log.(max_file-1); with max_file 1 the log is truncated. */
static void rotate(rt_jsonlog_t *l)
{
    for (int i = l->max_file - 1; i >= 1; i--) {
        cleanup_free char *from = i == 1 ? xstrdup(l->path) : xasprintf("%s.%d", l->path, i - 1);
        cleanup_free char *to = xasprintf("%s.%d", l->path, i);
        rename(from, to);
    }
    int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        close(l->fd);
        l->fd = fd;
        l->size = 0;
    }
}

static void write_entry(rt_jsonlog_t *l, int stream, const char *buf, size_t len)
{
    buf_reset(&l->line);
    rt_jsonlog_encode(&l->line, stream, buf, len, berth_now_ns());
    if (l->max_size > 0 && l->size > 0 && l->size + (int64_t)l->line.len > l->max_size)
        rotate(l);
    /* A failed write (disk full) drops the entry; the shim must keep draining. */
    if (fs_write_all(l->fd, l->line.data, l->line.len) == 0)
        l->size += (int64_t)l->line.len;
}

void rt_jsonlog_feed(rt_jsonlog_t *l, int stream, const char *buf, size_t len)
{
    if (l->fd < 0)
        return;
    berth_buf_t *p = &l->partial[stream == 2 ? 2 : 1];
    while (len) {
        const char *nl = memchr(buf, '\n', len);
        size_t take = nl ? (size_t)(nl - buf) + 1 : len;
        if (p->len + take > JSONLOG_MAX_LINE && !nl) {
            size_t room = JSONLOG_MAX_LINE - p->len;
            buf_append(p, buf, room);
            write_entry(l, stream, p->data, p->len);
            buf_reset(p);
            buf += room;
            len -= room;
            continue;
        }
        if (nl) {
            if (p->len) {
                buf_append(p, buf, take);
                write_entry(l, stream, p->data, p->len);
                buf_reset(p);
            } else {
                write_entry(l, stream, buf, take);
            }
        } else {
            buf_append(p, buf, take);
        }
        buf += take;
        len -= take;
    }
}

void rt_jsonlog_flush(rt_jsonlog_t *l)
{
    for (int s = 1; s <= 2; s++)
        if (l->partial[s].len) {
            write_entry(l, s, l->partial[s].data, l->partial[s].len);
            buf_reset(&l->partial[s]);
        }
}

void rt_jsonlog_close(rt_jsonlog_t *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    for (size_t i = 0; i < 3; i++)
        buf_free(&l->partial[i]);
    buf_free(&l->line);
    free(l->path);
    l->path = NULL;
}
