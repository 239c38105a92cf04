/* runtime: cgroups, v1 (one dir per controller, as on hybrid hosts) and v2
 * (unified). Everything is written from C: a shell costs ~10 ms per start. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/internal.h"

#define CG_ROOT "/sys/fs/cgroup"

static const char *const v1_ctrls[] = {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"};

int rt_cgroup_version(void)
{
    /* A fact of the host, looked up once per process: the start path asks
     * a dozen times. */
    static int version;
    if (!version)
        version = access(CG_ROOT "/cgroup.controllers", F_OK) == 0 ? 2 : 1;
    return version;
}

static const char *parent_or_default(const char *parent)
{
    return parent && *parent ? parent : "berth";
}

static char *cg_dir(const char *ctrl, const char *parent, const char *id)
{
    parent = parent_or_default(parent);
    if (ctrl)
        return id ? xasprintf(CG_ROOT "/%s/%s/%s", ctrl, parent, id)
                  : xasprintf(CG_ROOT "/%s/%s", ctrl, parent);
    return id ? xasprintf(CG_ROOT "/%s/%s", parent, id) : xasprintf(CG_ROOT "/%s", parent);
}

static int write_file(const char *dir, const char *file, const char *val)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, val, strlen(val));
    int rc = n < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int write_i64(const char *dir, const char *file, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return write_file(dir, file, buf);
}

static int read_small(const char *dir, const char *file, char *buf, size_t len)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    return (int)n;
}

static uint64_t read_u64(const char *dir, const char *file)
{
    char buf[64];
    if (read_small(dir, file, buf, sizeof(buf)) <= 0)
        return 0;
    return strtoull(buf, NULL, 10);
}

/* "key value" lines (memory.stat, cpu.stat, memory.events, oom_control). */
static bool read_keyed(const char *dir, const char *file, const char *key, uint64_t *out)
{
    char buf[4096];
    if (read_small(dir, file, buf, sizeof(buf)) <= 0)
        return false;
    size_t kl = strlen(key);
    for (char *line = buf; line && *line;) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            *out = strtoull(line + kl + 1, NULL, 10);
            return true;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

/* A new v1 cpuset cgroup starts with empty cpus/mems: copy the parent's. */
static void cpuset_inherit(const char *dir)
{
    cleanup_free char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (!slash)
        return;
    *slash = '\0';
    char buf[256];
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        char cur[256];
        if (read_small(dir, files[i], cur, sizeof(cur)) > 1)
            continue;
        if (read_small(parent, files[i], buf, sizeof(buf)) > 0)
            write_file(dir, files[i], buf);
    }
}

