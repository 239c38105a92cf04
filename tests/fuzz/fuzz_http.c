/* libFuzzer harness for the HTTP server: each input is what one client
 * sends on a fresh connection (then it half-closes). The handlers exercise
 * every way of finishing a request: whole replies, chunked streams, streamed
 * bodies and hijacks. Built as a fuzzer (see tests/fuzz/README.md) and
 * replayed over the committed corpus by tests/unit/test_http_fuzz.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "http/internal.h"

typedef struct fuzz_ctx {
    uv_loop_t loop;
    http_server_t *srv;
} fuzz_ctx_t;

static int fz_on_body(http_req_t *req, const char *data, size_t len)
{
    (void)data;
    req->handler_data = (void *)((uintptr_t)req->handler_data + len);
    return len > 0 && data[0] == '!' ? -1 : 0; /* a handler may refuse a body */
}

static void fz_on_body_end(http_req_t *req)
{
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "%zu", (size_t)(uintptr_t)req->handler_data);
    http_reply(req, 200, "text/plain", msg, (size_t)n, NULL);
}

static void fz_raw_data(http_req_t *req, const char *data, size_t len)
{
    http_raw_write(req, data, len);
    if (memchr(data, 'Q', len))
        http_raw_close(req);
}

static void fz_raw_eof(http_req_t *req)
{
    http_raw_close(req);
}

static void fz_route(http_req_t *req)
{
    if (strncmp(req->path, "/s", 2) == 0) {
        req->stream_body = true;
        req->on_body = fz_on_body;
        req->on_body_end = fz_on_body_end;
    }
}

static size_t fz_dispatched; /* replay test: proof that requests got through */

static void fz_dispatch(http_req_t *req)
{
    const char *p = req->path;
    fz_dispatched++;
    if (strncmp(p, "/s", 2) == 0)
        return; /* answered from on_body_end */
    if (strncmp(p, "/h", 2) == 0) {
        req->on_raw_data = fz_raw_data;
        req->on_raw_eof = fz_raw_eof;
        if (http_hijack(req, "application/vnd.docker.raw-stream") < 0)
            http_reply_error(req, 500, "hijack failed");
        return;
    }
    if (strncmp(p, "/w", 2) == 0) {
        req->on_raw_data = fz_raw_data;
        req->on_raw_eof = fz_raw_eof;
        if (http_ws_upgrade(req) < 0)
            http_reply_error(req, 400, "not a websocket request");
        return;
    }
    if (strncmp(p, "/c", 2) == 0) {
        http_stream_begin(req, 200, "application/json", NULL);
        for (size_t i = 0; i < req->n_query; i++)
            http_stream_write(req, req->query[i].value, strlen(req->query[i].value));
        http_stream_end(req);
        return;
    }
    if (strncmp(p, "/e", 2) == 0) {
        http_reply_error(req, 404, "no such thing: %s", p);
        return;
    }
    int err = 0;
    long long n = http_req_query_int(req, "n", 0, &err);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddBoolToObject(o, "b", http_req_query_bool(req, "b", false));
    cJSON_AddStringToObject(o, "ua", http_req_header(req, "User-Agent") ?: "");
    cJSON_AddNumberToObject(o, "body", (double)req->body.len);
    http_reply_json(req, 200, o);
}

/* For the corpus replay test: close the server and the loop (leak check). */
static void fuzz_ctx_close(fuzz_ctx_t *ctx)
{
    http_server_close(ctx->srv, NULL, NULL);
    uv_run(&ctx->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ctx->loop);
}

static fuzz_ctx_t *fuzz_ctx(void)
{
    /* libFuzzer calls us millions of times: one loop and server for all. */
    static fuzz_ctx_t ctx;
    static bool ready;
    if (!ready) {
        uv_loop_init(&ctx.loop);
        http_server_opts_t opts = {
            .loop = &ctx.loop,
            .route = fz_route,
            .dispatch = fz_dispatch,
            .max_header_bytes = 4096,
            .max_body_bytes = 8192,
            .header_timeout_ms = 50,
            .common_headers = "Server: fuzz\r\n",
        };
        if (http_server_new(&opts, &ctx.srv) < 0)
            abort();
        ready = true;
    }
    return &ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ctx_t *ctx = fuzz_ctx();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return 0;
    if (http_server_adopt_fd(ctx->srv, sv[0]) < 0) {
        close(sv[1]);
        return 0;
    }
    size_t off = 0;
    char sink[65536];
    bool shut = false;
    /* Feed, run the loop, drain answers; half-close once everything is in.
     * Bounded: a handler that never finishes (paused body) is cut off by
     * closing our end, which must abort it cleanly. */
    for (int spins = 0; spins < 2000 && http_server_connection_count(ctx->srv) > 0; spins++) {
        if (off < size) {
            ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
        } else if (!shut) {
            shutdown(sv[1], SHUT_WR);
            shut = true;
        }
        uv_run(&ctx->loop, UV_RUN_NOWAIT);
        while (recv(sv[1], sink, sizeof(sink), 0) > 0)
            ;
        if (shut && spins > 200)
            break;
    }
    close(sv[1]);
    for (int spins = 0; spins < 1000 && http_server_connection_count(ctx->srv) > 0; spins++)
        uv_run(&ctx->loop, UV_RUN_NOWAIT);
    /* Let close callbacks run. */
    uv_run(&ctx->loop, UV_RUN_NOWAIT);
    return 0;
}
