/* GET /containers/{id}/top?ps_args=...: like Docker, run the host's ps with
 * the given arguments (plus "-q <the container's pids>", retried without it
 * for options that do not mix with -q) in a child process the loop watches,
 * and keep the rows of the container's processes. Without ps_args the
 * handler in containers.c answers from /proc directly (no fork). */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

#define TOP_MAX_OUTPUT (16 << 20)
#define TOP_MAX_ARGS 64

typedef struct top_job {
    http_req_t *req; /* NULL once the client went away */
    uv_loop_t *loop;
    uv_process_t proc;
    uv_pipe_t out, err;
    int open_handles;
    bool exited;
    int64_t status;
    int term_signal;
    bool with_q; /* this run had -q <pids> */
    berth_buf_t stdout_buf, stderr_buf;
    pid_t *pids;
    size_t n_pids;
    char **argv;      /* "ps", args..., ["-q", pids], NULL */
    size_t argc_base; /* without -q */
} top_job_t;

static void top_job_free(top_job_t *j)
{
    buf_free(&j->stdout_buf);
    buf_free(&j->stderr_buf);
    for (size_t i = 0; j->argv && j->argv[i]; i++)
        free(j->argv[i]);
    free(j->argv);
    free(j->pids);
    free(j);
}

static bool has_pid(const top_job_t *j, long p)
{
    for (size_t i = 0; i < j->n_pids; i++)
        if (j->pids[i] == p)
            return true;
    return false;
}

/* Whitespace-separated fields of line; at most max (the last one takes the
 * rest of the line, like Docker's CMD column). */
static size_t split_fields(char *line, char **f, size_t max, bool join_rest)
{
    size_t n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (join_rest && n + 1 == max) {
            f[n++] = p;
            break;
        }
        if (n == max)
            break;
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static void reply_ps(top_job_t *j)
{
    http_req_t *req = j->req;
    buf_append(&j->stdout_buf, "", 1);
    char *save = NULL;
    char *header = strtok_r(j->stdout_buf.data, "\n", &save);
    char *titles[TOP_MAX_ARGS];
    size_t nt = header ? split_fields(header, titles, TOP_MAX_ARGS, false) : 0;
    int pid_col = -1;
    for (size_t i = 0; i < nt; i++)
        if (!strcmp(titles[i], "PID"))
            pid_col = (int)i;
    if (pid_col < 0) {
        http_reply_error(req, 500, "Couldn't find PID field in ps output");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *t = cJSON_AddArrayToObject(o, "Titles");
    for (size_t i = 0; i < nt; i++)
        cJSON_AddItemToArray(t, cJSON_CreateString(titles[i]));
    cJSON *procs = cJSON_AddArrayToObject(o, "Processes");
    bool prev_ours = false; /* thread lines ("-" as PID, ps -m) follow their process */
    for (char *line; (line = strtok_r(NULL, "\n", &save));) {
        char *f[TOP_MAX_ARGS];
        size_t nf = split_fields(line, f, nt, true);
        if (nf <= (size_t)pid_col)
            continue;
        bool ours;
        if (!strcmp(f[pid_col], "-")) {
            ours = prev_ours;
        } else {
            char *end;
            long p = strtol(f[pid_col], &end, 10);
            if (*end) {
                cJSON_Delete(o);
                http_reply_error(req, 500, "Unexpected pid '%s'", f[pid_col]);
                return;
            }
            ours = prev_ours = has_pid(j, p);
        }
        if (!ours)
            continue;
        cJSON *row = cJSON_CreateArray();
        for (size_t i = 0; i < nt; i++)
            cJSON_AddItemToArray(row, cJSON_CreateString(i < nf ? f[i] : ""));
        cJSON_AddItemToArray(procs, row);
    }
    http_reply_json(req, 200, o);
}

static int top_spawn(top_job_t *j);

static void top_handle_closed(uv_handle_t *h)
{
    top_job_t *j = h->data;
    if (--j->open_handles > 0)
        return;
    if (!j->req) {
        top_job_free(j);
        return;
    }
    http_req_t *req = j->req;
    bool ok = j->exited && j->status == 0 && j->term_signal == 0;
    if (!ok && j->with_q) {
        /* some ps options (e.g. f) do not go with -q: again without it */
        j->with_q = false;
        buf_reset(&j->stdout_buf);
        buf_reset(&j->stderr_buf);
        top_spawn(j); /* replies itself if it cannot */
        return;
    }
    req->on_abort = NULL;
    if (!ok) {
        buf_append(&j->stderr_buf, "", 1);
        char *msg = j->stderr_buf.data;
        size_t l = strlen(msg);
        while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
            msg[--l] = '\0';
        http_reply_error(req, 500, "Error running ps: exit status %lld%s%s", (long long)j->status,
                         l ? ": " : "", msg);
    } else {
        reply_ps(j);
    }
    top_job_free(j);
}

static void top_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = xmalloc(suggested);
    b->len = suggested;
}

static void top_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    top_job_t *j = s->data;
    berth_buf_t *dst = (uv_pipe_t *)s == &j->out ? &j->stdout_buf : &j->stderr_buf;
    if (n > 0 && dst->len + (size_t)n <= TOP_MAX_OUTPUT)
        buf_append(dst, b->base, (size_t)n);
    free(b->base);
    if (n < 0)
        uv_close((uv_handle_t *)s, top_handle_closed);
}

