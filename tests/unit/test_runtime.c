/* Unit tests for src/runtime: spec/state JSON, users, capabilities, json-file log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/runtime.h"
#include "runtime/internal.h"

static char **strv(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        v[i] = xstrdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static void test_spec_roundtrip(void **state)
{
    (void)state;
    rt_spec_t s;
    rt_spec_init(&s);
    s.id = xstrdup("abc");
    s.bundle = xstrdup("/var/lib/berth/containers/abc");
    s.run_dir = xstrdup("/run/berth/abc");
    s.lowerdirs = strv(2, "/l/top", "/l/bottom");
    s.n_lowerdirs = 2;
    s.upperdir = xstrdup("/u");
    s.workdir = xstrdup("/w");
    s.rootfs = xstrdup("/run/berth/abc/rootfs");
    s.volatile_overlay = true;
    s.process.args = strv(3, "sh", "-c", "echo \"hi\"\n");
    s.process.n_args = 3;
    s.process.env = strv(1, "A=b c");
    s.process.n_env = 1;
    s.process.user = xstrdup("nobody:nogroup");
    s.process.tty = true;
    s.process.additional_gids = xcalloc(2, sizeof(gid_t));
    s.process.additional_gids[0] = 10;
    s.process.additional_gids[1] = 20;
    s.process.n_additional_gids = 2;
    s.mounts = xcalloc(2, sizeof(rt_mount_t));
    s.mounts[0] = (rt_mount_t){.type = RT_MOUNT_BIND,
                               .source = xstrdup("/host"),
                               .destination = xstrdup("/data"),
                               .readonly = true};
    s.mounts[1] = (rt_mount_t){
        .type = RT_MOUNT_TMPFS, .destination = xstrdup("/tmp"), .options = xstrdup("size=1m")};
    s.n_mounts = 2;
    s.resources.memory = 6LL << 30;
    s.resources.memory_swap = -1;
    s.resources.nano_cpus = 1500000000;
    s.resources.pids_limit = 50;
    s.resources.cpuset_cpus = xstrdup("0");
    s.ulimits = xcalloc(1, sizeof(rt_ulimit_t));
    s.ulimits[0] = (rt_ulimit_t){.name = xstrdup("nofile"), .soft = 1024, .hard = -1};
    s.n_ulimits = 1;
    s.cap_add = strv(1, "NET_ADMIN");
    s.n_cap_add = 1;
    s.cap_drop = strv(1, "ALL");
    s.n_cap_drop = 1;
    s.seccomp = RT_SECCOMP_UNCONFINED;
    s.net_mode = RT_NET_JOIN;
    s.net_path = xstrdup("/proc/1/ns/net");
    s.init = true;
    s.log_path = xstrdup("/x-json.log");
    s.log_max_size = 10 << 20;
    s.log_max_file = 3;
    s.stop_signal = 9;
    s.etc_hosts = xstrdup("127.0.0.1 localhost\n");

    char *json = rt_spec_to_json(&s);
    rt_spec_t b;
    berth_err_t err = {0};
    assert_int_equal(rt_spec_from_json(json, &b, &err), 0);
    char *json2 = rt_spec_to_json(&b);
    assert_string_equal(json, json2);
    assert_string_equal(b.process.args[2], "echo \"hi\"\n");
    assert_null(b.process.args[3]); /* NULL-terminated for execve */
    assert_int_equal(b.n_lowerdirs, 2);
    assert_string_equal(b.lowerdirs[1], "/l/bottom");
    assert_true(b.resources.memory == 6LL << 30);
    assert_true(b.resources.memory_swap == -1);
    assert_int_equal(b.mounts[1].type, RT_MOUNT_TMPFS);
    assert_true(b.mounts[0].readonly);
    assert_int_equal(b.ulimits[0].hard, -1);
    assert_int_equal(b.net_mode, RT_NET_JOIN);
    assert_int_equal(b.seccomp, RT_SECCOMP_UNCONFINED);
    assert_int_equal(b.process.additional_gids[1], 20);
    assert_int_equal(b.log_max_file, 3);
    free(json);
    free(json2);
    rt_spec_free(&s);
    rt_spec_free(&b);
}

