/* runtime: berthd's warm pool of idle berth-shims (see internal.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"

typedef struct pool_slot {
    uv_poll_t poll; /* the idle shim's pidfd: it died while idle */
    rt_pool_t *pool;
    pid_t pid;
    int pidfd, fd;
    char *prep_dir;     /* asked to prepare a rootfs there (prep.c), or NULL */
    bool returned;      /* back from a container (it may keep its overlay) */
    bool prep_deferred; /* its prep request waits for rt_pool_resume_prep */
    struct pool_slot *next;
} pool_slot_t;

struct rt_pool {
    uv_loop_t *loop;
    char *shim_path;
    char *containers_dir;
    /* What the last pooled start used: new idle shims prepare its rootfs. */
    rt_prep_t last;
    int size, n_idle;
    pool_slot_t *idle;
    /* Asked of the zygote, oldest first (it answers in order). */
    pool_slot_t *pending, **pending_tail;
    int n_pending;
    uv_timer_t refill;
    int failures; /* idle shims that died in a row: back off */
    bool closing;
    /* The zygote (zygote.c): forks the pool shims; there is one when
     * zygote_poll is set. */
    pid_t zygote_pid;
    int zygote_fd, zygote_pidfd;
    uv_poll_t *zygote_poll; /* its answers (freed by its close callback) */
};

static void slot_closed_cb(uv_handle_t *h)
{
    pool_slot_t *s = h->data;
    free(s->prep_dir);
    free(s);
}

/* A shim that died or was stopped while idle leaves its pool dir (mounts
 * its init may still hold there are in another mount namespace: they do not
 * keep rm -rf from working). */
static void slot_prep_remove(pool_slot_t *s)
{
    if (s->prep_dir)
        rt_prep_remove(s->prep_dir);
}

/* One message to an idle shim (internal.h): u32 length, then tag (0: none)
 * and text. A few hundred bytes fit any idle socket's buffer: it goes whole
 * without blocking, or not at all (false). */
static bool slot_send(int fd, char tag, const char *text)
{
    size_t tlen = strlen(text), plen = (tag ? 1 : 0) + tlen;
    if (plen >= RT_POOL_MSG_MAX)
        return false;
    uint32_t len = (uint32_t)plen;
    struct iovec iov[3] = {{&len, sizeof(len)}, {&tag, tag ? 1 : 0}, {(void *)text, tlen}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
    return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)(sizeof(len) + plen);
}

static char *slot_prep_dir(const rt_pool_t *p, const pool_slot_t *s)
{
    return xasprintf("%s/" RT_PREP_DIR_PREFIX "%d", p->containers_dir, (int)s->pid);
}

/* A new idle shim: ask it to prepare the rootfs of the last pooled start
 * (best effort). One back from a container with nothing to prepare gets an
 * empty request: it drops the overlay it kept (prep.c). */
static void slot_send_prep(rt_pool_t *p, pool_slot_t *s)
{
    if (!p->last.n_lowerdirs) {
        if (s->returned)
            slot_send(s->fd, RT_POOL_PREP_TAG, "");
        return;
    }
    rt_prep_t want = p->last;
    want.dir = slot_prep_dir(p, s);
    cleanup_free char *text = rt_prep_encode(&want);
    if (slot_send(s->fd, RT_POOL_PREP_TAG, text))
        s->prep_dir = want.dir;
    else
        free(want.dir);
}

