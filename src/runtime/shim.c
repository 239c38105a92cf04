/* runtime: the berth-shim monitor (see the protocol in include/berth/runtime.h).
 * A small epoll loop per container: output pipes/pty -> json log + attached
 * clients, clients' stdin -> container, requests (attach/resize/kill/state),
 * signals (SIGCHLD, forwarded ones). No libuv here: the shim stays tiny. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "runtime/internal.h"
#include "runtime/shim.h"
#include "runtime/shim_pre.h"

enum { EV_SIGNAL = 1, EV_LISTEN, EV_CLIENT, EV_OUT, EV_STDIN };
#define EV_KEY(kind, fd) (((uint64_t)(kind) << 32) | (uint32_t)(fd))
#define DRAIN_TIMEOUT_MS 2000

typedef struct shim_client {
    int fd;
    bool primary, attached, want_stdin, want_stdout, want_stderr, closing;
    berth_buf_t in, out;
    struct shim_client *next;
} shim_client_t;

/* Pool mode: a container init cloned before the spec was known, blocked on
 * sync (rt_pre_child_main); pid -1 when none. */
typedef struct pre_child {
    pid_t pid;
    int pidfd, sync;
    char cgroup[32]; /* v1: its pool cgroup name (rt_cgroup_adopt), or "" */
    rt_prep_t prep;  /* prep.dir set: the init was asked to prepare a rootfs there */
    bool prep_used;  /* its upper/work dirs became the container's */
    /* The pool shim's kept overlay (prep.c), until prep_cleanup decides
     * whether it stays (NULL from then on, and outside pool mode). */
    rt_prep_overlay_t *overlay;
} pre_child_t;

typedef struct shim {
    bool is_exec;
    rt_spec_t spec;
    const rt_process_t *process;
    char *state_path;
    int epfd, sigfd, listen_fd;
    int out_fd[3]; /* [1] stdout (or pty master), [2] stderr */
    int stdin_fd;  /* pipe write end or pty master; -1 */
    int pty_master;
    berth_buf_t stdin_buf;
    bool stdin_close_pending;
    pid_t pid;
    int pidfd;
    bool exited;
    int status;
    int64_t exited_ms;
    rt_jsonlog_t log;
    bool logging;
    shim_client_t *clients;
    rt_state_t st;
    const char *spec_path; /* run: the runtime.json we were given */
    pre_child_t pre;
    bool pre_launched; /* it has its spec and stdio (pre_launch_path) */
    int mntns_fd;      /* the running container's mount ns, see run_started */
    int netns_fd;      /* ... and its network ns */
    /* A pool shim: the berthd it belongs to (0: not one). At the exit it
     * offers to idle in that berthd's pool again (pool_offered). */
    pid_t pool_parent;
    bool pool_offered;
} shim_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void ep_add(shim_t *sh, int kind, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = EV_KEY(kind, fd)};
    epoll_ctl(sh->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void ep_mod(shim_t *sh, int kind, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = EV_KEY(kind, fd)};
    epoll_ctl(sh->epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* ---- clients ------------------------------------------------------------- */
static void client_flush(shim_t *sh, shim_client_t *c)
{
    while (c->out.len) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                c->closing = true;
            break;
        }
        buf_consume(&c->out, (size_t)n);
    }
    if (!c->closing)
        ep_mod(sh, EV_CLIENT, c->fd, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
}

static void client_send(shim_t *sh, shim_client_t *c, int type, const void *data, size_t len)
{
    if (c->closing)
        return;
    if (c->out.len + len > RT_CLIENT_MAX_QUEUE) {
        /* Never block on a slow reader: it loses its attachment instead. */
        c->closing = true;
        return;
    }
    uint8_t hdr[RT_FRAME_HEADER_LEN];
    rt_frame_header(hdr, (enum rt_frame_type)type, (uint32_t)len);
    bool was_empty = c->out.len == 0;
    buf_append(&c->out, hdr, sizeof(hdr));
    buf_append(&c->out, data, len);
    if (was_empty)
        client_flush(sh, c);
}

static void client_send_json(shim_t *sh, shim_client_t *c, int type, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    client_send(sh, c, type, s, strlen(s));
    free(s);
}

/* Free c (unlinked by the caller), keeping its connection: the fd. */
static int client_release(shim_t *sh, shim_client_t *c)
{
    epoll_ctl(sh->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    int fd = c->fd;
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
    return fd;
}

static void client_free(shim_t *sh, shim_client_t *c)
{
    close(client_release(sh, c));
}

static void reap_closing_clients(shim_t *sh)
{
    for (shim_client_t **pp = &sh->clients; *pp;) {
        shim_client_t *c = *pp;
        if (c->closing) {
            *pp = c->next;
            client_free(sh, c);
        } else {
            pp = &c->next;
        }
    }
}

static shim_client_t *client_add(shim_t *sh, int fd, bool primary)
{
    shim_client_t *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->primary = primary;
    buf_init(&c->in);
    buf_init(&c->out);
    if (primary) {
        c->attached = c->want_stdout = c->want_stderr = true;
        c->want_stdin = sh->process->open_stdin;
    }
    set_nonblock(fd);
    c->next = sh->clients;
    sh->clients = c;
    ep_add(sh, EV_CLIENT, fd, EPOLLIN);
    return c;
}

static void broadcast(shim_t *sh, int stream, const char *buf, size_t len)
{
    for (shim_client_t *c = sh->clients; c; c = c->next)
        if (c->attached && (stream == 1 ? c->want_stdout : c->want_stderr))
            client_send(sh, c, stream, buf, len);
}

/* ---- stdin ------------------------------------------------------------------ */
static void stdin_close(shim_t *sh)
{
    if (sh->stdin_fd < 0)
        return;
    if (sh->stdin_buf.len) {
        sh->stdin_close_pending = true;
        return;
    }
    if (sh->stdin_fd != sh->pty_master) {
        epoll_ctl(sh->epfd, EPOLL_CTL_DEL, sh->stdin_fd, NULL);
        close(sh->stdin_fd);
    } else {
        /* A tty has no EOF of its own: send the terminal's EOF character. */
        char eot = 4;
        (void)!write(sh->pty_master, &eot, 1);
    }
    sh->stdin_fd = -1;
}

static void stdin_flush(shim_t *sh)
{
    while (sh->stdin_fd >= 0 && sh->stdin_buf.len) {
        ssize_t n = write(sh->stdin_fd, sh->stdin_buf.data, sh->stdin_buf.len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                buf_reset(&sh->stdin_buf); /* reader gone: drop input */
                stdin_close(sh);
            }
            break;
        }
        buf_consume(&sh->stdin_buf, (size_t)n);
    }
    if (sh->stdin_fd >= 0 && sh->stdin_fd != sh->pty_master)
        ep_mod(sh, EV_STDIN, sh->stdin_fd, sh->stdin_buf.len ? EPOLLOUT : 0);
    if (!sh->stdin_buf.len && sh->stdin_close_pending) {
        sh->stdin_close_pending = false;
        stdin_close(sh);
    }
}

/* ---- requests ------------------------------------------------------------ */
static void handle_request(shim_t *sh, shim_client_t *c, const char *payload, size_t len)
{
    cleanup_free char *txt = xstrndup(payload, len);
    cJSON *req = cJSON_Parse(txt);
    cJSON *reply = cJSON_CreateObject();
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(req, "op"));
    if (!op) {
        cJSON_AddStringToObject(reply, "error", "bad request");
    } else if (!strcmp(op, "attach")) {
        c->attached = true;
        c->want_stdin = cJSON_IsTrue(cJSON_GetObjectItem(req, "stdin"));
        c->want_stdout = cJSON_IsTrue(cJSON_GetObjectItem(req, "stdout"));
        c->want_stderr = cJSON_IsTrue(cJSON_GetObjectItem(req, "stderr"));
        cJSON_AddBoolToObject(reply, "ok", true);
    } else if (!strcmp(op, "resize")) {
        struct winsize ws = {
            .ws_row = (unsigned short)cJSON_GetNumberValue(cJSON_GetObjectItem(req, "rows")),
            .ws_col = (unsigned short)cJSON_GetNumberValue(cJSON_GetObjectItem(req, "cols")),
        };
        if (sh->pty_master < 0)
            cJSON_AddStringToObject(reply, "error", "the container has no tty");
        else if (ioctl(sh->pty_master, TIOCSWINSZ, &ws) < 0)
            cJSON_AddStringToObject(reply, "error", strerror(errno));
        else
            cJSON_AddBoolToObject(reply, "ok", true);
    } else if (!strcmp(op, "kill")) {
        int sig = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(req, "signal"));
        if (sig <= 0 || sig >= 65)
            cJSON_AddStringToObject(reply, "error", "invalid signal");
        else if (sh->exited)
            cJSON_AddStringToObject(reply, "error", "container is not running");
        else if (rt_pidfd_send_signal(sh->pidfd, sig) < 0)
            cJSON_AddStringToObject(reply, "error", strerror(errno));
        else
            cJSON_AddBoolToObject(reply, "ok", true);
    } else if (!strcmp(op, "state")) {
        cJSON_AddBoolToObject(reply, "ok", true);
        cleanup_free char *st = rt_state_to_json(&sh->st);
        cJSON_AddItemToObject(reply, "state", cJSON_Parse(st));
    } else {
        cJSON_AddStringToObject(reply, "error", "unknown op");
    }
    cJSON_Delete(req);
    client_send_json(sh, c, RT_FRAME_REPLY, reply);
}

