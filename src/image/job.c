/* Child-process jobs: heavy image work (unpack, tar, hashing) runs in the
 * berth-imagejob helper so the loop never blocks and berthd never maps
 * libarchive. The job's arguments travel as JSON on the command line; the
 * result comes back over a pipe as one JSON object; reaping uses a pidfd so
 * we never wait on children that are not ours. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <string.h>
#include <libgen.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "image/internal.h"

static int pidfd_open_compat(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void job_unlink(img_job_t *job)
{
    img_job_t **pp = &job->store->jobs;
    while (*pp && *pp != job)
        pp = &(*pp)->next;
    if (*pp)
        *pp = job->next;
}

static void job_free_if_done(img_job_t *job)
{
    if (job->handles_open > 0 || !job->free_requested || (job->proc_running && job->pidfd >= 0))
        return;
    buf_free(&job->res_buf);
    free(job);
}

static void handle_closed_cb(uv_handle_t *h)
{
    img_job_t *job = h->data;
    job->handles_open--;
    job_free_if_done(job);
}

static void close_handle(img_job_t *job, uv_handle_t *h, bool *open_flag)
{
    if (!*open_flag)
        return;
    *open_flag = false;
    job->handles_open++;
    uv_close(h, handle_closed_cb);
}

static void job_maybe_done(img_job_t *job)
{
    if (job->done_called || job->res_open || job->out_open || job->proc_running)
        return;
    job->done_called = true;
    close_handle(job, (uv_handle_t *)&job->in_pipe, &job->in_open);
    job_unlink(job);
    cJSON *res = job->res_buf.len ? cJSON_Parse(job->res_buf.data) : NULL;
    if (!job->cancelled && job->on_done)
        job->on_done(job, res, job->data);
    cJSON_Delete(res);
    job->free_requested = true;
    job_free_if_done(job);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    UNUSED(h);
    UNUSED(suggested);
    buf->base = xmalloc(64 * 1024);
    buf->len = 64 * 1024;
}

static void res_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    img_job_t *job = st->data;
    if (n > 0 && job->res_buf.len < 1024 * 1024)
        buf_append(&job->res_buf, buf->base, (size_t)n);
    free(buf->base);
    if (n < 0) {
        close_handle(job, (uv_handle_t *)&job->res_pipe, &job->res_open);
        job_maybe_done(job);
    }
}

static void out_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    img_job_t *job = st->data;
    if (n > 0 && !job->cancelled && job->on_out)
        job->on_out(job, buf->base, (size_t)n, job->data);
    free(buf->base);
    if (n < 0) {
        close_handle(job, (uv_handle_t *)&job->out_pipe, &job->out_open);
        job_maybe_done(job);
    }
}

static void pid_poll_cb(uv_poll_t *p, int status, int events)
{
    UNUSED(status);
    UNUSED(events);
    img_job_t *job = p->data;
    int st = 0;
    pid_t r = waitpid(job->pid, &st, WNOHANG);
    if (r == 0)
        return;
    /* r < 0 (ECHILD): someone else reaped it; the result pipe tells the outcome. */
    job->exit_status = r > 0 ? st : -1;
    uv_poll_stop(p);
    close(job->pidfd);
    job->pidfd = -1;
    job->proc_running = false;
    job->handles_open++;
    uv_close((uv_handle_t *)p, handle_closed_cb);
    job_maybe_done(job);
}

