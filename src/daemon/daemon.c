/* berthd startup and shutdown steps: directories, the data-root lock, the
 * engine ID, the pid file, listeners, signals, and the module hooks. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "berth/api.h"
#include "berth/containers.h"
#include "berth/http.h"
#include "berth/image.h"
#include "berth/registry.h"
#include "daemon/internal.h"

/* ---- module hooks ---------------------------------------------------------
 * HOOK(lead): the domain modules open and close here, in this order (closed
 * in reverse). Each open gets the daemon after the data root is locked and
 * before the API listens; it sets its d->... pointer (d->images,
 * d->containers, d->registry). open returns 0 or -1 with err set (startup
 * then fails with that message); close must release everything and may be
 * called after a failed or skipped open (check your pointer). Entries whose
 * functions are NULL are skipped. The image store is expected to honour
 * d->cfg.no_default_image (skip loading the built-in busybox image). */
typedef struct berthd_module {
    const char *name;
    int (*open)(berthd_t *d, berth_err_t *err);
    void (*close)(berthd_t *d);
} berthd_module_t;

static void default_image_done_cb(const berth_err_t *err, void *data)
{
    UNUSED(data);
    if (err && berth_err_isset(err))
        log_warn("default busybox image not loaded: %s", err->msg);
}

static int images_open(berthd_t *d, berth_err_t *err)
{
    if (img_store_open(d->loop, d->cfg.data_root, &d->images, err) < 0)
        return -1;
    /* The built-in busybox image is built in a child; startup does not wait. */
    if (!d->cfg.no_default_image &&
        img_default_image_begin(d->images, default_image_done_cb, d) < 0)
        log_warn("default busybox image could not be started");
    return 0;
}

static void images_close(berthd_t *d)
{
    if (d->images)
        img_store_close(d->images);
    d->images = NULL;
}

static const berthd_module_t berthd_modules[] = {
    {"image store", images_open, images_close},
    {"registry client", reg_daemon_open, reg_daemon_close},
    {"runtime manager", rt_manager_daemon_open, rt_manager_daemon_close},
};

static int modules_open(berthd_t *d, berth_err_t *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(berthd_modules); i++) {
        if (!berthd_modules[i].open)
            continue;
        if (berthd_modules[i].open(d, err) < 0)
            return berth_err_prefix(err, "opening %s", berthd_modules[i].name);
    }
    return 0;
}

static void modules_close(berthd_t *d)
{
    for (size_t i = ARRAY_SIZE(berthd_modules); i-- > 0;)
        if (berthd_modules[i].close)
            berthd_modules[i].close(d);
}

/* ---- startup steps -------------------------------------------------------- */

static int mkdir_for(const char *path, berth_err_t *err)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int r = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        r = fs_mkdir_p(dir, 0755);
        if (r < 0)
            berth_err_sys(err, -r, "creating %s", dir);
    }
    free(dir);
    return r < 0 ? -1 : 0;
}

int berthd_prepare_dirs(berthd_t *d, berth_err_t *err)
{
    int r = fs_mkdir_p(d->cfg.data_root, 0711);
    if (r < 0)
        return berth_err_sys(err, -r, "creating data root %s", d->cfg.data_root);
    r = fs_mkdir_p(d->cfg.exec_root, 0700);
    if (r < 0)
        return berth_err_sys(err, -r, "creating exec root %s", d->cfg.exec_root);
    return mkdir_for(d->cfg.pidfile, err);
}

int berthd_lock_data_root(berthd_t *d, berth_err_t *err)
{
    char *path = xasprintf("%s/berthd.lock", d->cfg.data_root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        berth_err_sys(err, errno, "opening lock file %s", path);
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            berth_err_set(err, BERTH_E_CONFLICT,
                          "another berthd is already running with data root %s (%s is locked)",
                          d->cfg.data_root, path);
        else
            berth_err_sys(err, e, "locking %s", path);
        free(path);
        return -1;
    }
    free(path);
    d->lock_fd = fd;
    return 0;
}

