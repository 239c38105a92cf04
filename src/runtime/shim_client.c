/* runtime: berthd's side of the shim protocol on the libuv loop. One rt_shim_t
 * per shim connection; see the callback rules in include/berth/runtime.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"

struct rt_shim {
    uv_loop_t *loop;
    uv_pipe_t conn;
    uv_poll_t poll;
    bool has_conn, has_poll;
    int pidfd;
    rt_shim_callbacks_t cbs;
    void *data;
    berth_buf_t in;
    char *state_path;
    pid_t shim_pid;
    bool shim_exited, conn_eof, started_reported, finished, detached;
    bool exit_seen;   /* the EXIT frame came: state.json holds the exit */
    bool exit_parsed; /* ... and exit_st has what it said */
    bool pool_offer;  /* ... and it offered to go back to the pool */
    bool handed_off;  /* the pool took the shim process (reuse_cb) */
    rt_state_t exit_st;
    int open_handles;
};

typedef struct {
    uv_write_t req;
    char bytes[]; /* header + payload */
} shim_write_t;

static void handle_closed_cb(uv_handle_t *h)
{
    rt_shim_t *sh = h->data;
    if (--sh->open_handles == 0) {
        if (sh->pidfd >= 0)
            close(sh->pidfd);
        buf_free(&sh->in);
        free(sh->state_path);
        free(sh);
    }
}

/* A finished shim that is still exiting keeps its pidfd watch until it is
 * reaped (pidfd_cb); detach drops everything. */
static void close_all(rt_shim_t *sh)
{
    if (sh->has_conn && !uv_is_closing((uv_handle_t *)&sh->conn))
        uv_close((uv_handle_t *)&sh->conn, handle_closed_cb);
    bool reap_later = sh->finished && !sh->detached && !sh->shim_exited && !sh->handed_off;
    if (sh->has_poll && !reap_later && !uv_is_closing((uv_handle_t *)&sh->poll))
        uv_close((uv_handle_t *)&sh->poll, handle_closed_cb);
}

static void pidfd_cb(uv_poll_t *p, int status, int events);

/* The shim offered to idle in the pool again: give the pool its process
 * (pidfd, watched there from now on) and a duplicate of its connection
 * (ours closes with the handle). Before exit_cb, which may free data. */