static void client_readable(shim_t *sh, shim_client_t *c)
{
    char buf[8192];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->want_stdin && sh->process->stdin_once)
            stdin_close(sh);
        c->closing = true;
        return;
    }
    buf_append(&c->in, buf, (size_t)n);
    while (c->in.len >= RT_FRAME_HEADER_LEN) {
        const uint8_t *h = (const uint8_t *)c->in.data;
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (len > RT_FRAME_MAX_PAYLOAD) {
            c->closing = true;
            return;
        }
        if (c->in.len < RT_FRAME_HEADER_LEN + len)
            break;
        const char *payload = c->in.data + RT_FRAME_HEADER_LEN;
        if (h[0] == RT_FRAME_REQUEST) {
            handle_request(sh, c, payload, len);
        } else if (h[0] == RT_FRAME_STDIN && c->want_stdin && sh->stdin_fd >= 0) {
            if (len == 0) {
                if (sh->process->stdin_once)
                    stdin_close(sh);
            } else {
                buf_append(&sh->stdin_buf, payload, len);
                stdin_flush(sh);
            }
        }
        buf_consume(&c->in, RT_FRAME_HEADER_LEN + len);
    }
}

/* ---- output ----------------------------------------------------------------- */
static void out_close(shim_t *sh, int stream)
{
    if (sh->out_fd[stream] < 0)
        return;
    epoll_ctl(sh->epfd, EPOLL_CTL_DEL, sh->out_fd[stream], NULL);
    if (sh->out_fd[stream] != sh->pty_master)
        close(sh->out_fd[stream]);
    sh->out_fd[stream] = -1;
}

static void out_readable(shim_t *sh, int stream)
{
    char buf[16384];
    for (int i = 0; i < 8; i++) {
        ssize_t n = read(sh->out_fd[stream], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF, or EIO from a pty master once the slave is gone */
            out_close(sh, stream);
            return;
        }
        if (sh->logging)
            rt_jsonlog_feed(&sh->log, stream, buf, (size_t)n);
        broadcast(sh, stream, buf, (size_t)n);
    }
}

/* ---- exit --------------------------------------------------------------------- */
static void child_reaped(shim_t *sh, int status)
{
    sh->exited = true;
    sh->status = status;
    sh->exited_ms = mono_ms();
    sh->st.finished_ns = berth_now_ns();
    if (WIFSIGNALED(status)) {
        sh->st.signal = WTERMSIG(status);
        sh->st.exit_code = 128 + WTERMSIG(status);
    } else {
        sh->st.exit_code = WEXITSTATUS(status);
    }
}

static void handle_signals(shim_t *sh)
{
    struct signalfd_siginfo si;
    while (read(sh->sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = waitpid(-1, &status, WNOHANG)) > 0)
                if (p == sh->pid)
                    child_reaped(sh, status);
        } else if (!sh->exited) {
            rt_pidfd_send_signal(sh->pidfd, (int)si.ssi_signo);
        }
    }
}

/* "<RT_POOL_CGROUP_PREFIX><our pid>": the cgroup a pool shim's init idles in. */
static void pool_cgroup_name(char *buf, size_t len)
{
    snprintf(buf, len, RT_POOL_CGROUP_PREFIX "%d", (int)getpid());
}

/* A pool shim keeps a short run's cgroups for its next init
 * (rt_cgroup_recycle); true when it did, pool set to their new name. */
static bool cgroup_recycle(shim_t *sh, char *pool, size_t len)
{
    pool[0] = '\0';
    if (sh->pool_parent <= 0 || sh->st.oom_killed ||
        (sh->spec.cgroup_parent && *sh->spec.cgroup_parent) ||
        !rt_resources_unset(&sh->spec.resources))
        return false;
    pool_cgroup_name(pool, len);
    if (rt_cgroup_recycle(sh->spec.id, pool) == 0)
        return true;
    pool[0] = '\0';
    return false;
}