/* Unlink s, stop watching it; the caller has taken or closed pidfd/fd. */
static void slot_drop(rt_pool_t *p, pool_slot_t *s)
{
    for (pool_slot_t **pp = &p->idle; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    p->n_idle--;
    uv_close((uv_handle_t *)&s->poll, slot_closed_cb);
}

static void refill_cb(uv_timer_t *t);

/* A pooled shim killed while idle cannot remove its pool cgroup (v1). */
static void slot_cgroup_destroy(pid_t pid)
{
    if (rt_cgroup_version() != 1)
        return;
    char name[32];
    snprintf(name, sizeof(name), RT_POOL_CGROUP_PREFIX "%d", (int)pid);
    rt_cgroup_destroy(NULL, name);
}

/* A refill is a fork of the zygote (or, without it, a posix_spawn: berthd
 * waits for the exec, then the shim's dynamic linking) plus the new shim's
 * pre-clone into fresh namespaces: CPU that, run at once, competes with the
 * start that just took the idle shim and with its client (2 cores here; at
 * nice 19 it still delays them: the scheduler lets a woken helper run
 * first). So after a take it waits REFILL_AFTER_TAKE_MS, or less:
 * rt_pool_kick when the last API client has gone (rt_manager_quiet). A kick
 * at the container's exit came too early: its client was still to read the
 * exit status and exit. 30 ms, not less: a shim whose container exits
 * before that goes back to the pool (rt_pool_return) and a refill would
 * have forked a shim for nothing. */
#define REFILL_AFTER_TAKE_MS 30

static void schedule_refill(rt_pool_t *p, uint64_t delay_ms)
{
    if (p->closing || p->n_idle + p->n_pending >= p->size)
        return;
    /* After a failure streak, stop hammering: 1 s, 2 s, ... up to 30 s. */
    if (p->failures)
        delay_ms = 1000U * (uint64_t)(p->failures < 30 ? p->failures : 30);
    if (uv_is_active((uv_handle_t *)&p->refill) && uv_timer_get_due_in(&p->refill) <= delay_ms)
        return;
    uv_timer_start(&p->refill, refill_cb, delay_ms, 0);
}

static void slot_add_idle(rt_pool_t *p, pool_slot_t *s);

int rt_pool_return(rt_pool_t *p, pid_t pid, int pidfd, int fd, bool defer_prep)
{
    if (!p || p->closing || p->n_idle + p->n_pending >= p->size)
        return -1;
    pool_slot_t *s = xcalloc(1, sizeof(*s));
    s->pid = pid;
    s->pidfd = pidfd;
    s->fd = fd;
    s->returned = true;
    s->prep_deferred = defer_prep;
    slot_add_idle(p, s);
    /* Full again: the refill the take scheduled would fork a shim during
     * the next start (which takes this one), and this one would then find
     * the pool full when its next container exits. */
    if (p->n_idle + p->n_pending >= p->size)
        uv_timer_stop(&p->refill);
    return 0;
}

void rt_pool_kick(rt_pool_t *p)
{
    if (p)
        schedule_refill(p, 0);
}

static void idle_died_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    pool_slot_t *s = h->data;
    rt_pool_t *p = s->pool;
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)s->pidfd, &info, WEXITED | WNOHANG) < 0 && errno == EINTR)
        ;
    log_warn("idle pooled berth-shim %d exited", (int)s->pid);
    slot_cgroup_destroy(s->pid);
    slot_prep_remove(s);
    slot_drop(p, s);
    close(s->pidfd);
    close(s->fd);
    p->failures++;
    schedule_refill(p, 0);
}

/* s has its shim (pid, pidfd, fd): idle from now on. */
static void slot_add_idle(rt_pool_t *p, pool_slot_t *s)
{
    s->pool = p;
    if (!s->prep_deferred)
        slot_send_prep(p, s);
    uv_poll_init(p->loop, &s->poll, s->pidfd);
    s->poll.data = s;
    uv_poll_start(&s->poll, UV_READABLE, idle_died_cb);
    /* At the tail: starts take the head, the shim idle the longest (one
     * whose container just exited may still be making its next init). */
    pool_slot_t **pp = &p->idle;
    while (*pp)
        pp = &(*pp)->next;
    s->next = NULL;
    *pp = s;
    p->n_idle++;
}

static void zygote_closed_cb(uv_handle_t *h)
{
    free(h); /* not the pool: it may be freed first (rt_pool_free) */
}

/* The zygote is gone or useless: reap it; the pending requests' shims, if
 * forked, get EOF on their socket and exit. Refills spawn until a new
 * zygote starts. */
static void zygote_drop(rt_pool_t *p)
{
    if (!p->zygote_poll)
        return;
    uv_close((uv_handle_t *)p->zygote_poll, zygote_closed_cb);
    p->zygote_poll = NULL;
    close(p->zygote_fd);
    kill(p->zygote_pid, SIGKILL);
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)p->zygote_pidfd, &info, WEXITED) < 0 && errno == EINTR)
        ;
    close(p->zygote_pidfd);
    while (p->pending) {
        pool_slot_t *s = p->pending;
        p->pending = s->next;
        close(s->fd);
        free(s);
    }
    p->pending_tail = &p->pending;
    p->n_pending = 0;
}

static void zygote_readable_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    rt_pool_t *p = h->data;
    for (;;) {
        pid_t pid;
        int pidfd;
        int rc = rt_zygote_reply(p->zygote_fd, &pid, &pidfd);
        if (rc == -EAGAIN)
            return;
        pool_slot_t *s = p->pending;
        if (rc < 0 || !s) {
            log_warn("warm pool: the zygote %s", rc == -EPIPE ? "exited" : "misbehaved");
            if (rc == 0 && pidfd >= 0)
                close(pidfd);
            zygote_drop(p);
            p->failures++;
            schedule_refill(p, 0);
            return;
        }
        p->pending = s->next;
        if (!p->pending)
            p->pending_tail = &p->pending;
        p->n_pending--;
        if (pid < 0) {
            log_warn("warm pool: forking a shim: %s", strerror(-pid));
            close(s->fd);
            free(s);
            p->failures++;
            schedule_refill(p, 0);
            continue;
        }
        s->pid = pid;
        s->pidfd = pidfd;
        slot_add_idle(p, s);
    }
}

