/* runtime: raw syscall wrappers (glibc 2.36 lacks some of them). */
#include <errno.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

pid_t rt_clone3(uint64_t flags, int *pidfd, int cgroup_fd)
{
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = flags;
    /* A CLONE_PARENT child signals our parent as we would: clone3 wants 0. */
    args.exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD;
    if (flags & CLONE_PIDFD)
        args.pidfd = (uint64_t)(uintptr_t)pidfd;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }
    long rc = syscall(SYS_clone3, &args, sizeof(args));
    return rc < 0 ? -errno : (pid_t)rc;
}

int rt_pidfd_open(pid_t pid)
{
    long rc = syscall(SYS_pidfd_open, pid, 0);
    return rc < 0 ? -errno : (int)rc;
}

int rt_pidfd_send_signal(int pidfd, int sig)
{
    long rc = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return rc < 0 ? -errno : 0;
}

int rt_pivot_root(const char *new_root, const char *put_old)
{
    return syscall(SYS_pivot_root, new_root, put_old) < 0 ? -errno : 0;
}

int rt_openat_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long rc = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    return rc < 0 ? -errno : (int)rc;
}

int rt_close_range_cloexec(unsigned from)
{
    return syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ? -errno : 0;
}
