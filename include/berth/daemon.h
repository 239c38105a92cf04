/* daemon: the berthd context struct. All daemon-wide mutable state hangs off
 * this one struct (no globals). Each module owns its own opaque part. */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <uv.h>

#include "berth/common.h"

typedef struct http_server http_server_t;
typedef struct http_ring http_ring_t;
typedef struct api_router api_router_t;
typedef struct img_store img_store_t;
typedef struct rt_manager rt_manager_t;
typedef struct reg_client reg_client_t;
typedef struct api_events api_events_t;

typedef struct berthd_config {
    char **hosts; /* -H values, e.g. unix:///run/berth.sock */
    size_t n_hosts;
    bool allow_tcp; /* --tls-less-tcp-i-know: permit tcp:// hosts */
    char *data_root;
    char *exec_root;
    char *pidfile;
    char *config_file;
    int log_level;
    char *group; /* socket group (default "docker" if it exists, else root) */
    int max_concurrent_downloads;
    int max_concurrent_uploads;
    char **insecure_registries;
    size_t n_insecure_registries;
    bool no_default_image; /* skip loading the built-in busybox image */
} berthd_config_t;

typedef struct berthd {
    uv_loop_t *loop;
    berthd_config_t cfg;
    char id[65]; /* daemon ID for /info, persisted under the data root */
    int64_t started_ns;
    int lock_fd;

    http_server_t *http;
    http_ring_t *ring; /* the loop waits in it (NULL: plain uv_run, libuv streams) */
    api_router_t *router;
    img_store_t *images;
    rt_manager_t *containers; /* runtime manager; NULL until the runtime lands */
    reg_client_t *registry;   /* registry client; NULL until it lands */
    api_events_t *events;     /* GET /events hub (api_event_publish) */

    uv_signal_t sig_term;
    uv_signal_t sig_int;
    uv_signal_t sig_chld;
    bool shutting_down;
} berthd_t;

#endif