static bool is_hex_id(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int berthd_load_engine_id(berthd_t *d, berth_err_t *err)
{
    char *path = xasprintf("%s/engine-id", d->cfg.data_root);
    char *text = NULL;
    size_t len = 0;
    int r = fs_read_file(path, 4096, &text, &len);
    if (r == 0) {
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
            text[--len] = '\0';
        if (is_hex_id(text, len)) {
            memcpy(d->id, text, 65);
            free(text);
            free(path);
            return 0;
        }
        log_warn("%s is malformed: making a new engine ID", path);
    } else if (r != -ENOENT) {
        berth_err_sys(err, -r, "reading %s", path);
        free(path);
        return -1;
    }
    free(text);
    berth_random_hex_id(d->id);
    char line[66];
    snprintf(line, sizeof(line), "%s\n", d->id);
    r = fs_write_atomic(path, line, 65, 0600);
    if (r < 0) {
        berth_err_sys(err, -r, "writing %s", path);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

int berthd_write_pidfile(berthd_t *d, berth_err_t *err)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    int r = fs_write_atomic(d->cfg.pidfile, line, (size_t)n, 0644);
    if (r < 0)
        return berth_err_sys(err, -r, "writing pid file %s", d->cfg.pidfile);
    return 0;
}

void berthd_raise_nofile(void)
{
    /* Thousands of idle API connections each hold an fd. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("raising the open file limit: %s", strerror(errno));
    }
}

static int socket_gid(berthd_t *d, gid_t *gid, berth_err_t *err)
{
    const char *name = d->cfg.group ? d->cfg.group : "docker";
    struct group *g = getgrnam(name);
    if (g) {
        *gid = g->gr_gid;
        return 0;
    }
    if (d->cfg.group && strcmp(d->cfg.group, "") != 0)
        return berth_err_set(err, BERTH_E_INVALID, "socket group \"%s\" not found", name);
    *gid = 0;
    return 0;
}

/* BERTH_IO_URING=0 keeps connections on libuv streams (comparisons, and
 * hosts where io_uring is off by policy and says so slowly). */
static void open_ring(berthd_t *d)
{
    const char *env = getenv("BERTH_IO_URING");
    if (env && strcmp(env, "0") == 0)
        return;
    int r = http_ring_open(d->loop, &d->ring);
    if (r < 0)
        log_info("io_uring unavailable (%s): API connections use libuv streams", strerror(-r));
}

static void api_quiet_cb(void *data)
{
    berthd_t *d = data;
    rt_manager_quiet(d->containers);
}

int berthd_start_api(berthd_t *d, berth_err_t *err)
{
    open_ring(d);
    http_server_opts_t opts = {
        .loop = d->loop,
        .data = d,
        .route = api_route_cb,
        .dispatch = api_dispatch_cb,
        .common_headers = api_common_headers(),
        .ring = d->ring,
        .on_quiet = api_quiet_cb,
    };
    int r = http_server_new(&opts, &d->http);
    if (r < 0)
        return berth_err_sys(err, -r, "creating the API server");
    for (size_t i = 0; i < d->cfg.n_hosts; i++) {
        berthd_host_t h;
        if (berthd_parse_host(d->cfg.hosts[i], &h, err) < 0)
            return -1;
        if (h.is_tcp) {
            log_warn("!!! listening on %s WITHOUT TLS OR AUTHENTICATION: anyone who can "
                     "connect gets root on this machine !!!",
                     d->cfg.hosts[i]);
            r = http_server_listen_tcp(d->http, h.addr, h.port);
        } else {
            gid_t gid = 0;
            if (socket_gid(d, &gid, err) < 0) {
                berthd_host_free(&h);
                return -1;
            }
            if (mkdir_for(h.path, err) < 0) {
                berthd_host_free(&h);
                return -1;
            }
            r = http_server_listen_unix(d->http, h.path, BERTHD_SOCKET_MODE, gid);
        }
        berthd_host_free(&h);
        if (r < 0) {
            const char *why =
                r == -EADDRINUSE ? "address in use (is another daemon running?)" : uv_strerror(r);
            return berth_err_set(err, BERTH_E_INTERNAL, "listening on %s: %s", d->cfg.hosts[i],
                                 why);
        }
        log_info("API listening on %s", d->cfg.hosts[i]);
    }
    return 0;
}

/* ---- signals and shutdown -------------------------------------------------- */

static void signal_cb(uv_signal_t *s, int signum)
{
    berthd_t *d = s->data;
    log_info("received %s, shutting down", strsignal(signum));
    berthd_shutdown(d);
}

int berthd_install_signals(berthd_t *d)
{
    signal(SIGPIPE, SIG_IGN);
    int r = uv_signal_init(d->loop, &d->sig_term);
    if (r == 0)
        r = uv_signal_init(d->loop, &d->sig_int);
    if (r < 0)
        return r;
    d->sig_term.data = d;
    d->sig_int.data = d;
    uv_signal_start(&d->sig_term, signal_cb, SIGTERM);
    uv_signal_start(&d->sig_int, signal_cb, SIGINT);
    return 0;
}

static void http_closed_cb(void *data)
{
    berthd_t *d = data;
    d->http = NULL;
    log_debug("API server closed");
}

static void deadline_closed_cb(uv_handle_t *h)
{
    free(h);
}

static void deadline_cb(uv_timer_t *t)
{
    /* Some module left a handle running: do not hang on SIGTERM. */
    log_warn("shutdown: handles still open after 10s, stopping the loop");
    berthd_t *d = t->data;
    uv_stop(t->loop);
    if (d->ring)
        http_ring_stop(d->ring);
    uv_close((uv_handle_t *)t, deadline_closed_cb);
}

void berthd_shutdown(berthd_t *d)
{
    if (d->shutting_down)
        return;
    d->shutting_down = true;
    /* Modules first: their running jobs fail their requests with a reply
     * while the connections still exist; then the server closes the rest. */
    modules_close(d);
    if (d->http)
        http_server_close(d->http, http_closed_cb, d);
    if (uv_is_active((uv_handle_t *)&d->sig_term) || d->sig_term.loop) {
        uv_close((uv_handle_t *)&d->sig_term, NULL);
        uv_close((uv_handle_t *)&d->sig_int, NULL);
    }
    uv_timer_t *t = xmalloc(sizeof(*t));
    uv_timer_init(d->loop, t);
    t->data = d; /* marks it for berthd_close_leftovers (no other timer points at d) */
    uv_timer_start(t, deadline_cb, 10000, 0);
    uv_unref((uv_handle_t *)t); /* a deadline must not keep the loop alive itself */
}

int berthd_open_modules(berthd_t *d, berth_err_t *err)
{
    return modules_open(d, err);
}

static void close_leftover_cb(uv_handle_t *h, void *daemon)
{
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TIMER && h->data == daemon)
        uv_close(h, deadline_closed_cb);
    else
        uv_close(h, NULL);
}

void berthd_close_leftovers(berthd_t *d)
{
    uv_walk(d->loop, close_leftover_cb, d);
    berthd_run_loop(d);
}

int berthd_run_loop(berthd_t *d)
{
    if (d->ring)
        return http_ring_run(d->ring);
    uv_run(d->loop, UV_RUN_DEFAULT);
    return 0;
}

void berthd_cleanup(berthd_t *d)
{
    if (d->cfg.pidfile && d->lock_fd > 0) {
        char *text = NULL;
        size_t len = 0;
        /* Only our own pid file: a failed start must not remove another's. */
        if (fs_read_file(d->cfg.pidfile, 64, &text, &len) == 0 && atoi(text) == (int)getpid())
            unlink(d->cfg.pidfile);
        free(text);
    }
    api_router_free(d->router);
    d->router = NULL;
    api_events_free(d->events);
    d->events = NULL;
    http_ring_free(d->ring);
    d->ring = NULL;
    if (d->lock_fd > 0)
        close(d->lock_fd);
    d->lock_fd = -1;
    berthd_config_free(&d->cfg);
}
