/* GET /events through the real router and http server in-process: past
 * events with since/until, filters, live streaming and unsubscribe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "api/internal.h"
#include "http/internal.h"

typedef struct fx {
    uv_loop_t loop;
    berthd_t d;
    char dir[64], path[128];
} fx_t;

static int setup(void **state)
{
    fx_t *f = xcalloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/berth-ev-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
    uv_loop_init(&f->loop);
    f->d.loop = &f->loop;
    f->d.router = api_build_router();
    f->d.events = api_events_new(&f->loop);
    http_server_opts_t o = {.loop = &f->loop,
                            .data = &f->d,
                            .route = api_route_cb,
                            .dispatch = api_dispatch_cb,
                            .common_headers = api_common_headers()};
    assert_int_equal(http_server_new(&o, &f->d.http), 0);
    assert_int_equal(http_server_listen_unix(f->d.http, f->path, 0600, (gid_t)-1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    http_server_close(f->d.http, NULL, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(api_events_listeners(f->d.events), 0);
    api_events_free(f->d.events);
    api_router_free(f->d.router);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rmdir(f->dir);
    free(f);
    return 0;
}

static int client_send(fx_t *f, const char *req)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void pump(fx_t *f, int fd, berth_buf_t *out, const char *want, int ms)
{
    int64_t end = berth_now_ns() + (int64_t)ms * 1000000;
    while (berth_now_ns() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        char tmp[8192];
        ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (n > 0) {
            buf_append(out, tmp, (size_t)n);
            continue;
        }
        if (n == 0 || (want && out->data && strstr(out->data, want)))
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 1);
    }
}

static cJSON *attrs(const char *name, const char *image)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "name", name);
    if (image)
        cJSON_AddStringToObject(a, "image", image);
    cJSON_AddStringToObject(a, "com.example.role", "web");
    return a;
}

static void test_past_events_with_filters(void **state)
{
    fx_t *f = *state;
    api_event_publish(&f->d, "container", "create", "c1", attrs("web1", "busybox"));
    api_event_publish(&f->d, "container", "start", "c1", attrs("web1", "busybox"));
    api_event_publish(&f->d, "image", "tag", "sha256:abc", attrs("busybox:latest", NULL));
    api_event_publish(&f->d, "container", "exec_start: sh -c x", "c2", attrs("db", "redis"));
    char req[512];
    int64_t now = berth_now_ns();
    /* Map-form filters, as the Go CLI sends them; until = now ends the stream. */
    snprintf(req, sizeof(req),
             "GET /v1.44/events?since=0&until=%lld.%09lld&filters=%%7B%%22type%%22%%3A%%7B%%22"
             "container%%22%%3Atrue%%7D%%7D HTTP/1.1\r\nHost: x\r\n\r\n",
             (long long)(now / 1000000000LL), (long long)(now % 1000000000LL));
    int fd = client_send(f, req);
    berth_buf_t out;
    buf_init(&out);
    pump(f, fd, &out, "\r\n0\r\n\r\n", 2000);
    assert_non_null(strstr(out.data, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(out.data, "\"Action\":\"create\""));
    assert_non_null(strstr(out.data, "\"Action\":\"start\""));
    assert_non_null(strstr(out.data, "\"from\":\"busybox\""));
    assert_non_null(strstr(out.data, "exec_start"));
    assert_null(strstr(out.data, "\"Type\":\"image\""));
    assert_non_null(strstr(out.data, "\r\n0\r\n\r\n")); /* the stream ended */
    close(fd);
    buf_free(&out);

    /* List form + event prefix + label filters. */
    snprintf(req, sizeof(req),
             "GET /events?since=0&until=%lld&filters=%%7B%%22event%%22%%3A%%5B%%22exec_start"
             "%%22%%5D%%2C%%22label%%22%%3A%%5B%%22com.example.role%%3Dweb%%22%%5D%%7D "
             "HTTP/1.1\r\nHost: x\r\n\r\n",
             (long long)(now / 1000000000LL + 1));
    fd = client_send(f, req);
    buf_init(&out);
    pump(f, fd, &out, "\r\n0\r\n\r\n", 3000);
    assert_non_null(strstr(out.data, "exec_start: sh -c x"));
    assert_null(strstr(out.data, "\"Action\":\"create\""));
    close(fd);
    buf_free(&out);
}

static void test_live_stream_and_abort(void **state)
{
    fx_t *f = *state;
    int fd = client_send(f, "GET /events?filters=%7B%22container%22%3A%5B%22web1%22%5D%7D "
                            "HTTP/1.1\r\nHost: x\r\n\r\n");
    berth_buf_t out;
    buf_init(&out);
    pump(f, fd, &out, "\r\n\r\n", 1000); /* headers come at once */
    assert_non_null(strstr(out.data, "200 OK"));
    assert_int_equal(api_events_listeners(f->d.events), 1);
    api_event_publish(&f->d, "container", "die", "c1", attrs("web1", "busybox"));
    api_event_publish(&f->d, "container", "die", "c2", attrs("db", "redis"));
    pump(f, fd, &out, "\"die\"", 1000);
    assert_non_null(strstr(out.data, "\"id\":\"c1\""));
    assert_null(strstr(out.data, "\"id\":\"c2\""));
    close(fd);
    for (int i = 0; i < 100 && api_events_listeners(f->d.events) > 0; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(api_events_listeners(f->d.events), 0);
    buf_free(&out);
}

static void test_bad_params(void **state)
{
    fx_t *f = *state;
    int fd = client_send(f, "GET /events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D HTTP/1.1\r\n"
                            "Host: x\r\n\r\n");
    berth_buf_t out;
    buf_init(&out);
    pump(f, fd, &out, "}", 1000);
    assert_non_null(strstr(out.data, "400 Bad Request"));
    assert_non_null(strstr(out.data, "invalid filter 'bogus'"));
    close(fd);
    buf_reset(&out);
    fd = client_send(f, "GET /events?since=yesterday HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(f, fd, &out, "}", 1000);
    assert_non_null(strstr(out.data, "400 Bad Request"));
    close(fd);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_past_events_with_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_stream_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
