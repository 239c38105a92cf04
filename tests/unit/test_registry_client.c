/* Registry client against real registries: Debian's docker-registry started
 * by tests/integration/registrytools.py (plain HTTP, TLS + htpasswd, token
 * auth with a token server). Exercises the curl-multi transport on a libuv
 * loop, the auth handshake, login and distribution inspect. Skips when
 * docker-registry or python3 is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "registry/client.h"

#include "registry_testutil.h"
/* ---- transport ---- */
typedef struct xstate {
    int done, ok;
    long status;
    int result;
    char api_version[64];
    reg_xfer_t *other; /* cancelled from a callback */
    size_t bytes;
} xstate_t;

static void x_done(reg_xfer_t *x, int result)
{
    xstate_t *s = x->data;
    s->done++;
    s->result = result;
    s->status = x->status;
    if (result == 0 && x->status == 200)
        s->ok++;
    const char *v = reg_xfer_header(x, "Docker-Distribution-API-Version");
    if (v)
        snprintf(s->api_version, sizeof(s->api_version), "%s", v);
}

static int x_data_cancel_other(reg_xfer_t *x, const char *d, size_t n)
{
    (void)d;
    xstate_t *s = x->data;
    s->bytes += n;
    if (s->other) {
        reg_xfer_cancel(s->other);
        s->other = NULL;
    }
    return 0;
}

static int x_data_pause(reg_xfer_t *x, const char *d, size_t n)
{
    (void)d;
    xstate_t *s = x->data;
    s->bytes += n;
    return REG_DATA_PAUSE;
}

