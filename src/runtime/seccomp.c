/* runtime: seccomp. Docker's default profile (moby profiles/seccomp/default.json
 * semantics) or a Docker-format JSON profile is compiled with libseccomp ONCE
 * per (profile, capability set) into a BPF file in the exec root; every
 * container start just reads that file and installs it with seccomp(2). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

/* Allowed for everybody. Names unknown to this libseccomp/arch are skipped. */
static const char *const default_allow[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "arch_prctl",
    "modify_ldt",
    "chroot",
};

/* Groups unlocked by one capability, as in Docker's profile. NULL-terminated. */
struct cap_group {
    int cap;
    const char *names[24];
};
static const struct cap_group cap_groups[] = {
    {21 /* SYS_ADMIN */,
     {"bpf",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare",
      NULL}},
    {22 /* SYS_BOOT */, {"reboot", NULL}},
    {16 /* SYS_MODULE */, {"delete_module", "init_module", "finit_module", NULL}},
    {20 /* SYS_PACCT */, {"acct", NULL}},
    {19 /* SYS_PTRACE */, {"kcmp", "pidfd_getfd", "process_madvise", NULL}},
    {17 /* SYS_RAWIO */, {"iopl", "ioperm", NULL}},
    {25 /* SYS_TIME */, {"settimeofday", "stime", "clock_settime", "clock_settime64", NULL}},
    {26 /* SYS_TTY_CONFIG */, {"vhangup", NULL}},
    {23 /* SYS_NICE */,
     {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", NULL}},
    {34 /* SYSLOG */, {"syslog", NULL}},
    {39 /* BPF */, {"bpf", NULL}},
    {38 /* PERFMON */, {"perf_event_open", NULL}},
};

#define CLONE_NS_FLAGS 0x7E020000ULL /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
#define AF_VSOCK_NUM 40

static bool has_cap(uint64_t caps, int c)
{
    return (caps >> c) & 1;
}

static void allow_name(scmp_filter_ctx ctx, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR)
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int build_default(scmp_filter_ctx ctx, uint64_t caps)
{
    for (size_t i = 0; i < ARRAY_SIZE(default_allow); i++)
        allow_name(ctx, default_allow[i]);
    for (size_t g = 0; g < ARRAY_SIZE(cap_groups); g++)
        if (has_cap(caps, cap_groups[g].cap))
            for (size_t i = 0; cap_groups[g].names[i]; i++)
                allow_name(ctx, cap_groups[g].names[i]);
    /* socket: everything but AF_VSOCK. */
    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_VSOCK_NUM));
    /* personality: the harmless values only. */
    static const uint64_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
    for (size_t i = 0; i < ARRAY_SIZE(personas); i++)
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
                         SCMP_A0(SCMP_CMP_EQ, personas[i]));
    if (has_cap(caps, 21)) {
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0);
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone3), 0);
    } else {
        /* clone without namespace flags; clone3 can't be filtered by flags
         * (they are behind a pointer) so it gets ENOSYS and libc falls back. */
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    }
    return 0;
}

static uint32_t parse_action(const char *a, int errno_ret, bool *ok)
{
    *ok = true;
    if (!a)
        goto bad;
    if (!strcmp(a, "SCMP_ACT_ALLOW"))
        return SCMP_ACT_ALLOW;
    if (!strcmp(a, "SCMP_ACT_ERRNO"))
        return SCMP_ACT_ERRNO(errno_ret ? errno_ret : EPERM);
    if (!strcmp(a, "SCMP_ACT_KILL") || !strcmp(a, "SCMP_ACT_KILL_THREAD"))
        return SCMP_ACT_KILL;
    if (!strcmp(a, "SCMP_ACT_KILL_PROCESS"))
        return SCMP_ACT_KILL_PROCESS;
    if (!strcmp(a, "SCMP_ACT_TRAP"))
        return SCMP_ACT_TRAP;
    if (!strcmp(a, "SCMP_ACT_LOG"))
        return SCMP_ACT_LOG;
    if (!strcmp(a, "SCMP_ACT_TRACE"))
        return SCMP_ACT_TRACE(errno_ret);
bad:
    *ok = false;
    return 0;
}

