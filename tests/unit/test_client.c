/* Unit tests for src/client: demux, JSON lines, base64/auth encodings, and
 * the HTTP client against a forked canned-response server on a unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "berth/client.h"

/* ---- demux ---------------------------------------------------------------- */
typedef struct frames {
    berth_buf_t out, err;
    int calls;
} frames_t;

static int frame_cb(void *opaque, int stream, const char *data, size_t len)
{
    frames_t *f = opaque;
    f->calls++;
    buf_append(stream == 2 ? &f->err : &f->out, data, len);
    return 0;
}

static void test_demux_split_anywhere(void **state)
{
    (void)state;
    const char stream[] = "\x01\0\0\0\0\0\0\x05hello"
                          "\x02\0\0\0\0\0\0\x03"
                          "err"
                          "\x01\0\0\0\0\0\0\0"
                          "\x01\0\0\0\0\0\0\x01!";
    size_t len = sizeof(stream) - 1;
    /* Every split position, fed in two pieces, gives the same result. */
    for (size_t cut = 0; cut <= len; cut++) {
        frames_t f = {0};
        buf_init(&f.out);
        buf_init(&f.err);
        client_demux_t dm;
        client_demux_init(&dm, frame_cb, &f);
        assert_int_equal(client_demux_feed(&dm, stream, cut), 0);
        assert_int_equal(client_demux_feed(&dm, stream + cut, len - cut), 0);
        assert_string_equal(f.out.data, "hello!");
        assert_string_equal(f.err.data, "err");
        buf_free(&f.out);
        buf_free(&f.err);
    }
    /* Byte by byte. */
    frames_t f = {0};
    buf_init(&f.out);
    buf_init(&f.err);
    client_demux_t dm;
    client_demux_init(&dm, frame_cb, &f);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(client_demux_feed(&dm, stream + i, 1), 0);
    assert_string_equal(f.out.data, "hello!");
    buf_free(&f.out);
    buf_free(&f.err);
}

static void test_demux_bad_stream_type(void **state)
{
    (void)state;
    frames_t f = {0};
    client_demux_t dm;
    client_demux_init(&dm, frame_cb, &f);
    assert_int_equal(client_demux_feed(&dm, "\x09\0\0\0\0\0\0\x01x", 9), -EPROTO);
    assert_int_equal(f.calls, 0);
}

/* ---- JSON lines ------------------------------------------------------------ */
typedef struct lines {
    int n;
    char ids[8][32];
} lines_t;

static int line_cb(void *opaque, cJSON *msg)
{
    lines_t *l = opaque;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", cJSON_IsString(id) ? id->valuestring : "?");
    return 0;
}