static void test_transport(void **state)
{
    (void)state;
    if (!have_registry())
        skip();
    testreg_t r;
    testreg_start(&r, NULL);
    uv_loop_t loop;
    uv_loop_init(&loop);
    reg_http_t *h;
    assert_int_equal(reg_http_new(&loop, &h), 0);

    /* Several requests at once on one loop. */
    xstate_t s = {0};
    char url[256];
    snprintf(url, sizeof(url), "%s/v2/", reg_str(&r, "url"));
    for (int i = 0; i < 5; i++) {
        reg_xfer_opts_t o = {.url = url, .on_done = x_done, .data = &s};
        assert_int_equal(reg_xfer_start(h, &o, NULL), 0);
    }
    while (s.done < 5)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s.ok, 5);
    assert_string_equal(s.api_version, "registry/2.0");

    /* 404 with a JSON error body is a response, not a transport failure. */
    xstate_t s404 = {0};
    snprintf(url, sizeof(url), "%s/v2/nope/manifests/latest", reg_str(&r, "url"));
    reg_xfer_opts_t o404 = {.url = url, .on_done = x_done, .data = &s404};
    reg_xfer_t *x404 = NULL;
    assert_int_equal(reg_xfer_start(h, &o404, &x404), 0);
    /* A paused transfer is cancelled from inside another one's data
     * callback: its on_done must never run. */
    xstate_t s_cancel = {0}, s_first = {0};
    snprintf(url, sizeof(url), "%s/v2/", reg_str(&r, "url"));
    reg_xfer_opts_t oc = {
        .url = url, .on_done = x_done, .on_data = x_data_pause, .data = &s_cancel};
    reg_xfer_t *victim = NULL;
    assert_int_equal(reg_xfer_start(h, &oc, &victim), 0);
    while (s_cancel.bytes == 0)
        uv_run(&loop, UV_RUN_ONCE);
    s_first.other = victim;
    reg_xfer_opts_t of = {
        .url = url, .on_done = x_done, .on_data = x_data_cancel_other, .data = &s_first};
    assert_int_equal(reg_xfer_start(h, &of, NULL), 0);
    while (s404.done < 1 || s_first.done < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(s404.result, 0);
    assert_int_equal(s404.status, 404);
    assert_int_equal(s_first.ok, 1);
    assert_true(s_first.bytes > 0);
    assert_int_equal(s_cancel.done, 0);

    /* Connection refused: a clean -ECONNREFUSED, with a message. */
    xstate_t sref = {0};
    reg_xfer_opts_t oref = {.url = "http://127.0.0.1:1/v2/", .on_done = x_done, .data = &sref};
    assert_int_equal(reg_xfer_start(h, &oref, NULL), 0);
    while (sref.done < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(sref.result, -ECONNREFUSED);

    /* Close with a transfer in flight: it finishes with -ECANCELED. */
    xstate_t sclose = {0};
    reg_xfer_opts_t ocl = {.url = url, .on_done = x_done, .data = &sclose};
    assert_int_equal(reg_xfer_start(h, &ocl, NULL), 0);
    bool closed = false;
    reg_http_close(h, closed_cb, &closed);
    run_until(&loop, &closed);
    assert_int_equal(sclose.done, 1);
    assert_int_equal(sclose.result, -ECANCELED);
    assert_int_equal(uv_loop_close(&loop), 0);
    testreg_stop(&r);
}

/* ---- login ---- */
static void login(uv_loop_t *loop, reg_client_t *c, const char *server, const char *user,
                  const char *pw, result_t *out)
{
    reg_auth_t a = {
        .username = (char *)user, .password = (char *)pw, .server_address = (char *)server};
    berth_err_t err;
    memset(out, 0, sizeof(*out));
    assert_int_equal(reg_login(c, &a, done_cb, out, NULL, &err), 0);
    run_until(loop, &out->done);
}

static void test_login_htpasswd_tls(void **state)
{
    (void)state;
    if (!have_registry())
        skip();
    testreg_t r;
    const char *args[] = {"--tls", "--htpasswd", "alice:s3cret", NULL};
    testreg_start(&r, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    reg_client_t *c = client_new(&loop, NULL);
    result_t res;
    login(&loop, c, reg_str(&r, "hostport"), "alice", "s3cret", &res);
    assert_false(res.failed);
    assert_string_equal(cJSON_GetObjectItem(res.res, "Status")->valuestring, "Login Succeeded");
    cJSON_Delete(res.res);

    login(&loop, c, reg_str(&r, "hostport"), "alice", "wrong", &res);
    assert_true(res.failed);
    assert_int_equal(res.err.status, 401);
    assert_non_null(strstr(res.err.msg, "login attempt to https://"));
    assert_non_null(strstr(res.err.msg, "401 Unauthorized"));

    /* Anonymous access is refused with a clear message. */
    result_t d = {0};
    berth_err_t err;
    char name[256];
    snprintf(name, sizeof(name), "%s/some/repo:latest", reg_str(&r, "hostport"));
    assert_int_equal(reg_distribution_inspect(c, name, NULL, done_cb, &d, NULL, &err), 0);
    run_until(&loop, &d.done);
    assert_true(d.failed);
    assert_int_equal(d.err.status, 500); /* never 401: the CLI would prompt */
    assert_non_null(strstr(d.err.msg, "no basic auth credentials"));

    client_close(&loop, c);
    assert_int_equal(uv_loop_close(&loop), 0);
    testreg_stop(&r);
}

static void test_token_auth(void **state)
{
    (void)state;
    if (!have_registry())
        skip();
    testreg_t r;
    const char *args[] = {"--token", "bob:pw2", NULL};
    testreg_start(&r, args);
    char *digest = put_image(&r, "team/app", "v1", "bob:pw2");
    uv_loop_t loop;
    uv_loop_init(&loop);
    reg_client_t *c = client_new(&loop, NULL);
    result_t res;
    login(&loop, c, reg_str(&r, "hostport"), "bob", "pw2", &res);
    assert_false(res.failed);
    cJSON_Delete(res.res);
    login(&loop, c, reg_str(&r, "hostport"), "bob", "nope", &res);
    assert_true(res.failed);
    assert_int_equal(res.err.status, 401);
    assert_non_null(strstr(res.err.msg, "incorrect username or password"));

    /* distribution inspect through the Bearer challenge, twice (token cache). */
    char name[256];
    snprintf(name, sizeof(name), "%s/team/app:v1", reg_str(&r, "hostport"));
    reg_auth_t a = {.username = "bob", .password = "pw2"};
    for (int i = 0; i < 2; i++) {
        result_t d = {0};
        berth_err_t err;
        assert_int_equal(reg_distribution_inspect(c, name, &a, done_cb, &d, NULL, &err), 0);
        run_until(&loop, &d.done);
        if (d.failed)
            fail_msg("inspect: %s", d.err.msg);
        cJSON *desc = cJSON_GetObjectItem(d.res, "Descriptor");
        assert_string_equal(cJSON_GetObjectItem(desc, "digest")->valuestring, digest);
        assert_string_equal(cJSON_GetObjectItem(desc, "mediaType")->valuestring,
                            REG_MT_DOCKER_MANIFEST);
        cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d.res, "Platforms"), 0);
        assert_string_equal(cJSON_GetObjectItem(p0, "architecture")->valuestring, "amd64");
        cJSON_Delete(d.res);
    }
    /* Anonymous: the token server grants nothing -> unauthorized. */
    result_t d = {0};
    berth_err_t err;
    assert_int_equal(reg_distribution_inspect(c, name, NULL, done_cb, &d, NULL, &err), 0);
    run_until(&loop, &d.done);
    assert_true(d.failed);
    assert_int_equal(d.err.status, 500); /* never 401: the CLI would prompt */
    /* Unknown tag: 404 with the registry's reason. */
    snprintf(name, sizeof(name), "%s/team/app:nope", reg_str(&r, "hostport"));
    memset(&d, 0, sizeof(d));
    assert_int_equal(reg_distribution_inspect(c, name, &a, done_cb, &d, NULL, &err), 0);
    run_until(&loop, &d.done);
    assert_true(d.failed);
    assert_int_equal(d.err.status, 404);
    assert_non_null(strstr(d.err.msg, "manifest unknown"));

    free(digest);
    client_close(&loop, c);
    assert_int_equal(uv_loop_close(&loop), 0);
    testreg_stop(&r);
}

