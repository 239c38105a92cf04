/* berthd's side of the shim protocol on a real libuv loop, against the real
 * build/berth-shim and a busybox rootfs: start, output, exit, setup errors,
 * stdin, exec, reconnect + kill. Skipped when not root or the shim is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "berth/runtime.h"
#include "runtime/internal.h"

static char tmp[] = "/tmp/berth-rtclient-XXXXXX";
static char shim[PATH_MAX];
static int counter;

typedef struct {
    pid_t pid;
    int start_code;
    char start_err[512];
    bool started, exited;
    rt_state_t st;
    berth_buf_t out, err;
} result_t;

static void started_cb(rt_shim_t *s, pid_t pid, int code, const char *e, void *data)
{
    (void)s;
    result_t *r = data;
    r->started = true;
    r->pid = pid;
    r->start_code = code;
    if (e)
        snprintf(r->start_err, sizeof(r->start_err), "%s", e);
}

static void output_cb(rt_shim_t *s, int stream, const char *buf, size_t len, void *data)
{
    (void)s;
    result_t *r = data;
    buf_append(stream == 2 ? &r->err : &r->out, buf, len);
}

static void exit_cb(rt_shim_t *s, const rt_state_t *st, void *data)
{
    (void)s;
    result_t *r = data;
    r->exited = true;
    r->st = *st;
}

static const rt_shim_callbacks_t cbs = {
    .started_cb = started_cb, .output_cb = output_cb, .exit_cb = exit_cb};

static void result_init(result_t *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->out);
    buf_init(&r->err);
}

static void result_free(result_t *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmp))
        return -1;
    const char *env = getenv("BERTH_SHIM");
    snprintf(shim, sizeof(shim), "%s", env ? env : "../berth-shim");
    char *root = xasprintf("%s/rootfs", tmp);
    char *bin = xasprintf("%s/bin", root);
    fs_mkdir_p(bin, 0755);
    chmod(root, 0755);
    char *bb = xasprintf("%s/busybox", bin);
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file("/bin/busybox", 64 << 20, &data, &len) == 0) {
        fs_write_atomic(bb, data, len, 0755);
        free(data);
    }
    const char *applets[] = {"sh", "cat", "echo", "sleep", "hostname", "true"};
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
        char *l = xasprintf("%s/%s", bin, applets[i]);
        symlink("busybox", l);
        free(l);
    }
    free(root);
    free(bin);
    free(bb);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_rm_rf(tmp);
    return 0;
}

static bool can_run(void)
{
    return geteuid() == 0 && access(shim, X_OK) == 0 && access("/bin/busybox", X_OK) == 0;
}

static void make_spec(rt_spec_t *s, const char *const *args, size_t n)
{
    rt_spec_init(s);
    int k = ++counter;
    s->id = xasprintf("rtclient%d-%d", (int)getpid(), k);
    s->bundle = xasprintf("%s/b%d", tmp, k);
    s->run_dir = xasprintf("%s/r%d", tmp, k);
    s->bpf_cache_dir = xasprintf("%s/seccomp", tmp);
    s->rootfs = xasprintf("%s/rootfs", tmp);
    s->log_path = xasprintf("%s/b%d/log", tmp, k);
    s->hostname = xstrdup("clienthost");
    fs_mkdir_p(s->bundle, 0755);
    s->process.args = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        s->process.args[i] = xstrdup(args[i]);
    s->process.n_args = n;
}

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

/* Run the loop until *flag, at most ~20 s (a ticking timer bounds each turn). */
static void run_until(uv_loop_t *loop, bool *flag)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick_cb, 10, 10);
    for (int i = 0; i < 2000 && !*flag; i++)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void test_spawn_output_exit(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    rt_spec_t s;
    const char *args[] = {"sh", "-c", "echo out; echo err >&2; exit 7"};
    make_spec(&s, args, 3);
    berth_err_t err = {0};
    assert_int_equal(rt_spec_save(&s, &err), 0);
    result_t r;
    result_init(&r);
    rt_shim_t *sh = rt_shim_spawn(&loop, shim, &s, &cbs, &r, &err);
    assert_non_null(sh);
    assert_true(rt_shim_pid(sh) > 0);
    run_until(&loop, &r.exited);
    assert_true(r.started);
    assert_true(r.pid > 0);
    assert_true(r.exited);
    assert_int_equal(r.st.exit_code, 7);
    assert_int_equal(r.st.status, RT_STATUS_EXITED);
    /* The exit as the EXIT frame said it, to the nanosecond the state file has. */
    rt_state_t file;
    assert_int_equal(rt_state_read(s.run_dir, &file, &err), 0);
    assert_true(r.st.finished_ns > 0);
    assert_true(r.st.finished_ns == file.finished_ns);
    assert_int_equal(r.st.oom_killed, file.oom_killed);
    assert_string_equal(r.out.data, "out\n");
    assert_string_equal(r.err.data, "err\n");
    uv_run(&loop, UV_RUN_DEFAULT); /* handles close, sh freed */
    assert_int_equal(uv_loop_close(&loop), 0);
    result_free(&r);
    rt_spec_free(&s);
}

