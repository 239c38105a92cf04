/* Unit tests for the container manager (src/runtime/manager*.c): names,
 * lookup, create-body merging, persistence, and a real run through
 * berth-shim with the built-in busybox image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <libgen.h>
#include <signal.h>

#include "berth/containers.h"
#include "berth/image.h"
#include "berth/logs.h"

typedef struct {
    char root[64];
    char data[96];
    char exec[96];
    char resolv[96];
    char shim[4096];
    uv_loop_t loop;
    img_store_t *images;
    rt_manager_t *m;
} fx_t;

static void default_done(const berth_err_t *err, void *data)
{
    *(int *)data = err ? -1 : 1;
}

static void open_manager(fx_t *f)
{
    rt_manager_opts_t o = {.loop = &f->loop,
                           .data_root = f->data,
                           .exec_root = f->exec,
                           .shim_path = f->shim,
                           .images = f->images,
                           .resolv_conf_path = f->resolv};
    berth_err_t err = {0};
    assert_int_equal(rt_manager_open(&o, &f->m, &err), 0);
}

static int setup(void **state)
{
    fx_t *f = xcalloc(1, sizeof(*f));
    strcpy(f->root, "/tmp/berth-ctr-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->data, sizeof(f->data), "%s/data", f->root);
    snprintf(f->exec, sizeof(f->exec), "%s/exec", f->root);
    snprintf(f->resolv, sizeof(f->resolv), "%s/resolv.conf", f->root);
    const char *rc = "search example.org\nnameserver 127.0.0.53\nnameserver 10.1.2.3\n";
    fs_write_atomic(f->resolv, rc, strlen(rc), 0644);
    /* build/tests/test_containers -> build/berth-shim */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -1;
    self[n] = '\0';
    snprintf(f->shim, sizeof(f->shim), "%s/../berth-shim", dirname(self));
    uv_loop_init(&f->loop);
    berth_err_t err = {0};
    if (img_store_open(&f->loop, f->data, &f->images, &err) < 0)
        return -1;
    int done = 0;
    if (img_default_image_begin(f->images, default_done, &done) < 0)
        return -1;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (done != 1)
        return -1;
    open_manager(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    rt_manager_close(f->m);
    img_store_close(f->images);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    fs_rm_rf(f->root);
    free(f);
    return 0;
}

static rt_ctr_t *create(fx_t *f, const char *name, const char *json, berth_err_t *err)
{
    cJSON *body = cJSON_Parse(json);
    assert_non_null(body);
    rt_ctr_t *c = rt_manager_create(f->m, name, body, NULL, err);
    cJSON_Delete(body);
    return c;
}

static void test_names_and_signals(void **state)
{
    (void)state;
    char n[64];
    for (int i = 0; i < 50; i++) {
        rt_name_generate(n);
        assert_true(rt_name_valid(n));
        assert_non_null(strchr(n, '_'));
    }
    assert_false(rt_name_valid("a"));
    assert_false(rt_name_valid("_ab"));
    assert_false(rt_name_valid("a b"));
    assert_true(rt_name_valid("web.1-x_y"));
    assert_int_equal(rt_signal_parse("TERM"), SIGTERM);
    assert_int_equal(rt_signal_parse("SIGKILL"), SIGKILL);
    assert_int_equal(rt_signal_parse("int"), SIGINT);
    assert_int_equal(rt_signal_parse("9"), 9);
    assert_int_equal(rt_signal_parse("NOPE"), -1);
    assert_int_equal(rt_signal_parse("0"), -1);
}

