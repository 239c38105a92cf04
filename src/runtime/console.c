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
    ssize_t n = rt_send_with_fd(sock, &tag, 1, master, 0);
    return n == 1 ? 0 : n < 0 ? (int)n : -EPIPE;
}

ssize_t rt_sync_recv(int sock, char *buf, size_t len, int *fd)
{
    return rt_recv_with_fd(sock, buf, len, 0, fd);
}