static void top_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    top_job_t *j = p->data;
    j->exited = true;
    j->status = status;
    j->term_signal = sig;
    uv_close((uv_handle_t *)p, top_handle_closed);
}

static int top_spawn(top_job_t *j)
{
    /* argv[argc_base] is "-q": cut there for the retry */
    char *saved = j->argv[j->argc_base];
    if (!j->with_q)
        j->argv[j->argc_base] = NULL;
    uv_pipe_init(j->loop, &j->out, 0);
    uv_pipe_init(j->loop, &j->err, 0);
    j->out.data = j->err.data = j->proc.data = j;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->err}};
    uv_process_options_t o = {
        .file = "ps", .args = j->argv, .exit_cb = top_exit_cb, .stdio = stdio, .stdio_count = 3};
    j->exited = false;
    int rc = uv_spawn(j->loop, &j->proc, &o);
    j->argv[j->argc_base] = saved;
    j->open_handles = 3;
    if (rc < 0) {
        /* a failed spawn's handle is closed too; the job is freed once all
         * three are, with no reply left to send there */
        http_req_t *req = j->req;
        j->req = NULL;
        uv_close((uv_handle_t *)&j->proc, top_handle_closed);
        uv_close((uv_handle_t *)&j->out, top_handle_closed);
        uv_close((uv_handle_t *)&j->err, top_handle_closed);
        if (req) {
            req->on_abort = NULL;
            http_reply_error(req, 500, "Error running ps: %s", uv_strerror(rc));
        }
        return rc;
    }
    uv_read_start((uv_stream_t *)&j->out, top_alloc_cb, top_read_cb);
    uv_read_start((uv_stream_t *)&j->err, top_alloc_cb, top_read_cb);
    return 0;
}

static void top_abort(http_req_t *req)
{
    top_job_t *j = req->handler_data;
    j->req = NULL; /* freed when its handles are closed */
    if (!j->exited)
        uv_process_kill(&j->proc, SIGKILL);
}

void api_top_ps(berthd_t *d, http_req_t *req, const pid_t *pids, size_t n, const char *ps_args)
{
    top_job_t *j = xcalloc(1, sizeof(*j));
    j->req = req;
    j->loop = d->loop;
    j->pids = xmalloc((n ? n : 1) * sizeof(pid_t));
    memcpy(j->pids, pids, n * sizeof(pid_t));
    j->n_pids = n;
    buf_init(&j->stdout_buf);
    buf_init(&j->stderr_buf);
    j->argv = xcalloc(TOP_MAX_ARGS + 4, sizeof(char *));
    size_t argc = 0;
    j->argv[argc++] = xstrdup("ps");
    cleanup_free char *copy = xstrdup(ps_args);
    char *save = NULL;
    for (char *a = strtok_r(copy, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
        if (argc == TOP_MAX_ARGS) {
            top_job_free(j);
            http_reply_error(req, 400, "too many ps arguments");
            return;
        }
        j->argv[argc++] = xstrdup(a);
    }
    j->argc_base = argc;
    berth_buf_t list;
    buf_init(&list);
    for (size_t i = 0; i < n; i++)
        buf_printf(&list, "%s%d", i ? "," : "", (int)pids[i]);
    j->argv[argc++] = xstrdup("-q");
    j->argv[argc++] = xstrdup(n ? list.data : "0");
    buf_free(&list);
    j->with_q = true;
    req->handler_data = j;
    req->on_abort = top_abort;
    top_spawn(j);
}