static void finish(shim_t *sh)
{
    char gone[32] = "", recycled[32] = "";
    if (sh->logging) {
        rt_jsonlog_flush(&sh->log);
        rt_jsonlog_close(&sh->log);
    }
    if (!sh->is_exec) {
        sh->st.oom_killed = rt_cgroup_oom_killed(sh->spec.cgroup_parent, sh->spec.id);
        /* Gone from the id before the report, not after: once berthd has
         * it, it may start the container again under the same id, and a
         * late destroy would kill the new one. Kept for our next init, or
         * renamed away (removed after the report), or else destroyed now. */
        if (!cgroup_recycle(sh, recycled, sizeof(recycled)) &&
            rt_cgroup_retire(sh->spec.cgroup_parent, sh->spec.id, gone, sizeof(gone)) < 0) {
            rt_cgroup_destroy(sh->spec.cgroup_parent, sh->spec.id);
            if (gone[0])
                rt_cgroup_destroy(NULL, gone);
            gone[0] = '\0';
        }
        if (sh->listen_fd >= 0) {
            cleanup_free char *sock = xasprintf("%s/%s", sh->spec.run_dir, RT_SOCKET_FILE);
            unlink(sock);
        }
    }
    sh->st.status = RT_STATUS_EXITED;
    rt_state_write_path(sh->state_path, &sh->st);
    for (shim_client_t *c = sh->clients; c; c = c->next) {
        if (!c->attached)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "exit_code", sh->st.exit_code);
        cJSON_AddNumberToObject(o, "signal", sh->st.signal);
        cJSON_AddBoolToObject(o, "oom_killed", sh->st.oom_killed);
        char ns[32]; /* raw: a double would round the ns */
        snprintf(ns, sizeof(ns), "%lld", (long long)sh->st.finished_ns);
        cJSON_AddRawToObject(o, "finished_ns", ns);
        /* Still the child of the berthd whose pool we came from: offer to go
         * back to it instead of exiting (rt_shim_main_pool). */
        if (c->primary && !c->closing && sh->pool_parent > 0 && getppid() == sh->pool_parent) {
            cJSON_AddBoolToObject(o, "pool", true);
            sh->pool_offered = true;
        }
        client_send_json(sh, c, RT_FRAME_EXIT, o);
    }
    /* Give readers a bounded time to take the tail of the output. */
    int64_t deadline = mono_ms() + 2000;
    for (shim_client_t *c = sh->clients; c; c = c->next) {
        while (c->out.len && !c->closing && mono_ms() < deadline) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
            poll(&pfd, 1, 100);
            client_flush(sh, c);
        }
    }
    /* The exit is reported: what is left (removing the cgroups, the
     * container's mounts going with its mount namespace) must not take the
     * CPU from berthd and the client reading the report. After this a shim
     * idles in the pool or exits (a pool shim is back at nice 0 for its next
     * container: pool_turn). */
    setpriority(PRIO_PROCESS, 0, 19);
    if (gone[0])
        rt_cgroup_destroy(NULL, gone);
    if (recycled[0])
        rt_cgroup_recycle_reset(recycled);
    if (sh->mntns_fd >= 0)
        close(sh->mntns_fd);
    if (sh->netns_fd >= 0)
        close(sh->netns_fd);
    sh->mntns_fd = sh->netns_fd = -1;
}

static int event_loop(shim_t *sh)
{
    struct epoll_event evs[16];
    for (;;) {
        if (sh->exited && ((sh->out_fd[1] < 0 && sh->out_fd[2] < 0) ||
                           mono_ms() - sh->exited_ms > DRAIN_TIMEOUT_MS))
            break;
        int n = epoll_wait(sh->epfd, evs, 16, sh->exited ? 100 : -1);
        if (n < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n; i++) {
            int kind = (int)(evs[i].data.u64 >> 32);
            int fd = (int)(uint32_t)evs[i].data.u64;
            switch (kind) {
            case EV_SIGNAL:
                handle_signals(sh);
                break;
            case EV_LISTEN: {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd >= 0)
                    client_add(sh, cfd, false);
                break;
            }
            case EV_CLIENT:
                for (shim_client_t *c = sh->clients; c; c = c->next)
                    if (c->fd == fd && !c->closing) {
                        if (evs[i].events & EPOLLOUT)
                            client_flush(sh, c);
                        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                            client_readable(sh, c);
                        break;
                    }
                break;
            case EV_OUT:
                for (int s = 1; s <= 2; s++)
                    if (sh->out_fd[s] == fd) {
                        out_readable(sh, s);
                        break;
                    }
                break;
            case EV_STDIN:
                stdin_flush(sh);
                break;
            }
        }
        reap_closing_clients(sh);
    }
    /* Output that raced the exit. */
    for (int s = 1; s <= 2; s++)
        if (sh->out_fd[s] >= 0) {
            set_nonblock(sh->out_fd[s]);
            out_readable(sh, s);
        }
    return 0;
}

/* ---- setup ---------------------------------------------------------------- */
/* The pty master the child sent us (console.c). */
static void use_pty(shim_t *sh, int m)
{
    sh->pty_master = m;
    set_nonblock(m);
    sh->out_fd[1] = m;
    sh->stdin_fd = sh->process->open_stdin ? m : -1;
}

static int make_stdio(shim_t *sh, int child_stdio[3], berth_err_t *err)
{
    const rt_process_t *p = sh->process;
    if (p->tty)
        return 0; /* the child opens it in the container's devpts: use_pty() */
    int out[2], errp[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        return berth_err_sys(err, errno, "creating pipes");
    sh->out_fd[1] = out[0];
    sh->out_fd[2] = errp[0];
    set_nonblock(out[0]);
    set_nonblock(errp[0]);
    child_stdio[1] = out[1];
    child_stdio[2] = errp[1];
    if (p->open_stdin) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
            return berth_err_sys(err, errno, "creating pipes");
        child_stdio[0] = in[0];
        sh->stdin_fd = in[1];
        set_nonblock(in[1]);
    } else {
        child_stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (child_stdio[0] < 0)
            return berth_err_sys(err, errno, "opening /dev/null");
    }
    return 0;
}

static int write_etc_files(const rt_spec_t *s, berth_err_t *err)
{
    const char *names[] = {"hostname", "hosts", "resolv.conf"};
    const char *vals[] = {s->etc_hostname, s->etc_hosts, s->etc_resolv_conf};
    for (size_t i = 0; i < 3; i++) {
        if (!vals[i] || !s->run_dir)
            continue;
        /* Written in place (no temporary file and rename: two journaled
         * directory changes less on the start path): nothing reads them
         * before the init bind-mounts them, after this. In the run dir:
         * rewritten at every start, so on the exec root's tmpfs, not the
         * data root's disk (where each file costs an inode to make and later
         * to free, ~0.1 ms each on a busy disk). */
        cleanup_free char *path = xasprintf("%s/%s", s->run_dir, names[i]);
        cleanup_close int fd =
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        int rc = fd < 0 ? -errno : fs_write_all(fd, vals[i], strlen(vals[i]));
        if (rc < 0)
            return berth_err_sys(err, -rc, "writing %s", path);
    }
    return 0;
}