static void hand_off(rt_shim_t *sh)
{
    uv_os_fd_t conn_fd;
    if (!sh->cbs.reuse_cb || !sh->has_conn || sh->conn_eof || sh->shim_exited || sh->pidfd < 0 ||
        uv_fileno((uv_handle_t *)&sh->conn, &conn_fd) != 0)
        return;
    int fd = fcntl(conn_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return;
    uv_poll_stop(&sh->poll); /* one watcher per fd: the pool's from now on */
    if (sh->cbs.reuse_cb(sh->shim_pid, sh->pidfd, fd, sh->data) == 0) {
        sh->pidfd = -1;
        sh->handed_off = true;
        return;
    }
    close(fd);
    uv_poll_start(&sh->poll, UV_READABLE, pidfd_cb);
}

/* The exit is reported as soon as the shim's EXIT frame arrives (it wrote
 * state.json first), not when its process is gone: its own exit takes
 * ~0.5 ms that a 'run --rm' would otherwise wait for. Without the frame
 * (the shim died), when both its process and its connection are gone. */
static void maybe_finish(rt_shim_t *sh)
{
    if (sh->finished || sh->detached)
        return;
    if (!sh->exit_seen && (!sh->shim_exited || (sh->has_conn && !sh->conn_eof)))
        return;
    sh->finished = true;
    rt_state_t st;
    berth_err_t err = {0};
    if (sh->exit_parsed) {
        st = sh->exit_st; /* the frame says all an exit needs: no file to read */
    } else if (rt_state_read_path(sh->state_path, &st, &err) < 0 || st.status != RT_STATUS_EXITED) {
        memset(&st, 0, sizeof(st));
        st.status = RT_STATUS_EXITED;
        st.exit_code = 255;
        st.finished_ns = berth_now_ns();
        cleanup_free char *msg = xasprintf("shim exited without recording the exit status%s%s",
                                           err.msg[0] ? ": " : "", err.msg);
        snprintf(st.error, sizeof(st.error), "%.*s", (int)sizeof(st.error) - 1, msg);
    }
    if (!sh->started_reported) {
        sh->started_reported = true;
        if (sh->cbs.started_cb)
            sh->cbs.started_cb(sh, 0, st.exit_code ? st.exit_code : RT_EXIT_SETUP_FAILED,
                               st.error[0] ? st.error : "container failed to start", sh->data);
    }
    if (sh->pool_offer)
        hand_off(sh);
    if (sh->cbs.exit_cb)
        sh->cbs.exit_cb(sh, &st, sh->data);
    close_all(sh);
}

/* The EXIT frame's {"exit_code","signal","oom_killed","finished_ns"}: what
 * the shim also wrote to state.json right before. False if malformed. */
static bool exit_from_frame(const char *p, size_t len, rt_state_t *st, bool *pool_offer)
{
    cleanup_free char *txt = xstrndup(p, len);
    berth_err_t err = {0};
    if (!strstr(txt, "\"exit_code\":") || !strstr(txt, "\"finished_ns\":") ||
        rt_state_from_json(txt, st, &err) < 0)
        return false;
    st->status = RT_STATUS_EXITED;
    *pool_offer = strstr(txt, "\"pool\":true") != NULL;
    return true;
}

static void on_frame(rt_shim_t *sh, int type, const char *p, size_t len)
{
    if (sh->detached)
        return;
    if ((type == RT_FRAME_STDOUT || type == RT_FRAME_STDERR) && sh->cbs.output_cb) {
        sh->cbs.output_cb(sh, type, p, len, sh->data);
    } else if (type == RT_FRAME_STARTED && !sh->started_reported) {
        sh->started_reported = true;
        cleanup_free char *txt = xstrndup(p, len);
        cJSON *o = cJSON_Parse(txt);
        pid_t pid = (pid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "pid"));
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(o, "error"));
        int code = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "exit_code"));
        if (sh->cbs.started_cb)
            sh->cbs.started_cb(sh, e ? 0 : (pid > 0 ? pid : 0), e ? code : 0,
                               e ? e : (pid > 0 ? NULL : "bad start report"), sh->data);
        cJSON_Delete(o);
    } else if (type == RT_FRAME_EXIT) {
        sh->exit_seen = true; /* read_cb finishes after this batch of frames */
        sh->exit_parsed = exit_from_frame(p, len, &sh->exit_st, &sh->pool_offer);
    }
    /* REPLY needs no action here. */
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = xmalloc(65536);
    buf->len = 65536;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    rt_shim_t *sh = s->data;
    if (n > 0)
        buf_append(&sh->in, buf->base, (size_t)n);
    free(buf->base);
    while (sh->in.len >= RT_FRAME_HEADER_LEN && !sh->finished) {
        const uint8_t *h = (const uint8_t *)sh->in.data;
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (len > RT_FRAME_MAX_PAYLOAD) {
            n = UV_EPROTO;
            break;
        }
        if (sh->in.len < RT_FRAME_HEADER_LEN + len)
            break;
        on_frame(sh, h[0], sh->in.data + RT_FRAME_HEADER_LEN, len);
        buf_consume(&sh->in, RT_FRAME_HEADER_LEN + len);
    }
    if (sh->exit_seen)
        maybe_finish(sh);
    if (n < 0 && !sh->finished) {
        uv_read_stop(s);
        sh->conn_eof = true;
        maybe_finish(sh);
    }
}