static void test_create_lookup_conflict(void **state)
{
    fx_t *f = *state;
    berth_err_t err = {0};
    rt_ctr_t *c = create(f, "/web",
                         "{\"Image\":\"busybox\",\"Cmd\":[\"echo\",\"hi\"],"
                         "\"Env\":[\"A=1\"],\"Labels\":{\"k\":\"v\"}}",
                         &err);
    assert_non_null(c);
    assert_string_equal(rt_ctr_name(c), "web");
    assert_int_equal(strlen(rt_ctr_id(c)), 64);
    assert_ptr_equal(rt_manager_lookup(f->m, "web", &err), c);
    assert_ptr_equal(rt_manager_lookup(f->m, "/web", &err), c);
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%.5s", rt_ctr_id(c));
    assert_ptr_equal(rt_manager_lookup(f->m, prefix, &err), c);
    assert_ptr_equal(rt_manager_lookup(f->m, rt_ctr_id(c), &err), c);
    berth_err_clear(&err);
    assert_null(rt_manager_lookup(f->m, "nope", &err));
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such container: nope");

    berth_err_clear(&err);
    assert_null(create(f, "web", "{\"Image\":\"busybox\"}", &err));
    assert_int_equal(err.status, 409);
    cleanup_free char *want = xasprintf(
        "Conflict. The container name \"/web\" is already in use by container \"%s\". You have "
        "to remove (or rename) that container to be able to reuse that name.",
        rt_ctr_id(c));
    assert_string_equal(err.msg, want);

    berth_err_clear(&err);
    assert_null(create(f, NULL, "{\"Image\":\"nosuchimage\"}", &err));
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, "No such image: nosuchimage"));
    berth_err_clear(&err);
    assert_null(create(f, "bad name", "{\"Image\":\"busybox\"}", &err));
    assert_int_equal(err.status, 400);
    berth_err_clear(&err);
    assert_null(create(f, NULL,
                       "{\"Image\":\"busybox\",\"HostConfig\":{\"AutoRemove\":true,"
                       "\"RestartPolicy\":{\"Name\":\"always\"}}}",
                       &err));
    assert_int_equal(err.status, 400);

    /* Generated name, image Cmd (sh) and Env merged, PATH from the image kept. */
    berth_err_clear(&err);
    rt_ctr_t *g = create(f, NULL, "{\"Image\":\"busybox\"}", &err);
    assert_non_null(g);
    assert_true(rt_name_valid(rt_ctr_name(g)));
    const rt_spec_t *s = rt_ctr_spec(g);
    assert_int_equal(s->process.n_args, 1);
    assert_string_equal(s->process.args[0], "sh");
    assert_non_null(strstr(s->etc_resolv_conf, "nameserver 10.1.2.3"));
    assert_null(strstr(s->etc_resolv_conf, "127.0.0.53"));

    /* Inspect/summary shapes. */
    cJSON *ins = rt_ctr_inspect_json(c, false);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ins, "Name")), "/web");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ins, "Path")), "echo");
    cJSON *st = cJSON_GetObjectItem(ins, "State");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st, "Status")), "created");
    cJSON *cfg = cJSON_GetObjectItem(ins, "Config");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "Labels"), "k")), "v");
    cJSON *hc = cJSON_GetObjectItem(ins, "HostConfig");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(hc, "LogConfig"), "Type")),
        "json-file");
    cJSON_Delete(ins);
    size_t n = 0;
    rt_ctr_t **list = rt_manager_list(f->m, &n);
    assert_int_equal(n, 2);
    assert_ptr_equal(list[0], g); /* newest first */
    free(list);

    /* Rename, then persistence across a manager reopen. */
    assert_int_equal(rt_ctr_rename(c, "web2", &err), 0);
    char id[65];
    snprintf(id, sizeof(id), "%s", rt_ctr_id(c));
    rt_manager_close(f->m);
    open_manager(f);
    rt_ctr_t *again = rt_manager_lookup(f->m, "web2", &err);
    assert_non_null(again);
    assert_string_equal(rt_ctr_id(again), id);
    assert_int_equal(rt_manager_count(f->m, NULL, NULL, NULL), 2);

    /* Remove a stopped container: the directory goes away. */
    cleanup_free char *dir = xasprintf("%s/containers/%s", f->data, id);
    assert_true(fs_exists(dir));
    assert_int_equal(rt_ctr_remove(again, false, false, NULL, NULL, &err), 0);
    assert_false(fs_exists(dir)); /* renamed aside at once, deleted by a child */
    cleanup_free char *trash = xasprintf("%s/containers/.trash-%s", f->data, id);
    for (int i = 0; i < 200 && fs_exists(trash); i++)
        uv_run(&f->loop, UV_RUN_NOWAIT), usleep(10000);
    assert_false(fs_exists(trash));
    assert_null(rt_manager_lookup(f->m, id, &err));
}

typedef struct {
    berth_buf_t out;
    int closed;
    int exit_code;
    int waited;
    int wait_code;
    int started;
} run_t;

static void sink_out(void *data, int stream, const char *buf, size_t len)
{
    run_t *r = data;
    (void)stream;
    buf_append(&r->out, buf, len);
}

static void sink_close(void *data, int exit_code)
{
    run_t *r = data;
    r->closed++;
    r->exit_code = exit_code;
}