static enum scmp_compare parse_op(const char *op)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
               {"SCMP_CMP_LT", SCMP_CMP_LT},
               {"SCMP_CMP_LE", SCMP_CMP_LE},
               {"SCMP_CMP_EQ", SCMP_CMP_EQ},
               {"SCMP_CMP_GE", SCMP_CMP_GE},
               {"SCMP_CMP_GT", SCMP_CMP_GT},
               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++)
        if (!strcmp(ops[i].name, op))
            return ops[i].op;
    return _SCMP_CMP_MIN;
}

/* true when every cap in includes.caps is held and none in excludes.caps. */
static bool caps_match(const cJSON *rule, uint64_t caps)
{
    const cJSON *inc = cJSON_GetObjectItem(cJSON_GetObjectItem(rule, "includes"), "caps");
    const cJSON *exc = cJSON_GetObjectItem(cJSON_GetObjectItem(rule, "excludes"), "caps");
    const cJSON *it;
    cJSON_ArrayForEach(it, inc)
    {
        int c = cJSON_IsString(it) ? rt_cap_from_name(it->valuestring) : -1;
        if (c < 0 || !has_cap(caps, c))
            return false;
    }
    cJSON_ArrayForEach(it, exc)
    {
        int c = cJSON_IsString(it) ? rt_cap_from_name(it->valuestring) : -1;
        if (c >= 0 && has_cap(caps, c))
            return false;
    }
    return true;
}

static int build_profile(const cJSON *prof, uint64_t caps, scmp_filter_ctx *out, berth_err_t *err)
{
    bool ok;
    const cJSON *dret = cJSON_GetObjectItem(prof, "defaultErrnoRet");
    uint32_t dflt = parse_action(cJSON_GetStringValue(cJSON_GetObjectItem(prof, "defaultAction")),
                                 cJSON_IsNumber(dret) ? dret->valueint : 0, &ok);
    if (!ok)
        return berth_err_set(err, BERTH_E_INVALID, "seccomp profile: bad defaultAction");
    scmp_filter_ctx ctx = seccomp_init(dflt);
    if (!ctx)
        return berth_err_set(err, BERTH_E_INTERNAL, "seccomp_init failed");
    const cJSON *rule;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItem(prof, "syscalls"))
    {
        if (!caps_match(rule, caps))
            continue;
        const cJSON *eret = cJSON_GetObjectItem(rule, "errnoRet");
        uint32_t act = parse_action(cJSON_GetStringValue(cJSON_GetObjectItem(rule, "action")),
                                    cJSON_IsNumber(eret) ? eret->valueint : 0, &ok);
        if (!ok) {
            seccomp_release(ctx);
            return berth_err_set(err, BERTH_E_INVALID, "seccomp profile: bad action");
        }
        if (act == dflt)
            continue;
        struct scmp_arg_cmp cmps[6];
        unsigned n_cmp = 0;
        const cJSON *arg;
        cJSON_ArrayForEach(arg, cJSON_GetObjectItem(rule, "args"))
        {
            if (n_cmp >= 6)
                break;
            enum scmp_compare op = parse_op(cJSON_GetStringValue(cJSON_GetObjectItem(arg, "op")));
            if (op == _SCMP_CMP_MIN) {
                seccomp_release(ctx);
                return berth_err_set(err, BERTH_E_INVALID, "seccomp profile: bad op");
            }
            cmps[n_cmp++] = (struct scmp_arg_cmp){
                .arg = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItem(arg, "index")),
                .op = op,
                .datum_a = (scmp_datum_t)cJSON_GetNumberValue(cJSON_GetObjectItem(arg, "value")),
                .datum_b = (scmp_datum_t)cJSON_GetNumberValue(cJSON_GetObjectItem(arg, "valueTwo")),
            };
        }
        const cJSON *names = cJSON_GetObjectItem(rule, "names");
        const cJSON *name;
        cJSON_ArrayForEach(name, names)
        {
            int nr = cJSON_IsString(name) ? seccomp_syscall_resolve_name(name->valuestring)
                                          : __NR_SCMP_ERROR;
            if (nr != __NR_SCMP_ERROR)
                seccomp_rule_add_array(ctx, act, nr, n_cmp, cmps);
        }
        const char *one = cJSON_GetStringValue(cJSON_GetObjectItem(rule, "name"));
        if (one) {
            int nr = seccomp_syscall_resolve_name(one);
            if (nr != __NR_SCMP_ERROR)
                seccomp_rule_add_array(ctx, act, nr, n_cmp, cmps);
        }
    }
    *out = ctx;
    return 0;
}

