/* API routes for exec: create, start (hijacked stream or detached), resize,
 * inspect. The container manager (berth/containers.h) runs the process. */
#include <string.h>

#include "api/internal.h"
#include "berth/api.h"
#include "berth/containers.h"
#include "berth/runtime.h"
#include "berth/daemon.h"

static rt_exec_t *find_exec(berthd_t *d, http_req_t *req)
{
    if (!d->containers) {
        http_reply_error(req, 503, "the container runtime is not available");
        return NULL;
    }
    berth_err_t err = {0};
    rt_exec_t *x = rt_manager_exec_lookup(d->containers, req->params[0], &err);
    if (!x)
        http_reply_berth_err(req, &err);
    return x;
}

static void h_exec_create(berthd_t *d, http_req_t *req)
{
    if (!d->containers) {
        http_reply_error(req, 503, "the container runtime is not available");
        return;
    }
    berth_err_t err = {0};
    rt_ctr_t *c = rt_manager_lookup(d->containers, req->params[0], &err);
    if (!c) {
        http_reply_berth_err(req, &err);
        return;
    }
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        http_reply_error(req, 400, "invalid JSON in the request body");
        return;
    }
    rt_exec_t *x = rt_exec_create(c, body, &err);
    cJSON_Delete(body);
    if (!x) {
        http_reply_berth_err(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", rt_exec_id(x));
    http_reply_json(req, 201, o);
}

typedef struct exec_stream {
    http_req_t *req;
    rt_exec_t *x;
    bool tty;
} exec_stream_t;

static void xs_output(void *data, int stream, const char *buf, size_t len)
{
    exec_stream_t *xs = data;
    api_raw_write_output(xs->req, xs->tty, stream, buf, len);
}

static void xs_close(void *data, int exit_code)
{
    (void)exit_code;
    exec_stream_t *xs = data;
    http_req_t *req = xs->req;
    req->on_abort = NULL;
    req->on_raw_data = NULL;
    req->on_raw_eof = NULL;
    free(xs);
    http_raw_close(req);
}

static void xs_abort(http_req_t *req)
{
    exec_stream_t *xs = req->handler_data;
    rt_exec_detach_stream(xs->x);
    free(xs);
}

static void xs_stdin(http_req_t *req, const char *data, size_t len)
{
    exec_stream_t *xs = req->handler_data;
    if (len && rt_exec_attach_stdin(xs->x))
        rt_exec_write_stdin(xs->x, data, len);
}

static void xs_eof(http_req_t *req)
{
    exec_stream_t *xs = req->handler_data;
    if (rt_exec_attach_stdin(xs->x))
        rt_exec_write_stdin(xs->x, NULL, 0);
}

static void h_exec_start(berthd_t *d, http_req_t *req)
{
    rt_exec_t *x = find_exec(d, req);
    if (!x)
        return;
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    bool detach = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "Detach"));
    cJSON_Delete(body);
    berth_err_t err = {0};
    if (detach) {
        if (rt_exec_start(x, NULL, NULL, &err) < 0)
            http_reply_berth_err(req, &err);
        else
            http_reply_status(req, 200);
        return;
    }
    exec_stream_t *xs = xcalloc(1, sizeof(*xs));
    xs->req = req;
    xs->x = x;
    xs->tty = rt_exec_tty(x);
    rt_ctr_sink_cbs_t cbs = {.output_cb = xs_output, .close_cb = xs_close};
    if (rt_exec_start(x, &cbs, xs, &err) < 0) {
        free(xs);
        http_reply_berth_err(req, &err);
        return;
    }
    const char *ct = !xs->tty && http_req_api_version(req) >= 142
                         ? "application/vnd.docker.multiplexed-stream"
                         : "application/vnd.docker.raw-stream";
    if (http_hijack(req, ct) < 0) {
        rt_exec_detach_stream(x);
        free(xs);
        return;
    }
    req->handler_data = xs;
    req->on_abort = xs_abort;
    req->on_raw_data = xs_stdin;
    req->on_raw_eof = xs_eof;
}

static void h_exec_resize(berthd_t *d, http_req_t *req)
{
    rt_exec_t *x = find_exec(d, req);
    if (!x)
        return;
    int e1 = 0, e2 = 0;
    long long h = http_req_query_int(req, "h", 0, &e1);
    long long w = http_req_query_int(req, "w", 0, &e2);
    if (e1 || e2 || h < 0 || w < 0 || h > 65535 || w > 65535) {
        http_reply_error(req, 400, "invalid resize parameters");
        return;
    }
    berth_err_t err = {0};
    if (rt_exec_resize(x, (unsigned)h, (unsigned)w, &err) < 0)
        http_reply_berth_err(req, &err);
    else
        http_reply_status(req, 200);
}

static void h_exec_inspect(berthd_t *d, http_req_t *req)
{
    rt_exec_t *x = find_exec(d, req);
    if (x)
        http_reply_json(req, 200, rt_exec_inspect_json(x));
}

void api_exec_routes(api_router_t *r)
{
    api_route(r, "POST", "/containers/{id}/exec", h_exec_create, 0);
    api_route(r, "POST", "/exec/{id}/start", h_exec_start, 0);
    api_route(r, "POST", "/exec/{id}/resize", h_exec_resize, 0);
    api_route(r, "GET", "/exec/{id}/json", h_exec_inspect, 0);
}