static int zygote_start(rt_pool_t *p)
{
    berth_err_t err = {0};
    /* It binds every symbol at its start (not lazily): its forks, the pool
     * shims and their inits, then resolve no PLT entry (a symbol lookup and a
     * copy-on-write fault of the GOT) on the start path. */
    if (rt_shim_spawn_proc(p->shim_path, "zygote", NULL, "LD_BIND_NOW=1", &p->zygote_pid,
                           &p->zygote_pidfd, &p->zygote_fd, &err) < 0) {
        log_warn("warm pool: %s", err.msg);
        return -1;
    }
    p->zygote_poll = xmalloc(sizeof(*p->zygote_poll));
    uv_poll_init(p->loop, p->zygote_poll, p->zygote_fd);
    p->zygote_poll->data = p;
    uv_poll_start(p->zygote_poll, UV_READABLE, zygote_readable_cb);
    return 0;
}

/* Ask the zygote for one shim; -1: it is not there (or just failed). */
static int refill_from_zygote(rt_pool_t *p)
{
    if (!p->zygote_poll && (p->failures > 0 || zygote_start(p) < 0))
        return -1;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return -1;
    int rc = rt_zygote_request(p->zygote_fd, sp[1]);
    close(sp[1]);
    if (rc < 0) {
        close(sp[0]);
        zygote_drop(p);
        return -1;
    }
    pool_slot_t *s = xcalloc(1, sizeof(*s));
    s->fd = sp[0];
    s->pid = -1;
    s->pidfd = -1;
    *p->pending_tail = s;
    p->pending_tail = &s->next;
    p->n_pending++;
    return 0;
}

static void refill_cb(uv_timer_t *t)
{
    rt_pool_t *p = t->data;
    while (!p->closing && p->n_idle + p->n_pending < p->size) {
        if (refill_from_zygote(p) == 0)
            continue;
        berth_err_t err = {0};
        pool_slot_t *s = xcalloc(1, sizeof(*s));
        if (rt_shim_spawn_proc(p->shim_path, "pool", NULL, NULL, &s->pid, &s->pidfd, &s->fd, &err) <
            0) {
            log_warn("warm pool: %s", err.msg);
            free(s);
            p->failures++;
            schedule_refill(p, 0);
            return;
        }
        slot_add_idle(p, s);
    }
}

rt_pool_t *rt_pool_new(uv_loop_t *loop, const char *shim_path, const char *containers_dir, int size)
{
    if (size <= 0)
        return NULL;
    rt_pool_t *p = xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->shim_path = xstrdup(shim_path);
    p->containers_dir = xstrdup(containers_dir);
    p->size = size;
    p->pending_tail = &p->pending;
    rt_cgroup_sweep_pool(); /* left by a berthd killed with its pool */
    uv_timer_init(loop, &p->refill);
    p->refill.data = p;
    schedule_refill(p, 0);
    return p;
}

bool rt_pool_prepares(const rt_pool_t *p, const rt_spec_t *s)
{
    if (!p || !p->last.n_lowerdirs || p->last.n_lowerdirs != s->n_lowerdirs)
        return false;
    for (size_t i = 0; i < s->n_lowerdirs; i++)
        if (strcmp(p->last.lowerdirs[i], s->lowerdirs[i]) != 0)
            return false;
    return true;
}

bool rt_pool_resume_prep(rt_pool_t *p, pid_t pid, const char *trash, const char *layers_slot)
{
    pool_slot_t *s = p ? p->idle : NULL;
    while (s && !(s->pid == pid && s->prep_deferred))
        s = s->next;
    if (!s)
        return false; /* died meanwhile, or taken already */
    s->prep_deferred = false;
    bool given = false;
    cleanup_free char *dir = slot_prep_dir(p, s);
    /* Only for what it will prepare: the same layers (their slot name). */
    cleanup_free char *want =
        p->last.n_lowerdirs
            ? rt_prep_recycled_path(p->containers_dir, p->last.lowerdirs, p->last.n_lowerdirs)
            : NULL;
    if (trash && want && layers_slot && strcmp(want, layers_slot) == 0) {
        /* On a failure they stay in the trash, for the reaper. */
        cleanup_free char *upper = xasprintf("%s/upper", trash);
        cleanup_free char *work = xasprintf("%s/work", trash);
        const rt_prep_t its = {.dir = dir};
        cleanup_free char *to_upper = rt_prep_path(&its, "upper");
        cleanup_free char *to_work = rt_prep_path(&its, "work");
        given = rt_prep_move_dirs(upper, work, to_upper, to_work);
    }
    slot_send_prep(p, s);
    if (given && !s->prep_dir) /* not sent: its dirs are still its own */
        s->prep_dir = xstrdup(dir);
    return given;
}

