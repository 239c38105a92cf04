/* daemon internals: configuration (flags + daemon.json) and the startup
 * pieces berthd_main.c strings together. */
#ifndef BERTH_DAEMON_INTERNAL_H
#define BERTH_DAEMON_INTERNAL_H

#include "berth/daemon.h"

#define BERTHD_DEFAULT_HOST "unix:///run/berth.sock"
#define BERTHD_DEFAULT_DATA_ROOT "/var/lib/berth"
#define BERTHD_DEFAULT_EXEC_ROOT "/run/berth"
#define BERTHD_DEFAULT_CONFIG_FILE "/etc/berth/daemon.json"
#define BERTHD_SOCKET_MODE 0660

enum berthd_parse_result { BERTHD_ARGS_RUN, BERTHD_ARGS_EXIT_OK, BERTHD_ARGS_ERROR };

/* Parse argv (flags named like dockerd's), then daemon.json; flags win.
 * Prints help/version itself (BERTHD_ARGS_EXIT_OK). Errors go to err. */
enum berthd_parse_result berthd_config_load(berthd_config_t *cfg, int argc, char **argv,
                                            berth_err_t *err);
/* Apply one daemon.json text to cfg, skipping keys whose flag was given
 * (set_mask bits, see config.c). 0 or -1 with err. */
int berthd_config_apply_json(berthd_config_t *cfg, const char *text, unsigned set_mask,
                             berth_err_t *err);
void berthd_config_free(berthd_config_t *cfg);

/* A parsed -H value. */
typedef struct berthd_host {
    bool is_tcp;
    char *path; /* unix socket path */
    char *addr; /* tcp host */
    int port;
} berthd_host_t;
int berthd_parse_host(const char *spec, berthd_host_t *out, berth_err_t *err);
void berthd_host_free(berthd_host_t *h);

/* Startup steps (daemon.c). Each returns 0 or -1 with err set. */
int berthd_prepare_dirs(berthd_t *d, berth_err_t *err);
int berthd_lock_data_root(berthd_t *d, berth_err_t *err);
int berthd_load_engine_id(berthd_t *d, berth_err_t *err);
int berthd_write_pidfile(berthd_t *d, berth_err_t *err);
void berthd_raise_nofile(void);
/* Open the domain modules (image store, registry, runtime) via the hooks
 * table in daemon.c. */
int berthd_open_modules(berthd_t *d, berth_err_t *err);
/* Start listening on every configured host. */
int berthd_start_api(berthd_t *d, berth_err_t *err);
/* Install SIGTERM/SIGINT (graceful stop) handlers; SIGPIPE is ignored. */
int berthd_install_signals(berthd_t *d);
/* Stop everything; the loop then runs out. Idempotent. */
void berthd_shutdown(berthd_t *d);
/* After the loop ended: close handles still open (the shutdown deadline timer)
 * and run the loop until their callbacks ran. */
void berthd_close_leftovers(berthd_t *d);
/* After the loop ended: remove pidfile, unlock, free. */
void berthd_cleanup(berthd_t *d);
/* Run the loop until it has nothing left (in the io_uring when there is one). */
int berthd_run_loop(berthd_t *d);

#endif