static int make_pipe(int fds[2])
{
    return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

char *img_job_default_path(void)
{
    const char *env = getenv("BERTH_IMAGEJOB");
    if (env && *env)
        return xstrdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return xstrdup("/usr/local/bin/berth-imagejob");
    self[n] = '\0';
    char *dir = dirname(self);
    char *p = xasprintf("%s/berth-imagejob", dir);
    if (access(p, X_OK) == 0)
        return p;
    char *up = xasprintf("%s/../berth-imagejob", dir);
    if (access(up, X_OK) == 0) {
        free(p);
        return up;
    }
    free(up);
    return p;
}

/* posix_spawn's dup2 onto fds 3..5 must not clobber a source that sits
 * there: move such sources above them first (CLOEXEC, the parent closes). */
static int high_fd(int fd, int *tmp)
{
    *tmp = -1;
    if (fd < 0 || fd > 5)
        return fd;
    *tmp = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    return *tmp;
}

int img_job_start(img_store_t *s, const char *kind, cJSON *args, bool want_in, bool want_out,
                  img_job_t **out, berth_err_t *err)
{
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, res_p[2] = {-1, -1};
    int tmp[3] = {-1, -1, -1};
    char *args_txt = cJSON_PrintUnformatted(args);
    cJSON_Delete(args);
    int r;
    if ((want_in && (r = make_pipe(in_p)) < 0) || (want_out && (r = make_pipe(out_p)) < 0) ||
        (r = make_pipe(res_p)) < 0) {
        berth_err_sys(err, -r, "creating pipe");
        goto fail;
    }
    /* Bigger pipes: fewer wakeups per MiB, and img_job_write can hand most
     * bytes to the kernel at once instead of queueing copies (best effort). */
    if (want_in)
        fcntl(in_p[1], F_SETPIPE_SZ, IMG_JOB_PIPE_SIZE);
    if (want_out)
        fcntl(out_p[1], F_SETPIPE_SZ, IMG_JOB_PIPE_SIZE);
    const char *path = s->job_path ? s->job_path : "berth-imagejob";
    char ppid[24];
    snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
    /* The arguments travel in a memfd on the helper's fd 6: one argv string
     * is capped at 128 KiB by the kernel, and a save of many images can
     * exceed that. */
    int args_fd = memfd_create("berth-job-args", MFD_CLOEXEC), args_fd_tmp = -1;
    if (args_fd < 0) {
        berth_err_sys(err, errno, "passing the job's arguments");
        goto fail;
    }
    r = args_txt ? fs_write_all(args_fd, args_txt, strlen(args_txt)) : -ENOMEM;
    if (r < 0 || lseek(args_fd, 0, SEEK_SET) < 0) {
        berth_err_sys(err, r < 0 ? -r : errno, "passing the job's arguments");
        close(args_fd);
        goto fail;
    }
    char args_arg[] = "@6";
    char *argv[] = {(char *)path, (char *)kind, s->root, args_arg, ppid, NULL};
    /* posix_spawn (vfork-like in glibc): no copy of berthd's page tables.
     * The helper sets its own death signal and niceness (see job_child.c). */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int src[3] = {want_in ? high_fd(in_p[0], &tmp[0]) : -1,
                  want_out ? high_fd(out_p[1], &tmp[1]) : -1, high_fd(res_p[1], &tmp[2])};
    for (int i = 0; i < 3; i++) {
        if (src[i] >= 0)
            posix_spawn_file_actions_adddup2(&fa, src[i], 3 + i);
        else
            posix_spawn_file_actions_addopen(&fa, 3 + i, "/dev/null", O_RDWR, 0);
    }
    posix_spawn_file_actions_adddup2(&fa, high_fd(args_fd, &args_fd_tmp), 6);
    /* Belt and braces: every berthd fd is O_CLOEXEC, but a helper that parses
     * untrusted archives gets nothing beyond its own fds. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 7);
    berth_spawnattr_init(&attr, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 3; i++)
        if (tmp[i] >= 0)
            close(tmp[i]);
    if (args_fd_tmp >= 0)
        close(args_fd_tmp);
    close(args_fd);
    free(args_txt);
    args_txt = NULL;
    if (rc != 0) {
        berth_err_set(err, BERTH_E_INTERNAL, "starting image helper %s: %s", path, strerror(rc));
        goto fail;
    }
    close(res_p[1]);
    if (want_in)
        close(in_p[0]);
    if (want_out)
        close(out_p[1]);
    img_job_t *job = xcalloc(1, sizeof(*job));
    job->store = s;
    job->pid = pid;
    buf_init(&job->res_buf);
    job->pidfd = pidfd_open_compat(pid);
    uv_pipe_init(s->loop, &job->res_pipe, 0);
    uv_pipe_open(&job->res_pipe, res_p[0]);
    job->res_pipe.data = job;
    job->res_open = true;
    uv_read_start((uv_stream_t *)&job->res_pipe, alloc_cb, res_read_cb);
    if (want_out) {
        uv_pipe_init(s->loop, &job->out_pipe, 0);
        uv_pipe_open(&job->out_pipe, out_p[0]);
        job->out_pipe.data = job;
        job->out_open = true;
        job->has_out = true;
        uv_read_start((uv_stream_t *)&job->out_pipe, alloc_cb, out_read_cb);
    }
    if (want_in) {
        uv_pipe_init(s->loop, &job->in_pipe, 0);
        uv_pipe_open(&job->in_pipe, in_p[1]);
        job->in_pipe.data = job;
        job->in_open = true;
        job->has_in = true;
    }
    job->proc_running = true;
    if (job->pidfd >= 0) {
        uv_poll_init(s->loop, &job->pid_poll, job->pidfd);
        job->pid_poll.data = job;
        uv_poll_start(&job->pid_poll, UV_READABLE, pid_poll_cb);
    } else {
        /* No pidfd (old kernel): the result pipe's EOF stands for the exit. */
        job->proc_running = false;
    }
    job->next = s->jobs;
    s->jobs = job;
    *out = job;
    return 0;
fail:
    free(args_txt);
    for (int i = 0; i < 2; i++) {
        if (in_p[i] >= 0)
            close(in_p[i]);
        if (out_p[i] >= 0)
            close(out_p[i]);
        if (res_p[i] >= 0)
            close(res_p[i]);
    }
    return -1;
}

