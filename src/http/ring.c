/* Connection I/O through io_uring, inside the libuv loop.
 *
 * Why: on this class of machine a syscall costs ~1.2 us, and a request on a
 * keep-alive connection costs two of them through libuv (read, write). Here a
 * connection's reads are one multishot recv into a shared ring of provided
 * buffers, and writes are send SQEs.
 *
 * The loop: the daemon runs libuv through http_ring_run(), which waits in
 * io_uring_enter instead of epoll_wait. libuv's epoll fd is one more poll
 * request in the ring; each turn runs libuv without blocking (timers,
 * handles, callbacks), then submits everything the turn queued and waits for
 * completions in the same syscall, with libuv's own timeout. The ring is set
 * up with DEFER_TASKRUN, so the kernel runs our completions only inside that
 * wait: no signal-style interruptions, and no wake-up can be missed the way
 * it can when a ring's fd is polled from epoll (COOP_TASKRUN work is not
 * run while the task sleeps in epoll_wait; we saw requests hang).
 *
 * Writes are queued per connection and leave at the end of the loop turn:
 * one sendmsg gathering what the turn wrote (a reply's status and its end
 * chunk go together), one send in flight per connection to keep order.
 *
 * Lifetimes: every SQE's user_data is a connection pointer tagged
 * in its low bits; an op's final CQE (no IORING_CQE_F_MORE) drops the
 * connection's c->ring_ops, and a closing connection is freed only when its
 * libuv handles are closed and ring_ops is back to 0. Closing cancels the ops
 * by user_data (not by fd: the fd number is closed by uv_close at once and may
 * be reused before the cancel is submitted). */
#include <errno.h>
#include <poll.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"

#define RING_SQ_ENTRIES 256
#define RING_CQ_ENTRIES 4096
/* Provided receive buffers: a request usually fits one; bulk uploads arrive
 * in these steps. 128 x 4 KiB are touched at most once each: <= 512 KiB RSS. */
#define RING_BUF_COUNT 128
#define RING_BUF_SIZE 4096
#define RING_BUF_GROUP 0

enum { RING_TAG_NONE = 0, RING_TAG_RECV = 1, RING_TAG_SEND = 2, RING_TAG_MASK = 3 };
/* user_data of the poll on libuv's epoll fd (no pointer is this small). */
#define RING_UD_BACKEND ((uint64_t)4)

struct http_ring {
    struct io_uring ring;
    struct io_uring_buf_ring *buf_ring;
    size_t buf_ring_bytes;
    char *bufs;
    uv_loop_t *loop;
    size_t ops;             /* connection ops in flight (the loop runs until they finish) */
    bool backend_armed;     /* a poll on libuv's epoll fd is pending */
    http_conn_t *send_list; /* connections with writes to send this turn */
    bool stop;
};

static uint64_t ring_ud(const void *p, unsigned tag)
{
    return (uint64_t)(uintptr_t)p | tag;
}

static struct io_uring_sqe *ring_sqe(http_ring_t *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        /* The SQ is full within one loop turn: submit what is there. */
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
        if (!sqe)
            abort(); /* the SQ cannot be full right after a submit */
    }
    return sqe;
}

static void ring_give_buf(http_ring_t *r, unsigned bid)
{
    io_uring_buf_ring_add(r->buf_ring, r->bufs + (size_t)bid * RING_BUF_SIZE, RING_BUF_SIZE,
                          (unsigned short)bid, io_uring_buf_ring_mask(RING_BUF_COUNT), 0);
    io_uring_buf_ring_advance(r->buf_ring, 1);
}

static void ring_arm_recv(http_ring_t *r, http_conn_t *c)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RING_BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ring_ud(c, RING_TAG_RECV));
    c->recv_armed = true;
    c->recv_cancelling = false;
    c->ring_ops++;
    r->ops++;
}

static void ring_cancel(http_ring_t *r, uint64_t target)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_cancel64(sqe, target, 0);
    io_uring_sqe_set_data64(sqe, RING_TAG_NONE);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void http_ring_update_recv(http_ring_t *r, http_conn_t *c)
{
    if (c->reading && !c->recv_armed)
        ring_arm_recv(r, c);
    else if (!c->reading && c->recv_armed && !c->recv_cancelling) {
        c->recv_cancelling = true;
        ring_cancel(r, ring_ud(c, RING_TAG_RECV));
    }
}

void http_ring_want_send(http_ring_t *r, http_conn_t *c)
{
    if (c->send_listed || c->send_in_ring)
        return; /* listed already, or the CQE of the send in flight lists it */
    c->send_listed = true;
    c->send_next = r->send_list;
    r->send_list = c;
}

