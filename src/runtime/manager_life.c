/* Container manager: lifecycle on the loop -- start through the shim, exit,
 * stop/kill with timeout, pause, remove, attach sinks, waiters, restart
 * policies with backoff, and adoption of live shims after a daemon restart. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/manager_internal.h"

static void on_started(rt_shim_t *shim, pid_t pid, int exit_code, const char *error, void *data);
static void on_output(rt_shim_t *shim, int stream, const char *buf, size_t len, void *data);
static void on_exit_state(rt_shim_t *shim, const rt_state_t *st, void *data);

/* A pool shim whose container exited may idle in the pool again. If the
 * container is removed now (on_exit_state, right after this), the shim's
 * next prepared rootfs waits for that: its dirs may go back to it. */
static int on_reuse(pid_t pid, int pidfd, int fd, void *data)
{
    rt_ctr_t *c = data;
    if (c->m->closing)
        return -1;
    bool removed = (c->remove_pending || mgr_json_bool(c->host_config, "AutoRemove")) &&
                   !c->restart_after_stop && rt_pool_prepares(c->m->pool, &c->spec);
    if (rt_pool_return(c->m->pool, pid, pidfd, fd, removed) < 0)
        return -1;
    c->returned_shim = removed ? pid : 0;
    return 0;
}

static const rt_shim_callbacks_t shim_cbs = {
    .started_cb = on_started,
    .output_cb = on_output,
    .exit_cb = on_exit_state,
    .reuse_cb = on_reuse,
};

static void pending_add(ctr_pending_t **list, rt_ctr_done_cb cb, void *data)
{
    if (!cb)
        return;
    ctr_pending_t *p = xcalloc(1, sizeof(*p));
    p->cb = cb;
    p->data = data;
    p->next = *list;
    *list = p;
}

static void pending_run(rt_ctr_t *c, ctr_pending_t **list, const berth_err_t *err)
{
    ctr_pending_t *p = *list;
    *list = NULL;
    while (p) {
        ctr_pending_t *next = p->next;
        p->cb(c, err, p->data);
        free(p);
        p = next;
    }
}

static void timer_closed_cb(uv_handle_t *h)
{
    free(h);
}

void mgr_timer_free(uv_timer_t **t)
{
    if (*t) {
        uv_timer_stop(*t);
        uv_close((uv_handle_t *)*t, timer_closed_cb);
        *t = NULL;
    }
}

static uv_timer_t *timer_new(rt_ctr_t *c)
{
    uv_timer_t *t = xcalloc(1, sizeof(*t));
    uv_timer_init(c->m->loop, t);
    t->data = c;
    return t;
}

static void persist_timer_cb(uv_timer_t *t)
{
    rt_ctr_t *c = t->data;
    mgr_timer_free(&c->persist_timer);
    berth_err_t err = {0};
    if (mgr_persist(c, &err) < 0) /* its start reports it again */
        log_error("container %.12s: %s", c->id, err.msg);
}

void mgr_persist_later(rt_ctr_t *c)
{
    c->persist_timer = timer_new(c);
    uv_timer_start(c->persist_timer, persist_timer_cb, 0, 0);
}

static void set_error(rt_ctr_t *c, const char *e)
{
    free(c->error);
    c->error = e && *e ? xstrdup(e) : NULL;
}

/* ---- sinks ---- */
rt_ctr_sink_t *rt_ctr_attach(rt_ctr_t *c, bool want_stdout, bool want_stderr,
                             const rt_ctr_sink_cbs_t *cbs, void *data)
{
    rt_ctr_sink_t *s = xcalloc(1, sizeof(*s));
    s->c = c;
    s->want_stdout = want_stdout;
    s->want_stderr = want_stderr;
    s->cbs = *cbs;
    s->data = data;
    s->next = c->sinks;
    c->sinks = s;
    return s;
}