static void test_spec_invalid(void **state)
{
    (void)state;
    rt_spec_t s;
    berth_err_t err = {0};
    assert_int_not_equal(rt_spec_from_json("{", &s, &err), 0);
    berth_err_clear(&err);
    assert_int_not_equal(
        rt_spec_from_json("{\"id\":\"a\",\"run_dir\":\"/r\",\"rootfs\":\"/x\"}", &s, &err), 0);
    assert_non_null(strstr(err.msg, "no command"));
    berth_err_clear(&err);
    assert_int_not_equal(
        rt_spec_from_json("{\"id\":\"a\",\"run_dir\":\"/r\",\"rootfs\":\"/x\",\"process\":{"
                          "\"args\":[\"x\"]},\"mounts\":[{\"type\":\"bind\",\"source\":\"rel\","
                          "\"destination\":\"/d\"}]}",
                          &s, &err),
        0);
    berth_err_clear(&err);
    assert_int_not_equal(
        rt_spec_from_json("{\"id\":\"a\",\"run_dir\":\"/r\",\"rootfs\":\"/x\",\"process\":{"
                          "\"args\":[\"x\"]},\"net_mode\":\"bogus\"}",
                          &s, &err),
        0);
}

static void test_state_ns_precision(void **state)
{
    (void)state;
    rt_state_t st = {.status = RT_STATUS_EXITED,
                     .shim_pid = 5,
                     .pid = 6,
                     .exit_code = 137,
                     .signal = 9,
                     .oom_killed = true,
                     .started_ns = 1795872810333621123LL,
                     .finished_ns = 1795872810347547001LL};
    strcpy(st.error, "x\"y");
    char *json = rt_state_to_json(&st);
    rt_state_t b;
    berth_err_t err = {0};
    assert_int_equal(rt_state_from_json(json, &b, &err), 0);
    assert_true(b.started_ns == st.started_ns);
    assert_true(b.finished_ns == st.finished_ns);
    assert_int_equal(b.status, RT_STATUS_EXITED);
    assert_int_equal(b.exit_code, 137);
    assert_true(b.oom_killed);
    assert_string_equal(b.error, "x\"y");
    free(json);
}

static const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
                            "# comment\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "app:x:1000:1000:App:/home/app:/bin/sh\n";
static const char *group = "root:x:0:\n"
                           "wheel:x:10:app,root\n"
                           "audio:x:29:app\n"
                           "app:x:1000:\n";

static void test_user_resolve(void **state)
{
    (void)state;
    rt_user_t u;
    berth_err_t err = {0};
    assert_int_equal(rt_user_resolve("app", passwd, group, NULL, 0, &u, &err), 0);
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 1000);
    assert_string_equal(u.home, "/home/app");
    assert_int_equal(u.n_gids, 2);
    assert_int_equal(u.gids[0], 10);
    assert_int_equal(u.gids[1], 29);
    rt_user_free(&u);

    assert_int_equal(rt_user_resolve("", passwd, group, NULL, 0, &u, &err), 0);
    assert_int_equal(u.uid, 0);
    assert_string_equal(u.home, "/root");
    assert_int_equal(u.n_gids, 1); /* root is in wheel */
    rt_user_free(&u);

    /* numeric ids need no entry; explicit group: no supplementary groups */
    assert_int_equal(rt_user_resolve("4242:wheel", passwd, group, NULL, 0, &u, &err), 0);
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 10);
    assert_int_equal(u.n_gids, 0);
    assert_string_equal(u.home, "/");
    rt_user_free(&u);

    assert_int_equal(rt_user_resolve("1:5", NULL, NULL, NULL, 0, &u, &err), 0);
    assert_int_equal(u.uid, 1);
    assert_int_equal(u.gid, 5);
    rt_user_free(&u);

    char *add[] = {"audio", "77"};
    assert_int_equal(rt_user_resolve("daemon", passwd, group, add, 2, &u, &err), 0);
    assert_int_equal(u.gid, 1);
    assert_int_equal(u.n_gids, 2);
    assert_int_equal(u.gids[0], 29);
    assert_int_equal(u.gids[1], 77);
    rt_user_free(&u);

    assert_int_not_equal(rt_user_resolve("nosuch", passwd, group, NULL, 0, &u, &err), 0);
    assert_non_null(strstr(err.msg, "unable to find user nosuch"));
    berth_err_clear(&err);
    assert_int_not_equal(rt_user_resolve("app:nogroup", passwd, group, NULL, 0, &u, &err), 0);
    assert_non_null(strstr(err.msg, "unable to find group nogroup"));
}