/* One sendmsg of c's first queued writes. */
static void ring_send_conn(http_ring_t *r, http_conn_t *c)
{
    int n = 0;
    for (http_write_t *wr = c->sendq; wr && n < HTTP_SEND_IOV; wr = wr->next, n++) {
        const char *base = wr->owned ? wr->owned : wr->data;
        c->send_iov[n] = (struct iovec){(char *)base + wr->off, wr->len - wr->off};
        wr->in_ring = true;
    }
    if (n == 0)
        return;
    c->send_msg = (struct msghdr){.msg_iov = c->send_iov, .msg_iovlen = (size_t)n};
    struct io_uring_sqe *sqe = ring_sqe(r);
    /* MSG_NOSIGNAL: a vanished client is an error CQE, not a SIGPIPE. */
    io_uring_prep_sendmsg(sqe, c->fd, &c->send_msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ring_ud(c, RING_TAG_SEND));
    c->send_in_ring = true;
    c->ring_ops++;
    r->ops++;
}

static void ring_unlist_send(http_ring_t *r, http_conn_t *c)
{
    if (!c->send_listed)
        return;
    for (http_conn_t **link = &r->send_list; *link; link = &(*link)->send_next) {
        if (*link == c) {
            *link = c->send_next;
            break;
        }
    }
    c->send_listed = false;
    c->send_next = NULL;
}

/* Before the turn's submit: a send for every connection written to. */
static void ring_flush_sends(http_ring_t *r)
{
    http_conn_t *c;
    while ((c = r->send_list)) {
        r->send_list = c->send_next;
        c->send_listed = false;
        c->send_next = NULL;
        if (!c->send_in_ring)
            ring_send_conn(r, c);
    }
}

void http_ring_cancel_conn(http_ring_t *r, http_conn_t *c)
{
    /* What this connection wrote goes first (a reply right before a
     * close). SQEs name the fd by number, resolved at submit: they must
     * reach the kernel before uv_close closes the number (which a new
     * connection may get at once). The cancels below end what would still
     * wait. */
    if (c->send_listed) {
        ring_unlist_send(r, c);
        ring_send_conn(r, c);
    }
    if (io_uring_sq_ready(&r->ring) > 0)
        io_uring_submit(&r->ring);
    if (c->recv_armed && !c->recv_cancelling) {
        c->recv_cancelling = true;
        ring_cancel(r, ring_ud(c, RING_TAG_RECV));
    }
    if (c->send_in_ring)
        ring_cancel(r, ring_ud(c, RING_TAG_SEND));
}

/* One op of c finished for good. */
static void ring_op_done(http_ring_t *r, http_conn_t *c)
{
    r->ops--;
    c->ring_ops--;
    if (c->closing)
        http_conn_release(c);
}

static void ring_recv_cqe(http_ring_t *r, http_conn_t *c, const struct io_uring_cqe *cqe)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (!c->closing)
            http_conn_on_read(c, r->bufs + (size_t)bid * RING_BUF_SIZE, (size_t)cqe->res);
        ring_give_buf(r, bid);
    }
    if (more)
        return;
    c->recv_armed = false;
    c->recv_cancelling = false;
    if (!c->closing) {
        if (cqe->res == 0)
            http_conn_on_read(c, NULL, 0); /* EOF */
        else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED)
            http_conn_on_read_error(c);
        else if (c->reading && !c->read_eof)
            ring_arm_recv(r, c); /* out of buffers, or stopped and wanted again */
    }
    ring_op_done(r, c);
}

static void ring_reap(http_ring_t *r)
{
    for (;;) {
        struct io_uring_cqe *cqe;
        if (io_uring_peek_cqe(&r->ring, &cqe) != 0)
            break;
        uint64_t ud = io_uring_cqe_get_data64(cqe);
        struct io_uring_cqe copy = *cqe;
        /* Seen before the handler runs: it may submit, and a full CQ must
         * not hold back the kernel. */
        io_uring_cqe_seen(&r->ring, cqe);
        if (ud == RING_UD_BACKEND) {
            r->backend_armed = false; /* libuv has events: the next turn runs them */
            continue;
        }
        void *p = (void *)(uintptr_t)(ud & ~(uint64_t)RING_TAG_MASK);
        switch (ud & RING_TAG_MASK) {
        case RING_TAG_RECV:
            ring_recv_cqe(r, p, &copy);
            break;
        case RING_TAG_SEND:
            http_conn_on_sent(p, copy.res);
            ring_op_done(r, p);
            break;
        default:
            break; /* a cancel's error: its target completes on its own */
        }
    }
}

/* libuv's work of this turn, the completions so far, and the sends the
 * turn queued (prepared, not yet submitted). Replies written by the
 * completions of the last wait leave first: libuv runs its due timers at
 * once, and work put off "until after the answer" (a 0 ms timer: a --rm
 * container's files, a removed one's cleanup) must not hold the answer. */
static void ring_turn(http_ring_t *r)
{
    if (r->send_list) {
        ring_flush_sends(r);
        io_uring_submit(&r->ring);
    }
    uv_run(r->loop, UV_RUN_NOWAIT);
    ring_reap(r);
    ring_flush_sends(r);
}

