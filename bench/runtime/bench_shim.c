/* bench_shim: container start/exit cycle cost through berth-shim, without
 * berthd. Usage: bench_shim <berth-shim> <rootfs dir> [iterations] [overlay]
 * Per iteration: write runtime.json, fork+exec the shim with a socketpair on
 * fd 3, time until the STARTED frame (container exec'd) and until the shim
 * has exited (state final, cgroup removed). Command: /bin/true, network none. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "berth/runtime.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time (user+sys, ms) of all reaped children so far: load-independent-ish. */
static double children_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <berth-shim> <rootfs> [iterations] [overlay]\n", argv[0]);
        return 2;
    }
    const char *shim = argv[1], *rootfs = argv[2];
    int n = argc > 3 ? atoi(argv[3]) : 50;
    bool overlay = argc > 4 && strcmp(argv[4], "overlay") == 0;
    char dir[] = "/tmp/berth-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    double *start = xcalloc((size_t)n, sizeof(double)), *total = xcalloc((size_t)n, sizeof(double));
    double cpu0 = children_cpu_ms();
    for (int i = 0; i < n; i++) {
        rt_spec_t s;
        rt_spec_init(&s);
        s.id = xasprintf("bench%d-%d", (int)getpid(), i);
        s.bundle = xasprintf("%s/b%d", dir, i);
        s.run_dir = xasprintf("%s/r%d", dir, i);
        s.bpf_cache_dir = xasprintf("%s/seccomp", dir);
        fs_mkdir_p(s.bundle, 0755);
        if (overlay) {
            s.lowerdirs = xcalloc(2, sizeof(char *));
            s.lowerdirs[0] = xstrdup(rootfs);
            s.n_lowerdirs = 1;
            s.upperdir = xasprintf("%s/upper", s.bundle);
            s.workdir = xasprintf("%s/work", s.bundle);
            s.rootfs = xasprintf("%s/merged", s.bundle);
            s.volatile_overlay = true;
            mkdir(s.upperdir, 0755);
            mkdir(s.workdir, 0755);
            mkdir(s.rootfs, 0755);
        } else {
            s.rootfs = xstrdup(rootfs);
        }
        s.process.args = xcalloc(2, sizeof(char *));
        s.process.args[0] = xstrdup("/bin/true");
        s.process.n_args = 1;
        berth_err_t err = {0};
        if (rt_spec_save(&s, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        char *spec_path = xasprintf("%s/%s", s.bundle, RT_SPEC_FILE);
        int sp[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            dup2(sp[1], 3);
            execl(shim, shim, "run", spec_path, (char *)NULL);
            _exit(127);
        }
        close(sp[1]);
        uint8_t hdr[8];
        ssize_t got = read(sp[0], hdr, sizeof(hdr)); /* first frame is STARTED */
        start[i] = now_ms() - t0;
        if (got != 8 || hdr[0] != RT_FRAME_STARTED)
            fprintf(stderr, "iteration %d: no STARTED frame\n", i);
        char drain[4096];
        while (read(sp[0], drain, sizeof(drain)) > 0) {
        }
        int st;
        waitpid(pid, &st, 0);
        total[i] = now_ms() - t0;
        close(sp[0]);
        free(spec_path);
        rt_spec_free(&s);
    }
    double shim_cpu = (children_cpu_ms() - cpu0) / n;
    /* Reference on the same machine at the same moment: bare fork+exec+wait. */
    double cpu1 = children_cpu_ms();
    double *bare = xcalloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        bare[i] = now_ms() - t0;
    }
    double bare_cpu = (children_cpu_ms() - cpu1) / n;
    qsort(bare, (size_t)n, sizeof(double), cmp_double);
    qsort(start, (size_t)n, sizeof(double), cmp_double);
    qsort(total, (size_t)n, sizeof(double), cmp_double);
    printf("%s rootfs, %d runs of /bin/true (net none)\n", overlay ? "overlay" : "plain", n);
    printf("  spawn -> exec'd (STARTED): median %.2f ms, p90 %.2f ms, min %.2f ms\n", start[n / 2],
           start[n * 9 / 10], start[0]);
    printf("  spawn -> shim exited (full cycle): median %.2f ms, p90 %.2f ms, min %.2f ms\n",
           total[n / 2], total[n * 9 / 10], total[0]);
    printf("  reference: host fork+exec+wait /bin/true: median %.2f ms, min %.2f ms\n", bare[n / 2],
           bare[0]);
    printf("  CPU (user+sys) per cycle: shim+container %.2f ms, bare fork+exec %.2f ms\n", shim_cpu,
           bare_cpu);
    free(bare);
    fs_rm_rf(dir);
    free(start);
    free(total);
    return 0;
}