static void pidfd_cb(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    rt_shim_t *sh = p->data;
    uv_poll_stop(p);
    /* Reap it when it is our child (spawned here); an adopted shim is not,
     * and then this fails with ECHILD. */
    siginfo_t info;
    while (waitid(P_PIDFD, (id_t)sh->pidfd, &info, WEXITED | WNOHANG) < 0 && errno == EINTR)
        ;
    sh->shim_exited = true;
    if (sh->finished)
        close_all(sh); /* reported at its EXIT frame; now reaped too */
    else
        maybe_finish(sh);
}

static rt_shim_t *shim_new(uv_loop_t *loop, const rt_shim_callbacks_t *cbs, void *data)
{
    rt_shim_t *sh = xcalloc(1, sizeof(*sh));
    sh->loop = loop;
    sh->cbs = *cbs;
    sh->data = data;
    sh->pidfd = -1;
    buf_init(&sh->in);
    return sh;
}

static int open_conn(rt_shim_t *sh, int fd, berth_err_t *err)
{
    int rc = uv_pipe_init(sh->loop, &sh->conn, 0);
    if (rc == 0)
        rc = uv_pipe_open(&sh->conn, fd);
    if (rc < 0)
        return berth_err_set(err, BERTH_E_INTERNAL, "shim connection: %s", uv_strerror(rc));
    sh->conn.data = sh;
    sh->has_conn = true;
    sh->open_handles++;
    uv_read_start((uv_stream_t *)&sh->conn, alloc_cb, read_cb);
    return 0;
}

rt_shim_t *rt_shim_wrap(uv_loop_t *loop, pid_t pid, int pidfd, int fd, char *state_path,
                        const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err)
{
    rt_shim_t *sh = shim_new(loop, cbs, data);
    sh->state_path = state_path;
    sh->shim_pid = pid;
    sh->pidfd = pidfd;
    uv_poll_init(loop, &sh->poll, pidfd);
    sh->poll.data = sh;
    sh->has_poll = true;
    sh->open_handles++;
    uv_poll_start(&sh->poll, UV_READABLE, pidfd_cb);
    if (open_conn(sh, fd, err) < 0) {
        close(fd);
        rt_shim_detach(sh);
        return NULL;
    }
    return sh;
}

static rt_shim_t *spawn(uv_loop_t *loop, const char *shim_path, const char *mode, const char *arg,
                        char *state_path, const rt_shim_callbacks_t *cbs, void *data,
                        berth_err_t *err)
{
    pid_t pid;
    int pidfd, fd;
    if (rt_shim_spawn_proc(shim_path, mode, arg, NULL, &pid, &pidfd, &fd, err) < 0) {
        free(state_path);
        return NULL;
    }
    return rt_shim_wrap(loop, pid, pidfd, fd, state_path, cbs, data, err);
}

rt_shim_t *rt_shim_spawn(uv_loop_t *loop, const char *shim_path, const rt_spec_t *spec,
                         const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err)
{
    if (!spec->bundle || !spec->run_dir) {
        berth_err_set(err, BERTH_E_INVALID, "runtime spec without bundle/run_dir");
        return NULL;
    }
    cleanup_free char *spec_path = xasprintf("%s/%s", spec->bundle, RT_SPEC_FILE);
    return spawn(loop, shim_path, "run", spec_path,
                 xasprintf("%s/%s", spec->run_dir, RT_STATE_FILE), cbs, data, err);
}

rt_shim_t *rt_shim_spawn_exec(uv_loop_t *loop, const char *shim_path, const char *exec_json_path,
                              const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err)
{
    cleanup_free char *json = NULL;
    int rc = fs_read_file(exec_json_path, 1 << 20, &json, NULL);
    if (rc < 0) {
        berth_err_sys(err, -rc, "reading %s", exec_json_path);
        return NULL;
    }
    rt_exec_spec_t x;
    if (rt_exec_spec_from_json(json, &x, err) < 0)
        return NULL;
    char *state_path = xstrdup(x.state_path);
    rt_exec_spec_free(&x);
    return spawn(loop, shim_path, "exec", exec_json_path, state_path, cbs, data, err);
}

