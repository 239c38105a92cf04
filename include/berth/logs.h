/* logs: reading Docker json-file logs written by the shim (one JSON object per
 * line: {"log":"..","stream":"stdout|stderr","time":"RFC 3339 ns"}) for
 * GET /containers/{id}/logs and attach?logs=1: tail, since/until, timestamps,
 * stream filters, multiplexed framing, and follow on the loop.
 *
 * The reader works in bounded steps (logs_reader_read's max_bytes) so a huge
 * log never blocks the loop for long; the caller drives it from its drain
 * callback. A torn last line (disk full, writer mid-line) is held back until
 * it is complete; an unparsable line is skipped, never fatal. */
#ifndef BERTH_LOGS_H
#define BERTH_LOGS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "berth/common.h"

typedef struct logs_opts {
    bool want_stdout, want_stderr;
    int64_t since_ns; /* 0 = from the start; entries older than this are skipped */
    int64_t until_ns; /* 0 = no end; the first newer entry ends the read */
    long tail;        /* -1 = all, else the last N lines of the file */
    bool timestamps;  /* prefix "<RFC 3339 ns> " */
    bool raw;         /* tty: no 8-byte frame headers */
} logs_opts_t;

/* Docker's query forms: tail "all"/""/N; since/until unix seconds with an
 * optional fraction or RFC 3339. 0 or -EINVAL. */
int logs_parse_tail(const char *s, long *out);
int logs_parse_time(const char *s, int64_t *out_ns);

/* One decoded entry: stream 1 stdout, 2 stderr; msg malloc'd (not NUL-safe). */
typedef struct logs_entry {
    int stream;
    int64_t time_ns;
    char *msg;
    size_t len;
} logs_entry_t;
/* 0, or -EINVAL for a line that is not a json-file entry. */
int logs_parse_line(const char *line, size_t len, logs_entry_t *out);
void logs_entry_free(logs_entry_t *e);

/* Append one entry to out as the client sees it: optional timestamp prefix,
 * and unless opts->raw an 8-byte header [stream,0,0,0,len BE32]. */
void logs_format(berth_buf_t *out, const logs_opts_t *opts, int stream, int64_t ns, const char *msg,
                 size_t len);

typedef struct logs_reader logs_reader_t;
/* Open the log at path together with its rotated predecessors (path.1 =
 * newest ... path.N = oldest, as the shim's json-file writer renames them):
 * positioned at the oldest retained entry, or per opts->tail at the start of
 * the last N lines counted across the files. A missing file reads as empty
 * (and is picked up once it appears). 0 or -errno. */
int logs_reader_open(const char *path, const logs_opts_t *opts, logs_reader_t **out);
/* Decode up to about max_bytes of the file from the current position and append
 * the formatted entries to out. Returns 1 when more input is ready now, 0 at
 * the current end of the file (call again after new data or for follow),
 * 2 when an entry after until_ns was met (the read is over), -errno on error.
 * Follows rotation and truncation: at the end of a file that has been
 * rotated away it goes on with the file written after it (found by inode,
 * so a reader that fell several rotations behind still reads each retained
 * file once); only files already deleted by rotation are lost. */
int logs_reader_read(logs_reader_t *r, berth_buf_t *out, size_t max_bytes);
void logs_reader_close(logs_reader_t *r);

/* Follow: cb runs (on the loop) when the file at path may have grown or been
 * replaced: inotify through uv_fs_event, plus a slow poll as a safety net. */
typedef struct logs_watch logs_watch_t;
logs_watch_t *logs_watch_start(uv_loop_t *loop, const char *path, void (*cb)(void *data),
                               void *data);
/* Stop; no callbacks after this returns; freed asynchronously. */
void logs_watch_stop(logs_watch_t *w);

#endif