int rt_seccomp_compile(const char *profile_json, uint64_t caps, const char *path, berth_err_t *err)
{
    scmp_filter_ctx ctx = NULL;
    if (profile_json) {
        cJSON *prof = cJSON_Parse(profile_json);
        if (!prof || !cJSON_IsObject(prof)) {
            cJSON_Delete(prof);
            return berth_err_set(err, BERTH_E_INVALID, "seccomp profile: invalid JSON");
        }
        int rc = build_profile(prof, caps, &ctx, err);
        cJSON_Delete(prof);
        if (rc < 0)
            return -1;
    } else {
        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
            return berth_err_set(err, BERTH_E_INTERNAL, "seccomp_init failed");
        build_default(ctx, caps);
    }
    /* We install the program ourselves; don't let libseccomp imply NNP. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* A binary tree over syscall numbers instead of a linear chain: the
     * kernel emulates the filter for every syscall number when it is loaded
     * (its allow-bitmap cache), and each syscall runs fewer instructions. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    /* A unique temporary name: pooled inits all have pid 1 (in their own pid
     * namespaces), and concurrent starts compile the same program. */
    cleanup_free char *tmp = xasprintf("%s.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd >= 0)
        fchmod(fd, 0644);
    if (fd < 0) {
        seccomp_release(ctx);
        return berth_err_sys(err, errno, "creating %s", tmp);
    }
    int rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    close(fd);
    if (rc < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return berth_err_sys(err, rc < 0 ? -rc : errno, "exporting seccomp program to %s", path);
    }
    return 0;
}

char *rt_seccomp_cache_path(const char *dir, const char *profile_json, uint64_t caps)
{
    /* FNV-1a over the profile text: a cache key, not a security boundary (the
     * dir is root-only under the exec root). */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = profile_json ? profile_json : "default"; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return xasprintf("%s/%016llx-%016llx.bpf", dir, (unsigned long long)h,
                     (unsigned long long)caps);
}

int rt_seccomp_read(const char *path, void **prog_out, size_t *len, berth_err_t *err)
{
    char *data = NULL;
    size_t n = 0;
    int rc = fs_read_file(path, 1 << 20, &data, &n);
    if (rc < 0)
        return berth_err_sys(err, -rc, "reading %s", path);
    if (n == 0 || n % sizeof(struct sock_filter)) {
        free(data);
        return berth_err_set(err, BERTH_E_INTERNAL, "%s: not a BPF program", path);
    }
    *prog_out = data;
    *len = n / sizeof(struct sock_filter);
    return 0;
}

int rt_seccomp_load(void *prog, size_t len)
{
    struct sock_fprog fprog = {.len = (unsigned short)len, .filter = prog};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
        return -errno;
    return 0;
}

int rt_seccomp_prepare(const rt_spec_t *s, uint64_t caps, void **bpf, size_t *len, berth_err_t *err)
{
    *bpf = NULL;
    *len = 0;
    if (s->privileged || s->seccomp == RT_SECCOMP_UNCONFINED)
        return 0;
    cleanup_free char *profile = NULL;
    if (s->seccomp == RT_SECCOMP_PROFILE) {
        int rc = fs_read_file(s->seccomp_profile, 1 << 20, &profile, NULL);
        if (rc < 0)
            return berth_err_sys(err, -rc, "reading seccomp profile %s", s->seccomp_profile);
    }
    cleanup_free char *dir =
        s->bpf_cache_dir ? xstrdup(s->bpf_cache_dir) : xasprintf("%s/../seccomp", s->run_dir);
    cleanup_free char *path = rt_seccomp_cache_path(dir, profile, caps);
    if (access(path, R_OK) < 0) {
        fs_mkdir_p(dir, 0700);
        if (rt_seccomp_compile(profile, caps, path, err) < 0)
            return berth_err_prefix(err, "seccomp");
    }
    return rt_seccomp_read(path, bpf, len, err);
}
