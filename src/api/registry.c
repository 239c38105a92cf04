/* API routes for registries: POST /auth (docker login), POST /images/create
 * (pull), POST /images/{name}/push, GET /distribution/{name}/json.
 * Thin: decode the request and X-Registry-Auth, start a registry operation,
 * stream its progress JSON. Errors before the first progress message are
 * plain HTTP errors; after it they are errorDetail messages, as in Docker. */
#include <string.h>

#include "berth/api.h"
#include "berth/daemon.h"
#include "berth/registry.h"

typedef struct reg_call {
    http_req_t *req;
    reg_op_t *op;
    bool streaming;
    bool stream_failed;
} reg_call_t;

static void call_abort_cb(http_req_t *req)
{
    reg_call_t *call = req->handler_data;
    req->handler_data = NULL;
    if (!call)
        return;
    reg_op_cancel(call->op);
    free(call);
}

static reg_call_t *call_new(http_req_t *req)
{
    reg_call_t *call = xcalloc(1, sizeof(*call));
    call->req = req;
    req->handler_data = call;
    req->on_abort = call_abort_cb;
    return call;
}

static void call_finish(reg_call_t *call)
{
    call->req->handler_data = NULL;
    call->req->on_abort = NULL;
    free(call);
}

static bool registry_ready(berthd_t *d, http_req_t *req)
{
    if (!d->registry) {
        http_reply_error(req, 501, "registry client not available");
        return false;
    }
    return true;
}

static int decode_auth(http_req_t *req, reg_auth_t *auth)
{
    berth_err_t err;
    berth_err_clear(&err);
    if (reg_auth_decode_header(http_req_header(req, "X-Registry-Auth"), auth, &err) < 0) {
        http_reply_berth_err(req, &err);
        return -1;
    }
    return 0;
}

/* ---- progress streaming (pull, push) ---- */

static void progress_cb(void *data, cJSON *msg)
{
    reg_call_t *call = data;
    if (call->stream_failed) {
        cJSON_Delete(msg);
        return;
    }
    if (!call->streaming) {
        if (http_stream_begin(call->req, 200, "application/json", NULL) < 0) {
            call->stream_failed = true;
            cJSON_Delete(msg);
            return;
        }
        call->streaming = true;
    }
    if (http_stream_write_json(call->req, msg) < 0)
        call->stream_failed = true;
}

static void stream_done_cb(void *data, const berth_err_t *err, cJSON *result)
{
    reg_call_t *call = data;
    http_req_t *req = call->req;
    cJSON_Delete(result);
    bool streaming = call->streaming;
    call_finish(call);
    if (!streaming) {
        if (err)
            http_reply_berth_err(req, err);
        else
            http_reply_status(req, 200);
        return;
    }
    if (err) {
        cJSON *m = cJSON_CreateObject();
        cJSON *detail = cJSON_AddObjectToObject(m, "errorDetail");
        cJSON_AddStringToObject(detail, "message", err->msg);
        cJSON_AddStringToObject(m, "error", err->msg);
        http_stream_write_json(req, m);
    }
    http_stream_end(req);
}

/* POST /images/create?fromImage=&tag=&platform= */
static void images_create(berthd_t *d, http_req_t *req)
{
    const char *from = http_req_query(req, "fromImage");
    if (http_req_query(req, "fromSrc")) {
        http_reply_error(req, 501, "importing images from a tarball (fromSrc) is not supported");
        return;
    }
    if (!from || !*from) {
        http_reply_error(req, 400, "fromImage is required");
        return;
    }
    if (!registry_ready(d, req))
        return;
    reg_auth_t auth;
    if (decode_auth(req, &auth) < 0)
        return;
    reg_call_t *call = call_new(req);
    reg_pull_opts_t o = {
        .from_image = from,
        .tag = http_req_query(req, "tag"),
        .platform = http_req_query(req, "platform"),
        .auth = &auth,
    };
    berth_err_t err;
    berth_err_clear(&err);
    int r = reg_pull(d->registry, &o, progress_cb, stream_done_cb, call, &call->op, &err);
    reg_auth_free(&auth);
    if (r < 0) {
        call_finish(call);
        http_reply_berth_err(req, &err);
    }
}

/* POST /images/{name*}/push?tag= */
static void images_push(berthd_t *d, http_req_t *req)
{
    if (!registry_ready(d, req))
        return;
    reg_auth_t auth;
    if (decode_auth(req, &auth) < 0)
        return;
    reg_call_t *call = call_new(req);
    reg_push_opts_t o = {.name = req->params[0], .tag = http_req_query(req, "tag"), .auth = &auth};
    berth_err_t err;
    berth_err_clear(&err);
    int r = reg_push(d->registry, &o, progress_cb, stream_done_cb, call, &call->op, &err);
    reg_auth_free(&auth);
    if (r < 0) {
        call_finish(call);
        http_reply_berth_err(req, &err);
    }
}

/* ---- whole-JSON answers (login, distribution) ---- */

static void json_done_cb(void *data, const berth_err_t *err, cJSON *result)
{
    reg_call_t *call = data;
    http_req_t *req = call->req;
    call_finish(call);
    if (err) {
        cJSON_Delete(result);
        http_reply_berth_err(req, err);
        return;
    }
    http_reply_json(req, 200, result ? result : cJSON_CreateObject());
}

/* POST /auth {username, password, serveraddress, ...} */
static void auth_login(berthd_t *d, http_req_t *req)
{
    if (!registry_ready(d, req))
        return;
    cJSON *body = cJSON_ParseWithLength(req->body.data ? req->body.data : "", req->body.len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        http_reply_error(req, 400, "invalid JSON body for /auth");
        return;
    }
    reg_auth_t auth;
    berth_err_t err;
    berth_err_clear(&err);
    int r = reg_auth_from_json(body, &auth, &err);
    cJSON_Delete(body);
    if (r < 0) {
        http_reply_berth_err(req, &err);
        return;
    }
    reg_call_t *call = call_new(req);
    r = reg_login(d->registry, &auth, json_done_cb, call, &call->op, &err);
    reg_auth_free(&auth);
    if (r < 0) {
        call_finish(call);
        http_reply_berth_err(req, &err);
    }
}

/* GET /distribution/{name*}/json */
static void distribution_inspect(berthd_t *d, http_req_t *req)
{
    if (!registry_ready(d, req))
        return;
    reg_auth_t auth;
    if (decode_auth(req, &auth) < 0)
        return;
    reg_call_t *call = call_new(req);
    berth_err_t err;
    berth_err_clear(&err);
    int r = reg_distribution_inspect(d->registry, req->params[0], &auth, json_done_cb, call,
                                     &call->op, &err);
    reg_auth_free(&auth);
    if (r < 0) {
        call_finish(call);
        http_reply_berth_err(req, &err);
    }
}

void api_registry_routes(api_router_t *r)
{
    api_route(r, "POST", "/auth", auth_login, 0);
    api_route(r, "POST", "/images/create", images_create, 0);
    api_route(r, "POST", "/images/{name*}/push", images_push, 0);
    api_route(r, "GET", "/distribution/{name*}/json", distribution_inspect, 0);
}
