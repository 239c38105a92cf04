/* In-process tests of the http server: a real server on a Unix socket in a
 * temp dir, test handlers, and a non-blocking client socket pumped together
 * with the loop (uv_run NOWAIT) so one thread plays both sides. Every test
 * runs twice: connections on libuv streams, and through the io_uring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/internal.h"

typedef struct fixture {
    uv_loop_t loop;
    http_ring_t *ring; /* NULL: libuv streams */
    http_server_t *srv;
    char dir[64];
    char path[128];
    int aborts;
    int stream_bytes;
    int quiets; /* on_quiet calls */
    bool closed;
} fixture_t;

/* ---- test handlers ---- */

static void later_cb(uv_timer_t *t)
{
    http_req_t *req = t->data;
    http_reply(req, 200, "text/plain", "later", 5, NULL);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static int count_body(http_req_t *req, const char *data, size_t len)
{
    (void)data;
    fixture_t *fx = req->server_data;
    fx->stream_bytes += (int)len;
    return 0;
}

static void count_body_end(http_req_t *req)
{
    fixture_t *fx = req->server_data;
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "%d", fx->stream_bytes);
    http_reply(req, 200, "text/plain", msg, (size_t)n, NULL);
}

static void raw_data(http_req_t *req, const char *data, size_t len)
{
    char up[256];
    size_t n = len < sizeof(up) ? len : sizeof(up);
    for (size_t i = 0; i < n; i++)
        up[i] = (char)(data[i] >= 'a' && data[i] <= 'z' ? data[i] - 32 : data[i]);
    http_raw_write(req, up, n);
}

static void raw_eof(http_req_t *req)
{
    http_raw_write(req, "bye", 3);
    http_raw_close(req);
}

static void on_abort(http_req_t *req)
{
    fixture_t *fx = req->server_data;
    fx->aborts++;
}

/* /big: 3 MiB in 16 KiB chunks, pausing whenever 256 KiB are queued; every
 * byte of chunk k is (k & 0xff), so the client can check the order (the
 * ring gathers many queued writes into one send, and sends can be short). */
#define BIG_TOTAL (3 * 1024 * 1024)
#define BIG_CHUNK 16384
static void big_pump(http_req_t *req)
{
    char chunk[BIG_CHUNK];
    size_t sent = (size_t)(uintptr_t)req->handler_data;
    while (sent < BIG_TOTAL && http_stream_pending(req) < 256 * 1024) {
        memset(chunk, (int)((sent / BIG_CHUNK) & 0xff), sizeof(chunk));
        if (http_stream_write(req, chunk, sizeof(chunk)) < 0)
            return;
        sent += sizeof(chunk);
    }
    req->handler_data = (void *)(uintptr_t)sent;
    if (sent >= BIG_TOTAL)
        http_stream_end(req);
}

static void route(http_req_t *req)
{
    if (strcmp(req->path, "/stream-in") == 0) {
        req->stream_body = true;
        req->on_body = count_body;
        req->on_body_end = count_body_end;
    }
}

static void dispatch(http_req_t *req)
{
    fixture_t *fx = req->server_data;
    if (strcmp(req->path, "/echo") == 0) {
        http_reply(req, 200, "text/plain", req->body.data, req->body.len, NULL);
    } else if (strcmp(req->path, "/later") == 0) {
        uv_timer_t *t = xmalloc(sizeof(*t));
        uv_timer_init(&fx->loop, t);
        t->data = req;
        uv_timer_start(t, later_cb, 30, 0);
    } else if (strcmp(req->path, "/stream-out") == 0) {
        assert_int_equal(http_stream_begin(req, 200, "application/json", NULL), 0);
        http_stream_write(req, "one", 3);
        http_stream_write(req, "two", 3);
        http_stream_write(req, "three", 5);
        http_stream_end(req);
    } else if (strcmp(req->path, "/hijack") == 0) {
        assert_string_equal(req->body.data, "{\"x\":1}");
        req->on_raw_data = raw_data;
        req->on_raw_eof = raw_eof;
        req->on_abort = on_abort;
        assert_int_equal(http_hijack(req, "application/vnd.docker.raw-stream"), 0);
    } else if (strcmp(req->path, "/ws") == 0) {
        req->on_raw_data = raw_data;
        req->on_raw_eof = raw_eof;
        req->on_abort = on_abort;
        if (http_ws_upgrade(req) < 0)
            http_reply_error(req, 400, "not a websocket request");
    } else if (strcmp(req->path, "/big") == 0) {
        req->on_drain = big_pump;
        http_stream_begin(req, 200, "application/octet-stream", NULL);
        big_pump(req);
    } else if (strcmp(req->path, "/abort") == 0) {
        req->on_abort = on_abort; /* never answers */
    } else if (strcmp(req->path, "/stream-in") == 0) {
        /* answered from on_body_end */
    } else {
        http_reply_error(req, 404, "page not found");
    }
}