typedef struct job_write {
    uv_write_t req;
    img_job_t *job;
    size_t len;
    char data[];
} job_write_t;

static void write_cb(uv_write_t *req, int status)
{
    job_write_t *w = (job_write_t *)req;
    img_job_t *job = w->job;
    job->pending -= w->len;
    free(w);
    if (status < 0 && job->in_open) {
        /* The child stopped reading (it failed); its result says why. */
        close_handle(job, (uv_handle_t *)&job->in_pipe, &job->in_open);
    }
    if (job->above_water && job->pending < IMG_JOB_LOW_WATER) {
        job->above_water = false;
        /* after done the owner may be gone: only a live job reports drains */
        if (!job->cancelled && !job->done_called && job->on_drain)
            job->on_drain(job, job->data);
    }
    job_free_if_done(job);
}

int img_job_write(img_job_t *job, const void *buf, size_t len)
{
    if (!job->in_open)
        return -EPIPE;
    if (job->pending == 0) {
        /* Nothing queued: write straight from the caller's buffer, queue
         * (a copy of) only what the pipe did not take. */
        uv_buf_t direct = uv_buf_init((char *)buf, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&job->in_pipe, &direct, 1);
        if (n > 0) {
            buf = (const char *)buf + n;
            len -= (size_t)n;
        } else if (n < 0 && n != UV_EAGAIN) {
            return -EPIPE;
        }
        if (len == 0)
            return 0;
    }
    job_write_t *w = xmalloc(sizeof(*w) + len);
    w->job = job;
    w->len = len;
    memcpy(w->data, buf, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    job->pending += len;
    int r = uv_write(&w->req, (uv_stream_t *)&job->in_pipe, &b, 1, write_cb);
    if (r < 0) {
        job->pending -= len;
        free(w);
        return -EPIPE;
    }
    if (job->pending >= IMG_JOB_HIGH_WATER)
        job->above_water = true;
    return 0;
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    UNUSED(status);
    img_job_t *job = req->data;
    free(req);
    close_handle(job, (uv_handle_t *)&job->in_pipe, &job->in_open);
    job->handles_open--;
    job_free_if_done(job);
}

void img_job_end_input(img_job_t *job)
{
    if (!job->in_open)
        return;
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = job;
    job->handles_open++; /* keeps job alive until shutdown_cb */
    if (uv_shutdown(req, (uv_stream_t *)&job->in_pipe, shutdown_cb) < 0) {
        free(req);
        job->handles_open--;
        close_handle(job, (uv_handle_t *)&job->in_pipe, &job->in_open);
    }
}

void img_job_pause_out(img_job_t *job)
{
    if (job->out_open && !job->out_paused) {
        uv_read_stop((uv_stream_t *)&job->out_pipe);
        job->out_paused = true;
    }
}

void img_job_resume_out(img_job_t *job)
{
    if (job->out_open && job->out_paused) {
        uv_read_start((uv_stream_t *)&job->out_pipe, alloc_cb, out_read_cb);
        job->out_paused = false;
    }
}

void img_job_cancel(img_job_t *job)
{
    job->cancelled = true;
    if (job->proc_running)
        kill(job->pid, SIGKILL);
    close_handle(job, (uv_handle_t *)&job->in_pipe, &job->in_open);
    close_handle(job, (uv_handle_t *)&job->out_pipe, &job->out_open);
    close_handle(job, (uv_handle_t *)&job->res_pipe, &job->res_open);
    if (job->proc_running) {
        /* SIGKILL makes the pidfd readable soon; reap then. */
        job_unlink(job);
        job->done_called = true;
        job->free_requested = true;
        if (job->pidfd < 0)
            job_free_if_done(job);
        return;
    }
    job_maybe_done(job);
}

bool img_job_result_error(const cJSON *result, berth_err_t *err)
{
    if (!result) {
        berth_err_set(err, BERTH_E_INTERNAL, "image helper process died");
        return true;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(result, "error");
    if (!cJSON_IsString(e))
        return false;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(result, "status");
    berth_err_set(err, cJSON_IsNumber(st) ? st->valueint : 500, "%s", e->valuestring);
    return true;
}
