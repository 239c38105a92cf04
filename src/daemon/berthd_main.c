/* berthd: the berth daemon. Flags, startup order, the loop, shutdown. */
#include <signal.h>
#include <string.h>

#include "berth/api.h"
#include "berth/http.h"
#include "daemon/internal.h"

int main(int argc, char **argv)
{
    berthd_t d;
    memset(&d, 0, sizeof(d));
    d.lock_fd = -1;
    berth_err_t err;
    berth_err_clear(&err);

    switch (berthd_config_load(&d.cfg, argc, argv, &err)) {
    case BERTHD_ARGS_EXIT_OK:
        berthd_config_free(&d.cfg);
        return 0;
    case BERTHD_ARGS_ERROR:
        fprintf(stderr, "berthd: %s\n", err.msg);
        berthd_config_free(&d.cfg);
        return 1;
    case BERTHD_ARGS_RUN:
        break;
    }
    berth_log_set_level((enum berth_log_level)d.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    berthd_raise_nofile();

    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "berthd: cannot create the event loop\n");
        return 1;
    }
    d.loop = &loop;
    d.started_ns = berth_now_ns();
    int rc = 0;

    if (berthd_prepare_dirs(&d, &err) < 0 || berthd_lock_data_root(&d, &err) < 0 ||
        berthd_load_engine_id(&d, &err) < 0)
        goto fail;
    d.router = api_build_router();
    d.events = api_events_new(&loop);
    /* HOOK(lead): the image store, registry client and runtime manager open
     * inside berthd_open_modules (table in src/daemon/daemon.c). */
    if (berthd_open_modules(&d, &err) < 0)
        goto fail;
    if (berthd_start_api(&d, &err) < 0)
        goto fail;
    if (berthd_install_signals(&d) < 0) {
        berth_err_set(&err, BERTH_E_INTERNAL, "installing signal handlers");
        goto fail;
    }
    if (berthd_write_pidfile(&d, &err) < 0)
        goto fail;
    log_info("berthd %s (API %s) started, data root %s, engine ID %.12s", BERTH_VERSION,
             BERTH_API_VERSION, d.cfg.data_root, d.id);

    berthd_run_loop(&d);
    log_info("berthd stopped");
    goto out;

fail:
    fprintf(stderr, "berthd: %s\n", err.msg);
    log_error("startup failed: %s", err.msg);
    rc = 1;
    berthd_shutdown(&d);
    berthd_run_loop(&d);
out:
    berthd_close_leftovers(&d);
    berthd_cleanup(&d);
    if (uv_loop_close(&loop) != 0)
        log_warn("event loop closed with handles still open");
    return rc;
}
