/* runtime: the pooled container init's side (shim_pre.h). It waits,
 * cloned into its namespaces and pool cgroup, for what its pool shim sends:
 * while idle the rootfs to prepare (prep.c), then its spec and stdio; from
 * there on it is the same rt_child_main as a freshly cloned init. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/shim_pre.h"

int rt_pre_send(int sock, char tag, char mode, const int stdio[3], const char *text,
                berth_err_t *err)
{
    char msg[8 + PATH_MAX];
    int n = snprintf(msg, sizeof(msg), "%c%c%c%c%c%s", tag, mode, stdio[0] >= 0 ? '1' : '0',
                     stdio[1] >= 0 ? '1' : '0', stdio[2] >= 0 ? '1' : '0', text);
    if (n >= (int)sizeof(msg))
        return berth_err_set(err, BERTH_E_INTERNAL, "spec path too long");
    union {
        char buf[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    int fds[3], nfd = 0;
    for (int i = 0; i < 3; i++)
        if (stdio[i] >= 0)
            fds[nfd++] = stdio[i];
    struct iovec iov = {.iov_base = msg, .iov_len = (size_t)n};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfd) {
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
    }
    ssize_t w;
    do
        w = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w != n)
        return berth_err_sys(err, w < 0 ? errno : EPIPE, "handing the spec to the container init");
    return 0;
}

/* The child's side: one message of tag (0: any) into msg (NUL-terminated),
 * its stdio fds into stdio[]. 0, or -1 on EOF (the shim gave up) or garbage. */
static int pre_recv(int sock, char tag, char *msg, size_t cap, int stdio[3])
{
    union {
        char buf[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = msg, .iov_len = cap - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < PRE_HDR || (tag && msg[0] != tag))
        return -1;
    msg[n] = '\0';
    int got[3] = {-1, -1, -1}, ngot = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            ngot = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            if (ngot > 3)
                ngot = 3;
            memcpy(got, CMSG_DATA(c), (size_t)ngot * sizeof(int));
        }
    for (int i = 0, k = 0; i < 3; i++)
        stdio[i] = msg[2 + i] == '1' && k < ngot ? got[k++] : -1;
    return 0;
}

/* rt_child_cfg_t.await_stdio of an early pooled init. */
static int pre_await_stdio(void *arg, berth_err_t *err)
{
    (void)err;
    rt_child_cfg_t *cfg = arg;
    char msg[64];
    if (pre_recv(cfg->sync_fd, PRE_STDIO_TAG, msg, sizeof(msg), cfg->stdio) < 0)
        _exit(0); /* the shim gave up on us */
    cfg->prep_accepted = msg[1] == 'P';
    return 0;
}

/* While idle: the mounts of the rootfs the shim asked for (prep.c), in a
 * cgroup ns of our own (we are in our pool cgroup); its overlay is
 * overlay_fd, a detached mount the shim made (or -1: we mount it). */
static bool pre_prepare(const char *text, int overlay_fd, rt_prep_t *prep, bool *cg_unshared)
{
    if (prep->dir || rt_prep_decode(text, prep) < 0)
        return false;
    berth_err_t err = {0};
    if (!*cg_unshared && unshare(CLONE_NEWCGROUP) < 0)
        return false;
    *cg_unshared = true;
    rt_spec_t t;
    rt_prep_template(prep, &t);
    int rc = rt_rootfs_prepare(&t, overlay_fd, &err);
    rt_prep_template_free(&t);
    if (rc < 0)
        log_warn("pooled container init: preparing a rootfs: %s", err.msg);
    return rc == 0;
}

/* The pre-cloned init: wait for its spec, then the same rt_child_main as a
 * freshly cloned one. EOF (the pooled shim died or gave up) -> exit. */
void rt_pre_child_main(int sync)
{
    /* Its netns is its own from the clone: lo can come up while idle. */
    berth_err_t lo_err = {0};
    bool lo_ready = rt_lo_up(&lo_err) == 0;
    /* The bounding set down to Docker's defaults while idle, not one prctl
     * per capability at the start (~75 us here). Bounding only: our own
     * effective caps (for the mounts) stay. Specs that need more get a
     * fresh clone (pre_caps_fit). */
    unsigned last_cap = rt_cap_last();
    uint64_t pre_dropped = rt_caps_drop_bounding_to(RT_CAPS_DEFAULT, last_cap);
    rt_prefault_when_idle(sync);
    char msg[8 + PATH_MAX];
    int fds[3];
    static rt_prep_t prep; /* lives until exec */
    bool prepared = false, cg_unshared = false;
    for (;;) {
        if (pre_recv(sync, 0, msg, sizeof(msg), fds) < 0)
            _exit(0);
        if (msg[0] == PRE_CFG_TAG)
            break;
        if (msg[0] != PRE_PREP_TAG)
            _exit(0);
        prepared = pre_prepare(msg + PRE_HDR, fds[0], &prep, &cg_unshared) || prepared;
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        rt_prefault_when_idle(sync);
    }
    bool early = msg[1] == 'E';
    berth_err_t err = {0};
    static rt_spec_t spec; /* lives until exec */
    if (rt_spec_load(msg + PRE_HDR, &spec, &err) < 0)
        rt_child_fail(sync, RT_EXIT_SETUP_FAILED, &err);
    uint64_t caps;
    if (rt_caps_compute(spec.cap_add, spec.n_cap_add, spec.cap_drop, spec.n_cap_drop,
                        spec.privileged, last_cap, &caps, &err) < 0)
        rt_child_fail(sync, RT_EXIT_SETUP_FAILED, &err);
    if (caps & pre_dropped) { /* the shim checks first (pre_caps_fit) */
        berth_err_set(&err, BERTH_E_INTERNAL, "pooled init: capabilities beyond the defaults");
        rt_child_fail(sync, RT_EXIT_SETUP_FAILED, &err);
    }
    caps &= rt_caps_current();
    void *bpf = NULL;
    size_t bpf_len = 0;
    if (rt_seccomp_prepare(&spec, caps, &bpf, &bpf_len, &err) < 0)
        rt_child_fail(sync, RT_EXIT_SETUP_FAILED, &err);
    rt_child_cfg_t cfg = {
        .spec = &spec,
        .process = &spec.process,
        .caps = caps,
        .last_cap = last_cap,
        .bpf = bpf,
        .bpf_len = bpf_len,
        .sync_fd = sync,
        .stdio = {fds[0], fds[1], fds[2]},
        .is_exec = false,
        /* it was cloned in berthd's cgroup ns: unshare once moved, as on v1 */
        .v1_unshare_cgroup = !cg_unshared,
        .setup_before_go = early,
        .await_stdio = early ? pre_await_stdio : NULL,
        .lo_ready = lo_ready,
        .bounding_dropped = pre_dropped,
    };
    /* The shim checks the same (rt_prep_fits) and says yes or no in "S". */
    if (prepared && early && rt_prep_fits(&spec, &prep))
        cfg.prepared_rootfs = rt_prep_rootfs(&prep);
    rt_child_main(&cfg);
}