/* Close every fd but stdio and keep[] (a child's: the --init process never
 * execs, so CLOEXEC alone would leave it holding the shim's fds; a pool
 * shim's between two containers). */
static void close_all_but(const int *keep, size_t n)
{
    int k[8];
    size_t m = 0;
    for (size_t i = 0; i < n && m < 8; i++)
        if (keep[i] >= 3)
            k[m++] = keep[i];
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
            int t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
        }
    unsigned from = 3;
    for (size_t i = 0; i < m; i++) {
        if ((unsigned)k[i] > from)
            syscall(SYS_close_range, from, (unsigned)k[i] - 1, 0);
        from = (unsigned)k[i] + 1;
    }
    syscall(SYS_close_range, from, ~0U, 0);
}

static void report_started_error(shim_t *sh, int code, const char *msg)
{
    sh->st.status = RT_STATUS_EXITED;
    sh->st.exit_code = code;
    sh->st.finished_ns = berth_now_ns();
    snprintf(sh->st.error, sizeof(sh->st.error), "%s", msg);
    /* Never a stand-in path: the write replaces the file (a rename), and
     * "/dev/null" here once replaced the host's /dev/null with a regular
     * file. */
    if (sh->state_path)
        rt_state_write_path(sh->state_path, &sh->st);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "exit_code", code);
    for (shim_client_t *c = sh->clients; c; c = c->next)
        if (c->primary)
            client_send_json(sh, c, RT_FRAME_STARTED, o ? cJSON_Duplicate(o, true) : NULL);
    cJSON_Delete(o);
    for (shim_client_t *c = sh->clients; c; c = c->next) {
        int64_t deadline = mono_ms() + 1000;
        while (c->out.len && !c->closing && mono_ms() < deadline) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
            poll(&pfd, 1, 100);
            client_flush(sh, c);
        }
    }
}

static int open_listener(shim_t *sh, berth_err_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", sh->spec.run_dir, RT_SOCKET_FILE);
    if (n >= (int)sizeof(sa.sun_path))
        return berth_err_set(err, BERTH_E_INTERNAL, "socket path too long: %s", sh->spec.run_dir);
    unlink(sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return berth_err_sys(err, errno, "socket");
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) {
        close(fd);
        return berth_err_sys(err, errno, "listening on %s", sa.sun_path);
    }
    sh->listen_fd = fd;
    ep_add(sh, EV_LISTEN, fd, EPOLLIN);
    return 0;
}

/* ---- warm pool: the container init cloned ahead of its spec --------------- */
/* (its side: shim_pre_child.c) */

static int release_child(shim_t *sh, int sync, bool enter_cgroup, int *code, berth_err_t *err);

/* Kill and reap a pre-cloned init that will not run a container, and
 * remove its pool cgroup. */