static int connect_sock(const char *run_dir, berth_err_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", run_dir, RT_SOCKET_FILE) >=
        (int)sizeof(sa.sun_path))
        return berth_err_set(err, BERTH_E_INTERNAL, "socket path too long");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_err_sys(err, errno, "socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return berth_err_sys(err, e, "connecting to %s", sa.sun_path);
    }
    return fd;
}

static int send_frame_blocking(int fd, int type, const char *payload, size_t len)
{
    uint8_t hdr[RT_FRAME_HEADER_LEN];
    rt_frame_header(hdr, (enum rt_frame_type)type, (uint32_t)len);
    int rc = fs_write_all(fd, hdr, sizeof(hdr));
    return rc < 0 ? rc : fs_write_all(fd, payload, len);
}

rt_shim_t *rt_shim_connect(uv_loop_t *loop, const char *run_dir, const rt_shim_callbacks_t *cbs,
                           void *data, berth_err_t *err)
{
    rt_state_t st;
    if (rt_state_read(run_dir, &st, err) < 0)
        return NULL;
    if (st.status != RT_STATUS_RUNNING || st.shim_pid <= 0) {
        berth_err_set(err, BERTH_E_CONFLICT, "container is not running");
        return NULL;
    }
    int pidfd = rt_pidfd_open(st.shim_pid);
    if (pidfd < 0) {
        berth_err_sys(err, -pidfd, "shim %d is gone", (int)st.shim_pid);
        return NULL;
    }
    int fd = connect_sock(run_dir, err);
    if (fd < 0) {
        close(pidfd);
        return NULL;
    }
    const char *req = "{\"op\":\"attach\",\"stdin\":true,\"stdout\":true,\"stderr\":true}";
    if (send_frame_blocking(fd, RT_FRAME_REQUEST, req, strlen(req)) < 0) {
        close(fd);
        close(pidfd);
        berth_err_set(err, BERTH_E_INTERNAL, "attaching to the shim failed");
        return NULL;
    }
    rt_shim_t *sh = shim_new(loop, cbs, data);
    sh->started_reported = true;
    sh->shim_pid = st.shim_pid;
    sh->state_path = xasprintf("%s/%s", run_dir, RT_STATE_FILE);
    sh->pidfd = pidfd;
    uv_poll_init(loop, &sh->poll, pidfd);
    sh->poll.data = sh;
    sh->has_poll = true;
    sh->open_handles++;
    uv_poll_start(&sh->poll, UV_READABLE, pidfd_cb);
    if (open_conn(sh, fd, err) < 0) {
        close(fd);
        rt_shim_detach(sh);
        return NULL;
    }
    return sh;
}

static void write_done_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static int send_frame(rt_shim_t *sh, int type, const void *payload, size_t len)
{
    if (!sh->has_conn || sh->conn_eof || sh->finished || sh->detached)
        return -EPIPE;
    if (len > RT_FRAME_MAX_PAYLOAD)
        return -E2BIG;
    shim_write_t *w = xmalloc(sizeof(*w) + RT_FRAME_HEADER_LEN + len);
    rt_frame_header((uint8_t *)w->bytes, (enum rt_frame_type)type, (uint32_t)len);
    if (len)
        memcpy(w->bytes + RT_FRAME_HEADER_LEN, payload, len);
    uv_buf_t b = uv_buf_init(w->bytes, (unsigned)(RT_FRAME_HEADER_LEN + len));
    int rc = uv_write(&w->req, (uv_stream_t *)&sh->conn, &b, 1, write_done_cb);
    if (rc < 0) {
        free(w);
        return rc;
    }
    return 0;
}