/* TLS verification for a registry that is not insecure ([::1] is not in
 * 127.0.0.0/8): fails without the CA, works with certs.d/<host>/ca.crt. */
static void test_tls_certs_dir(void **state)
{
    (void)state;
    if (!have_registry())
        skip();
    testreg_t r;
    const char *args[] = {"--tls", "--host", "::1", NULL};
    testreg_start(&r, args);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char certs[128], hostdir[256], cmd[512];
    snprintf(certs, sizeof(certs), "%s/certs.d", r.dir);
    snprintf(hostdir, sizeof(hostdir), "%s/%s", certs, reg_str(&r, "hostport"));
    assert_int_equal(fs_mkdir_p(hostdir, 0755), 0);
    const char *dirs[] = {certs, NULL};
    reg_client_t *c = client_new(&loop, dirs);
    assert_false(reg_host_insecure(c, reg_str(&r, "hostport")));
    result_t res;
    login(&loop, c, reg_str(&r, "hostport"), "x", "y", &res);
    assert_true(res.failed);
    assert_non_null(strstr(res.err.msg, "https://"));
    snprintf(cmd, sizeof(cmd), "cp %s '%s/ca.crt'", reg_str(&r, "ca"), hostdir);
    assert_int_equal(system(cmd), 0);
    login(&loop, c, reg_str(&r, "hostport"), "x", "y", &res);
    if (res.failed)
        fail_msg("login with CA: %s", res.err.msg);
    cJSON_Delete(res.res);
    client_close(&loop, c);
    assert_int_equal(uv_loop_close(&loop), 0);
    testreg_stop(&r);
}

static void test_insecure_rules(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char *insecure[] = {"myreg.example:5000", "10.0.0.0/8"};
    reg_client_opts_t o = {
        .loop = &loop, .insecure_registries = insecure, .n_insecure_registries = 2};
    reg_client_t *c;
    berth_err_t err;
    assert_int_equal(reg_client_new(&o, &c, &err), 0);
    assert_true(reg_host_insecure(c, "127.0.0.1:5000"));
    assert_true(reg_host_insecure(c, "127.3.4.5"));
    assert_true(reg_host_insecure(c, "localhost:5000"));
    assert_true(reg_host_insecure(c, "myreg.example:5000"));
    assert_false(reg_host_insecure(c, "myreg.example:5001"));
    assert_true(reg_host_insecure(c, "10.1.2.3:443"));
    assert_false(reg_host_insecure(c, "11.1.2.3"));
    assert_false(reg_host_insecure(c, "registry-1.docker.io"));
    assert_false(reg_host_insecure(c, "[::1]:5000"));
    client_close(&loop, c);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insecure_rules),     cmocka_unit_test(test_transport),
        cmocka_unit_test(test_login_htpasswd_tls), cmocka_unit_test(test_token_auth),
        cmocka_unit_test(test_tls_certs_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