static void pre_kill(pre_child_t *pre)
{
    if (pre->pid <= 0)
        return;
    close(pre->sync); /* EOF: it exits by itself; SIGKILL makes sure */
    rt_pidfd_send_signal(pre->pidfd, SIGKILL);
    int status;
    while (waitpid(pre->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pre->pidfd);
    pre->pid = pre->pidfd = pre->sync = -1;
    if (pre->cgroup[0])
        rt_cgroup_destroy(NULL, pre->cgroup);
    pre->cgroup[0] = '\0';
}

static void pre_discard(shim_t *sh)
{
    pre_kill(&sh->pre);
}

/* Forget the stdio made for a child that will not run. */
static void stdio_reset(shim_t *sh)
{
    out_close(sh, 1);
    out_close(sh, 2);
    if (sh->stdin_fd >= 0 && sh->stdin_fd != sh->pty_master)
        close(sh->stdin_fd);
    sh->stdin_fd = -1;
}

static void close_child_stdio(int child_stdio[3])
{
    for (int i = 0; i < 3; i++)
        if (child_stdio[i] >= 0 && (i == 0 || child_stdio[i] != child_stdio[i - 1]))
            close(child_stdio[i]);
}

/* The pooled init already sits in a pool cgroup that can become the
 * container's (v1): it gets the runtime.json path before we even parse it
 * and sets up its rootfs while we write its /etc files, make its stdio
 * (then "S"), write our state and open the log and the listener (2 cores:
 * in parallel). start_container adopts the cgroup and sends the go. */
static void pre_launch_path(shim_t *sh)
{
    if (sh->pre.pid <= 0 || !sh->pre.cgroup[0] || !sh->spec_path)
        return;
    berth_err_t err = {0};
    int none[3] = {-1, -1, -1};
    if (rt_pre_send(sh->pre.sync, PRE_CFG_TAG, 'E', none, sh->spec_path, &err) < 0) {
        log_warn("pooled container init not used: %s", err.msg);
        pre_discard(sh);
        return;
    }
    sh->pre_launched = true;
}

/* The init's prepared rootfs fits the spec (it checks the same): its upper
 * and work dirs become the container's. Only where the container has none
 * yet (its first start; berthd does not make them): an earlier start's
 * upper dir holds the container's files. True when the init may take it. */
static bool prep_adopt(shim_t *sh)
{
    const rt_spec_t *s = &sh->spec;
    pre_child_t *pre = &sh->pre;
    if (!pre->prep.dir || !rt_prep_fits(s, &pre->prep) || !rt_prep_same_layers(&pre->prep, s))
        return false;
    cleanup_free char *upper = rt_prep_path(&pre->prep, "upper");
    cleanup_free char *work = rt_prep_path(&pre->prep, "work");
    if (!rt_prep_move_dirs(upper, work, s->upperdir, s->workdir))
        return false;
    pre->prep_used = true;
    return true;
}

/* After the start (the init has pivoted away from the pool's dirs, or is
 * gone): remove them unless they became the container's. */
static void prep_cleanup(pre_child_t *pre)
{
    /* The kept overlay stays only under a --rm container's dirs: they come
     * back to this shim when the container is removed (rt_pool_resume_prep).
     * Any other container keeps its dirs; a prep not used is removed. */
    if (pre->overlay && !(pre->prep.dir && pre->prep_used && pre->prep.volatile_overlay))
        rt_prep_overlay_drop(pre->overlay);
    pre->overlay = NULL;
    if (!pre->prep.dir)
        return;
    if (!pre->prep_used)
        rt_prep_remove(pre->prep.dir);
    rt_prep_free(&pre->prep);
}

/* A pooled init's bounding set holds only Docker's default capabilities
 * (rt_pre_child_main): a spec that adds others, or is privileged, needs a
 * fresh clone. */
static bool pre_caps_fit(const rt_spec_t *s)
{
    /* Any capability beyond the defaults rules it out, whatever this kernel
     * knows (63, not rt_cap_last(): no /proc read on the start path; the
     * usual path checks names against the kernel). */
    uint64_t caps;
    berth_err_t err = {0};
    return rt_caps_compute(s->cap_add, s->n_cap_add, s->cap_drop, s->n_cap_drop, s->privileged, 63,
                           &caps, &err) == 0 &&
           !(caps & ~RT_CAPS_DEFAULT);
}

/* With the spec parsed: does the launched init fit it, then its /etc files
 * and stdio. Any failure: discarded, the usual path runs. */
static void pre_launch_stdio(shim_t *sh)
{
    const rt_spec_t *s = &sh->spec;
    if (!sh->pre_launched)
        return;
    berth_err_t err = {0};
    int child_stdio[3] = {-1, -1, -1};
    int rc = 0;
    if (s->net_mode != RT_NET_NONE || (s->cgroup_parent && *s->cgroup_parent))
        rc = berth_err_set(&err, BERTH_E_INTERNAL, "it has no network or a custom cgroup parent");
    else if (!pre_caps_fit(s))
        rc = berth_err_set(&err, BERTH_E_INTERNAL, "it needs capabilities beyond the defaults");
    char mode = rc == 0 && prep_adopt(sh) ? 'P' : '-';
    if (rc == 0)
        rc = write_etc_files(s, &err);
    if (rc == 0)
        rc = make_stdio(sh, child_stdio, &err);
    if (rc == 0)
        rc = rt_pre_send(sh->pre.sync, PRE_STDIO_TAG, mode, child_stdio, "", &err);
    close_child_stdio(child_stdio);
    if (rc < 0) {
        log_warn("pooled container init not used: %s", err.msg);
        sh->pre_launched = false;
        pre_discard(sh);
        stdio_reset(sh);
    }
}

/* The pooled init becomes the container's process; returns its sync fd. */
static int pre_take(shim_t *sh)
{
    sh->pid = sh->pre.pid;
    sh->pidfd = sh->pre.pidfd;
    int sync = sh->pre.sync;
    sh->pre.pid = sh->pre.pidfd = sh->pre.sync = -1;
    return sync;
}

/* Everything from the shim's start to the container's exec (or failure).
 * Returns 0 when the container runs, -1 with err + *code otherwise. */
static int start_container(shim_t *sh, int exec_pidfd, int restore_pidns, int *code,
                           berth_err_t *err)
{
    const rt_spec_t *s = &sh->spec;
    *code = RT_EXIT_SETUP_FAILED;
    if (sh->pre_launched) {
        /* Its pool cgroup becomes the container's; on failure (a stale
         * cgroup of this id, bad limits) the usual path runs instead. */
        sh->pre_launched = false;
        berth_err_t aerr = {0};
        if (rt_cgroup_adopt(sh->pre.cgroup, s->id, &s->resources, &aerr) == 0) {
            sh->pre.cgroup[0] = '\0';
            return release_child(sh, pre_take(sh), false, code, err);
        }
        log_warn("pooled container init not used: %s", aerr.msg);
        pre_discard(sh);
        stdio_reset(sh);
    }
    unsigned last_cap = rt_cap_last();
    uint64_t caps;
    bool privileged = s->privileged;
    if (rt_caps_compute(s->cap_add, s->n_cap_add, s->cap_drop, s->n_cap_drop, privileged, last_cap,
                        &caps, err) < 0)
        return -1;
    caps &= rt_caps_current();
    void *bpf = NULL;
    size_t bpf_len = 0;
    if (rt_seccomp_prepare(s, caps, &bpf, &bpf_len, err) < 0)
        return -1;
    int cgv = rt_cgroup_version();
    int cg_fd = -1;
    /* The pooled init has its own pid/mount/uts/ipc/net namespaces: it fits
     * a run with its own netns; anything else gets a fresh clone. One not
     * launched early has no pool cgroup (v2), or one that cannot become the
     * container's (custom parent): then it is only of use without it. */
    bool use_pre = sh->pre.pid > 0 && !sh->pre.cgroup[0] && !sh->is_exec &&
                   s->net_mode == RT_NET_NONE && sh->spec_path && pre_caps_fit(s);
    if (!use_pre)
        pre_discard(sh);
    if (!sh->is_exec) {
        if (write_etc_files(s, err) < 0)
            return -1;
        if (rt_cgroup_create(s->cgroup_parent, s->id, &s->resources, err) < 0)
            return -1;
        if (cgv == 2 && !use_pre)
            cg_fd = rt_cgroup_open_v2(s->cgroup_parent, s->id);
    }
    int child_stdio[3] = {-1, -1, -1};
    if (make_stdio(sh, child_stdio, err) < 0)
        return -1;
    if (use_pre) {
        free(bpf); /* the init reads it from the cache itself */
        int rc = rt_pre_send(sh->pre.sync, PRE_CFG_TAG, '-', child_stdio, sh->spec_path, err);
        close_child_stdio(child_stdio);
        if (rc < 0) {
            pre_discard(sh);
            return -1;
        }
        return release_child(sh, pre_take(sh), true, code, err);
    }
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return berth_err_sys(err, errno, "socketpair");
    int netns_fd = -1;
    if (!sh->is_exec && s->net_mode == RT_NET_JOIN) {
        netns_fd = open(s->net_path, O_RDONLY | O_CLOEXEC);
        if (netns_fd < 0)
            return berth_err_sys(err, errno, "opening network namespace %s", s->net_path);
    }

    uint64_t flags = CLONE_PIDFD;
    if (!sh->is_exec) {
        flags |= CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
        if (s->net_mode == RT_NET_NONE)
            flags |= CLONE_NEWNET;
        /* On v1 the child joins its cgroup after clone: it unshares the
         * cgroup ns itself once it is there. */
        if (cgv == 2)
            flags |= CLONE_NEWCGROUP;
    }
    int pidfd = -1;
    pid_t pid = rt_clone3(flags, &pidfd, cg_fd);
    if (pid == -ENOSYS) {
        /* No clone3: plain clone(2) via fork semantics is not available with
         * namespace flags through glibc's fork, so use the raw syscall. */
        long r = syscall(SYS_clone, (unsigned long)(flags & ~(uint64_t)CLONE_PIDFD) | SIGCHLD, NULL,
                         NULL, NULL, 0);
        pid = r < 0 ? -errno : (pid_t)r;
        if (pid > 0)
            pidfd = rt_pidfd_open(pid);
    }
    if (pid < 0)
        return berth_err_sys(err, -pid, "clone3");
    if (pid == 0) {
        int keep[] = {sp[1], child_stdio[0], child_stdio[1], child_stdio[2], netns_fd, exec_pidfd};
        close_all_but(keep, ARRAY_SIZE(keep));
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
            berth_err_sys(err, errno, "joining network namespace %s", s->net_path);
            rt_child_fail(sp[1], RT_EXIT_SETUP_FAILED, err);
        }
        if (exec_pidfd >= 0 && setns(exec_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                                     CLONE_NEWNET | CLONE_NEWCGROUP) < 0) {
            berth_err_sys(err, errno, "joining the container's namespaces");
            rt_child_fail(sp[1], RT_EXIT_SETUP_FAILED, err);
        }
        rt_child_cfg_t cfg = {
            .spec = s,
            .process = sh->process,
            .caps = caps,
            .last_cap = last_cap,
            .bpf = bpf,
            .bpf_len = bpf_len,
            .sync_fd = sp[1],
            .stdio = {child_stdio[0], child_stdio[1], child_stdio[2]},
            .is_exec = sh->is_exec,
            .v1_unshare_cgroup = !sh->is_exec && cgv == 1,
        };
        rt_child_main(&cfg);
    }
    if (restore_pidns >= 0)
        setns(restore_pidns, CLONE_NEWPID);
    close(sp[1]);
    for (int i = 0; i < 3; i++)
        if (child_stdio[i] >= 0 && (i == 0 || child_stdio[i] != child_stdio[i - 1]))
            close(child_stdio[i]);
    if (netns_fd >= 0)
        close(netns_fd);
    if (cg_fd >= 0)
        close(cg_fd);
    free(bpf);
    sh->pid = pid;
    sh->pidfd = pidfd;
    return release_child(sh, sp[0], cgv == 1 || sh->is_exec, code, err);
}