static void test_spawn_not_found(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    rt_spec_t s;
    const char *args[] = {"nosuchthing"};
    make_spec(&s, args, 1);
    berth_err_t err = {0};
    assert_int_equal(rt_spec_save(&s, &err), 0);
    result_t r;
    result_init(&r);
    assert_non_null(rt_shim_spawn(&loop, shim, &s, &cbs, &r, &err));
    run_until(&loop, &r.exited);
    assert_true(r.started);
    assert_int_equal(r.pid, 0);
    assert_int_equal(r.start_code, 127);
    assert_non_null(strstr(r.start_err, "executable file not found in $PATH"));
    assert_int_equal(r.st.exit_code, 127);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    result_free(&r);
    rt_spec_free(&s);
}

static void test_stdin(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    rt_spec_t s;
    const char *args[] = {"cat"};
    make_spec(&s, args, 1);
    s.process.open_stdin = s.process.stdin_once = true;
    berth_err_t err = {0};
    assert_int_equal(rt_spec_save(&s, &err), 0);
    result_t r;
    result_init(&r);
    rt_shim_t *sh = rt_shim_spawn(&loop, shim, &s, &cbs, &r, &err);
    assert_non_null(sh);
    assert_int_equal(rt_shim_write_stdin(sh, "abc\n", 4), 0);
    assert_int_equal(rt_shim_write_stdin(sh, NULL, 0), 0);
    run_until(&loop, &r.exited);
    assert_int_equal(r.st.exit_code, 0);
    assert_string_equal(r.out.data, "abc\n");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    result_free(&r);
    rt_spec_free(&s);
}

static void test_exec_connect_kill(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    rt_spec_t s;
    const char *args[] = {"sleep", "30"};
    make_spec(&s, args, 2);
    berth_err_t err = {0};
    assert_int_equal(rt_spec_save(&s, &err), 0);
    result_t r;
    result_init(&r);
    rt_shim_t *sh = rt_shim_spawn(&loop, shim, &s, &cbs, &r, &err);
    assert_non_null(sh);
    run_until(&loop, &r.started);
    assert_true(r.pid > 0);

    /* exec: joins the container's namespaces */
    rt_exec_spec_t x = {0};
    x.id = xstrdup("e1");
    x.container_id = xstrdup(s.id);
    x.spec_path = xasprintf("%s/%s", s.bundle, RT_SPEC_FILE);
    x.state_path = xasprintf("%s/exec-e1.json", s.run_dir);
    const char *xargs[] = {"sh", "-c", "echo $$ $(hostname)"};
    x.process.args = xcalloc(4, sizeof(char *));
    for (int i = 0; i < 3; i++)
        x.process.args[i] = xstrdup(xargs[i]);
    x.process.n_args = 3;
    char *xjson = rt_exec_spec_to_json(&x);
    char *xpath = xasprintf("%s/exec-e1-spec.json", s.bundle);
    assert_int_equal(fs_write_atomic(xpath, xjson, strlen(xjson), 0600), 0);
    result_t xr;
    result_init(&xr);
    assert_non_null(rt_shim_spawn_exec(&loop, shim, xpath, &cbs, &xr, &err));
    run_until(&loop, &xr.exited);
    assert_true(xr.pid > 0);
    assert_int_equal(xr.st.exit_code, 0);
    assert_non_null(xr.out.data);
    assert_non_null(strstr(xr.out.data, " clienthost\n"));         /* the container's uts ns */
    assert_true(atoi(xr.out.data) > 1 && atoi(xr.out.data) < 100); /* its pid ns */

    /* a restarted berthd: drop the handle, reconnect through shim.sock */
    rt_shim_detach(sh);
    result_t cr;
    result_init(&cr);
    rt_shim_t *c = rt_shim_connect(&loop, s.run_dir, &cbs, &cr, &err);
    assert_non_null(c);
    char *reply = NULL;
    assert_int_equal(rt_shim_request(s.run_dir, "{\"op\":\"state\"}", &reply), 0);
    assert_non_null(strstr(reply, "\"running\""));
    free(reply);
    assert_int_equal(rt_shim_kill(c, SIGKILL), 0);
    run_until(&loop, &cr.exited);
    assert_true(cr.exited);
    assert_int_equal(cr.st.exit_code, 137);
    assert_int_equal(cr.st.signal, 9);
    assert_false(r.exited); /* detached handles get no callbacks */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(xjson);
    free(xpath);
    rt_exec_spec_free(&x);
    result_free(&r);
    result_free(&xr);
    result_free(&cr);
    rt_spec_free(&s);
}