static int mkdir_cg(const char *dir)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int apply_v1(const char *parent, const char *id, const rt_resources_t *r, berth_err_t *err)
{
    int rc;
    cleanup_free char *mem = cg_dir("memory", parent, id);
    if (r->memory > 0) {
        if ((rc = write_i64(mem, "memory.limit_in_bytes", r->memory)) < 0)
            return berth_err_sys(err, -rc, "setting memory limit");
        int64_t swap = r->memory_swap == 0 ? 2 * r->memory : r->memory_swap;
        if (access(CG_ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
            write_i64(mem, "memory.memsw.limit_in_bytes", swap);
    }
    if (r->memory_reservation > 0)
        write_i64(mem, "memory.soft_limit_in_bytes", r->memory_reservation);
    cleanup_free char *cpu = cg_dir("cpu", parent, id);
    if (r->cpu_shares > 0 && (rc = write_i64(cpu, "cpu.shares", r->cpu_shares)) < 0)
        return berth_err_sys(err, -rc, "setting cpu shares");
    int64_t period = r->cpu_period > 0 ? r->cpu_period : 100000;
    int64_t quota = r->nano_cpus > 0 ? r->nano_cpus * period / 1000000000LL : r->cpu_quota;
    if (quota > 0) {
        write_i64(cpu, "cpu.cfs_period_us", period);
        if ((rc = write_i64(cpu, "cpu.cfs_quota_us", quota)) < 0)
            return berth_err_sys(err, -rc, "setting cpu quota");
    }
    cleanup_free char *cpuset = cg_dir("cpuset", parent, id);
    cpuset_inherit(cpuset);
    if (r->cpuset_cpus && (rc = write_file(cpuset, "cpuset.cpus", r->cpuset_cpus)) < 0)
        return berth_err_sys(err, -rc, "setting cpuset.cpus to %s", r->cpuset_cpus);
    if (r->cpuset_mems && (rc = write_file(cpuset, "cpuset.mems", r->cpuset_mems)) < 0)
        return berth_err_sys(err, -rc, "setting cpuset.mems to %s", r->cpuset_mems);
    if (r->pids_limit > 0) {
        cleanup_free char *pids = cg_dir("pids", parent, id);
        if ((rc = write_i64(pids, "pids.max", r->pids_limit)) < 0)
            return berth_err_sys(err, -rc, "setting pids limit");
    }
    return 0;
}

static int apply_v2(const char *dir, const rt_resources_t *r, berth_err_t *err)
{
    int rc;
    if (r->memory > 0) {
        if ((rc = write_i64(dir, "memory.max", r->memory)) < 0)
            return berth_err_sys(err, -rc, "setting memory.max");
        if (r->memory_swap > 0)
            write_i64(dir, "memory.swap.max", r->memory_swap - r->memory);
        else if (r->memory_swap == 0)
            write_i64(dir, "memory.swap.max", r->memory);
    }
    if (r->memory_reservation > 0)
        write_i64(dir, "memory.low", r->memory_reservation);
    if (r->cpu_shares > 0) /* Docker/runc's shares -> weight conversion */
        write_i64(dir, "cpu.weight", 1 + ((r->cpu_shares - 2) * 9999) / 262142);
    int64_t period = r->cpu_period > 0 ? r->cpu_period : 100000;
    int64_t quota = r->nano_cpus > 0 ? r->nano_cpus * period / 1000000000LL : r->cpu_quota;
    if (quota > 0) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%lld %lld", (long long)quota, (long long)period);
        if ((rc = write_file(dir, "cpu.max", buf)) < 0)
            return berth_err_sys(err, -rc, "setting cpu.max");
    }
    if (r->cpuset_cpus && (rc = write_file(dir, "cpuset.cpus", r->cpuset_cpus)) < 0)
        return berth_err_sys(err, -rc, "setting cpuset.cpus");
    if (r->cpuset_mems)
        write_file(dir, "cpuset.mems", r->cpuset_mems);
    if (r->pids_limit > 0 && (rc = write_i64(dir, "pids.max", r->pids_limit)) < 0)
        return berth_err_sys(err, -rc, "setting pids.max");
    return 0;
}

int rt_cgroup_create(const char *parent, const char *id, const rt_resources_t *res,
                     berth_err_t *err)
{
    int rc;
    if (rt_cgroup_version() == 2) {
        cleanup_free char *pdir = cg_dir(NULL, parent, NULL);
        if ((rc = mkdir_cg(pdir)) < 0)
            return berth_err_sys(err, -rc, "creating cgroup %s", pdir);
        write_file(pdir, "cgroup.subtree_control", "+memory +cpu +cpuset +pids");
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        if ((rc = mkdir_cg(dir)) < 0)
            return berth_err_sys(err, -rc, "creating cgroup %s", dir);
        return apply_v2(dir, res, err);
    }
    for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
        cleanup_free char *pdir = cg_dir(v1_ctrls[i], parent, NULL);
        cleanup_free char *dir = cg_dir(v1_ctrls[i], parent, id);
        if ((rc = mkdir_cg(pdir)) < 0 && rc != -ENOENT)
            return berth_err_sys(err, -rc, "creating cgroup %s", pdir);
        if (rc == -ENOENT) /* controller not mounted here */
            continue;
        if (strcmp(v1_ctrls[i], "cpuset") == 0)
            cpuset_inherit(pdir);
        if ((rc = mkdir_cg(dir)) < 0)
            return berth_err_sys(err, -rc, "creating cgroup %s", dir);
    }
    return apply_v1(parent, id, res, err);
}

/* v1, default parent: rename cgroup from to to in every controller (one not
 * mounted here is skipped); on a failure the renamed ones go back. 0 or
 * -errno with nothing renamed. */