/* One loop turn without blocking. */
static void turn(fixture_t *fx)
{
    if (fx->ring)
        http_ring_run_nowait(fx->ring);
    else
        uv_run(&fx->loop, UV_RUN_NOWAIT);
}

static void quiet_cb(void *data)
{
    ((fixture_t *)data)->quiets++;
}

static int setup_with(void **state, bool ring)
{
    fixture_t *fx = xcalloc(1, sizeof(*fx));
    strcpy(fx->dir, "/tmp/berth-http-test-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/s.sock", fx->dir);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    if (ring)
        assert_int_equal(http_ring_open(&fx->loop, &fx->ring), 0);
    http_server_opts_t opts = {
        .ring = fx->ring,
        .loop = &fx->loop,
        .data = fx,
        .route = route,
        .dispatch = dispatch,
        .max_header_bytes = 2048,
        .max_body_bytes = 4096,
        .header_timeout_ms = 200,
        .common_headers = "Server: test\r\n",
        .on_quiet = quiet_cb,
    };
    assert_int_equal(http_server_new(&opts, &fx->srv), 0);
    assert_int_equal(http_server_listen_unix(fx->srv, fx->path, 0600, (gid_t)-1), 0);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_ring(void **state)
{
    return setup_with(state, true);
}

static void closed_cb(void *data)
{
    ((fixture_t *)data)->closed = true;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    http_server_close(fx->srv, closed_cb, fx);
    if (fx->ring)
        assert_int_equal(http_ring_run(fx->ring), 0);
    else
        uv_run(&fx->loop, UV_RUN_DEFAULT);
    http_ring_free(fx->ring);
    assert_true(fx->closed);
    assert_false(fs_exists(fx->path)); /* the socket file goes with the listener */
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- client side ---- */

static int client(fixture_t *fx)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, fx->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Send everything, running the loop while the socket is full. */
static void csend(fixture_t *fx, int fd, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN)
            fail_msg("send: %s", strerror(errno));
        turn(fx);
    }
}

/* Run loop + read until `want` appears in out (or EOF when want is NULL).
 * Returns true on EOF. */
static bool pump(fixture_t *fx, int fd, berth_buf_t *out, const char *want, int timeout_ms)
{
    int64_t deadline = berth_now_ns() + (int64_t)timeout_ms * 1000000;
    while (berth_now_ns() < deadline) {
        turn(fx);
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            buf_append(out, tmp, (size_t)n);
            continue;
        }
        if (n == 0)
            return true;
        if (want && out->data && strstr(out->data, want))
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 1);
    }
    return false;
}

static const char *after(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? p + strlen(needle) : NULL;
}

/* ---- tests ---- */

static void test_pipelining_in_order(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *reqs = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nfast";
    csend(fx, fd, reqs, strlen(reqs));
    berth_buf_t out;
    buf_init(&out);
    assert_false(pump(fx, fd, &out, "fast", 2000));
    const char *l = strstr(out.data, "later");
    const char *f = strstr(out.data, "fast");
    assert_non_null(l);
    assert_non_null(f);
    assert_true(l < f); /* the slow first request answers first */
    assert_non_null(strstr(out.data, "Server: test\r\n"));
    /* The connection stays open for more. */
    buf_reset(&out);
    const char *again = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, again, strlen(again));
    assert_false(pump(fx, fd, &out, "Content-Length: 0\r\n\r\n", 2000));
    assert_int_equal(http_server_connection_count(fx->srv), 1);
    close(fd);
    buf_free(&out);
}