static void wait_cb(int exit_code, const char *error, void *data)
{
    (void)error;
    run_t *r = data;
    r->waited++;
    r->wait_code = exit_code;
}

static void started_cb(rt_ctr_t *c, const berth_err_t *err, void *data)
{
    (void)c;
    ((run_t *)data)->started = err ? -1 : 1;
}

static void test_run_echo_exit_code(void **state)
{
    fx_t *f = *state;
    berth_err_t err = {0};
    rt_ctr_t *c = create(f, "runner",
                         "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"echo hi; echo err >&2; "
                         "exit 3\"],\"HostConfig\":{\"NetworkMode\":\"none\"}}",
                         &err);
    assert_non_null(c);
    run_t r = {0};
    buf_init(&r.out);
    rt_ctr_sink_cbs_t cbs = {.output_cb = sink_out, .close_cb = sink_close};
    rt_ctr_attach(c, true, true, &cbs, &r);
    assert_non_null(rt_ctr_wait(c, RT_WAIT_NEXT_EXIT, wait_cb, &r));
    if (rt_ctr_start(c, started_cb, &r, &err) < 0)
        fail_msg("start: %s", err.msg);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(r.started, 1);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.exit_code, 3);
    assert_int_equal(r.waited, 1);
    assert_int_equal(r.wait_code, 3);
    assert_non_null(strstr(r.out.data, "hi\n"));
    assert_non_null(strstr(r.out.data, "err\n"));
    assert_int_equal(rt_ctr_status(c), RT_CTR_EXITED);
    assert_int_equal(rt_ctr_exit_code(c), 3);

    /* The log has both lines with their streams. */
    logs_opts_t o = {.want_stdout = true, .want_stderr = false, .tail = -1, .raw = true};
    logs_reader_t *lr = NULL;
    assert_int_equal(logs_reader_open(rt_ctr_log_path(c), &o, &lr), 0);
    berth_buf_t lo;
    buf_init(&lo);
    assert_int_equal(logs_reader_read(lr, &lo, 1 << 20), 0);
    assert_string_equal(lo.data, "hi\n");
    logs_reader_close(lr);
    buf_free(&lo);

    /* Not-running wait answers at once; a second start works. */
    int before = r.waited;
    assert_null(rt_ctr_wait(c, RT_WAIT_NOT_RUNNING, wait_cb, &r));
    assert_int_equal(r.waited, before + 1);
    buf_free(&r.out);
}

static void stop_done(rt_ctr_t *c, const berth_err_t *err, void *data)
{
    (void)c;
    *(int *)data = err ? -1 : 1;
}

static void test_stop_timeout_kills(void **state)
{
    fx_t *f = *state;
    berth_err_t err = {0};
    rt_ctr_t *c = create(f, "stubborn",
                         "{\"Image\":\"busybox\",\"Cmd\":[\"sh\",\"-c\",\"trap '' TERM; "
                         "while true; do sleep 0.1; done\"],\"HostConfig\":{\"NetworkMode\":"
                         "\"none\"}}",
                         &err);
    assert_non_null(c);
    run_t r = {0};
    if (rt_ctr_start(c, started_cb, &r, &err) < 0)
        fail_msg("start: %s", err.msg);
    while (r.started == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(r.started, 1);
    assert_true(rt_ctr_is_running(c));
    assert_true(rt_ctr_pid(c) > 0);
    berth_err_clear(&err);
    assert_int_equal(rt_ctr_start(c, NULL, NULL, &err), -1);
    assert_int_equal(err.status, 304);
    berth_err_clear(&err);
    assert_int_equal(rt_ctr_remove(c, false, false, NULL, NULL, &err), -1);
    assert_int_equal(err.status, 409);
    int stopped = 0;
    int64_t t0 = berth_now_ns();
    assert_int_equal(rt_ctr_stop(c, 0, 1, stop_done, &stopped, &err), 0);
    while (!stopped)
        uv_run(&f->loop, UV_RUN_ONCE);
    int64_t ms = (berth_now_ns() - t0) / 1000000;
    assert_true(ms >= 900);
    assert_int_equal(rt_ctr_exit_code(c), 137);
    assert_false(rt_ctr_is_running(c));
    berth_err_clear(&err);
    assert_int_equal(rt_ctr_stop(c, 0, 1, stop_done, &stopped, &err), -1);
    assert_int_equal(err.status, 304);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_containers: needs root, skipping\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_signals),
        cmocka_unit_test_setup_teardown(test_create_lookup_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_echo_exit_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_timeout_kills, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
