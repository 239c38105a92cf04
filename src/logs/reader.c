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
    bool done; /* passed until */
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

/* Offset of the start of the last n lines of fd (size bytes); *found gets
 * how many lines that covers (fewer than n when the file is shorter). */
static off_t tail_offset(int fd, off_t size, long n, long *found)
{
    *found = 0;
    if (n == 0 || size == 0)
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
            break;
        for (ssize_t i = got - 1; i >= 0; i--) {
            if (buf[i] != '\n')
                continue;
            /* The file's final newline ends the last line; it does not start one. */
            if (first && pos + i == size - 1) {
                first = false;
                continue;
            }
            first = false;
            if (++seen == n) {
                *found = n;
                return pos + i + 1;
            }
        }
    }
    *found = seen + 1; /* the first line has no newline before it */
    return 0;
}

/* ---- rotated files ----
 * The shim rotates by renaming log -> log.1 -> ... -> log.(max-file - 1) and
 * starting a new log (rt_jsonlog). Index 0 is the live file, higher is older.
 * A reader identifies its file by inode, so it can find where the file went
 * and which one came after it, even when several rotations happened since. */

/* The retained files are log.1 ... log.N with no holes, except for one hole
 * while a rotation renames them one by one: stop at two missing in a row. */
#define MAX_ROTATED 4096

typedef struct file_id {
    bool exists;
    dev_t dev;
    ino_t ino;
} file_id_t;

static char *rotated_path(const char *path, int idx)
{
    return idx == 0 ? xstrdup(path) : xasprintf("%s.%d", path, idx);
}

static file_id_t stat_idx(const char *path, int idx)
{
    cleanup_free char *p = rotated_path(path, idx);
    struct stat st;
    if (stat(p, &st) < 0)
        return (file_id_t){0};
    return (file_id_t){.exists = true, .dev = st.st_dev, .ino = st.st_ino};
}

/* ids[0..*n): the files at index 0.. (ids[i].exists false for a hole). */
static file_id_t *scan_files(const char *path, int *n)
{
    size_t cap = 8;
    file_id_t *ids = xmalloc(cap * sizeof(*ids));
    int count = 0, missing = 0;
    for (int i = 0; i < MAX_ROTATED && missing < 2; i++) {
        if ((size_t)count == cap) {
            cap *= 2;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        ids[count] = stat_idx(path, i);
        /* index 0 may be missing between a rename and the new file's creation */
        missing = ids[count].exists ? 0 : (i == 0 ? 0 : missing + 1);
        count++;
    }
    while (count > 0 && !ids[count - 1].exists)
        count--;
    *n = count;
    return ids;
}

/* Open the file at idx only if it is still the one the scan saw. */
static int open_idx(const char *path, int idx, file_id_t want, struct stat *st)
{
    cleanup_free char *p = rotated_path(path, idx);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESTALE : -errno;
    if (fstat(fd, st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (st->st_dev != want.dev || st->st_ino != want.ino) {
        close(fd);
        return -ESTALE; /* rotated between the scan and the open */
    }
    return fd;
}

static void use_fd(logs_reader_t *r, int fd, const struct stat *st, off_t off)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    r->off = off;
    buf_reset(&r->line);
}

/* First positioning: the oldest retained file, or per tail the file and
 * offset where the last N lines (counted over all files) start. 0 with
 * r->fd -1 when there is no file yet, -ESTALE when a rotation got in the way. */
static int position_once(logs_reader_t *r)
{
    int n = 0;
    cleanup_free file_id_t *ids = scan_files(r->path, &n);
    if (n == 0)
        return 0;
    if (r->opts.tail < 0) {
        struct stat st;
        int fd = open_idx(r->path, n - 1, ids[n - 1], &st);
        if (fd < 0)
            return fd;
        use_fd(r, fd, &st, 0);
        return 0;
    }
    long want = r->opts.tail;
    for (int i = 0; i < n; i++) {
        if (!ids[i].exists) {
            if (i == 0)
                continue;
            return -ESTALE;
        }
        struct stat st;
        int fd = open_idx(r->path, i, ids[i], &st);
        if (fd < 0)
            return fd;
        long found = 0;
        off_t off = tail_offset(fd, st.st_size, want, &found);
        want -= found;
        if (want <= 0 || i == n - 1) {
            use_fd(r, fd, &st, off);
            return 0;
        }
        close(fd);
    }
    return 0;
}

static int position(logs_reader_t *r)
{
    int rc = -ESTALE;
    for (int attempt = 0; attempt < 8 && rc == -ESTALE; attempt++)
        rc = position_once(r);
    if (rc == -ESTALE)
        rc = 0; /* keep rotating under us: try again on the next read */
    return rc;
}

int logs_reader_open(const char *path, const logs_opts_t *opts, logs_reader_t **out)
{
    logs_reader_t *r = xcalloc(1, sizeof(*r));
    r->path = xstrdup(path);
    r->fd = -1;
    r->opts = *opts;
    buf_init(&r->line);
    int rc = position(r);
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

/* At the end of our file: if it has been rotated away, move on to the file
 * written after it. 1 when we switched, 0 when our file is still the live
 * one (or the next one is not there yet), -ESTALE when a rotation got in the
 * way (retry). Entries of files rotated out of existence while we were
 * behind are lost, as with Docker. */
static int next_file_once(logs_reader_t *r)
{
    int n = 0;
    cleanup_free file_id_t *ids = scan_files(r->path, &n);
    int k = -1;
    for (int i = 0; i < n; i++)
        if (ids[i].exists && ids[i].dev == r->dev && ids[i].ino == r->ino)
            k = i;
    if (k == 0)
        return 0;
    int target;
    if (k > 0) {
        target = k - 1;
        if (!ids[target].exists)
            return target == 0 ? 0 : -ESTALE; /* new log not created yet / mid-rotation */
    } else {
        /* Our file is gone: the oldest remaining one came after it. */
        target = n - 1;
        if (target < 0 || !ids[target].exists)
            return 0;
    }
    struct stat st;
    int fd = open_idx(r->path, target, ids[target], &st);
    if (fd < 0)
        return fd;
    /* Still at k: no rotation moved our file while we looked, so what we
     * opened at k-1 really is its successor. */
    if (k > 0) {
        file_id_t again = stat_idx(r->path, k);
        if (!again.exists || again.dev != r->dev || again.ino != r->ino) {
            close(fd);
            return -ESTALE;
        }
    }
    use_fd(r, fd, &st, 0);
    return 1;
}

static int next_file(logs_reader_t *r)
{
    /* Cheap check first: the live file is still ours. */
    file_id_t live = stat_idx(r->path, 0);
    if (live.exists && live.dev == r->dev && live.ino == r->ino)
        return 0;
    for (int attempt = 0; attempt < 8; attempt++) {
        int rc = next_file_once(r);
        if (rc != -ESTALE)
            return rc;
    }
    return 0;
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

int logs_reader_read(logs_reader_t *r, berth_buf_t *out, size_t max_bytes)
{
    if (r->done)
        return 2;
    if (r->fd < 0) {
        int rc = position(r);
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
            /* At the end of this file: a rotated-away file is finished (the
             * writer never appends to it again), go on with its successor. */
            int rc = next_file(r);
            if (rc < 0) {
                result = rc;
                break;
            }
            if (rc == 1)
                continue;
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