static void test_http10(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *reqs = "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                       "GET /echo HTTP/1.0\r\n\r\n";
    csend(fx, fd, reqs, strlen(reqs));
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000)); /* the plain 1.0 request closes */
    const char *first = strstr(out.data, "Connection: keep-alive\r\n");
    assert_non_null(first);
    assert_non_null(strstr(first, "Connection: close\r\n"));
    close(fd);
    buf_free(&out);
}

static void test_chunked_request_body(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
    csend(fx, fd, req, strlen(req));
    berth_buf_t out;
    buf_init(&out);
    pump(fx, fd, &out, "hello world", 2000);
    assert_non_null(strstr(out.data, "Content-Length: 11\r\n\r\nhello world"));
    close(fd);
    buf_free(&out);
}

static void test_streamed_request_body(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    /* Far over max_body_bytes: streamed bodies are not capped. */
    size_t total = 300000;
    char *body = xmalloc(total);
    memset(body, 'x', total);
    const char *head = "POST /stream-in HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n";
    csend(fx, fd, head, strlen(head));
    csend(fx, fd, body, total);
    berth_buf_t out;
    buf_init(&out);
    pump(fx, fd, &out, "\r\n\r\n300000", 5000);
    assert_non_null(strstr(out.data, "\r\n\r\n300000"));
    assert_int_equal(fx->stream_bytes, 300000);
    free(body);
    close(fd);
    buf_free(&out);
}

static void test_body_too_large(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    char head[128];
    snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    csend(fx, fd, head, strlen(head));
    char body[5000];
    memset(body, 'y', sizeof(body));
    csend(fx, fd, body, sizeof(body));
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000)); /* closed after the error */
    assert_non_null(strstr(out.data, "HTTP/1.1 413 "));
    assert_non_null(strstr(out.data, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(out.data, "{\"message\":\"request body too large\"}"));
    close(fd);
    buf_free(&out);
}

static void test_headers_too_large(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    berth_buf_t req;
    buf_init(&req);
    buf_puts(&req, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 3000; i++)
        buf_puts(&req, "a");
    buf_puts(&req, "\r\n\r\n");
    csend(fx, fd, req.data, req.len);
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(strstr(out.data, "HTTP/1.1 431 "));
    close(fd);
    buf_free(&out);
    buf_free(&req);
}

static void test_garbage_closes(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *junk = "\x01\x02 NOT HTTP AT ALL\r\n\r\n";
    csend(fx, fd, junk, strlen(junk));
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(strstr(out.data, "HTTP/1.1 400 "));
    assert_non_null(strstr(out.data, "Connection: close"));
    close(fd);
    buf_free(&out);
    /* Bad escapes in the target are a 400 too. */
    fd = client(fx);
    const char *bad = "GET /echo?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, bad, strlen(bad));
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(strstr(out.data, "HTTP/1.1 400 "));
    close(fd);
    buf_free(&out);
}

static void test_hijack_with_body_and_early_bytes(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    /* Like `docker exec` start: a JSON body, then stream bytes right behind. */
    const char *req = "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"x\":1}abc";
    csend(fx, fd, req, strlen(req));
    berth_buf_t out;
    buf_init(&out);
    pump(fx, fd, &out, "ABC", 2000);
    const char *rest = after(out.data, "\r\n\r\n");
    assert_true(strncmp(out.data, "HTTP/1.1 101 UPGRADED\r\n", 23) == 0);
    assert_non_null(strstr(out.data, "Upgrade: tcp\r\n"));
    assert_non_null(strstr(out.data, "Content-Type: application/vnd.docker.raw-stream\r\n"));
    assert_non_null(rest);
    assert_string_equal(rest, "ABC");
    csend(fx, fd, "more", 4);
    pump(fx, fd, &out, "MORE", 2000);
    assert_non_null(strstr(out.data, "ABCMORE"));
    /* Half-close: the handler sees EOF, can still write, then closes. */
    shutdown(fd, SHUT_WR);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(strstr(out.data, "ABCMOREbye"));
    assert_int_equal(fx->aborts, 0);
    close(fd);
    buf_free(&out);
}