void rt_ctr_detach(rt_ctr_sink_t *s)
{
    if (!s)
        return;
    for (rt_ctr_sink_t **pp = &s->c->sinks; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free(s);
}

static void sinks_close(rt_ctr_t *c)
{
    rt_ctr_sink_t *s;
    while ((s = c->sinks)) {
        c->sinks = s->next;
        rt_ctr_sink_cbs_t cbs = s->cbs;
        void *data = s->data;
        free(s);
        if (cbs.close_cb)
            cbs.close_cb(data, c->exit_code);
    }
}

#define STDIN_EARLY_MAX (1u << 20)

int rt_ctr_write_stdin(rt_ctr_t *c, const void *buf, size_t len)
{
    if (len == 0 && !mgr_json_bool(c->config, "StdinOnce"))
        return 0;
    if (!c->shim) {
        /* docker run -i: the client attaches and may send (and close) its
         * stdin before the start; keep it for the shim. */
        if (rt_ctr_is_running(c) && c->status != RT_CTR_RESTARTING)
            return -EPIPE;
        if (len == 0)
            c->stdin_early_eof = true;
        else if (c->stdin_early.len + len > STDIN_EARLY_MAX)
            return -ENOBUFS;
        else
            buf_append(&c->stdin_early, buf, len);
        return 0;
    }
    return rt_shim_write_stdin(c->shim, buf, len);
}

static void flush_early_stdin(rt_ctr_t *c)
{
    if (c->stdin_early.len)
        rt_shim_write_stdin(c->shim, c->stdin_early.data, c->stdin_early.len);
    if (c->stdin_early_eof)
        rt_shim_write_stdin(c->shim, NULL, 0);
    buf_reset(&c->stdin_early);
    c->stdin_early_eof = false;
}

/* ---- waiters ---- */
rt_ctr_waiter_t *rt_ctr_wait(rt_ctr_t *c, enum rt_wait_cond cond, rt_ctr_wait_cb cb, void *data)
{
    if (cond == RT_WAIT_NOT_RUNNING && !rt_ctr_is_running(c) && !c->starting) {
        cb(c->exit_code, c->error, data);
        return NULL;
    }
    rt_ctr_waiter_t *w = xcalloc(1, sizeof(*w));
    w->c = c;
    w->cond = cond;
    w->cb = cb;
    w->data = data;
    w->next = c->waiters;
    c->waiters = w;
    return w;
}

void rt_ctr_wait_cancel(rt_ctr_waiter_t *w)
{
    if (!w)
        return;
    for (rt_ctr_waiter_t **pp = &w->c->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    free(w);
}

/* Answer waiters whose condition is met: removed=false for an exit. */
static void waiters_fire(rt_ctr_t *c, bool removed)
{
    rt_ctr_waiter_t **pp = &c->waiters, *fire = NULL;
    while (*pp) {
        rt_ctr_waiter_t *w = *pp;
        if (removed || w->cond != RT_WAIT_REMOVED) {
            *pp = w->next;
            w->next = fire;
            fire = w;
        } else {
            pp = &w->next;
        }
    }
    while (fire) {
        rt_ctr_waiter_t *next = fire->next;
        fire->cb(c->exit_code, c->error, fire->data);
        free(fire);
        fire = next;
    }
}

/* ---- signals to the container ---- */
static int send_signal(rt_ctr_t *c, int sig)
{
    if (c->shim)
        return rt_shim_kill(c->shim, sig);
    cleanup_free char *req = xasprintf("{\"op\":\"kill\",\"signal\":%d}", sig);
    return rt_shim_request(c->spec.run_dir, req, NULL);
}

static void thaw_if_paused(rt_ctr_t *c)
{
    if (c->status != RT_CTR_PAUSED)
        return;
    berth_err_t err = {0};
    if (rt_cgroup_freeze(c->spec.cgroup_parent, c->id, false, &err) < 0)
        log_warn("container %.12s: unpause: %s", c->id, err.msg);
    c->status = RT_CTR_RUNNING;
}

/* ---- start ---- */
static int spawn(rt_ctr_t *c, berth_err_t *err)
{
    mgr_timer_free(&c->persist_timer);
    if (mgr_persist(c, err) < 0)
        return -1;
    /* Stale cgroup/socket/state of an earlier run (or of a shim that died
     * before berthd restarted). A container created by this berthd that was
     * never spawned has none: skip the ~20 syscalls on the start path. */
    if (!c->fresh) {
        berth_err_t cerr = {0};
        rt_cleanup(&c->spec, &cerr);
    }
    c->fresh = false;
    c->returned_shim = 0;
    c->shim = c->m->pool ? rt_pool_spawn(c->m->pool, &c->spec, &shim_cbs, c, err)
                         : rt_shim_spawn(c->m->loop, c->m->shim_path, &c->spec, &shim_cbs, c, err);
    if (!c->shim)
        return -1;
    c->starting = true;
    if (c->spec.process.open_stdin)
        flush_early_stdin(c);
    return 0;
}

int rt_ctr_start(rt_ctr_t *c, rt_ctr_done_cb done_cb, void *data, berth_err_t *err)
{
    if (c->status == RT_CTR_REMOVING || c->remove_pending)
        return berth_err_set(err, BERTH_E_CONFLICT,
                             "container is marked for removal and cannot "
                             "be started");
    if (c->status == RT_CTR_PAUSED)
        return berth_err_set(err, BERTH_E_CONFLICT,
                             "cannot start a paused container, try unpause instead");
    if (c->starting) {
        pending_add(&c->start_done, done_cb, data);
        return 0;
    }
    if (rt_ctr_is_running(c) && c->status != RT_CTR_RESTARTING)
        return berth_err_set(err, 304, "container already started");
    mgr_timer_free(&c->restart_timer);
    if (spawn(c, err) < 0)
        return berth_err_prefix(err, "starting container %.12s", c->id);
    c->manually_stopped = false;
    pending_add(&c->start_done, done_cb, data);
    return 0;
}

static void on_started(rt_shim_t *shim, pid_t pid, int exit_code, const char *error, void *data)
{
    (void)shim;
    rt_ctr_t *c = data;
    c->starting = false;
    if (pid > 0) {
        c->status = RT_CTR_RUNNING;
        c->pid = pid;
        c->exit_code = 0;
        c->oom_killed = false;
        c->started_ns = berth_now_ns();
        c->has_been_started = true;
        set_error(c, NULL);
        /* Answer first: the reply leaves on the spot (uv_write tries the
         * socket at once), the config.v2.json rewrite is not on the path. */
        pending_run(c, &c->start_done, NULL);
        mgr_save(c);
        log_debug("container %.12s started, pid %d", c->id, (int)pid);
        mgr_event(c, "start", 0, 0);
        return;
    }
    c->exit_code = exit_code;
    set_error(c, error);
    berth_err_t err = {0};
    /* Docker answers these with 400 and the CLI maps the text to 126/127. */
    berth_err_set(&err,
                  exit_code == RT_EXIT_NOT_FOUND || exit_code == RT_EXIT_NOT_EXECUTABLE
                      ? BERTH_E_INVALID
                      : BERTH_E_INTERNAL,
                  "failed to create task for container: failed to create shim task: OCI runtime "
                  "create failed: %s",
                  error ? error : "unknown error");
    pending_run(c, &c->start_done, &err);
}

static void on_output(rt_shim_t *shim, int stream, const char *buf, size_t len, void *data)
{
    (void)shim;
    rt_ctr_t *c = data;
    for (rt_ctr_sink_t *s = c->sinks, *next; s; s = next) {
        next = s->next;
        if ((stream == RT_FRAME_STDOUT && s->want_stdout) ||
            (stream == RT_FRAME_STDERR && s->want_stderr))
            s->cbs.output_cb(s->data, stream, buf, len);
    }
}

static void restart_timer_cb(uv_timer_t *t);
static void remove_now(rt_ctr_t *c);

/* Docker's restart manager: 100 ms doubling up to 1 minute, reset after a run
 * of 10 s or more. */
static bool should_restart(rt_ctr_t *c)
{
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(c->host_config, "RestartPolicy");
    const char *name = mgr_json_str(rp, "Name");
    if (!name || c->manually_stopped || c->m->closing)
        return false;
    if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
        return true;
    if (!strcmp(name, "on-failure")) {
        int64_t max = mgr_json_int(rp, "MaximumRetryCount");
        return c->exit_code != 0 && (max == 0 || c->restart_count < max);
    }
    return false;
}

static void record_exit(rt_ctr_t *c, const rt_state_t *st)
{
    /* Docker keeps a container whose first start failed in "created". */
    c->status = c->has_been_started ? RT_CTR_EXITED : RT_CTR_CREATED;
    c->exit_code = st->exit_code;
    c->oom_killed = st->oom_killed;
    c->finished_ns = st->finished_ns ? st->finished_ns : berth_now_ns();
    c->pid = 0;
    if (st->error[0])
        set_error(c, st->error);
}

static void on_exit_state(rt_shim_t *shim, const rt_state_t *st, void *data)
{
    (void)shim;
    rt_ctr_t *c = data;
    c->shim = NULL; /* the handle frees itself after this callback */
    c->starting = false;
    record_exit(c, st);
    mgr_timer_free(&c->stop_timer);
    bool was_stopping = c->stopping;
    c->stopping = false;
    log_debug("container %.12s exited with %d%s", c->id, c->exit_code,
              c->oom_killed ? " (OOM)" : "");
    bool autoremove = c->remove_pending || mgr_json_bool(c->host_config, "AutoRemove");
    /* remove_now cleans up an autoremoved container after its waiters were
     * answered; the shim already removed the cgroup when it exited cleanly. */
    if (!autoremove) {
        berth_err_t cerr = {0};
        rt_cleanup(&c->spec, &cerr);
    }
    if (c->oom_killed)
        mgr_event(c, "oom", 0, 0);
    mgr_event(c, "die", c->exit_code, 0);
    if (was_stopping)
        mgr_event(c, "stop", 0, 0);
    if (c->start_done) {
        berth_err_t err = {0};
        berth_err_set(&err, BERTH_E_INTERNAL, "container exited during start: %s",
                      c->error ? c->error : "unknown error");
        pending_run(c, &c->start_done, &err);
    }
    bool restart = !autoremove && should_restart(c);
    if (restart) {
        int64_t ran_ms = (c->finished_ns - c->started_ns) / 1000000;
        if (ran_ms >= 10000 || c->restart_delay_ms == 0)
            c->restart_delay_ms = 100;
        else if (c->restart_delay_ms < 60000)
            c->restart_delay_ms *= 2;
        c->status = RT_CTR_RESTARTING;
    }
    /* A container removed below, in this same callback, needs no exited
     * state on disk (one file rewrite less on the 'run --rm' path). */
    if (!autoremove || c->restart_after_stop)
        mgr_save(c);
    sinks_close(c);
    waiters_fire(c, false);
    if (c->restart_after_stop) {
        c->restart_after_stop = false;
        restart = false;
        berth_err_t err = {0};
        if (spawn(c, &err) < 0) {
            set_error(c, err.msg);
            pending_run(c, &c->stop_done, &err);
        } else {
            mgr_event(c, "restart", 0, 0);
            /* rt_ctr_restart's callers wait for the new start. */
            ctr_pending_t *p = c->stop_done;
            c->stop_done = NULL;
            while (p) {
                ctr_pending_t *next = p->next;
                pending_add(&c->start_done, p->cb, p->data);
                free(p);
                p = next;
            }
        }
        return;
    }
    pending_run(c, &c->stop_done, NULL);
    if (autoremove) {
        remove_now(c);
        return;
    }
    if (restart) {
        c->restart_timer = timer_new(c);
        uv_timer_start(c->restart_timer, restart_timer_cb, (uint64_t)c->restart_delay_ms, 0);
    }
}

static void restart_timer_cb(uv_timer_t *t)
{
    rt_ctr_t *c = t->data;
    mgr_timer_free(&c->restart_timer);
    c->restart_count++;
    berth_err_t err = {0};
    if (spawn(c, &err) < 0) {
        log_error("container %.12s: restart: %s", c->id, err.msg);
        c->status = RT_CTR_EXITED;
        set_error(c, err.msg);
        mgr_save(c);
    }
}

/* ---- stop / kill / pause / resize ---- */
static void stop_timer_cb(uv_timer_t *t)
{
    rt_ctr_t *c = t->data;
    mgr_timer_free(&c->stop_timer);
    log_debug("container %.12s: stop timeout, sending SIGKILL", c->id);
    thaw_if_paused(c);
    send_signal(c, SIGKILL);
}

int rt_ctr_stop(rt_ctr_t *c, int sig, int timeout_s, rt_ctr_done_cb done_cb, void *data,
                berth_err_t *err)
{
    if (c->status == RT_CTR_RESTARTING && !c->shim) {
        mgr_timer_free(&c->restart_timer);
        c->status = RT_CTR_EXITED;
        c->manually_stopped = true;
        mgr_save(c);
        if (done_cb)
            done_cb(c, NULL, data);
        return 0;
    }
    if (!rt_ctr_is_running(c) && !c->starting)
        return berth_err_set(err, 304, "container already stopped");
    if (sig <= 0)
        sig = c->spec.stop_signal > 0 ? c->spec.stop_signal : SIGTERM;
    if (timeout_s < 0) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(c->config, "StopTimeout");
        timeout_s = cJSON_IsNumber(st) ? (int)st->valuedouble : 10;
    }
    c->manually_stopped = true;
    mgr_save(c);
    pending_add(&c->stop_done, done_cb, data);
    if (c->stopping)
        return 0;
    c->stopping = true;
    thaw_if_paused(c);
    int rc = send_signal(c, sig);
    if (rc < 0)
        log_warn("container %.12s: sending signal %d: %s", c->id, sig, strerror(-rc));
    mgr_event(c, "kill", 0, sig);
    if (timeout_s >= 0) {
        c->stop_timer = timer_new(c);
        uv_timer_start(c->stop_timer, stop_timer_cb, (uint64_t)timeout_s * 1000, 0);
    }
    return 0;
}

int rt_ctr_restart(rt_ctr_t *c, int timeout_s, rt_ctr_done_cb done_cb, void *data, berth_err_t *err)
{
    if (!rt_ctr_is_running(c) || (c->status == RT_CTR_RESTARTING && !c->shim)) {
        mgr_timer_free(&c->restart_timer);
        if (c->status == RT_CTR_RESTARTING)
            c->status = RT_CTR_EXITED;
        return rt_ctr_start(c, done_cb, data, err);
    }
    if (rt_ctr_stop(c, 0, timeout_s, done_cb, data, err) < 0)
        return -1;
    c->restart_after_stop = true;
    return 0;
}

int rt_ctr_kill(rt_ctr_t *c, int sig, berth_err_t *err)
{
    if (!rt_ctr_is_running(c) || (c->status == RT_CTR_RESTARTING && !c->shim))
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
    if (sig <= 0)
        sig = SIGKILL;
    if (sig == SIGKILL || sig == c->spec.stop_signal) {
        c->manually_stopped = true;
        mgr_save(c);
    }
    if (sig == SIGKILL)
        thaw_if_paused(c);
    int rc = send_signal(c, sig);
    if (rc < 0)
        return berth_err_sys(err, -rc, "Cannot kill container %s", c->id);
    mgr_event(c, "kill", 0, sig);
    return 0;
}

int rt_ctr_pause(rt_ctr_t *c, bool pause, berth_err_t *err)
{
    if (!rt_ctr_is_running(c) || c->status == RT_CTR_RESTARTING)
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
    if (pause && c->status == RT_CTR_PAUSED)
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is already paused", c->id);
    if (!pause && c->status != RT_CTR_PAUSED)
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not paused", c->id);
    if (rt_cgroup_freeze(c->spec.cgroup_parent, c->id, pause, err) < 0)
        return berth_err_prefix(err, "%s container %.12s", pause ? "pausing" : "unpausing", c->id);
    c->status = pause ? RT_CTR_PAUSED : RT_CTR_RUNNING;
    mgr_save(c);
    mgr_event(c, pause ? "pause" : "unpause", 0, 0);
    return 0;
}

int rt_ctr_resize(rt_ctr_t *c, unsigned rows, unsigned cols, berth_err_t *err)
{
    if (!rt_ctr_is_running(c))
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
    int rc;
    if (c->shim) {
        rc = rt_shim_resize(c->shim, rows, cols);
    } else {
        cleanup_free char *req =
            xasprintf("{\"op\":\"resize\",\"rows\":%u,\"cols\":%u}", rows, cols);
        rc = rt_shim_request(c->spec.run_dir, req, NULL);
    }
    if (rc < 0)
        return berth_err_sys(err, -rc, "resizing container %.12s", c->id);
    return 0;
}

/* ---- remove ---- */
void mgr_notify_removed(rt_ctr_t *c)
{
    sinks_close(c);
    waiters_fire(c, true);
}

/* What a removed container leaves once renamed to trash: cleaned on the
 * next loop turn, after the replies of this one have left (the loop sends
 * them at the end of its turn), so 'run --rm' does not wait for it. */
typedef struct mgr_leftover {
    struct mgr_leftover *next;
    char *cgroup_parent, *id, *run_dir, *trash;
    bool autoremove;     /* its trash may become the spare (manager_spare.c) */
    char *prep_slot;     /* its upper/work may go there (rt_prep_recycled_path) */
    pid_t returned_shim; /* ... or back to this pool shim (rt_ctr_t) */
} mgr_leftover_t;

static void leftovers_run(rt_manager_t *m)
{
    while (m->leftovers) {
        mgr_leftover_t *l = m->leftovers;
        m->leftovers = l->next;
        /* The shim removed the cgroup when it exited cleanly (this finds
         * nothing then); the run dir goes with the container dir. */
        rt_cgroup_destroy(l->cgroup_parent, l->id);
        if (l->run_dir && mgr_reap(m, l->run_dir) < 0)
            fs_rm_rf(l->run_dir); /* a few small files */
        /* A pool shim's container: its dirs go back to that shim (which
         * may still have their overlay mounted) or to the reaper, to no
         * other shim. */
        if (l->returned_shim)
            rt_pool_resume_prep(m->pool, l->returned_shim, l->trash, l->prep_slot);
        else if (l->trash && l->prep_slot)
            mgr_prep_from_trash(l->trash, l->prep_slot);
        if (l->trash && !(l->autoremove && mgr_spare_from_trash(m, l->trash)))
            mgr_trash_spawn(m, l->trash);
        free(l->prep_slot);
        free(l->cgroup_parent);
        free(l->id);
        free(l->run_dir);
        free(l->trash);
        free(l);
    }
}

bool mgr_leftovers_make_spare(const rt_manager_t *m)
{
    for (const mgr_leftover_t *l = m->leftovers; l; l = l->next)
        if (l->trash && l->autoremove)
            return true;
    return false;
}

static void leftovers_cb(uv_timer_t *t)
{
    leftovers_run(t->data);
}

static void leftovers_add(rt_ctr_t *c, char *trash)
{
    rt_manager_t *m = c->m;
    mgr_leftover_t *l = xcalloc(1, sizeof(*l));
    l->cgroup_parent = c->spec.cgroup_parent ? xstrdup(c->spec.cgroup_parent) : NULL;
    l->id = xstrdup(c->id);
    l->run_dir = c->spec.run_dir ? xstrdup(c->spec.run_dir) : NULL;
    l->trash = trash;
    l->autoremove = mgr_json_bool(c->host_config, "AutoRemove");
    l->returned_shim = c->returned_shim;
    c->returned_shim = 0;
    if (trash && l->autoremove && rt_pool_prepares(m->pool, &c->spec))
        l->prep_slot =
            rt_prep_recycled_path(m->containers_dir, c->spec.lowerdirs, c->spec.n_lowerdirs);
    mgr_leftover_t **tail = &m->leftovers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    if (!m->leftovers_timer) {
        m->leftovers_timer = xcalloc(1, sizeof(uv_timer_t));
        uv_timer_init(m->loop, m->leftovers_timer);
        m->leftovers_timer->data = m;
    }
    uv_timer_start(m->leftovers_timer, leftovers_cb, 0, 0);
}

static void leftovers_timer_closed_cb(uv_handle_t *h)
{
    free(h);
}

void mgr_leftovers_close(rt_manager_t *m)
{
    leftovers_run(m);
    if (m->leftovers_timer)
        uv_close((uv_handle_t *)m->leftovers_timer, leftovers_timer_closed_cb);
    m->leftovers_timer = NULL;
}

static void remove_now(rt_ctr_t *c)
{
    rt_manager_t *m = c->m;
    c->status = RT_CTR_REMOVING;
    mgr_timer_free(&c->restart_timer);
    mgr_timer_free(&c->stop_timer);
    /* The rename makes the removal final (a restarted berthd clears
     * leftover .trash-* dirs); the cgroup/run-dir cleanup and the rm child
     * come on the next loop turn, after the waiters' answers have left, so
     * they are not on the path of a 'run --rm' (docker run --rm waits for
     * "removed"). */
    char *trash = mgr_trash_rename(m, c->dir, c->id);
    pending_run(c, &c->stop_done, NULL);
    mgr_event(c, "destroy", 0, 0);
    mgr_notify_removed(c);
    log_info("container %.12s removed", c->id);
    leftovers_add(c, trash);
    mgr_forget(m, c);
}

typedef struct {
    rt_ctr_done_cb cb;
    void *data;
} remove_wait_t;

static void removed_wait_cb(int exit_code, const char *error, void *data)
{
    (void)exit_code;
    (void)error;
    remove_wait_t *rw = data;
    rw->cb(NULL, NULL, rw->data);
    free(rw);
}

int rt_ctr_remove(rt_ctr_t *c, bool force, bool volumes, rt_ctr_done_cb done_cb, void *data,
                  berth_err_t *err)
{
    (void)volumes; /* anonymous volumes live in the container dir until volumes exist */
    if (c->status == RT_CTR_REMOVING || c->remove_pending)
        return berth_err_set(err, BERTH_E_CONFLICT,
                             "removal of container %s is already in progress", c->id);
    bool live =
        c->shim != NULL || c->starting || (rt_ctr_is_running(c) && c->status != RT_CTR_RESTARTING);
    if (live && !force) {
        if (c->status == RT_CTR_PAUSED)
            return berth_err_set(err, BERTH_E_CONFLICT,
                                 "cannot remove container \"/%s\": container is paused and must "
                                 "be unpaused first",
                                 c->name);
        return berth_err_set(err, BERTH_E_CONFLICT,
                             "cannot remove container \"/%s\": container is running: stop the "
                             "container before removing or force remove",
                             c->name);
    }
    if (live) {
        c->remove_pending = true;
        c->manually_stopped = true;
        if (done_cb) {
            remove_wait_t *rw = xcalloc(1, sizeof(*rw));
            rw->cb = done_cb;
            rw->data = data;
            rt_ctr_wait(c, RT_WAIT_REMOVED, removed_wait_cb, rw);
        }
        thaw_if_paused(c);
        int rc = send_signal(c, SIGKILL);
        if (rc < 0 && !c->shim) {
            /* No shim to report the exit: the process is gone or unreachable. */
            rt_state_t st = {.status = RT_STATUS_EXITED, .exit_code = 137};
            record_exit(c, &st);
            remove_now(c);
        }
        return 0;
    }
    remove_now(c);
    if (done_cb)
        done_cb(NULL, NULL, data);
    return 0;
}

/* ---- daemon restart: adoption ---- */
void mgr_adopt(rt_ctr_t *c)
{
    if (c->status != RT_CTR_RUNNING && c->status != RT_CTR_PAUSED && c->status != RT_CTR_RESTARTING)
        return;
    berth_err_t err = {0};
    c->shim = rt_shim_connect(c->m->loop, c->spec.run_dir, &shim_cbs, c, &err);
    if (c->shim) {
        if (c->status == RT_CTR_RESTARTING)
            c->status = RT_CTR_RUNNING;
        log_info("container %.12s re-adopted (pid %d)", c->id, (int)c->pid);
        return;
    }
    /* The shim is gone: take its final word from state.json if it left one. */
    rt_state_t st;
    berth_err_t serr = {0};
    if (rt_state_read(c->spec.run_dir, &st, &serr) < 0 || st.status != RT_STATUS_EXITED) {
        memset(&st, 0, sizeof(st));
        st.status = RT_STATUS_EXITED;
        st.exit_code = 255;
        snprintf(st.error, sizeof(st.error),
                 "container monitor disappeared while berthd was "
                 "down");
    }
    record_exit(c, &st);
    rt_cleanup(&c->spec, &serr);
    log_info("container %.12s exited with %d while berthd was down", c->id, c->exit_code);
    if (mgr_json_bool(c->host_config, "AutoRemove")) {
        c->remove_pending = true; /* handled by mgr_apply_restart_on_boot */
    }
    mgr_save(c);
}

void mgr_apply_restart_on_boot(rt_ctr_t *c)
{
    if (c->remove_pending && !c->shim) {
        remove_now(c);
        return;
    }
    if (rt_ctr_is_running(c) || !c->has_been_started)
        return;
    const char *name =
        mgr_json_str(cJSON_GetObjectItemCaseSensitive(c->host_config, "RestartPolicy"), "Name");
    bool restart = name && (!strcmp(name, "always") ||
                            (!strcmp(name, "unless-stopped") && !c->manually_stopped) ||
                            (!strcmp(name, "on-failure") && !c->manually_stopped &&
                             c->exit_code != 0 && c->status == RT_CTR_EXITED));
    if (!restart)
        return;
    berth_err_t err = {0};
    if (rt_ctr_start(c, NULL, NULL, &err) < 0)
        log_warn("container %.12s: restart on boot: %s", c->id, err.msg);
}

void mgr_ctr_cancel_all(rt_ctr_t *c)
{
    mgr_timer_free(&c->stop_timer);
    mgr_timer_free(&c->restart_timer);
    if (c->shim) {
        rt_shim_detach(c->shim);
        c->shim = NULL;
    }
    /* Nobody gets answers from a closing daemon: their requests die with it. */
    rt_ctr_sink_t *s;
    while ((s = c->sinks)) {
        c->sinks = s->next;
        free(s);
    }
    rt_ctr_waiter_t *w;
    while ((w = c->waiters)) {
        c->waiters = w->next;
        free(w);
    }
    for (ctr_pending_t **l = &c->stop_done; l; l = l == &c->stop_done ? &c->start_done : NULL)
        while (*l) {
            ctr_pending_t *p = *l;
            *l = p->next;
            free(p);
        }
}

/* ---- background removal of container directories ---- */
typedef struct mgr_trash {
    struct mgr_trash *next;
    rt_manager_t *m;
    uv_process_t proc;
} mgr_trash_t;

static void trash_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

static void trash_unlink(mgr_trash_t *t)
{
    for (mgr_trash_t **pp = &t->m->trash; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
}

static void trash_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    mgr_trash_t *t = p->data;
    if (status || sig)
        log_warn("removing a container directory: rm exited with %d/%d", (int)status, sig);
    trash_unlink(t);
    uv_close((uv_handle_t *)p, trash_closed_cb);
}

char *mgr_trash_rename(rt_manager_t *m, const char *dir, const char *id)
{
    char *trash = xasprintf("%s/.trash-%s", m->containers_dir, id);
    if (rename(dir, trash) == 0)
        return trash;
    free(trash);
    int rc = fs_rm_rf(dir);
    if (rc < 0)
        log_warn("removing %s: %s", dir, strerror(-rc));
    return NULL;
}

/* Remove the entries of dirfd, spending at most *budget unlinks and never
 * leaving device dev. 0 when emptied, -E2BIG/-EXDEV/-errno when the rest is
 * left to the rm child. */
static int trash_rm_small(int dirfd, dev_t dev, int *budget)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (--*budget < 0) {
            rc = -E2BIG;
            break;
        }
        if (e->d_type != DT_DIR) {
            if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT)
                continue;
            if (errno != EISDIR) {
                rc = -errno;
                break;
            }
        }
        int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (sub < 0 || fstat(sub, &st) < 0) {
            rc = -errno;
            if (sub >= 0)
                close(sub);
            break;
        }
        if (st.st_dev != dev) {
            close(sub);
            rc = -EXDEV;
            break;
        }
        rc = trash_rm_small(sub, dev, budget);
        if (rc == 0 && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
            rc = -errno;
    }
    closedir(d);
    return rc;
}

