/* api internals shared by the route files of src/api/. */
#ifndef BERTH_API_INTERNAL_H
#define BERTH_API_INTERNAL_H

#include "berth/api.h"
#include "berth/daemon.h"

/* Highest and lowest API versions served, as major*100+minor. */
#define API_VERSION_MAX 144
#define API_VERSION_MIN 124

/* Headers sent with every response (Server, Api-Version, ...). */
#define API_COMMON_HEADERS                                                                         \
    "Api-Version: " BERTH_API_VERSION "\r\nDocker-Experimental: false\r\nOstype: linux\r\n"        \
    "Server: berth/" BERTH_VERSION "\r\n"

/* Split a path into its non-empty segments (pointers into a copy the caller
 * frees with free(*storage)). Returns the count; at most max. */
size_t api_split_path(const char *path, char **storage, char **segs, size_t max);

/* Count images / containers for /info; the lead wires the real stores in
 * (api_system.c asks these, which return 0 while the stores are NULL). */
typedef struct api_counts {
    int images;
    int containers, running, paused, stopped;
} api_counts_t;
void api_system_counts(berthd_t *d, api_counts_t *out);

/* Container output to a hijacked client: raw with a tty, else Docker's
 * multiplexed frames (the same 8-byte header the shim uses). */
void api_raw_write_output(http_req_t *req, bool tty, int stream, const char *buf, size_t len);

/* top.c: answer GET /containers/{id}/top for ps_args by running the host's
 * ps and keeping the rows of pids (host pids of the container). */
void api_top_ps(berthd_t *d, http_req_t *req, const pid_t *pids, size_t n, const char *ps_args);

/* detach.c: Docker's detach keys ("ctrl-p,ctrl-q", "a,ctrl-x"...) on tty
 * attach streams. */
typedef struct api_detach {
    unsigned char keys[16];
    size_t n, matched;
} api_detach_t;
/* spec NULL or "" = ctrl-p,ctrl-q. 0, or -EINVAL for a spec Docker refuses. */
int api_detach_init(api_detach_t *dk, const char *spec);
/* Pass stdin bytes through: what is input goes to out; true once the whole
 * sequence was typed (detach now; the sequence itself is not input). */
bool api_detach_filter(api_detach_t *dk, const char *in, size_t len, berth_buf_t *out);

/* events.c */
void api_events_routes(api_router_t *r);
size_t api_events_listeners(const api_events_t *ev);

#endif