static void test_half_closed_client_gets_answer(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *req = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, req, strlen(req));
    shutdown(fd, SHUT_WR);
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(strstr(out.data, "\r\n\r\nlater"));
    close(fd);
    buf_free(&out);
}

static void test_abort_when_client_leaves(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *req = "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, req, strlen(req));
    for (int i = 0; i < 20; i++)
        turn(fx);
    assert_int_equal(fx->aborts, 0);
    close(fd);
    for (int i = 0; i < 50 && fx->aborts == 0; i++) {
        turn(fx);
        usleep(1000);
    }
    assert_int_equal(fx->aborts, 1);
}

/* on_quiet: once the last of the connections is gone, not before. */
static void test_quiet_when_the_last_client_leaves(void **state)
{
    fixture_t *fx = *state;
    int a = client(fx), b = client(fx);
    const char *req = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, a, req, strlen(req));
    csend(fx, b, req, strlen(req));
    /* Both answered first: /later's timer must not outlive its request. */
    berth_buf_t out, out_b;
    buf_init(&out);
    buf_init(&out_b);
    pump(fx, a, &out, "later", 2000);
    pump(fx, b, &out_b, "later", 2000);
    assert_non_null(strstr(out.data, "later"));
    assert_non_null(strstr(out_b.data, "later"));
    close(a);
    for (int i = 0; i < 20; i++)
        turn(fx);
    assert_int_equal(http_server_connection_count(fx->srv), 1);
    assert_int_equal(fx->quiets, 0);
    close(b);
    for (int i = 0; i < 200 && http_server_connection_count(fx->srv) > 0; i++) {
        turn(fx);
        usleep(1000);
    }
    assert_int_equal(http_server_connection_count(fx->srv), 0);
    assert_int_equal(fx->quiets, 1);
    buf_free(&out);
    buf_free(&out_b);
}

static void test_streamed_response(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *req = "GET /stream-out HTTP/1.1\r\nHost: x\r\n\r\n"
                      "HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, req, strlen(req));
    berth_buf_t out;
    buf_init(&out);
    pump(fx, fd, &out, "Content-Length: 0\r\n\r\n", 2000);
    assert_non_null(strstr(out.data, "Transfer-Encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n"
                                     "5\r\nthree\r\n0\r\n\r\nHTTP/1.1 200 OK"));
    close(fd);
    buf_free(&out);
}

static void test_backpressure_on_drain(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *req = "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    csend(fx, fd, req, strlen(req));
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 10000)); /* all of it, then close */
    assert_true(out.len > BIG_TOTAL);
    assert_true(out.len > 5 && memcmp(out.data + out.len - 5, "0\r\n\r\n", 5) == 0);
    /* De-chunk: the body is every chunk, in order. */
    const char *p = strstr(out.data, "\r\n\r\n");
    assert_non_null(p);
    p += 4;
    size_t body = 0;
    for (;;) {
        char *end;
        unsigned long n = strtoul(p, &end, 16);
        assert_true(end[0] == '\r' && end[1] == '\n');
        p = end + 2;
        if (n == 0)
            break;
        bool in_order = true;
        for (unsigned long i = 0; i < n; i++)
            in_order &= (unsigned char)p[i] == (((body + i) / BIG_CHUNK) & 0xff);
        assert_true(in_order);
        body += n;
        p += n + 2;
    }
    assert_int_equal(body, BIG_TOTAL);
    close(fd);
    buf_free(&out);
}

/* A masked client frame. */
static size_t ws_frame(char *out, int opcode, const char *payload, size_t len)
{
    static const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    size_t h = 0;
    out[h++] = (char)(0x80 | opcode);
    out[h++] = (char)(0x80 | len);
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = (char)(payload[i] ^ mask[i & 3]);
    return h + len;
}