static void test_json_lines(void **state)
{
    (void)state;
    lines_t l = {0};
    client_json_lines_t jl;
    client_json_lines_init(&jl, line_cb, &l);
    const char *in = "{\"id\":\"a\"}\r\n{\"id\":\"b\"}\n\r\n{\"id\":\"c\"";
    /* Split in the middle of an object. */
    assert_int_equal(client_json_lines_feed(&jl, in, 5), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(client_json_lines_feed(&jl, in + 5, strlen(in) - 5), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(client_json_lines_feed(&jl, "}", 1), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(client_json_lines_finish(&jl), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.ids[0], "a");
    assert_string_equal(l.ids[1], "b");
    assert_string_equal(l.ids[2], "c");
    client_json_lines_free(&jl);
}

/* ---- base64 / auth ---------------------------------------------------------- */
static void test_base64_and_auth(void **state)
{
    (void)state;
    char *s = client_base64("{}", 2, true);
    assert_string_equal(s, "e30=");
    free(s);
    s = client_auth_encode("user", "p@ss:word");
    assert_string_equal(s, "dXNlcjpwQHNzOndvcmQ=");
    char *u, *p;
    assert_int_equal(client_auth_decode(s, &u, &p), 0);
    assert_string_equal(u, "user");
    assert_string_equal(p, "p@ss:word"); /* only the first colon splits */
    free(u);
    free(p);
    free(s);
    /* Missing padding and url-safe alphabet are accepted. */
    size_t len;
    unsigned char *d = client_base64_decode("dXNlcjpwQHNzOndvcmQ", &len);
    assert_non_null(d);
    assert_int_equal(len, 14);
    assert_memory_equal(d, "user:p@ss:word", 14);
    free(d);
    d = client_base64_decode("-_8", &len); /* 0xfb 0xff */
    assert_non_null(d);
    assert_int_equal(len, 2);
    assert_int_equal(d[0], 0xfb);
    assert_int_equal(d[1], 0xff);
    free(d);
    assert_null(client_base64_decode("a$bc", &len));
    assert_int_equal(client_auth_decode("bm9jb2xvbg==", &u, &p), -1); /* "nocolon" */

    char *hdr = client_registry_auth_header("me", "pw", "localhost:5000");
    d = client_base64_decode(hdr, &len);
    cJSON *j = cJSON_Parse((char *)d);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "username")->valuestring, "me");
    assert_string_equal(cJSON_GetObjectItem(j, "password")->valuestring, "pw");
    assert_string_equal(cJSON_GetObjectItem(j, "serveraddress")->valuestring, "localhost:5000");
    assert_null(strchr(hdr, '+'));
    assert_null(strchr(hdr, '/'));
    cJSON_Delete(j);
    free(d);
    free(hdr);
    hdr = client_registry_auth_header(NULL, NULL, NULL);
    assert_string_equal(hdr, "e30=");
    free(hdr);
}

static void test_urlencode_and_host(void **state)
{
    (void)state;
    char *s = client_urlencode("{\"a\":[\"x y/z\"]}");
    assert_string_equal(s, "%7B%22a%22%3A%5B%22x%20y%2Fz%22%5D%7D");
    free(s);
    s = client_urlencode("");
    assert_string_equal(s, "");
    free(s);

    client_t c;
    berth_err_t err = {0};
    assert_int_equal(client_init(&c, "unix:///run/x.sock", &err), 0);
    assert_string_equal(c.unix_path, "/run/x.sock");
    client_close(&c);
    assert_int_equal(client_init(&c, "tcp://127.0.0.1:2375", &err), 0);
    assert_string_equal(c.tcp_host, "127.0.0.1");
    assert_string_equal(c.tcp_port, "2375");
    client_close(&c);
    assert_int_equal(client_init(&c, "tcp://[::1]:99", &err), 0);
    assert_string_equal(c.tcp_host, "::1");
    assert_string_equal(c.tcp_port, "99");
    client_close(&c);
    assert_int_not_equal(client_init(&c, "ssh://host", &err), 0);
    assert_non_null(strstr(err.msg, "invalid host"));

    setenv("BERTH_HOST", "unix:///a", 1);
    setenv("DOCKER_HOST", "unix:///b", 1);
    assert_string_equal(client_host_from_env(NULL), "unix:///a");
    assert_string_equal(client_host_from_env("tcp://x:1"), "tcp://x:1");
    unsetenv("BERTH_HOST");
    assert_string_equal(client_host_from_env(NULL), "unix:///b");
    unsetenv("DOCKER_HOST");
    assert_string_equal(client_host_from_env(NULL), CLIENT_DEFAULT_HOST);
}

/* ---- HTTP against a canned server ------------------------------------------- */
typedef struct server {
    char dir[48];
    char path[80];
    pid_t pid;
} server_t;

/* Serve `answers` in order, one per accepted connection or kept-alive request.
 * Each request is read up to its blank line (+ body by Content-Length or a
 * chunked terminator) and recorded in dir/req<N>. */
static void serve(int lfd, const char *dir, const char *const *answers)
{
    int n = 0;
    for (const char *const *a = answers; *a;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(1);
        for (; *a; a++) {
            berth_buf_t req;
            buf_init(&req);
            char tmp[4096];
            bool done = false;
            while (!done) {
                ssize_t r = read(fd, tmp, sizeof(tmp));
                if (r <= 0)
                    break;
                buf_append(&req, tmp, (size_t)r);
                char *end = strstr(req.data, "\r\n\r\n");
                if (!end)
                    continue;
                size_t head = (size_t)(end + 4 - req.data);
                const char *cl = strcasestr(req.data, "Content-Length: ");
                if (strcasestr(req.data, "Transfer-Encoding: chunked"))
                    done = strstr(end + 4, "\r\n0\r\n\r\n") || !strncmp(end + 4, "0\r\n\r\n", 5);
                else
                    done = req.len >= head + (cl ? (size_t)atoi(cl + 16) : 0);
            }
            if (!req.len) {
                buf_free(&req);
                break; /* client closed: next connection */
            }
            char *p = xasprintf("%s/req%d", dir, n++);
            fs_write_atomic(p, req.data, req.len, 0644);
            free(p);
            buf_free(&req);
            fs_write_all(fd, *a, strlen(*a));
            if (strstr(*a, "Connection: close") || strstr(*a, "101 UPGRADED")) {
                if (strstr(*a, "101 UPGRADED"))
                    fs_write_all(fd, "\x01\0\0\0\0\0\0\x02hi", 10);
                a++;
                break;
            }
        }
        close(fd);
    }
    _exit(0);
}

static void server_start(server_t *s, const char *const *answers)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/berth-test-client-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/s.sock", s->dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    s->pid = fork();
    if (s->pid == 0) {
        alarm(20);
        serve(lfd, s->dir, answers);
    }
    close(lfd);
}