void http_ring_run_nowait(http_ring_t *r)
{
    ring_turn(r);
    io_uring_submit_and_get_events(&r->ring);
    ring_reap(r);
}

int http_ring_run(http_ring_t *r)
{
    uv_loop_t *loop = r->loop;
    r->stop = false;
    for (;;) {
        ring_turn(r);
        if (r->stop || (r->ops == 0 && !uv_loop_alive(loop)))
            break;
        /* One one-shot poll on libuv's epoll fd, armed again only after it
         * fired (removing and re-adding a pending poll completes the old
         * one, and that completion ends the wait at once: a busy loop).
         * Readiness is checked when a poll is armed and again when its wake
         * is processed, so what epoll re-queues level-triggered inside
         * uv_run's epoll_wait is seen: either the poll is armed after that
         * turn, or its pending wake re-polls the epoll fd. */
        if (!r->backend_armed) {
            struct io_uring_sqe *sqe = ring_sqe(r);
            io_uring_prep_poll_add(sqe, uv_backend_fd(loop), POLLIN);
            io_uring_sqe_set_data64(sqe, RING_UD_BACKEND);
            r->backend_armed = true;
        }
        int timeout_ms = uv_backend_timeout(loop);
        struct __kernel_timespec ts = {
            .tv_sec = timeout_ms / 1000,
            .tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
        };
        struct io_uring_cqe *cqe;
        int e =
            io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, timeout_ms >= 0 ? &ts : NULL, NULL);
        if (e < 0 && e != -ETIME && e != -EINTR && e != -EAGAIN && e != -EBUSY) {
            log_error("http: io_uring wait: %s", strerror(-e));
            return e;
        }
        ring_reap(r);
    }
    return 0;
}

void http_ring_stop(http_ring_t *r)
{
    r->stop = true;
}

/* Does this kernel do multishot recv with provided buffers (6.0+)? One
 * round trip on a socketpair says for sure. */
static int ring_probe(http_ring_t *r)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int res = -ENOTSUP;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RING_BUF_GROUP;
    io_uring_sqe_set_data64(sqe, 1);
    if (io_uring_submit(&r->ring) == 1 && write(sv[1], "x", 1) == 1) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(&r->ring, &cqe) == 0) {
            if (cqe->res == 1 && (cqe->flags & IORING_CQE_F_MORE) &&
                (cqe->flags & IORING_CQE_F_BUFFER)) {
                ring_give_buf(r, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
                res = 0;
            } else if (cqe->res < 0)
                res = cqe->res;
            io_uring_cqe_seen(&r->ring, cqe);
        }
    }
    close(sv[1]); /* EOF ends the multishot */
    close(sv[0]);
    struct io_uring_cqe *cqe;
    while (res == 0 && io_uring_wait_cqe(&r->ring, &cqe) == 0) {
        bool last = !(cqe->flags & IORING_CQE_F_MORE);
        io_uring_cqe_seen(&r->ring, cqe);
        if (last)
            break;
    }
    return res;
}

void http_ring_free(http_ring_t *r)
{
    if (!r)
        return;
    io_uring_queue_exit(&r->ring);
    if (r->buf_ring)
        munmap(r->buf_ring, r->buf_ring_bytes);
    free(r->bufs);
    free(r);
}

int http_ring_open(uv_loop_t *loop, http_ring_t **out)
{
    http_ring_t *r = xcalloc(1, sizeof(*r));
    r->loop = loop;
    struct io_uring_params p = {0};
    /* DEFER_TASKRUN (6.1+) is what makes waiting in the ring safe (see the
     * top); without it, no ring: libuv streams. */
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = RING_CQ_ENTRIES;
    int e = io_uring_queue_init_params(RING_SQ_ENTRIES, &r->ring, &p);
    if (e < 0) {
        free(r);
        return e;
    }
    /* NODROP: a CQ overflow must not lose completions; EXT_ARG: waits
     * take libuv's timeout. */
    e = -ENOTSUP;
    if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG))
        goto err;
    r->buf_ring_bytes = RING_BUF_COUNT * sizeof(struct io_uring_buf);
    void *br =
        mmap(NULL, r->buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED) {
        e = -errno;
        goto err;
    }
    r->buf_ring = br;
    io_uring_buf_ring_init(r->buf_ring);
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)br,
        .ring_entries = RING_BUF_COUNT,
        .bgid = RING_BUF_GROUP,
    };
    e = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (e < 0)
        goto err;
    r->bufs = xmalloc((size_t)RING_BUF_COUNT * RING_BUF_SIZE);
    for (unsigned i = 0; i < RING_BUF_COUNT; i++)
        io_uring_buf_ring_add(r->buf_ring, r->bufs + (size_t)i * RING_BUF_SIZE, RING_BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(RING_BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(r->buf_ring, RING_BUF_COUNT);
    e = ring_probe(r);
    if (e < 0)
        goto err;
    *out = r;
    return 0;
err:
    http_ring_free(r);
    return e;
}
