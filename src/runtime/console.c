/* runtime: the container's terminal. Like runc, the pty of `run -t` and
 * `exec -t` comes from the container's own devpts instance, so inside the
 * container ttyname() is a /dev/pts/N that exists there and /dev/console is
 * that same slave. The child opens it (it is the only one that sees that
 * devpts) and hands the master to the shim over the sync socket with
 * SCM_RIGHTS, before it execs. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "runtime/internal.h"

#define DEVPTS_MAGIC 0x1cd1

int rt_pty_open_in(int rootfd, const char *ptmx, const rt_process_t *p, int fds[2],
                   berth_err_t *err)
{
    fds[0] = fds[1] = -1;
    /* O_NONBLOCK: in an exec the container controls this path, and a FIFO
     * planted there must not hang us; the identity checks below refuse it. */
    int m = rt_openat_in_root(rootfd, ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK, 0);
    if (m < 0)
        return berth_err_sys(err, -m, "opening %s", ptmx);
    struct stat st;
    struct statfs sfs;
    if (fstat(m, &st) < 0 || fstatfs(m, &sfs) < 0 || !S_ISCHR(st.st_mode) ||
        major(st.st_rdev) != 5 || minor(st.st_rdev) != 2 || sfs.f_type != DEVPTS_MAGIC) {
        close(m);
        return berth_err_set(err, BERTH_E_INVALID, "%s is not a devpts ptmx", ptmx);
    }
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
        int e = errno;
        close(m);
        return berth_err_sys(err, e, "unlocking the pty");
    }
    /* The peer ioctl opens the slave of this very master, with no path
     * lookup the container could redirect. */
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        close(m);
        return berth_err_sys(err, e, "opening the pty slave");
    }
    int fl = fcntl(m, F_GETFL);
    if (fl >= 0)
        fcntl(m, F_SETFL, fl & ~O_NONBLOCK);
    if (p->console_rows && p->console_cols) {
        struct winsize ws = {.ws_row = p->console_rows, .ws_col = p->console_cols};
        ioctl(m, TIOCSWINSZ, &ws);
    }
    fds[0] = m;
    fds[1] = s;
    return 0;
}

int rt_pty_send_master(int sock, int master)
{
    char tag = RT_PTY_TAG;
    struct iovec iov = {.iov_base = &tag, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -errno;
}

ssize_t rt_sync_recv(int sock, char *buf, size_t len, int *fd)
{
    *fd = -1;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int got;
            memcpy(&got, CMSG_DATA(c), sizeof(int));
            if (*fd < 0)
                *fd = got;
            else
                close(got);
        }
    return n;
}