/* Put the cloned child in its cgroup (unless clone did), let it go, and wait
 * for its exec (EOF on sync) or its error report. Closes sync. */
static int release_child(shim_t *sh, int sync, bool enter_cgroup, int *code, berth_err_t *err)
{
    const rt_spec_t *s = &sh->spec;
    pid_t pid = sh->pid;
    int sp[1] = {sync};
    if (enter_cgroup) {
        if (rt_cgroup_enter(s->cgroup_parent, s->id, pid, err) < 0) {
            kill(pid, SIGKILL);
            close(sp[0]);
            int status;
            waitpid(pid, &status, 0);
            return -1;
        }
    }
    char go = 1;
    (void)!write(sp[0], &go, 1);
    char msg[1200];
    ssize_t n;
    for (;;) {
        int fd = -1;
        n = rt_sync_recv(sp[0], msg, sizeof(msg) - 1, &fd);
        if (n == 1 && msg[0] == RT_PTY_TAG && fd >= 0 && sh->process->tty && sh->pty_master < 0) {
            use_pty(sh, fd);
            continue;
        }
        if (fd >= 0)
            close(fd);
        break;
    }
    close(sp[0]);
    if (n > 0) {
        msg[n] = '\0';
        char *nl = strchr(msg, '\n');
        *code = atoi(msg);
        if (*code < 125 || *code > 127)
            *code = RT_EXIT_SETUP_FAILED;
        berth_err_set(err, BERTH_E_INTERNAL, "%s", nl ? nl + 1 : msg);
        int status;
        waitpid(pid, &status, 0);
        return -1;
    }
    return 0;
}

/* The shim's signal dispositions; a cloned child inherits them until
 * rt_child_main resets them. */
static void block_signals(sigset_t *set)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigemptyset(set);
    int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaddset(set, sigs[i]);
    sigprocmask(SIG_BLOCK, set, NULL);
}

static void setup_signals(shim_t *sh)
{
    sigset_t set;
    block_signals(&set);
    sh->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    ep_add(sh, EV_SIGNAL, sh->sigfd, EPOLLIN);
}

static void shim_init(shim_t *sh)
{
    memset(sh, 0, sizeof(*sh));
    sh->listen_fd = sh->stdin_fd = sh->pty_master = sh->pidfd = -1;
    sh->out_fd[0] = sh->out_fd[1] = sh->out_fd[2] = -1;
    sh->log.fd = -1;
    sh->pre.pid = sh->pre.pidfd = sh->pre.sync = -1;
    sh->mntns_fd = sh->netns_fd = -1;
    buf_init(&sh->stdin_buf);
    sh->epfd = epoll_create1(EPOLL_CLOEXEC);
    sh->st.shim_pid = getpid();
    sh->st.status = RT_STATUS_CREATED;
}

static void shim_free(shim_t *sh)
{
    pre_discard(sh);
    prep_cleanup(&sh->pre);
    for (shim_client_t *c = sh->clients; c;) {
        shim_client_t *next = c->next;
        client_free(sh, c);
        c = next;
    }
    sh->clients = NULL;
    for (int s = 1; s <= 2; s++)
        out_close(sh, s);
    if (sh->pty_master >= 0)
        close(sh->pty_master);
    if (sh->stdin_fd >= 0 && sh->stdin_fd != sh->pty_master)
        close(sh->stdin_fd);
    buf_free(&sh->stdin_buf);
    free(sh->state_path);
    rt_spec_free(&sh->spec);
    if (sh->listen_fd >= 0)
        close(sh->listen_fd);
    if (sh->pidfd >= 0)
        close(sh->pidfd);
    close(sh->sigfd);
    close(sh->epfd);
}

/* Common tail: container started or failed. */
static int run_started(shim_t *sh, int rc, int code, berth_err_t *err)
{
    if (rc < 0) {
        log_error("%s", err->msg);
        report_started_error(sh, code, err->msg);
        if (sh->logging)
            rt_jsonlog_close(&sh->log);
        if (!sh->is_exec)
            rt_cgroup_destroy(sh->spec.cgroup_parent, sh->spec.id);
        return 1;
    }
    sh->st.pid = sh->pid;
    sh->st.started_ns = berth_now_ns();
    sh->st.status = RT_STATUS_RUNNING;
    /* Hold the container's mount namespace: when its init exits, the kernel
     * would otherwise unmount its ~40 mounts (RCU grace periods included)
     * before the exit is even signalled; with this reference that happens
     * at our close, after the exit was reported. The same for its network
     * namespace: its teardown (cleanup_net, expedited RCU grace periods
     * that interrupt every CPU) ran during the exit's report. */
    if (!sh->is_exec) {
        char ns[64];
        snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)sh->pid);
        sh->mntns_fd = open(ns, O_RDONLY | O_CLOEXEC);
        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)sh->pid);
        sh->netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
    }
    /* Report first, then record: the file is for a berthd restart. */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", sh->pid);
    for (shim_client_t *c = sh->clients; c; c = c->next)
        if (c->primary)
            client_send_json(sh, c, RT_FRAME_STARTED, cJSON_Duplicate(o, true));
    cJSON_Delete(o);
    rt_state_write_path(sh->state_path, &sh->st);
    for (int s = 1; s <= 2; s++)
        if (sh->out_fd[s] >= 0)
            ep_add(sh, EV_OUT, sh->out_fd[s], EPOLLIN);
    if (sh->stdin_fd >= 0 && sh->stdin_fd != sh->pty_master)
        ep_add(sh, EV_STDIN, sh->stdin_fd, 0);
    event_loop(sh);
    finish(sh);
    return 0;
}