static char *server_req(server_t *s, int n)
{
    char *p = xasprintf("%s/req%d", s->dir, n);
    char *data = NULL;
    size_t len;
    if (fs_read_file(p, 1 << 20, &data, &len) < 0)
        data = NULL;
    free(p);
    return data;
}

static void server_stop(server_t *s)
{
    int st;
    waitpid(s->pid, &st, 0);
    fs_rm_rf(s->dir);
}

static int collect_cb(void *opaque, const char *data, size_t len)
{
    buf_append(opaque, data, len);
    return 0;
}

static void test_http_requests(void **state)
{
    (void)state;
    static const char *const answers[] = {
        /* 1: JSON with Content-Length, kept alive */
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nAPI-Version: 1.44\r\n"
        "Content-Length: 15\r\n\r\n{\"Version\":\"x\"}",
        /* 2: chunked body streamed to a callback, kept alive */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        /* 3: error JSON, then close */
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 36\r\n"
        "Connection: close\r\n\r\n{\"message\":\"No such image: nope:x\"}\n",
        /* 4: chunked upload answered, close */
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        /* 5: hijack */
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);

    cJSON *out = NULL;
    int status = 0;
    assert_int_equal(client_json(&c, "GET", "/version", NULL, &out, &status, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(cJSON_GetObjectItem(out, "Version")->valuestring, "x");
    cJSON_Delete(out);
    assert_true(c.fd >= 0); /* kept alive */

    berth_buf_t got;
    buf_init(&got);
    client_req_t req;
    client_req_init(&req, "GET", "/images/get?names=a");
    req.on_data = collect_cb;
    req.opaque = &got;
    client_resp_t resp;
    assert_int_equal(client_do(&c, &req, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(got.data, "abcde");
    assert_int_equal(resp.body.len, 0);
    client_resp_free(&resp);
    buf_free(&got);

    assert_int_equal(client_json(&c, "DELETE", "/images/nope", NULL, NULL, &status, &err), -1);
    assert_int_equal(status, 404);
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such image: nope:x");
    assert_true(c.fd < 0);

    /* Chunked upload from a pipe. */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(write(pfd[1], "TARDATA", 7), 7);
    close(pfd[1]);
    client_req_init(&req, "POST", "/images/load?quiet=1");
    req.body_fd = pfd[0];
    req.content_type = "application/x-tar";
    assert_int_equal(client_do(&c, &req, &resp, &err), 0);
    assert_string_equal(resp.body.data, "ok");
    client_resp_free(&resp);
    close(pfd[0]);

    /* Hijack: raw fd plus the stream bytes that came with the headers. */
    int fd = -1;
    berth_buf_t early;
    buf_init(&early);
    client_req_init(&req, "POST", "/containers/x/attach?stream=1&stdout=1");
    assert_int_equal(client_hijack(&c, &req, &fd, &early, &err), 0);
    assert_true(fd >= 0);
    /* The frame may come with the headers or after them. */
    char rest[64];
    ssize_t r;
    while (early.len < 10 && (r = read(fd, rest, sizeof(rest))) > 0)
        buf_append(&early, rest, (size_t)r);
    assert_int_equal(early.len, 10);
    assert_memory_equal(early.data + 8, "hi", 2);
    close(fd);
    buf_free(&early);
    client_close(&c);
    server_stop(&s);
}

static void test_http_wire_format(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
        "oops\n",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "Image", "busybox");
    assert_int_equal(client_json(&c, "POST", "/containers/create?name=x", body, NULL, NULL, &err),
                     0);
    cJSON_Delete(body);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(write(pfd[1], "0123456789", 10), 10);
    close(pfd[1]);
    client_req_t req;
    client_req_init(&req, "POST", "/images/load");
    req.body_fd = pfd[0];
    client_resp_t resp;
    assert_int_equal(client_do(&c, &req, &resp, &err), 0);
    client_resp_free(&resp);
    close(pfd[0]);
    /* Non-JSON error bodies become the message. */
    assert_int_equal(client_json(&c, "GET", "/info", NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "oops");
    assert_int_equal(err.status, 500);
    client_close(&c);
    server_stop(&s);
}

static void test_http_request_bytes(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "Image", "busybox");
    assert_int_equal(client_json(&c, "POST", "/containers/create", body, NULL, NULL, &err), 0);
    cJSON_Delete(body);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(write(pfd[1], "0123456789", 10), 10);
    close(pfd[1]);
    client_req_t req;
    client_req_init(&req, "POST", "/images/load");
    req.body_fd = pfd[0];
    client_resp_t resp;
    assert_int_equal(client_do(&c, &req, &resp, &err), 0);
    client_resp_free(&resp);
    close(pfd[0]);
    client_close(&c);
    int st;
    waitpid(s.pid, &st, 0);
    cleanup_free char *r0 = server_req(&s, 0);
    cleanup_free char *r1 = server_req(&s, 1);
    assert_non_null(r0);
    assert_non_null(r1);
    assert_non_null(strstr(r0, "POST /v1.44/containers/create HTTP/1.1\r\n"));
    assert_non_null(strstr(r0, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(r0, "Content-Length: 19\r\n"));
    assert_non_null(strstr(r0, "\r\n\r\n{\"Image\":\"busybox\"}"));
    assert_non_null(strstr(r1, "POST /v1.44/images/load HTTP/1.1\r\n"));
    assert_non_null(strstr(r1, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(r1, "\r\n\r\na\r\n0123456789\r\n0\r\n\r\n"));
    fs_rm_rf(s.dir);
}

static void test_negotiate_version(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);
    assert_int_equal(client_negotiate(&c, &err), 0);
    assert_string_equal(c.api_version, "1.41");
    /* HEAD: the Content-Length describes no body; the connection stays usable. */
    assert_int_equal(client_json(&c, "GET", "/info", NULL, NULL, NULL, &err), 0);
    client_close(&c);
    int st;
    waitpid(s.pid, &st, 0);
    cleanup_free char *r0 = server_req(&s, 0);
    cleanup_free char *r1 = server_req(&s, 1);
    assert_non_null(strstr(r0, "HEAD /_ping HTTP/1.1\r\n"));
    assert_non_null(strstr(r1, "GET /v1.41/info HTTP/1.1\r\n"));
    fs_rm_rf(s.dir);
}

/* No ping up front: our version first, a ping and one retry only when an
 * older daemon refuses it (as dockerd 20.10 does for 1.44). */
static void test_negotiate_on_demand(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 83\r\n\r\n"
        "{\"message\":\"client version 1.44 is too new. Maximum supported API version is 1.41\"}",
        "HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 8\r\n"
        "Connection: close\r\n\r\n{\"Id\":1}",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);
    cJSON *body = cJSON_CreateObject();
    assert_int_equal(client_json(&c, "POST", "/containers/create", body, NULL, NULL, &err), 0);
    cJSON_Delete(body);
    assert_true(c.negotiated);
    assert_string_equal(c.api_version, "1.41");
    client_close(&c);
    int st;
    waitpid(s.pid, &st, 0);
    cleanup_free char *r0 = server_req(&s, 0);
    cleanup_free char *r1 = server_req(&s, 1);
    cleanup_free char *r2 = server_req(&s, 2);
    assert_non_null(strstr(r0, "POST /v1.44/containers/create HTTP/1.1\r\n"));
    assert_non_null(strstr(r1, "HEAD /_ping HTTP/1.1\r\n"));
    assert_non_null(strstr(r2, "POST /v1.41/containers/create HTTP/1.1\r\n"));
    fs_rm_rf(s.dir);
}

static void test_bad_responses(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "NOT HTTP AT ALL\r\n\r\nConnection: close",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nab",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\n{bad}",
        NULL,
    };
    server_t s;
    server_start(&s, answers);
    client_t c;
    berth_err_t err = {0};
    cleanup_free char *host = xasprintf("unix://%s", s.path);
    assert_int_equal(client_init(&c, host, &err), 0);
    assert_int_equal(client_json(&c, "GET", "/a", NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "bad response"));
    assert_int_equal(err.status, 0);
    berth_err_clear(&err);
    /* Truncated chunked body: an error, not a short success. */
    assert_int_equal(client_json(&c, "GET", "/b", NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unexpected EOF"));
    berth_err_clear(&err);
    cJSON *out = NULL;
    assert_int_equal(client_json(&c, "GET", "/c", NULL, &out, NULL, &err), -1);
    assert_null(out);
    assert_non_null(strstr(err.msg, "invalid JSON"));
    client_close(&c);
    server_stop(&s);
}

static void test_connect_refused(void **state)
{
    (void)state;
    client_t c;
    berth_err_t err = {0};
    assert_int_equal(client_init(&c, "unix:///nonexistent/berth.sock", &err), 0);
    assert_int_equal(client_json(&c, "GET", "/info", NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.status, 0);
    assert_non_null(strstr(err.msg, "Cannot connect to the berth daemon"));
    client_close(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_split_anywhere), cmocka_unit_test(test_demux_bad_stream_type),
        cmocka_unit_test(test_json_lines),           cmocka_unit_test(test_base64_and_auth),
        cmocka_unit_test(test_urlencode_and_host),   cmocka_unit_test(test_http_requests),
        cmocka_unit_test(test_http_wire_format),     cmocka_unit_test(test_http_request_bytes),
        cmocka_unit_test(test_negotiate_version),    cmocka_unit_test(test_negotiate_on_demand),
        cmocka_unit_test(test_bad_responses),        cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