static void test_caps(void **state)
{
    (void)state;
    uint64_t caps;
    berth_err_t err = {0};
    assert_int_equal(rt_caps_compute(NULL, 0, NULL, 0, false, 40, &caps, &err), 0);
    assert_true(caps == 0xa80425fbULL);
    char *add[] = {"NET_ADMIN", "cap_sys_ptrace"};
    char *drop[] = {"CHOWN", "CAP_NET_RAW"};
    assert_int_equal(rt_caps_compute(add, 2, drop, 2, false, 40, &caps, &err), 0);
    assert_true(caps == ((0xa80425fbULL | (1ULL << 12) | (1ULL << 19)) & ~1ULL & ~(1ULL << 13)));
    char *all[] = {"ALL"};
    assert_int_equal(rt_caps_compute(NULL, 0, all, 1, false, 40, &caps, &err), 0);
    assert_true(caps == 0);
    char *kill[] = {"KILL"};
    assert_int_equal(rt_caps_compute(kill, 1, all, 1, false, 40, &caps, &err), 0);
    assert_true(caps == (1ULL << 5));
    assert_int_equal(rt_caps_compute(all, 1, NULL, 0, false, 40, &caps, &err), 0);
    assert_true(caps == (1ULL << 41) - 1);
    assert_int_equal(rt_caps_compute(NULL, 0, NULL, 0, true, 40, &caps, &err), 0);
    assert_true(caps == (1ULL << 41) - 1);
    char *bad[] = {"FLY"};
    assert_int_not_equal(rt_caps_compute(bad, 1, NULL, 0, false, 40, &caps, &err), 0);
    assert_non_null(strstr(err.msg, "FLY"));
    assert_int_equal(rt_cap_from_name("cap_audit_write"), 29);
}

static void test_jsonlog(void **state)
{
    (void)state;
    berth_buf_t b;
    buf_init(&b);
    rt_jsonlog_encode(&b, 2, "a\"<\x01\n", 5, 1795872810000000001LL);
    assert_non_null(strstr(b.data, "{\"log\":\"a\\\"\\u003c\\u0001\\n\",\"stream\":\"stderr\","
                                   "\"time\":\""));
    assert_non_null(strstr(b.data, ".000000001Z\"}\n"));
    buf_free(&b);

    char dir[] = "/tmp/berth-jsonlog-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/c-json.log", dir);
    rt_jsonlog_t l;
    assert_int_equal(rt_jsonlog_open(&l, path, 200, 2), 0);
    rt_jsonlog_feed(&l, 1, "hel", 3);
    rt_jsonlog_feed(&l, 1, "lo\nworld\npart", 13);
    char *data = NULL;
    assert_int_equal(fs_read_file(path, 1 << 20, &data, NULL), 0);
    assert_non_null(strstr(data, "\"log\":\"hello\\n\""));
    assert_non_null(strstr(data, "\"log\":\"world\\n\""));
    assert_null(strstr(data, "part"));
    free(data);
    /* rotation: past 200 bytes the file moves to .1 */
    for (int i = 0; i < 5; i++)
        rt_jsonlog_feed(&l, 2, "more output\n", 12);
    rt_jsonlog_flush(&l);
    rt_jsonlog_close(&l);
    char *rot = xasprintf("%s.1", path);
    struct stat st;
    assert_int_equal(stat(rot, &st), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size <= 200);
    char *rot2 = xasprintf("%s.2", path);
    assert_int_not_equal(stat(rot2, &st), 0); /* max_file 2: only .1 kept */
    fs_rm_rf(dir);
    free(path);
    free(rot);
    free(rot2);
}

static void test_frame_header(void **state)
{
    (void)state;
    uint8_t h[8];
    rt_frame_header(h, RT_FRAME_STDERR, 0x01020304);
    const uint8_t want[8] = {2, 0, 0, 0, 1, 2, 3, 4};
    assert_memory_equal(h, want, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_roundtrip),
        cmocka_unit_test(test_spec_invalid),
        cmocka_unit_test(test_state_ns_precision),
        cmocka_unit_test(test_user_resolve),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_jsonlog),
        cmocka_unit_test(test_frame_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