/* The primary connection, out of the shim's hands (not closed): -1 if it
 * is gone or still has output to send. */
static int take_primary(shim_t *sh)
{
    for (shim_client_t **pp = &sh->clients; *pp; pp = &(*pp)->next) {
        shim_client_t *c = *pp;
        if (!c->primary)
            continue;
        if (c->closing || c->out.len)
            return -1;
        *pp = c->next;
        return client_release(sh, c);
    }
    return -1;
}

/* pool_parent, back_fd: see rt_shim_main_pool (0, NULL otherwise). */
static int shim_run(const char *spec_path, int primary_fd, pre_child_t *pre, pid_t pool_parent,
                    int *back_fd)
{
    shim_t sh;
    shim_init(&sh);
    sh.spec_path = spec_path;
    sh.pool_parent = pool_parent;
    if (pre)
        sh.pre = *pre;
    berth_err_t err = {0};
    setsid();
    setup_signals(&sh);
    pre_launch_path(&sh);
    if (rt_spec_load(spec_path, &sh.spec, &err) < 0) {
        log_error("%s", err.msg);
        if (primary_fd >= 0) {
            sh.process = &sh.spec.process;
            client_add(&sh, primary_fd, true);
            /* No run dir to record it in: the report goes to berthd only
             * (state_path stays NULL). */
            report_started_error(&sh, RT_EXIT_SETUP_FAILED, err.msg);
        }
        shim_free(&sh);
        return 1;
    }
    sh.process = &sh.spec.process;
    if (primary_fd >= 0)
        client_add(&sh, primary_fd, true);
    fs_mkdir_p(sh.spec.run_dir, 0700); /* the /etc files go there first */
    pre_launch_stdio(&sh);
    sh.state_path = xasprintf("%s/%s", sh.spec.run_dir, RT_STATE_FILE);
    rt_state_write_path(sh.state_path, &sh.st);
    int code = RT_EXIT_SETUP_FAILED;
    int rc = open_listener(&sh, &err);
    if (rc == 0 && sh.spec.log_path) {
        int lrc =
            rt_jsonlog_open(&sh.log, sh.spec.log_path, sh.spec.log_max_size, sh.spec.log_max_file);
        if (lrc < 0)
            rc = berth_err_sys(&err, -lrc, "opening log %s", sh.spec.log_path);
        else
            sh.logging = true;
    }
    if (rc == 0)
        rc = start_container(&sh, -1, -1, &code, &err);
    /* Exec'd (or failed): the init no longer stands in the pool dir. */
    pre_discard(&sh);
    prep_cleanup(&sh.pre);
    if (rc < 0 && sh.listen_fd >= 0) {
        cleanup_free char *sock = xasprintf("%s/%s", sh.spec.run_dir, RT_SOCKET_FILE);
        unlink(sock);
    }
    int ret = run_started(&sh, rc, code, &err);
    if (back_fd && sh.pool_offered)
        *back_fd = take_primary(&sh);
    shim_free(&sh);
    return ret;
}

int rt_shim_main_run(const char *spec_path, int primary_fd)
{
    return shim_run(spec_path, primary_fd, NULL, 0, NULL);
}

/* Clone the container's init ahead of need (best effort: -1 pid on failure,
 * the run then clones as usual). */
static void pre_clone(pre_child_t *pre)
{
    memset(pre, 0, sizeof(*pre));
    pre->pid = pre->pidfd = pre->sync = -1;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return;
    int pidfd = -1;
    pid_t pid = rt_clone3(CLONE_PIDFD | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                              CLONE_NEWNET,
                          &pidfd, -1);
    if (pid < 0) {
        close(sp[0]);
        close(sp[1]);
        return;
    }
    if (pid == 0) {
        int keep[] = {sp[1]};
        close_all_but(keep, ARRAY_SIZE(keep));
        rt_pre_child_main(sp[1]);
    }
    close(sp[1]);
    pre->pid = pid;
    pre->pidfd = pidfd;
    pre->sync = sp[0];
    /* v1: move it into a cgroup of its own now, while idle (see
     * rt_cgroup_adopt); v2 starts take the usual path. */
    if (rt_cgroup_version() != 1)
        return;
    char name[sizeof(pre->cgroup)];
    pool_cgroup_name(name, sizeof(name));
    /* Made, or kept from our last container (rt_cgroup_recycle). */
    rt_resources_t none = {0};
    berth_err_t err = {0};
    if (rt_cgroup_create(NULL, name, &none, &err) < 0 ||
        rt_cgroup_enter(NULL, name, pid, &err) < 0) {
        log_warn("pool cgroup: %s", err.msg);
        rt_cgroup_destroy(NULL, name);
        return;
    }
    memcpy(pre->cgroup, name, sizeof(name));
}

int rt_shim_main_exec(const char *exec_path, int primary_fd)
{
    shim_t sh;
    shim_init(&sh);
    sh.is_exec = true;
    berth_err_t err = {0};
    setsid();
    setup_signals(&sh);
    rt_exec_spec_t x;
    cleanup_free char *json = NULL;
    int rc = fs_read_file(exec_path, 1 << 20, &json, NULL);
    if (rc < 0) {
        log_error("reading %s: %s", exec_path, strerror(-rc));
        return 1;
    }
    if (rt_exec_spec_from_json(json, &x, &err) < 0 ||
        rt_spec_load(x.spec_path, &sh.spec, &err) < 0) {
        log_error("%s", err.msg);
        return 1;
    }
    sh.process = &x.process;
    sh.state_path = xstrdup(x.state_path);
    if (primary_fd >= 0)
        client_add(&sh, primary_fd, true);
    /* The exec runs with the container's settings, overridden by the exec's. */
    if (x.privileged)
        sh.spec.privileged = true;
    if (!x.process.user || !*x.process.user) {
        free(x.process.user);
        x.process.user = sh.spec.process.user ? xstrdup(sh.spec.process.user) : NULL;
        x.process.uid = sh.spec.process.uid;
        x.process.gid = sh.spec.process.gid;
    }
    int code = RT_EXIT_SETUP_FAILED;
    rt_state_t cst;
    int pidfd = -1;
    rc = rt_state_read(sh.spec.run_dir, &cst, &err);
    if (rc == 0 && (cst.status != RT_STATUS_RUNNING || cst.pid <= 0))
        rc = berth_err_set(&err, BERTH_E_CONFLICT, "container %s is not running", sh.spec.id);
    if (rc == 0 && (pidfd = rt_pidfd_open(cst.pid)) < 0)
        rc = berth_err_sys(&err, -pidfd, "container %s is not running", sh.spec.id);
    /* Only the exec'd child is born in the container's pid namespace: we go
     * back to our own right after clone, so nothing else we fork later (e.g.
     * a sanitizer's helper) ends up in a namespace that dies with the container. */
    int own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (rc == 0 && setns(pidfd, CLONE_NEWPID) < 0)
        rc = berth_err_sys(&err, errno, "joining the container's pid namespace");
    if (rc == 0)
        rc = start_container(&sh, pidfd, own_pidns, &code, &err);
    if (own_pidns >= 0)
        close(own_pidns);
    int ret = run_started(&sh, rc, code, &err);
    if (pidfd >= 0)
        close(pidfd);
    rt_exec_spec_free(&x);
    shim_free(&sh);
    return ret;
}