static void test_cgroup_stats_freeze(void **state)
{
    (void)state;
    if (!can_run())
        skip();
    uv_loop_t loop;
    uv_loop_init(&loop);
    rt_spec_t s;
    const char *args[] = {"sleep", "30"};
    make_spec(&s, args, 2);
    s.resources.memory = 64 << 20;
    s.resources.pids_limit = 20;
    berth_err_t err = {0};
    assert_int_equal(rt_spec_save(&s, &err), 0);
    result_t r;
    result_init(&r);
    rt_shim_t *sh = rt_shim_spawn(&loop, shim, &s, &cbs, &r, &err);
    assert_non_null(sh);
    run_until(&loop, &r.started);
    assert_true(r.pid > 0);

    rt_stats_t st;
    assert_int_equal(rt_cgroup_stats(s.cgroup_parent, s.id, &st, &err), 0);
    assert_true(st.memory_limit == 64u << 20);
    assert_true(st.memory_usage > 0);
    assert_true(st.pids_current >= 1);
    assert_true(st.pids_limit == 20);
    assert_true(st.online_cpus >= 1);
    assert_true(st.system_cpu_usage_ns > 0);
    pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(rt_cgroup_pids(s.cgroup_parent, s.id, &pids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], r.pid);
    free(pids);

    assert_int_equal(rt_cgroup_freeze(s.cgroup_parent, s.id, true, &err), 0);
    char path[256], buf[64] = {0};
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)r.pid);
    if (rt_cgroup_version() == 1) {
        char *fs = NULL;
        char *p = xasprintf("/sys/fs/cgroup/freezer/berth/%s/freezer.state", s.id);
        assert_int_equal(fs_read_file(p, 64, &fs, NULL), 0);
        assert_non_null(strstr(fs, "FROZEN"));
        free(fs);
        free(p);
    }
    assert_int_equal(rt_cgroup_freeze(s.cgroup_parent, s.id, false, &err), 0);
    (void)buf;

    /* pid 1 of a pid ns ignores SIGTERM without a handler (docker stop then kills) */
    assert_int_equal(rt_shim_kill(sh, SIGKILL), 0);
    run_until(&loop, &r.exited);
    assert_true(r.exited);
    assert_int_equal(r.st.exit_code, 137);
    /* the cgroup is gone with the container */
    assert_int_not_equal(rt_cgroup_stats(s.cgroup_parent, s.id, &st, &err), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    result_free(&r);
    rt_spec_free(&s);
}

/* rt_cleanup after a crash: processes left in the cgroup die, the cgroup and
 * the run dir's socket/state go. */
static void test_cleanup_leftovers(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    rt_spec_t s;
    const char *args[] = {"true"};
    make_spec(&s, args, 1);
    berth_err_t err = {0};
    fs_mkdir_p(s.run_dir, 0700);
    char *sock = xasprintf("%s/%s", s.run_dir, RT_SOCKET_FILE);
    fs_write_atomic(sock, "", 0, 0600);
    assert_int_equal(rt_cgroup_create(s.cgroup_parent, s.id, &s.resources, &err), 0);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(rt_cgroup_enter(s.cgroup_parent, s.id, child, &err), 0);
    assert_int_equal(rt_cleanup(&s, &err), 0);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    rt_stats_t stats;
    assert_int_not_equal(rt_cgroup_stats(s.cgroup_parent, s.id, &stats, &err), 0);
    assert_false(fs_exists(sock));
    assert_false(fs_exists(s.run_dir));
    free(sock);
    rt_spec_free(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_output_exit),
        cmocka_unit_test(test_spawn_not_found),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_exec_connect_kill),
        cmocka_unit_test(test_cgroup_stats_freeze),
        cmocka_unit_test(test_cleanup_leftovers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