static int rename_v1(const char *from, const char *to)
{
    size_t done = 0;
    int rc = 0;
    for (; done < ARRAY_SIZE(v1_ctrls); done++) {
        cleanup_free char *src = cg_dir(v1_ctrls[done], NULL, from);
        cleanup_free char *dst = cg_dir(v1_ctrls[done], NULL, to);
        if (rename(src, dst) < 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    while (rc < 0 && done-- > 0) {
        cleanup_free char *src = cg_dir(v1_ctrls[done], NULL, to);
        cleanup_free char *dst = cg_dir(v1_ctrls[done], NULL, from);
        rename(src, dst);
    }
    return rc;
}

int rt_cgroup_adopt(const char *from, const char *id, const rt_resources_t *res, berth_err_t *err)
{
    if (rt_cgroup_version() != 1)
        return berth_err_set(err, BERTH_E_INTERNAL, "cgroup rename needs cgroup v1");
    int rc = rename_v1(from, id);
    if (rc < 0)
        return berth_err_sys(err, -rc, "renaming cgroup %s to %s", from, id);
    if (apply_v1(NULL, id, res, err) == 0)
        return 0;
    rename_v1(id, from); /* back to the pool's name: the caller falls back */
    return -1;
}

int rt_cgroup_retire(const char *parent, const char *id, char *gone, size_t gone_len)
{
    /* A custom parent's leftovers would not be swept (rt_cgroup_sweep_pool). */
    if (rt_cgroup_version() != 1 || (parent && *parent))
        return -ENOTSUP;
    snprintf(gone, gone_len, RT_GONE_CGROUP_PREFIX "%d", (int)getpid());
    return rename_v1(id, gone);
}

bool rt_resources_unset(const rt_resources_t *r)
{
    return r->memory <= 0 && r->memory_reservation <= 0 && r->nano_cpus <= 0 &&
           r->cpu_shares <= 0 && r->cpu_quota <= 0 && !r->cpuset_cpus && !r->cpuset_mems &&
           r->pids_limit <= 0;
}

/* What a recycled cgroup may still hold of its last container: the
 * counters rt_cgroup_recycle_reset cannot zero (cpuacct.stat's user/system
 * ticks, memory charged to it that lives on in the page cache) stay within
 * these. The CPU time includes the pooled init's own setup while idle (~6 ms
 * here, ~50 ms in a sanitizer build). Stats show CPU as a rate between two
 * samples: a few ticks more do not show. */
#define RECYCLE_MAX_CPU_NS (250 * 1000000ULL)
#define RECYCLE_MAX_MEMORY (1ULL << 20)

int rt_cgroup_recycle(const char *id, const char *pool)
{
    if (rt_cgroup_version() != 1)
        return -ENOTSUP;
    cleanup_free char *mem = cg_dir("memory", NULL, id);
    cleanup_free char *acct = cg_dir("cpuacct", NULL, id);
    if (read_u64(acct, "cpuacct.usage") > RECYCLE_MAX_CPU_NS ||
        read_u64(mem, "memory.usage_in_bytes") > RECYCLE_MAX_MEMORY)
        return -EBUSY;
    return rename_v1(id, pool); /* fails while the pool name is still taken */
}

void rt_cgroup_recycle_reset(const char *pool)
{
    /* Not the freezer: a frozen cgroup's tasks cannot exit, so it is thawed
     * by the time its container's exit is reported. */
    cleanup_free char *acct = cg_dir("cpuacct", NULL, pool);
    cleanup_free char *mem = cg_dir("memory", NULL, pool);
    write_file(acct, "cpuacct.usage", "0");
    write_file(mem, "memory.max_usage_in_bytes", "0");
}

/* Not a zombie either: an orphan's may wait long for a reaper. */
static bool pid_alive(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

void rt_cgroup_sweep_pool(void)
{
    if (rt_cgroup_version() != 1)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
        cleanup_free char *pdir = cg_dir(v1_ctrls[i], NULL, NULL);
        DIR *d = opendir(pdir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            int pid;
            if (sscanf(e->d_name, RT_POOL_CGROUP_PREFIX "%d", &pid) != 1 &&
                sscanf(e->d_name, RT_GONE_CGROUP_PREFIX "%d", &pid) != 1)
                continue;
            /* Only a dead pool shim's: another berthd may share the parent. */
            if (pid > 0 && pid_alive(pid))
                continue;
            cleanup_free char *dir = xasprintf("%s/%s", pdir, e->d_name);
            rmdir(dir);
        }
        closedir(d);
    }
}

int rt_cgroup_enter(const char *parent, const char *id, pid_t pid, berth_err_t *err)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    if (rt_cgroup_version() == 2) {
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        int rc = write_file(dir, "cgroup.procs", buf);
        return rc < 0 ? berth_err_sys(err, -rc, "joining cgroup %s", dir) : 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
        cleanup_free char *dir = cg_dir(v1_ctrls[i], parent, id);
        int rc = write_file(dir, "cgroup.procs", buf);
        if (rc < 0 && rc != -ENOENT)
            return berth_err_sys(err, -rc, "joining cgroup %s", dir);
    }
    return 0;
}

int rt_cgroup_open_v2(const char *parent, const char *id)
{
    if (rt_cgroup_version() != 2)
        return -EOPNOTSUPP;
    cleanup_free char *dir = cg_dir(NULL, parent, id);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

bool rt_cgroup_oom_killed(const char *parent, const char *id)
{
    uint64_t n = 0;
    if (rt_cgroup_version() == 2) {
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        return read_keyed(dir, "memory.events", "oom_kill", &n) && n > 0;
    }
    cleanup_free char *dir = cg_dir("memory", parent, id);
    return read_keyed(dir, "memory.oom_control", "oom_kill", &n) && n > 0;
}

static int read_pids(const char *dir, pid_t **out, size_t *n)
{
    cleanup_free char *path = xasprintf("%s/cgroup.procs", dir);
    cleanup_free char *data = NULL;
    int rc = fs_read_file(path, 4 << 20, &data, NULL);
    *out = NULL;
    *n = 0;
    if (rc < 0)
        return rc;
    size_t cap = 0;
    for (char *p = data; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, cap * sizeof(pid_t));
        }
        (*out)[(*n)++] = (pid_t)v;
        p = end;
        while (*p == '\n')
            p++;
    }
    return 0;
}