static void test_websocket(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    char req[1024];
    /* The handshake with a frame right behind it in the same write. */
    size_t n = (size_t)snprintf(req, sizeof(req),
                                "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                "Connection: keep-alive, Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n");
    n += ws_frame(req + n, 0x1, "hi", 2);
    n += ws_frame(req + n, 0x9, "p!", 2);
    csend(fx, fd, req, n);
    berth_buf_t out;
    buf_init(&out);
    pump(fx, fd, &out, "p!", 2000);
    assert_true(strncmp(out.data, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    assert_non_null(strstr(out.data, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    const char *body = after(out.data, "\r\n\r\n");
    assert_non_null(body);
    /* Binary frame "HI" (unmasked), then the pong. */
    assert_memory_equal(body, "\x82\x02HI\x8a\x02p!", 8);
    size_t seen = out.len;
    n = ws_frame(req, 0x8, "\x03\xe8", 2);
    csend(fx, fd, req, n);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    /* "bye" from on_raw_eof, then one close frame (ours answers theirs). */
    assert_int_equal(out.len - seen, 5 + 4);
    assert_memory_equal(out.data + seen,
                        "\x82\x03"
                        "bye"
                        "\x88\x02\x03\xe8",
                        9);
    assert_int_equal(fx->aborts, 0);
    close(fd);
    buf_free(&out);

    /* Not a websocket handshake: a plain error reply. */
    fd = client(fx);
    const char *bad = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
    csend(fx, fd, bad, strlen(bad));
    buf_init(&out);
    pump(fx, fd, &out, "}", 2000);
    assert_non_null(strstr(out.data, "400 Bad Request"));
    close(fd);
    buf_free(&out);

    /* An unmasked client frame is a protocol error: close 1002 and abort. */
    fd = client(fx);
    n = (size_t)snprintf(req, sizeof(req),
                         "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n\x82\x01x");
    csend(fx, fd, req, n);
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000));
    assert_non_null(memmem(out.data, out.len, "\x88\x02\x03\xea", 4));
    assert_int_equal(fx->aborts, 1);
    close(fd);
    buf_free(&out);
}

static void test_slow_headers_dropped(void **state)
{
    fixture_t *fx = *state;
    int fd = client(fx);
    const char *part = "GET /echo HTTP/1.1\r\nHost";
    csend(fx, fd, part, strlen(part));
    berth_buf_t out;
    buf_init(&out);
    assert_true(pump(fx, fd, &out, NULL, 2000)); /* header timeout is 200 ms */
    assert_int_equal(out.len, 0);
    close(fd);
    buf_free(&out);
    /* An idle connection (no request started) is not timed out. */
    fd = client(fx);
    assert_false(pump(fx, fd, &out, "never", 400));
    assert_int_equal(http_server_connection_count(fx->srv), 1);
    close(fd);
}

static void test_replaced_socket_is_left_alone(void **state)
{
    (void)state;
    fixture_t *fx = NULL;
    setup((void **)&fx);
    /* Another daemon took over the path after us. */
    assert_int_equal(unlink(fx->path), 0);
    int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, fx->path);
    assert_int_equal(bind(other, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(other, 1), 0);
    /* A live socket on the path is not stale: a second listen refuses. */
    http_server_t *srv2 = NULL;
    http_server_opts_t opts = {.loop = &fx->loop, .dispatch = dispatch};
    assert_int_equal(http_server_new(&opts, &srv2), 0);
    assert_int_equal(http_server_listen_unix(srv2, fx->path, 0600, (gid_t)-1), -EADDRINUSE);
    assert_true(fs_exists(fx->path));
    http_server_close(srv2, NULL, NULL);
    assert_true(fs_exists(fx->path));
    http_server_close(fx->srv, closed_cb, fx);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_true(fs_exists(fx->path)); /* not ours any more: left in place */
    close(other);
    unlink(fx->path);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    rmdir(fx->dir);
    free(fx);
}

/* ---- the loop waiting in the ring ---- */

typedef struct drip {
    uv_poll_t poll;
    int fd;
    int calls;
} drip_t;

/* Reads one byte per call: the pipe stays readable across turns and the
 * loop waiting in the ring must keep serving it until it is drained. */
static void drip_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    drip_t *d = h->data;
    char c;
    if (read(d->fd, &c, 1) == 1)
        d->calls++;
    if (d->calls == 3)
        uv_close((uv_handle_t *)h, NULL);
}

/* A loop waiting in a ring, with d watching the read end of pipe p. */
static http_ring_t *ring_loop_with_drip(uv_loop_t *loop, drip_t *d, int p[2])
{
    assert_int_equal(uv_loop_init(loop), 0);
    http_ring_t *ring = NULL;
    assert_int_equal(http_ring_open(loop, &ring), 0);
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    *d = (drip_t){.fd = p[0]};
    uv_poll_init(loop, &d->poll, p[0]);
    d->poll.data = d;
    uv_poll_start(&d->poll, UV_READABLE, drip_cb);
    return ring;
}

static void test_ring_loop_runs_level_triggered_leftovers(void **state)
{
    (void)state;
    uv_loop_t loop;
    drip_t d;
    int p[2];
    http_ring_t *ring = ring_loop_with_drip(&loop, &d, p);
    assert_int_equal(write(p[1], "abc", 3), 3);
    /* A stuck loop never returns: an alarm ends the test with a failure. */
    alarm(10);
    assert_int_equal(http_ring_run(ring), 0);
    alarm(0);
    assert_int_equal(d.calls, 3);
    http_ring_free(ring);
    close(p[0]);
    close(p[1]);
    assert_int_equal(uv_loop_close(&loop), 0);
}

typedef struct ticker {
    uv_timer_t timer;
    http_ring_t *ring;
    int ticks;
} ticker_t;

static void ticker_cb(uv_timer_t *t)
{
    ticker_t *k = t->data;
    if (++k->ticks == 10) {
        uv_timer_stop(t);
        http_ring_stop(k->ring);
    }
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Waits that end by timeout (no completion) must not leave the loop
 * spinning: 10 ticks of 20 ms cost next to no CPU. (Re-arming the pending
 * epoll-fd poll every turn made each wait return at once.) */
static void test_ring_loop_sleeps_between_timers(void **state)
{
    (void)state;
    uv_loop_t loop;
    drip_t idle; /* an idle fd in libuv's epoll set, like the daemon's socket */
    int p[2];
    http_ring_t *ring = ring_loop_with_drip(&loop, &idle, p);
    ticker_t k = {.ring = ring};
    uv_timer_init(&loop, &k.timer);
    k.timer.data = &k;
    uv_timer_start(&k.timer, ticker_cb, 20, 20);
    double before = cpu_ms();
    alarm(10);
    assert_int_equal(http_ring_run(ring), 0);
    alarm(0);
    double spent = cpu_ms() - before;
    assert_int_equal(k.ticks, 10);
    assert_true(spent < 60.0); /* a busy loop burns ~200 ms */
    uv_close((uv_handle_t *)&idle.poll, NULL);
    uv_close((uv_handle_t *)&k.timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    http_ring_free(ring);
    close(p[0]);
    close(p[1]);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_loop_runs_level_triggered_leftovers),
        cmocka_unit_test(test_ring_loop_sleeps_between_timers),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_when_the_last_client_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_when_the_last_client_leaves, setup_ring,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_request_body, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_request_body, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_headers_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_too_large, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_closes, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_hijack_with_body_and_early_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hijack_with_body_and_early_bytes, setup_ring,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_half_closed_client_gets_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_closed_client_gets_answer, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_abort_when_client_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_when_client_leaves, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_response, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_slow_headers_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_headers_dropped, setup_ring, teardown),
        cmocka_unit_test(test_replaced_socket_is_left_alone),
        cmocka_unit_test_setup_teardown(test_backpressure_on_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_on_drain, setup_ring, teardown),
        cmocka_unit_test_setup_teardown(test_websocket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_websocket, setup_ring, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
