/* runtime: the reaper, a long-lived `berth-shim reaper` helper that removes
 * the directories of removed containers (and their run dirs) off berthd's
 * loop. On this kind of machine (ext4 with discard) the dozen unlinks and
 * rmdirs of a `run --rm` cost 1-3 ms: inline they delayed the next request,
 * a fork+exec of rm per container costs about as much again. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "runtime/internal.h"
#include "runtime/manager_internal.h"
#include "runtime/shim.h"

/* berthd side ------------------------------------------------------------- */

static void reaper_drop(rt_manager_t *m)
{
    if (m->reaper_fd < 0)
        return;
    close(m->reaper_fd);
    siginfo_t info;
    /* Reap it if it is gone; a live one finishes its queue and exits on EOF. */
    waitid(P_PIDFD, (id_t)m->reaper_pidfd, &info, WEXITED | WNOHANG);
    close(m->reaper_pidfd);
    m->reaper_fd = m->reaper_pidfd = -1;
}

static int reaper_start(rt_manager_t *m)
{
    berth_err_t err = {0};
    pid_t pid;
    int pidfd, fd;
    if (rt_shim_spawn_proc(m->shim_path, "reaper", NULL, NULL, &pid, &pidfd, &fd, &err) < 0) {
        log_warn("reaper: %s", err.msg);
        return -1;
    }
    /* berthd never reads from it: only the send buffer matters. */
    shutdown(fd, SHUT_RD);
    m->reaper_fd = fd;
    m->reaper_pidfd = pidfd;
    return 0;
}

int mgr_reap(rt_manager_t *m, const char *path)
{
    if (path[0] != '/')
        return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (m->reaper_fd < 0 && (m->closing || reaper_start(m) < 0))
            return -1;
        size_t len = strlen(path) + 1; /* NUL-terminated on the wire */
        ssize_t n = send(m->reaper_fd, path, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == (ssize_t)len)
            return 0;
        /* Died (EPIPE: a fresh one gets a second try) or its queue is full
         * (EAGAIN; a partial send cuts a path: drop it, restart clean). */
        reaper_drop(m);
        if (n >= 0 || errno == EAGAIN)
            return -1;
    }
    return -1;
}

void mgr_reaper_close(rt_manager_t *m)
{
    reaper_drop(m);
}

/* helper side ------------------------------------------------------------- */

int rt_shim_main_reaper(int fd)
{
    /* Not PDEATHSIG: what berthd queued is finished after it is gone (EOF);
     * a berthd restart sweeps anything left (.trash-* dirs). */
    signal(SIGPIPE, SIG_IGN);
    berth_buf_t in;
    buf_init(&in);
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_append(&in, chunk, (size_t)n);
        char *nul;
        while ((nul = memchr(in.data, '\0', in.len))) {
            size_t len = (size_t)(nul - in.data) + 1;
            if (in.data[0] == '/') /* absolute paths only */
                fs_rm_rf(in.data);
            buf_consume(&in, len);
        }
    }
    buf_free(&in);
    return 0;
}
