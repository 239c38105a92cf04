/* common: errors, memory, buffers, logging, filesystem and time helpers shared
 * by every module. Nothing here touches the event loop. */
#ifndef BERTH_COMMON_H
#define BERTH_COMMON_H

#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define BERTH_VERSION "0.1.0"
#define BERTH_API_VERSION "1.44"
#define BERTH_API_MIN_VERSION "1.24"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))

/* ---- errors for multi-step work ------------------------------------------
 * Loop and I/O code returns 0 or -errno. Multi-step work (runtime, image,
 * registry, build) takes a berth_err_t * that records an errno-style code, an
 * HTTP-ish status hint for the API edge and a message that gains context on
 * the way up: berth_err_prefix(err, "loading image %s", id) turns
 * "open x: No such file" into "loading image y: open x: No such file". */
enum berth_status {
    BERTH_E_INTERNAL = 500,
    BERTH_E_INVALID = 400,
    BERTH_E_UNAUTHORIZED = 401,
    BERTH_E_FORBIDDEN = 403,
    BERTH_E_NOT_FOUND = 404,
    BERTH_E_CONFLICT = 409,
    BERTH_E_NOT_IMPLEMENTED = 501,
    BERTH_E_UNAVAILABLE = 503,
};

typedef struct berth_err {
    int code;   /* errno value (positive), 0 when unknown */
    int status; /* enum berth_status; 0 means "not set" (500 at the edge) */
    char msg[1024];
} berth_err_t;

/* All return -1 (or -code) so callers can `return berth_err_set(...)`. */
int berth_err_set(berth_err_t *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like berth_err_set with status 500 and ": strerror(code)" appended. */
int berth_err_sys(berth_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend context: "<context>: <previous message>". Keeps code and status. */
int berth_err_prefix(berth_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berth_err_clear(berth_err_t *err);
static inline bool berth_err_isset(const berth_err_t *err)
{
    return err->msg[0] != '\0';
}

/* ---- memory: out of memory aborts ---------------------------------------- */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* ---- cleanup attributes --------------------------------------------------- */
void berth_freep(void *p);
void berth_closep(int *fd);
void berth_fclosep(FILE **f);
#define cleanup_free __attribute__((cleanup(berth_freep)))
#define cleanup_close __attribute__((cleanup(berth_closep)))
#define cleanup_fclose __attribute__((cleanup(berth_fclosep)))
/* Hand ownership out of a cleanup_ variable. */
#define steal_pointer(pp)                                                                          \
    ({                                                                                             \
        __typeof__(*(pp)) stolen_ = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        stolen_;                                                                                   \
    })
#define steal_fd(fdp)                                                                              \
    ({                                                                                             \
        int stolen_fd_ = *(fdp);                                                                   \
        *(fdp) = -1;                                                                               \
        stolen_fd_;                                                                                \
    })

/* ---- growable byte buffer ------------------------------------------------- */
typedef struct berth_buf {
    char *data; /* always NUL-terminated when data != NULL */
    size_t len;
    size_t cap;
} berth_buf_t;

void buf_init(berth_buf_t *b);
void buf_free(berth_buf_t *b);
void buf_reset(berth_buf_t *b);
void buf_reserve(berth_buf_t *b, size_t extra);
void buf_append(berth_buf_t *b, const void *data, size_t len);
void buf_puts(berth_buf_t *b, const char *s);
void buf_printf(berth_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes. */
void buf_consume(berth_buf_t *b, size_t n);
/* Detach the data (caller frees); the buffer becomes empty. */
char *buf_steal(berth_buf_t *b);

/* ---- logging (stderr) ------------------------------------------------------ */
enum berth_log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL_FATAL };
/* The level is process-wide configuration set once at startup, not state. */
void berth_log_set_level(enum berth_log_level lvl);
int berth_log_parse_level(const char *name); /* -1 on unknown */
void berth_log(enum berth_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_debug(...) berth_log(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) berth_log(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) berth_log(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) berth_log(LOG_LVL_ERROR, __VA_ARGS__)

/* ---- filesystem ---------------------------------------------------------- */
/* mkdir -p; 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* rm -rf without following symlinks and without crossing mount points; 0 or -errno. */
int fs_rm_rf(const char *path);
/* Write a whole file atomically: path.tmp-XXXX, fsync, rename, fsync(dir). 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* rename(tmp, path) for a fresh tmp file, without fsync. When path exists it is
 * swapped (RENAME_EXCHANGE) and the old one unlinked: ext4 flushes the new
 * file's data on a plain rename over an existing file (auto_da_alloc,
 * ~150 us here), not on an exchange. Readers see the old or the new file,
 * whole. 0 or -errno. */
int fs_replace(const char *tmp, const char *path);
/* Read a whole file (NUL-terminated); 0 or -errno. max: refuse larger files (-EFBIG). */
int fs_read_file(const char *path, size_t max, char **out, size_t *out_len);
int fs_fsync_dir(const char *dir);
bool fs_exists(const char *path);
/* Write all bytes, retrying on EINTR/short writes; 0 or -errno. Blocking fds only. */
int fs_write_all(int fd, const void *data, size_t len);

/* ---- ids and time -------------------------------------------------------- */
/* 64 lowercase hex chars + NUL from getrandom(). */
/* posix_spawn attributes for a helper process: every signal back to its
 * default disposition, none blocked, plus flags (e.g. POSIX_SPAWN_SETSID). */
void berth_spawnattr_init(posix_spawnattr_t *attr, short flags);
void berth_random_hex_id(char out[65]);
int64_t berth_now_ns(void); /* CLOCK_REALTIME in ns */
/* RFC 3339 with nanoseconds, UTC: 2026-11-28T13:00:00.123456789Z. out >= 40 bytes. */
void berth_format_time_ns(int64_t ns, char *out, size_t out_len);
/* Parse RFC 3339 (with optional fraction and offset) or a unix timestamp with
 * an optional fraction ("1700000000.5"); 0 on success. */
int berth_parse_time_ns(const char *s, int64_t *out_ns);

/* Query-string style boolean as Docker reads it: "", 0, no, false, none (any
 * case) are false; anything else is true. NULL gives dflt. */
bool berth_parse_bool(const char *s, bool dflt);

/* Go-like "3 seconds", "About a minute", "2 hours" from a duration (docker ps). */
void berth_human_duration(int64_t seconds, char *out, size_t out_len);
/* Docker's size format: "4.26MB", "1.2kB" (SI units, 3 significant digits). */
void berth_human_size(int64_t bytes, char *out, size_t out_len);

#endif
