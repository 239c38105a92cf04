/* Unit tests for the seccomp compiler: default profile per cap set, Docker-format
 * profiles, and a loaded program's effect in a forked child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/internal.h"

static char dir[] = "/tmp/berth-seccomp-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fs_rm_rf(dir);
    return 0;
}

/* Fork, load the program, run probe; return the child's exit status. */
static int in_child(const char *bpf_path, int (*probe)(void))
{
    pid_t p = fork();
    if (p == 0) {
        void *prog;
        size_t len;
        berth_err_t err = {0};
        if (rt_seccomp_read(bpf_path, &prog, &len, &err) < 0)
            _exit(200);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (rt_seccomp_load(prog, len) < 0)
            _exit(201);
        _exit(probe());
    }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int probe_unshare(void)
{
    return unshare(CLONE_NEWUTS) < 0 ? errno : 0;
}
static int probe_getpid(void)
{
    return getpid() > 0 ? 0 : 1;
}
static int probe_clone3(void)
{
    long rc = syscall(SYS_clone3, NULL, 0);
    return rc < 0 ? errno : 0;
}
static int probe_keyctl(void)
{
    return syscall(SYS_keyctl, 0, 0, 0, 0, 0) < 0 ? errno : 0;
}

static void test_default_profile(void **state)
{
    (void)state;
    berth_err_t err = {0};
    char *path = rt_seccomp_cache_path(dir, NULL, RT_CAPS_DEFAULT);
    assert_int_equal(rt_seccomp_compile(NULL, RT_CAPS_DEFAULT, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0 && st.st_size % 8 == 0);
    assert_int_equal(in_child(path, probe_getpid), 0);
    assert_int_equal(in_child(path, probe_unshare), EPERM);
    assert_int_equal(in_child(path, probe_clone3), ENOSYS);
    assert_int_equal(in_child(path, probe_keyctl), EPERM);
    /* with CAP_SYS_ADMIN the mount group and clone3 are allowed */
    char *admin = rt_seccomp_cache_path(dir, NULL, RT_CAPS_DEFAULT | (1ULL << 21));
    assert_string_not_equal(admin, path);
    assert_int_equal(rt_seccomp_compile(NULL, RT_CAPS_DEFAULT | (1ULL << 21), admin, &err), 0);
    assert_int_equal(in_child(admin, probe_clone3), EINVAL); /* reached the kernel */
    free(path);
    free(admin);
}

static void test_custom_profile(void **state)
{
    (void)state;
    berth_err_t err = {0};
    const char *prof = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                       "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
                       "{\"names\":[\"unshare\"],\"action\":\"SCMP_ACT_ERRNO\","
                       "\"excludes\":{\"caps\":[\"CAP_KILL\"]}}]}";
    char *path = rt_seccomp_cache_path(dir, prof, RT_CAPS_DEFAULT);
    assert_int_equal(rt_seccomp_compile(prof, RT_CAPS_DEFAULT, path, &err), 0);
    assert_int_equal(in_child(path, probe_getpid), 0);
    free(path);
    assert_int_not_equal(rt_seccomp_compile("{\"defaultAction\":\"NOPE\"}", 0, "/tmp/x", &err), 0);
    berth_err_clear(&err);
    assert_int_not_equal(rt_seccomp_compile("not json", 0, "/tmp/x", &err), 0);
}

/* Pooled inits compile the program as pid 1 of their own pid namespaces,
 * several at once when starts come together: each must get a valid file. */
static void test_concurrent_compiles_as_pid1(void **state)
{
    (void)state;
    char *path = rt_seccomp_cache_path(dir, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 7);
    enum { N = 8 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            if (unshare(CLONE_NEWPID) < 0)
                _exit(100);
            pid_t init = fork(); /* pid 1 of the new namespace */
            if (init == 0) {
                berth_err_t err = {0};
                int ok = 0;
                for (int k = 0; k < 20; k++)
                    ok |=
                        rt_seccomp_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 7, path, &err);
                _exit(getpid() == 1 && ok == 0 ? 0 : 1);
            }
            int st;
            waitpid(init, &st, 0);
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
        }
    }
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(in_child(path, probe_getpid), 0);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profile),
        cmocka_unit_test(test_custom_profile),
        cmocka_unit_test(test_concurrent_compiles_as_pid1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