void mgr_trash_spawn(rt_manager_t *m, const char *trash)
{
    /* Usually the reaper helper takes it (reaper.c). Else: a --rm
     * container's dir usually holds a dozen small files, unlinking them here
     * costs less than a fork+exec of rm; bigger trees (or any surprise, e.g.
     * a mount) go to an rm child. */
    if (mgr_reap(m, trash) == 0)
        return;
    int fd = open(trash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        int budget = 64;
        if (trash_rm_small(fd, st.st_dev, &budget) == 0 && rmdir(trash) == 0)
            return;
    } else if (fd >= 0) {
        close(fd);
    }
    mgr_trash_t *t = xcalloc(1, sizeof(*t));
    t->m = m;
    t->proc.data = t;
    char *args[] = {"rm", "-rf", "--one-file-system", "--", (char *)trash, NULL};
    /* An absolute path: no execve per PATH entry in the child. */
    uv_process_options_t o = {.file = "/bin/rm", .args = args, .exit_cb = trash_exit_cb};
    int rc = uv_spawn(m->loop, &t->proc, &o);
    if (rc < 0) {
        log_warn("spawning rm for %s: %s; removing in place", trash, uv_strerror(rc));
        uv_close((uv_handle_t *)&t->proc, trash_closed_cb);
        fs_rm_rf(trash);
        return;
    }
    t->next = m->trash;
    m->trash = t;
}

void mgr_trash_close_all(rt_manager_t *m)
{
    /* The children finish on their own; leftovers are cleared at the next open. */
    while (m->trash) {
        mgr_trash_t *t = m->trash;
        m->trash = t->next;
        uv_close((uv_handle_t *)&t->proc, trash_closed_cb);
    }
}
