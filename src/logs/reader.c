/* logs: json-file reader -- parse, tail, since/until, framing, rotation. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "berth/logs.h"

#define READ_CHUNK (64 * 1024)

struct logs_reader {
    char *path;
    int fd; /* -1 until the file exists */
    dev_t dev;
    ino_t ino;
    off_t off;        /* next byte to read */
    berth_buf_t line; /* an incomplete line carried over */
    logs_opts_t opts;
    bool tail_pending; /* position per tail once the file shows up */
    bool done;         /* passed until */
};

int logs_parse_tail(const char *s, long *out)
{
    if (!s || !*s || !strcasecmp(s, "all")) {
        *out = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < -1)
        return -EINVAL;
    *out = v < 0 ? -1 : v;
    return 0;
}

int logs_parse_time(const char *s, int64_t *out_ns)
{
    *out_ns = 0;
    if (!s || !*s || !strcmp(s, "0"))
        return 0;
    return berth_parse_time_ns(s, out_ns) == 0 ? 0 : -EINVAL;
}

void logs_entry_free(logs_entry_t *e)
{
    free(e->msg);
    e->msg = NULL;
}

int logs_parse_line(const char *line, size_t len, logs_entry_t *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o)
        return -EINVAL;
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(o, "log");
    const char *stream = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "stream"));
    const char *time = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "time"));
    int64_t ns = 0;
    if (!cJSON_IsString(log) || !time || berth_parse_time_ns(time, &ns) < 0) {
        cJSON_Delete(o);
        return -EINVAL;
    }
    /* cJSON decodes \u0000 as a terminator; log lines with NULs are rare and
     * lose their tail, which Docker's reader would keep. */
    out->len = strlen(log->valuestring);
    out->msg = xstrndup(log->valuestring, out->len);
    out->stream = stream && !strcmp(stream, "stderr") ? 2 : 1;
    out->time_ns = ns;
    cJSON_Delete(o);
    return 0;
}

void logs_format(berth_buf_t *out, const logs_opts_t *opts, int stream, int64_t ns, const char *msg,
                 size_t len)
{
    char ts[64] = "";
    size_t tslen = 0;
    if (opts->timestamps) {
        berth_format_time_ns(ns, ts, sizeof(ts) - 1);
        tslen = strlen(ts);
        ts[tslen++] = ' ';
    }
    if (!opts->raw) {
        uint32_t n = (uint32_t)(tslen + len);
        unsigned char h[8] = {(unsigned char)stream,
                              0,
                              0,
                              0,
                              (unsigned char)(n >> 24),
                              (unsigned char)(n >> 16),
                              (unsigned char)(n >> 8),
                              (unsigned char)n};
        buf_append(out, h, sizeof(h));
    }
    buf_append(out, ts, tslen);
    buf_append(out, msg, len);
}

/* Offset of the start of the last n lines of fd (size bytes). */
static off_t tail_offset(int fd, off_t size, long n)
{
    if (n == 0)
        return size;
    char buf[8192];
    off_t pos = size;
    long seen = 0;
    bool first = true;
    while (pos > 0) {
        size_t want = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        pos -= (off_t)want;
        ssize_t got = pread(fd, buf, want, pos);
        if (got != (ssize_t)want)
            return 0;
        for (ssize_t i = got - 1; i >= 0; i--) {
            if (buf[i] != '\n')
                continue;
            /* The file's final newline ends the last line; it does not start one. */
            if (first && pos + i == size - 1) {
                first = false;
                continue;
            }
            first = false;
            if (++seen == n)
                return pos + i + 1;
        }
    }
    return 0;
}

static int open_file(logs_reader_t *r, bool apply_tail)
{
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    r->off = 0;
    buf_reset(&r->line);
    if (apply_tail && r->opts.tail >= 0)
        r->off = tail_offset(fd, st.st_size, r->opts.tail);
    r->tail_pending = false;
    return 0;
}

int logs_reader_open(const char *path, const logs_opts_t *opts, logs_reader_t **out)
{
    logs_reader_t *r = xcalloc(1, sizeof(*r));
    r->path = xstrdup(path);
    r->fd = -1;
    r->opts = *opts;
    r->tail_pending = true;
    buf_init(&r->line);
    int rc = open_file(r, true);
    if (rc < 0) {
        logs_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void logs_reader_close(logs_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    buf_free(&r->line);
    free(r->path);
    free(r);
}

/* 1 when emitting should stop (until passed). */
static int emit_line(logs_reader_t *r, const char *line, size_t len, berth_buf_t *out)
{
    logs_entry_t e;
    if (len == 0 || logs_parse_line(line, len, &e) < 0)
        return 0;
    int rc = 0;
    if (r->opts.until_ns && e.time_ns > r->opts.until_ns) {
        rc = 1;
    } else if ((!r->opts.since_ns || e.time_ns >= r->opts.since_ns) &&
               ((e.stream == 1 && r->opts.want_stdout) || (e.stream == 2 && r->opts.want_stderr))) {
        logs_format(out, &r->opts, e.stream, e.time_ns, e.msg, e.len);
    }
    logs_entry_free(&e);
    return rc;
}

/* Has the path been replaced (rotation) or truncated since we opened it? */
static bool file_replaced(logs_reader_t *r)
{
    struct stat st;
    if (stat(r->path, &st) < 0)
        return false;
    return st.st_dev != r->dev || st.st_ino != r->ino;
}

int logs_reader_read(logs_reader_t *r, berth_buf_t *out, size_t max_bytes)
{
    if (r->done)
        return 2;
    if (r->fd < 0) {
        int rc = open_file(r, r->tail_pending);
        if (rc < 0)
            return rc;
        if (r->fd < 0)
            return 0;
    }
    struct stat st;
    if (fstat(r->fd, &st) == 0 && st.st_size < r->off) {
        r->off = 0; /* truncated in place (max-file 1) */
        buf_reset(&r->line);
    }
    size_t consumed = 0;
    char *chunk = xmalloc(READ_CHUNK);
    int result = 0;
    for (;;) {
        if (consumed >= max_bytes) {
            result = 1;
            break;
        }
        ssize_t n = pread(r->fd, chunk, READ_CHUNK, r->off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = -errno;
            break;
        }
        if (n == 0) {
            /* At the end of this file: a rotated-away file is finished, go on
             * with the new one at the same path. */
            if (file_replaced(r)) {
                int rc = open_file(r, false);
                if (rc < 0) {
                    result = rc;
                    break;
                }
                continue;
            }
            result = 0;
            break;
        }
        r->off += n;
        consumed += (size_t)n;
        const char *p = chunk, *end = chunk + n;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                buf_append(&r->line, p, (size_t)(end - p));
                break;
            }
            int stop;
            if (r->line.len) {
                buf_append(&r->line, p, (size_t)(nl - p));
                stop = emit_line(r, r->line.data, r->line.len, out);
                buf_reset(&r->line);
            } else {
                stop = emit_line(r, p, (size_t)(nl - p), out);
            }
            p = nl + 1;
            if (stop) {
                r->done = true;
                free(chunk);
                return 2;
            }
        }
    }
    free(chunk);
    return result;
}