int rt_pool_idle(const rt_pool_t *p)
{
    return p ? p->n_idle : 0;
}

rt_shim_t *rt_pool_spawn(rt_pool_t *p, const rt_spec_t *spec, const rt_shim_callbacks_t *cbs,
                         void *data, berth_err_t *err)
{
    pool_slot_t *s = p->idle; /* idle the longest (slot_add_idle) */
    /* An idle shim holds an init already in its own pid/mount/uts/ipc/net
     * namespaces: only a run with its own netns fits. --init runs the shim's
     * own code as pid 1 and titles it over the shim's argv: fresh spawn. */
    if (!s || !spec->bundle || !spec->run_dir || spec->net_mode != RT_NET_NONE || spec->init)
        return rt_shim_spawn(p->loop, p->shim_path, spec, cbs, data, err);
    cleanup_free char *spec_path = xasprintf("%s/%s", spec->bundle, RT_SPEC_FILE);
    pid_t pid = s->pid;
    int pidfd = s->pidfd, fd = s->fd;
    /* It idles at nice 19 and may still be setting up (a burst of starts
     * leaves no idle CPU time): from now on it is on the start path. */
    setpriority(PRIO_PROCESS, (id_t)pid, 0);
    /* Stop watching before the fds change hands: libuv allows one watcher
     * per fd, and uv_close drops the epoll registration right away. */
    slot_drop(p, s);
    schedule_refill(p, REFILL_AFTER_TAKE_MS);
    if (!slot_send(fd, 0, spec_path)) {
        /* It died meanwhile: reap it, use a fresh shim instead. */
        p->failures++;
        close(fd);
        kill(pid, SIGKILL);
        siginfo_t info;
        waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED);
        close(pidfd);
        return rt_shim_spawn(p->loop, p->shim_path, spec, cbs, data, err);
    }
    p->failures = 0;
    /* Its refills prepare this start's rootfs: the next start of the same
     * image finds its mounts made (the shim removes a pool dir it took). */
    if (spec->n_lowerdirs)
        rt_prep_set_layers(&p->last, spec);
    return rt_shim_wrap(p->loop, pid, pidfd, fd, xasprintf("%s/%s", spec->run_dir, RT_STATE_FILE),
                        cbs, data, err);
}

static void pool_closed_cb(uv_handle_t *h)
{
    rt_pool_t *p = h->data;
    free(p->shim_path);
    free(p->containers_dir);
    rt_prep_free(&p->last);
    free(p);
}

/* Stop an idle shim and remove what it had: its pool cgroup and dir. */
static void slot_kill(rt_pool_t *p, pool_slot_t *s)
{
    close(s->fd); /* EOF: an idle shim exits by itself; SIGKILL makes sure */
    kill(s->pid, SIGKILL);
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)s->pidfd, &info, WEXITED) < 0 && errno == EINTR)
        ;
    slot_cgroup_destroy(s->pid);
    slot_prep_remove(s);
    slot_drop(p, s);
    close(s->pidfd);
}

void rt_pool_free(rt_pool_t *p)
{
    if (!p)
        return;
    p->closing = true;
    zygote_drop(p);
    while (p->idle)
        slot_kill(p, p->idle);
    uv_close((uv_handle_t *)&p->refill, pool_closed_cb);
}

void rt_pool_images_removed(rt_pool_t *p)
{
    if (!p)
        return;
    /* A prepared overlay keeps the layers it shows: removed, their disk
     * space would only come back once that shim is taken. */
    rt_prep_free(&p->last);
    /* EOF first, to all of them at once: an idle shim then kills and reaps
     * its init (whose mounts hold the pool dir) and removes the dir itself;
     * the kill in slot_kill is for one that has not gone within a second
     * (all of them together: the loop waits one second at most). */
    for (pool_slot_t *s = p->idle; s; s = s->next)
        if (s->prep_dir)
            shutdown(s->fd, SHUT_WR);
    uint64_t deadline = uv_hrtime() + 1000000000ULL; /* monotonic */
    for (pool_slot_t *s = p->idle, *next; s; s = next) {
        next = s->next;
        if (!s->prep_dir)
            continue;
        struct pollfd pfd = {.fd = s->pidfd, .events = POLLIN};
        int64_t left_ms = ((int64_t)deadline - (int64_t)uv_hrtime()) / 1000000;
        while (left_ms > 0 && poll(&pfd, 1, (int)left_ms) < 0 && errno == EINTR)
            left_ms = ((int64_t)deadline - (int64_t)uv_hrtime()) / 1000000;
        slot_kill(p, s);
    }
    schedule_refill(p, 0);
}