static const char *kill_dir_ctrl(void)
{
    return rt_cgroup_version() == 2 ? NULL : "pids";
}

/* rmdir a cgroup whose tasks were just killed: they leave it when their exit
 * completes, which on a loaded machine can take a while. Backs off from 1 ms
 * up to ~1 s in total; only killed containers ever wait here. */
static int rmdir_when_empty(const char *dir)
{
    unsigned waited_us = 0, step_us = 1000;
    for (;;) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || waited_us >= 1000000)
            break;
        usleep(step_us);
        waited_us += step_us;
        if (step_us < 64000)
            step_us *= 2;
    }
    return access(dir, F_OK) == 0 ? -EBUSY : 0;
}

int rt_cgroup_destroy(const char *parent, const char *id)
{
    int v = rt_cgroup_version();
    cleanup_free char *kdir = cg_dir(kill_dir_ctrl(), parent, id);
    if (v == 2 && write_file(kdir, "cgroup.kill", "1") == 0) {
        /* cgroup.kill is atomic; rmdir below retries until the tasks are gone. */
    } else {
        for (int round = 0; round < 20; round++) {
            pid_t *pids;
            size_t n;
            if (read_pids(kdir, &pids, &n) < 0 || n == 0) {
                free(pids);
                break;
            }
            for (size_t i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
            free(pids);
            usleep(1000);
        }
    }
    int result = 0;
    if (v == 2) {
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        if (rmdir_when_empty(dir) < 0)
            result = -EBUSY;
        return result;
    }
    for (size_t c = 0; c < ARRAY_SIZE(v1_ctrls); c++) {
        cleanup_free char *dir = cg_dir(v1_ctrls[c], parent, id);
        if (rmdir_when_empty(dir) < 0)
            result = -EBUSY;
    }
    return result;
}

int rt_cgroup_pids(const char *parent, const char *id, pid_t **out, size_t *n, berth_err_t *err)
{
    cleanup_free char *dir = cg_dir(kill_dir_ctrl(), parent, id);
    int rc = read_pids(dir, out, n);
    return rc < 0 ? berth_err_sys(err, -rc, "reading %s/cgroup.procs", dir) : 0;
}

int rt_cgroup_freeze(const char *parent, const char *id, bool freeze, berth_err_t *err)
{
    int rc;
    char buf[64];
    if (rt_cgroup_version() == 2) {
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        if ((rc = write_file(dir, "cgroup.freeze", freeze ? "1" : "0")) < 0)
            return berth_err_sys(err, -rc, "%s container", freeze ? "pausing" : "unpausing");
        for (int i = 0; i < 200; i++) {
            uint64_t f = 0;
            if (read_keyed(dir, "cgroup.events", "frozen", &f) && (f != 0) == freeze)
                return 0;
            usleep(500);
        }
        return berth_err_set(err, BERTH_E_INTERNAL, "container did not %s in time",
                             freeze ? "freeze" : "thaw");
    }
    cleanup_free char *dir = cg_dir("freezer", parent, id);
    const char *want = freeze ? "FROZEN" : "THAWED";
    for (int i = 0; i < 200; i++) {
        if ((rc = write_file(dir, "freezer.state", want)) < 0)
            return berth_err_sys(err, -rc, "%s container", freeze ? "pausing" : "unpausing");
        if (read_small(dir, "freezer.state", buf, sizeof(buf)) > 0 &&
            strncmp(buf, want, strlen(want)) == 0)
            return 0;
        usleep(500);
    }
    return berth_err_set(err, BERTH_E_INTERNAL, "container did not %s in time",
                         freeze ? "freeze" : "thaw");
}

static uint64_t host_mem_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

/* Sum of the first 7 numbers of the "cpu " line of /proc/stat, in ns. */
static uint64_t system_cpu_ns(void)
{
    char buf[512];
    if (read_small("/proc", "stat", buf, sizeof(buf)) <= 0 || strncmp(buf, "cpu ", 4) != 0)
        return 0;
    uint64_t total = 0;
    char *p = buf + 4;
    for (int i = 0; i < 7; i++)
        total += strtoull(p, &p, 10);
    long hz = sysconf(_SC_CLK_TCK);
    return total * (1000000000ULL / (uint64_t)(hz > 0 ? hz : 100));
}

int rt_cgroup_stats(const char *parent, const char *id, rt_stats_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    uint64_t v = 0, host = host_mem_total();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    out->online_cpus = ncpu > 0 ? (unsigned)ncpu : 1;
    out->system_cpu_usage_ns = system_cpu_ns();
    if (rt_cgroup_version() == 2) {
        cleanup_free char *dir = cg_dir(NULL, parent, id);
        if (access(dir, F_OK) < 0)
            return berth_err_sys(err, errno, "cgroup %s", dir);
        out->memory_usage = read_u64(dir, "memory.current");
        if (read_keyed(dir, "memory.stat", "inactive_file", &v) && v < out->memory_usage)
            out->memory_usage -= v;
        if (read_keyed(dir, "memory.stat", "file", &v))
            out->memory_cache = v;
        char buf[64];
        out->memory_limit = read_small(dir, "memory.max", buf, sizeof(buf)) > 0 && buf[0] != 'm'
                                ? strtoull(buf, NULL, 10)
                                : host;
        if (read_keyed(dir, "cpu.stat", "usage_usec", &v))
            out->cpu_usage_ns = v * 1000;
        if (read_keyed(dir, "cpu.stat", "user_usec", &v))
            out->cpu_user_ns = v * 1000;
        if (read_keyed(dir, "cpu.stat", "system_usec", &v))
            out->cpu_system_ns = v * 1000;
        out->pids_current = read_u64(dir, "pids.current");
        out->pids_limit = read_u64(dir, "pids.max");
        return 0;
    }
    cleanup_free char *mem = cg_dir("memory", parent, id);
    if (access(mem, F_OK) < 0)
        return berth_err_sys(err, errno, "cgroup %s", mem);
    out->memory_usage = read_u64(mem, "memory.usage_in_bytes");
    if (read_keyed(mem, "memory.stat", "total_inactive_file", &v) && v < out->memory_usage)
        out->memory_usage -= v;
    if (read_keyed(mem, "memory.stat", "total_cache", &v))
        out->memory_cache = v;
    out->memory_limit = read_u64(mem, "memory.limit_in_bytes");
    if (out->memory_limit == 0 || out->memory_limit > host)
        out->memory_limit = host;
    cleanup_free char *acct = cg_dir("cpuacct", parent, id);
    out->cpu_usage_ns = read_u64(acct, "cpuacct.usage");
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t tick = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
    if (read_keyed(acct, "cpuacct.stat", "user", &v))
        out->cpu_user_ns = v * tick;
    if (read_keyed(acct, "cpuacct.stat", "system", &v))
        out->cpu_system_ns = v * tick;
    cleanup_free char *pids = cg_dir("pids", parent, id);
    out->pids_current = read_u64(pids, "pids.current");
    out->pids_limit = read_u64(pids, "pids.max"); /* "max" parses as 0 = unlimited */
    return 0;
}