/* berthd asks for a rootfs prepared ahead (prep.c): claim its upper and
 * work dirs (the ones berthd gave back, a recycled pair or a new upper dir)
 * and pass the request on to the pre-cloned init with a detached mount of
 * the overlay (the one kept from the last container when it is over these
 * very dirs). Only for the early path (v1 pool cgroup); one per shim; best
 * effort. Any request but a taken one ends the kept overlay. */
static void pool_prep(pre_child_t *pre, const char *text)
{
    if (pre->prep.dir)
        return;
    if (pre->pid <= 0 || !pre->cgroup[0] || strlen(text) > PATH_MAX ||
        rt_prep_decode(text, &pre->prep) < 0) {
        rt_prep_overlay_drop(pre->overlay);
        return;
    }
    cleanup_free char *upper = rt_prep_path(&pre->prep, "upper");
    if (rt_prep_identify(&pre->prep) < 0 ||
        (!rt_prep_take_returned(&pre->prep) && !rt_prep_take_recycled(&pre->prep) &&
         mkdir(upper, 0755) < 0)) {
        rt_prep_overlay_drop(pre->overlay);
        rt_prep_free(&pre->prep); /* not ours to use (or remove) */
        return;
    }
    berth_err_t err = {0};
    int fds[3] = {rt_prep_overlay_for(&pre->prep, pre->overlay, &err), -1, -1};
    if (fds[0] < 0) { /* the init tries the mount itself */
        log_warn("pooled rootfs: %s", err.msg);
        err = (berth_err_t){0};
    }
    int rc = rt_pre_send(pre->sync, PRE_PREP_TAG, '-', fds, text, &err);
    if (fds[0] >= 0)
        close(fds[0]);
    if (rc < 0)
        prep_cleanup(pre);
}

/* One turn of a pool shim: idle until berthd hands it a start, then run
 * that container. *back_fd: the connection to berthd again when the shim
 * may idle once more, else -1. */
static int pool_turn(int primary_fd, pid_t parent, int *back_fd, rt_prep_overlay_t *overlay)
{
    *back_fd = -1;
    /* An idle pooled shim belongs to the berthd that spawned it: gone with it
     * (kill -9 included), never adopted as a container after a restart. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent || parent == 1)
        return 0;
    /* What rt_shim_main_run does before its clone, so the pre-cloned init
     * starts from the same session and signal state. */
    setsid();
    sigset_t set;
    block_signals(&set);
    pre_child_t pre;
    pre_clone(&pre);
    pre.overlay = overlay;
    rt_prefault_when_idle(primary_fd);
    int ret = 0;
    char path[RT_POOL_MSG_MAX];
    uint32_t len = 0;
    for (;;) {
        ssize_t n;
        do
            n = recv(primary_fd, &len, sizeof(len), MSG_WAITALL);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(len) || len == 0 || len >= sizeof(path))
            goto idle_exit;
        do
            n = recv(primary_fd, path, len, MSG_WAITALL);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)len)
            goto idle_exit;
        path[len] = '\0';
        if (path[0] != RT_POOL_PREP_TAG)
            break; /* the runtime.json path: a start */
        pool_prep(&pre, path + 1);
        rt_prefault_when_idle(primary_fd);
    }
    /* From here on the shim owns a container and must outlive berthd, at
     * the normal priority (idle, it ran at nice 19: berth-shim_main.c), and
     * so does the container's init. */
    prctl(PR_SET_PDEATHSIG, 0);
    setpriority(PRIO_PROCESS, 0, 0);
    if (pre.pid > 0 && setpriority(PRIO_PROCESS, (id_t)pre.pid, 0) < 0)
        pre_kill(&pre); /* an init we cannot restore must not run a container */
    if (pre.pid <= 0)
        prep_cleanup(&pre);
    return shim_run(path, primary_fd, pre.pid > 0 ? &pre : NULL, parent, back_fd);

idle_exit:
    pre_kill(&pre);
    prep_cleanup(&pre);
    return ret;
}

/* A pool shim runs one container after another: after each exit it offers
 * berthd to idle in its pool again (the EXIT frame's "pool"), and berthd
 * either keeps the connection (pool messages follow) or closes it (EOF: the
 * shim exits). Going back saves the next start's pool shim a fork, its
 * copy-on-write faults and its exit: ~2 ms of CPU per run on this VM. */
int rt_shim_main_pool(int primary_fd)
{
    pid_t parent = getppid();
    /* On the way out: no next init for a recycled cgroup (rt_cgroup_recycle). */
    char pool_cgroup[32];
    pool_cgroup_name(pool_cgroup, sizeof(pool_cgroup));
    rt_prep_overlay_t overlay; /* from one turn to the next (pool_prep) */
    rt_prep_overlay_init(&overlay);
    for (;;) {
        int back_fd;
        int ret = pool_turn(primary_fd, parent, &back_fd, &overlay);
        if (back_fd < 0) {
            rt_cgroup_destroy(NULL, pool_cgroup);
            return ret;
        }
        primary_fd = back_fd;
        /* berthd closes the connection when it does not want us back. */
        char peek;
        if (recv(primary_fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            rt_cgroup_destroy(NULL, pool_cgroup);
            return ret;
        }
        /* As a fresh pool shim: stdio, the connection and the kept overlay
         * only, blocking, nice 19 (berth-shim_main.c). */
        int keep[] = {primary_fd, overlay.fd};
        close_all_but(keep, ARRAY_SIZE(keep));
        int fl = fcntl(primary_fd, F_GETFL);
        if (fl >= 0)
            fcntl(primary_fd, F_SETFL, fl & ~O_NONBLOCK);
        setpriority(PRIO_PROCESS, 0, 19);
    }
}
