/* runtime: the zygote, a long-lived `berth-shim zygote` helper that forks
 * berthd's idle pool shims.
 *
 * Why: a pool refill used to be a posix_spawn of berth-shim: berthd waited
 * for the exec, then the new process mapped and relocated four shared
 * libraries and initialised libc, ~2.5 ms of CPU on this kind of VM, run
 * while the next container starts on the other core. A fork of the
 * zygote, which did all that once, gives the same process without it.
 *
 * Wire (fd 3, a stream socketpair with berthd):
 *   berthd -> zygote: one byte 'F' carrying (SCM_RIGHTS) the new shim's end
 *                     of its socketpair with berthd.
 *   zygote -> berthd: an int32 pid (or -errno) carrying the shim's pidfd.
 * The shim is forked with CLONE_PARENT: it is berthd's child, as a spawned
 * one was (berthd reaps it; PR_SET_PDEATHSIG follows berthd). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/shim.h"

static int zygote_send(int sock, int32_t v, int fd)
{
    return rt_send_with_fd(sock, &v, sizeof(v), fd, 0) == (ssize_t)sizeof(v) ? 0 : -EPIPE;
}

/* Receive len bytes with at most one fd attached (*fd = -1 when none).
 * 0 on success, -EPIPE on EOF, -EPROTO on a short message, else -errno. */
static int zygote_recv(int sock, void *data, size_t len, int flags, int *fd)
{
    ssize_t n = rt_recv_with_fd(sock, data, len, flags, fd);
    if (n < 0)
        return (int)n;
    if (n == 0 || (size_t)n != len) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return n == 0 ? -EPIPE : -EPROTO;
    }
    return 0;
}

/* berthd side ------------------------------------------------------------- */

int rt_zygote_request(int zygote_fd, int shim_fd)
{
    /* A byte never fills the buffer of a helper that keeps up; if it did,
     * the refill falls back to a spawn. */
    char op = 'F';
    ssize_t n = rt_send_with_fd(zygote_fd, &op, 1, shim_fd, MSG_DONTWAIT);
    return n == 1 ? 0 : n < 0 ? (int)n : -EPIPE;
}

int rt_zygote_reply(int zygote_fd, pid_t *pid, int *pidfd)
{
    int32_t v;
    int rc = zygote_recv(zygote_fd, &v, sizeof(v), MSG_DONTWAIT, pidfd);
    if (rc < 0)
        return rc;
    if ((v > 0) != (*pidfd >= 0)) { /* a pid comes with its pidfd, an error without */
        if (*pidfd >= 0)
            close(*pidfd);
        *pidfd = -1;
        return -EPROTO;
    }
    *pid = v;
    return 0;
}

/* helper side ------------------------------------------------------------- */

int rt_shim_main_zygote(int fd, char *mode_arg)
{
    /* Like an idle pool shim: it belongs to the berthd that spawned it. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent || parent == 1)
        return 0;
    signal(SIGPIPE, SIG_IGN);
    /* malloc set up once here, not in every fork; no prefault: each page
     * present here is one more entry to copy per fork (the pool shims
     * prefault what they use when idle). */
    free(malloc(1));
    for (;;) {
        char op;
        int shim_fd;
        int rc = zygote_recv(fd, &op, 1, 0, &shim_fd);
        if (rc == -EPIPE)
            return 0; /* berthd closed the pool */
        if (rc < 0)
            return 1;
        if (op != 'F' || shim_fd < 0) {
            if (shim_fd >= 0)
                close(shim_fd);
            return 1;
        }
        int pidfd = -1;
        pid_t pid = rt_clone3(CLONE_PARENT | CLONE_PIDFD, &pidfd, -1);
        if (pid == 0) {
            /* The pool shim: fd 3 is its connection to berthd, as if
             * spawned with `berth-shim pool`, and says so in its argv. */
            signal(SIGPIPE, SIG_DFL);
            if (dup2(shim_fd, 3) < 0)
                _exit(1);
            close(shim_fd);
            fcntl(3, F_SETFD, FD_CLOEXEC);
            size_t cap = strlen(mode_arg);
            memset(mode_arg, 0, cap);
            memcpy(mode_arg, "pool", cap < 4 ? cap : 4);
            _exit(rt_shim_main_pool(3));
        }
        close(shim_fd);
        if (zygote_send(fd, pid, pid < 0 ? -1 : pidfd) < 0)
            return 1;
        if (pidfd >= 0)
            close(pidfd);
    }
}
