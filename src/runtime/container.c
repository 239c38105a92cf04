/* runtime: the container child, from clone3 to execve. Runs single-threaded
 * in a copy of the shim; any failure is reported as "<exit code>\n<text>" on
 * the sync socket and ends the child (Docker's 125/126/127 semantics). */
#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void rt_child_fail(int sync_fd, int code, const berth_err_t *err)
{
    char buf[1100];
    int n = snprintf(buf, sizeof(buf), "%d\n%s", code, err->msg);
    if (n > 0)
        (void)!write(sync_fd, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1));
    _exit(code);
}

static void fail(rt_child_cfg_t *cfg, berth_err_t *err)
{
    rt_child_fail(cfg->sync_fd, RT_EXIT_SETUP_FAILED, err);
}

int rt_lo_up(berth_err_t *err)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_err_sys(err, errno, "socket for lo");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(fd);
    return rc < 0 ? berth_err_sys(err, e, "bringing lo up") : 0;
}

static const struct {
    const char *name;
    int res;
} rlimits[] = {
    {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},       {"as", RLIMIT_AS},
};

static int apply_ulimits(const rt_spec_t *s, berth_err_t *err)
{
    for (size_t i = 0; i < s->n_ulimits; i++) {
        const rt_ulimit_t *u = &s->ulimits[i];
        size_t k;
        for (k = 0; k < ARRAY_SIZE(rlimits); k++)
            if (strcmp(rlimits[k].name, u->name) == 0)
                break;
        if (k == ARRAY_SIZE(rlimits))
            return berth_err_set(err, BERTH_E_INVALID, "invalid ulimit type: %s", u->name);
        struct rlimit rl = {.rlim_cur = u->soft < 0 ? RLIM_INFINITY : (rlim_t)u->soft,
                            .rlim_max = u->hard < 0 ? RLIM_INFINITY : (rlim_t)u->hard};
        if (setrlimit(rlimits[k].res, &rl) < 0)
            return berth_err_sys(err, errno, "setting ulimit %s", u->name);
    }
    return 0;
}

static const char *env_get(char **env, const char *key)
{
    size_t kl = strlen(key);
    for (char **e = env; e && *e; e++)
        if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
            return *e + kl + 1;
    return NULL;
}

/* The process env plus Docker's defaults (PATH, HOSTNAME, HOME, TERM). */
static char **build_env(const rt_process_t *p, const rt_spec_t *s, const char *home)
{
    char **env = xcalloc(p->n_env + 5, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < p->n_env; i++)
        env[n++] = p->env[i];
    env[n] = NULL;
    if (!env_get(env, "PATH"))
        env[n++] = "PATH=" DEFAULT_PATH;
    if (!env_get(env, "HOSTNAME") && s->hostname)
        env[n++] = xasprintf("HOSTNAME=%s", s->hostname);
    if (!env_get(env, "HOME"))
        env[n++] = xasprintf("HOME=%s", home ? home : "/");
    if (p->tty && !env_get(env, "TERM"))
        env[n++] = "TERM=xterm";
    env[n] = NULL;
    return env;
}

/* exec.LookPath semantics; sets err and returns the Docker exit code on failure. */
static int find_executable(const char *arg0, const char *path, char **out, berth_err_t *err)
{
    struct stat st;
    if (strchr(arg0, '/')) {
        if (stat(arg0, &st) < 0) {
            berth_err_set(err, BERTH_E_INVALID, "exec: \"%s\": stat %s: %s", arg0, arg0,
                          errno == ENOENT ? "no such file or directory" : strerror(errno));
            return errno == ENOENT ? RT_EXIT_NOT_FOUND : RT_EXIT_NOT_EXECUTABLE;
        }
        if (S_ISDIR(st.st_mode)) {
            berth_err_set(err, BERTH_E_INVALID, "exec: \"%s\": is a directory", arg0);
            return RT_EXIT_NOT_EXECUTABLE;
        }
        *out = xstrdup(arg0);
        return 0;
    }
    cleanup_free char *dirs = xstrdup(path ? path : DEFAULT_PATH);
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        cleanup_free char *cand = xasprintf("%s/%s", *d ? d : ".", arg0);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
            *out = steal_pointer(&cand);
            return 0;
        }
    }
    berth_err_set(err, BERTH_E_INVALID, "exec: \"%s\": executable file not found in $PATH", arg0);
    return RT_EXIT_NOT_FOUND;
}

static char *read_etc(const char *path)
{
    char *data = NULL;
    if (fs_read_file(path, 4 << 20, &data, NULL) < 0)
        return NULL;
    return data;
}

/* --init: pid 1 stays our code (never execs), forwards signals to the
 * process and reaps every zombie; exits with the process's status. */