int rt_shim_write_stdin(rt_shim_t *sh, const void *buf, size_t len)
{
    const char *p = buf;
    if (len == 0)
        return send_frame(sh, RT_FRAME_STDIN, NULL, 0);
    while (len) {
        size_t n = len > RT_FRAME_MAX_PAYLOAD ? RT_FRAME_MAX_PAYLOAD : len;
        int rc = send_frame(sh, RT_FRAME_STDIN, p, n);
        if (rc < 0)
            return rc;
        p += n;
        len -= n;
    }
    return 0;
}

int rt_shim_resize(rt_shim_t *sh, unsigned rows, unsigned cols)
{
    char req[96];
    int n = snprintf(req, sizeof(req), "{\"op\":\"resize\",\"rows\":%u,\"cols\":%u}", rows, cols);
    return send_frame(sh, RT_FRAME_REQUEST, req, (size_t)n);
}

int rt_shim_kill(rt_shim_t *sh, int sig)
{
    char req[64];
    int n = snprintf(req, sizeof(req), "{\"op\":\"kill\",\"signal\":%d}", sig);
    return send_frame(sh, RT_FRAME_REQUEST, req, (size_t)n);
}

pid_t rt_shim_pid(const rt_shim_t *sh)
{
    return sh->shim_pid;
}

void rt_shim_detach(rt_shim_t *sh)
{
    if (sh->detached)
        return;
    sh->detached = true;
    if (sh->open_handles == 0) {
        sh->open_handles = 1; /* free via the same path */
        if (sh->pidfd >= 0)
            close(sh->pidfd);
        buf_free(&sh->in);
        free(sh->state_path);
        free(sh);
        return;
    }
    close_all(sh);
}

int rt_shim_request(const char *run_dir, const char *request_json, char **reply)
{
    berth_err_t err = {0};
    if (reply)
        *reply = NULL;
    cleanup_close int fd = connect_sock(run_dir, &err);
    if (fd < 0)
        return err.code ? -err.code : -ECONNREFUSED;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int rc = send_frame_blocking(fd, RT_FRAME_REQUEST, request_json, strlen(request_json));
    if (rc < 0)
        return rc;
    for (;;) {
        uint8_t hdr[RT_FRAME_HEADER_LEN];
        size_t got = 0;
        while (got < sizeof(hdr)) {
            ssize_t n = read(fd, hdr + got, sizeof(hdr) - got);
            if (n <= 0)
                return n < 0 ? -errno : -ECONNRESET;
            got += (size_t)n;
        }
        uint32_t len =
            (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
        if (len > RT_FRAME_MAX_PAYLOAD)
            return -EPROTO;
        char *payload = xmalloc(len + 1);
        got = 0;
        while (got < len) {
            ssize_t n = read(fd, payload + got, len - got);
            if (n <= 0) {
                free(payload);
                return n < 0 ? -errno : -ECONNRESET;
            }
            got += (size_t)n;
        }
        payload[len] = '\0';
        if (hdr[0] == RT_FRAME_REPLY) {
            if (reply)
                *reply = payload;
            else
                free(payload);
            return 0;
        }
        free(payload);
    }
}

int rt_cleanup(const rt_spec_t *spec, berth_err_t *err)
{
    int rc = rt_cgroup_destroy(spec->cgroup_parent, spec->id);
    if (spec->run_dir) {
        static const char *const files[] = {RT_SOCKET_FILE, RT_STATE_FILE, RT_STATE_FILE ".tmp"};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
            cleanup_free char *p = xasprintf("%s/%s", spec->run_dir, files[i]);
            unlink(p);
        }
        rmdir(spec->run_dir); /* exec state files may remain: berthd owns them */
    }
    if (spec->workdir) {
        cleanup_free char *inc = xasprintf("%s/work/incompat", spec->workdir);
        fs_rm_rf(inc);
    }
    if (rc < 0)
        return berth_err_sys(err, -rc, "removing cgroup of %s", spec->id);
    return 0;
}