__attribute__((noreturn)) static void run_init(pid_t child, char *const *args)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rt_init_set_title(args);
    rt_caps_drop_bounding(0, rt_cap_last());
    rt_caps_apply(0, false);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        int status;
        pid_t p;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
            if (p != child)
                continue;
            if (WIFSIGNALED(status))
                _exit(128 + WTERMSIG(status));
            _exit(WEXITSTATUS(status));
        }
    }
}

void rt_child_main(rt_child_cfg_t *cfg)
{
    const rt_spec_t *s = cfg->spec;
    const rt_process_t *p = cfg->process;
    berth_err_t err = {0};
    int pty[2] = {-1, -1}; /* a tty's master (to the shim) and slave */

    /* Wait for the shim: it puts us in the cgroup (v1) before anything runs,
     * unless we are in it already (then the go comes before the exec). */
    char go;
    if (!cfg->setup_before_go && read(cfg->sync_fd, &go, 1) != 1)
        _exit(RT_EXIT_SETUP_FAILED);

    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (cfg->v1_unshare_cgroup && unshare(CLONE_NEWCGROUP) < 0) {
        berth_err_sys(&err, errno, "unshare cgroup namespace");
        fail(cfg, &err);
    }
    if (!cfg->is_exec) {
        if (s->net_mode == RT_NET_NONE && !cfg->lo_ready && rt_lo_up(&err) < 0)
            fail(cfg, &err);
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) {
            berth_err_sys(&err, errno, "sethostname");
            fail(cfg, &err);
        }
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0) {
            berth_err_sys(&err, errno, "setdomainname");
            fail(cfg, &err);
        }
        if (cfg->prepared_rootfs) {
            /* The shim renames the prepared upper/work dirs into the
             * container's before it sends the stdio, or says no. */
            if (cfg->await_stdio(cfg, &err) < 0)
                fail(cfg, &err);
            if (cfg->prep_accepted ? rt_rootfs_enter_prepared(s, cfg->prepared_rootfs, &err) < 0
                                   : rt_setup_rootfs(s, NULL, NULL, NULL, &err) < 0)
                fail(cfg, &err);
        } else if (rt_setup_rootfs(s, p->tty ? pty : NULL, cfg->await_stdio, cfg, &err) < 0) {
            fail(cfg, &err);
        }
    } else if (p->tty) {
        /* exec -t: a pty of the container's devpts (we are in its mount ns) */
        cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0 || rt_pty_open_in(root, "/dev/pts/ptmx", p, pty, &err) < 0) {
            if (root < 0)
                berth_err_sys(&err, errno, "opening /");
            fail(cfg, &err);
        }
    }
    if (pty[0] >= 0) {
        int rc = rt_pty_send_master(cfg->sync_fd, pty[0]);
        if (rc < 0) {
            berth_err_sys(&err, -rc, "passing the pty to the shim");
            fail(cfg, &err);
        }
        close(pty[0]);
        for (int i = 0; i < 3; i++)
            cfg->stdio[i] = pty[1];
    }
    for (int i = 0; i < 3; i++) {
        if (cfg->stdio[i] == i)
            fcntl(i, F_SETFD, 0);
        else if (dup2(cfg->stdio[i], i) < 0) {
            berth_err_sys(&err, errno, "setting up stdio");
            fail(cfg, &err);
        }
    }
    setsid();
    if (p->tty)
        ioctl(0, TIOCSCTTY, 0);
    if (apply_ulimits(s, &err) < 0)
        fail(cfg, &err);

    /* Users and groups are looked up inside the container's root. */
    rt_user_t user = {0};
    if (p->user && *p->user) {
        cleanup_free char *passwd = read_etc("/etc/passwd");
        cleanup_free char *group = read_etc("/etc/group");
        if (rt_user_resolve(p->user, passwd, group, p->group_add, p->n_group_add, &user, &err) < 0)
            fail(cfg, &err);
    } else {
        cleanup_free char *passwd = read_etc("/etc/passwd");
        cleanup_free char *group = read_etc("/etc/group");
        char idbuf[16];
        snprintf(idbuf, sizeof(idbuf), "%u", (unsigned)p->uid);
        if (rt_user_resolve(idbuf, passwd, group, p->group_add, p->n_group_add, &user, &err) < 0)
            fail(cfg, &err);
        user.gid = p->gid;
        for (size_t i = 0; i < p->n_additional_gids; i++) {
            user.gids = xrealloc(user.gids, (user.n_gids + 1) * sizeof(gid_t));
            user.gids[user.n_gids++] = p->additional_gids[i];
        }
    }
    char **env = build_env(p, s, user.home);

    const char *cwd = p->cwd && *p->cwd ? p->cwd : "/";
    if (fs_mkdir_p(cwd, 0755) < 0 && errno != EEXIST) {
        /* mkdir -p fails harmlessly on a read-only rootfs when cwd exists */
    }
    if (chdir(cwd) < 0) {
        berth_err_sys(&err, errno, "chdir to cwd (\"%s\") set in config.json failed", cwd);
        fail(cfg, &err);
    }
    /* CVE-2024-21626: a cwd outside our root shows up as "(unreachable)". */
    char cwdbuf[PATH_MAX];
    if (!getcwd(cwdbuf, sizeof(cwdbuf)) || cwdbuf[0] != '/') {
        berth_err_set(&err, BERTH_E_INVALID,
                      "current working directory is outside of the container mount namespace root");
        fail(cfg, &err);
    }

    cleanup_free char *exe = NULL;
    int code = find_executable(p->args[0], env_get(env, "PATH"), &exe, &err);
    if (code)
        rt_child_fail(cfg->sync_fd, code, &err);

    /* The shim has written the limits and is ready to report the start. */
    if (cfg->setup_before_go && read(cfg->sync_fd, &go, 1) != 1)
        _exit(RT_EXIT_SETUP_FAILED);

    if (s->init && !cfg->is_exec) {
        /* Blocked from before the fork: a signal sent once the shim reports
         * the start (our sync fd closing) waits for run_init's sigwaitinfo.
         * Unblocked, pid 1 of a pid namespace without a handler drops it. */
        sigset_t all, before;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &before);
        pid_t child = fork();
        if (child < 0) {
            berth_err_sys(&err, errno, "fork for init");
            fail(cfg, &err);
        }
        if (child > 0) {
            close(cfg->sync_fd);
            run_init(child, p->args);
        }
        sigprocmask(SIG_SETMASK, &before, NULL);
        /* Like tini: with a tty the process gets its own process group in
         * the foreground, so ^C from the terminal reaches it once (not also
         * through init's forwarding) and shells can do job control. */
        if (p->tty && setpgid(0, 0) == 0) {
            sigset_t ttou, old;
            sigemptyset(&ttou);
            sigaddset(&ttou, SIGTTOU);
            sigprocmask(SIG_BLOCK, &ttou, &old);
            tcsetpgrp(0, getpid());
            sigprocmask(SIG_SETMASK, &old, NULL);
        }
    }

    bool privileged = s->privileged || (cfg->is_exec && cfg->caps == ~0ULL);
    if (rt_caps_drop_bounding(cfg->caps | cfg->bounding_dropped, cfg->last_cap) < 0) {
        berth_err_sys(&err, errno, "dropping the capability bounding set");
        fail(cfg, &err);
    }
    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (s->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        berth_err_sys(&err, errno, "no_new_privs");
        fail(cfg, &err);
    }
    /* Load seccomp while we still hold CAP_SYS_ADMIN (no NNP needed); the
     * calls below (setgroups, setres*id, capset, close_range, execve) are
     * allowed by the default profile. */
    if (cfg->bpf && !privileged) {
        int rc = rt_seccomp_load(cfg->bpf, cfg->bpf_len);
        if (rc < 0) {
            berth_err_sys(&err, -rc, "loading seccomp filter");
            fail(cfg, &err);
        }
    }
    if (setgroups(user.n_gids, user.gids) < 0 || setresgid(user.gid, user.gid, user.gid) < 0 ||
        setresuid(user.uid, user.uid, user.uid) < 0) {
        berth_err_sys(&err, errno, "setting user %u:%u", (unsigned)user.uid, (unsigned)user.gid);
        fail(cfg, &err);
    }
    if (rt_caps_apply(cfg->caps, user.uid == 0) < 0) {
        berth_err_sys(&err, errno, "setting capabilities");
        fail(cfg, &err);
    }
    /* CVE-2024-21626: no host fd may survive into the container. The sync
     * socket is CLOEXEC too: its EOF tells the shim that exec succeeded. */
    rt_close_range_cloexec(3);
    execve(exe, p->args, env);
    int e = errno;
    code = (e == EACCES || e == ENOEXEC || e == EISDIR || e == EPERM) ? RT_EXIT_NOT_EXECUTABLE
           : e == ENOENT                                              ? RT_EXIT_NOT_FOUND
                                                                      : RT_EXIT_SETUP_FAILED;
    berth_err_set(&err, BERTH_E_INVALID, "exec: \"%s\": %s", p->args[0],
                  e == EACCES   ? "permission denied"
                  : e == ENOENT ? "no such file or directory"
                                : strerror(e));
    rt_child_fail(cfg->sync_fd, code, &err);
}
