/* bench_api: N keep-alive connections on a Unix socket, each sending one
 * request at a time (alternating over the given paths) for D seconds.
 * Prints requests/s and latency percentiles.
 *
 *   bench_api -s /run/berth.sock [-c 16] [-d 5] [-p /_ping -p /v1.44/images/json] [-l]
 *
 * By default the socket I/O goes through io_uring (a multishot recv per
 * connection into provided buffers, every send of a round submitted with one
 * io_uring_enter that also waits, DEFER_TASKRUN), because a load generator
 * must cost less per request than the server it measures: as a libuv client
 * with a read and a write syscall per request (-l) it saturates its core at
 * ~100k req/s on our 2-core VMs, below what berthd serves. */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <liburing.h>
#include <llhttp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string.h>
#include <uv.h>

#include "berth/common.h"

typedef struct bench bench_t;

typedef struct bench_conn {
    uv_pipe_t pipe;
    uv_connect_t connect_req;
    uv_write_t write_req;
    llhttp_t parser;
    bench_t *bench;
    size_t next_path;
    uint64_t sent_ns;
    bool done;
    int fd; /* ring mode */
} bench_conn_t;

#define RING_BUFS 256
#define RING_BUF_SIZE 4096

typedef struct bench_ring {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    size_t live; /* connections still running */
} bench_ring_t;

struct bench {
    uv_loop_t *loop;
    const char *sock;
    char **reqs; /* pre-built request texts */
    size_t n_reqs;
    uint64_t end_ns;
    uint64_t *lat_ns;
    size_t n_lat, cap_lat;
    size_t errors;
    size_t non_2xx;
    bench_ring_t *ring; /* NULL with -l */
    char read_buf[65536];
};

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void send_next(bench_conn_t *c);

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void finish_conn(bench_conn_t *c)
{
    if (c->done)
        return;
    c->done = true;
    if (!c->bench->ring) {
        uv_close((uv_handle_t *)&c->pipe, close_cb);
        return;
    }
    /* Shut both ways: the multishot recv ends with EOF, close() is then safe. */
    shutdown(c->fd, SHUT_RDWR);
    c->bench->ring->live--;
}

static int on_message_complete(llhttp_t *p)
{
    bench_conn_t *c = p->data;
    bench_t *b = c->bench;
    int status = llhttp_get_status_code(p);
    if (status < 200 || status >= 300)
        b->non_2xx++;
    if (b->n_lat == b->cap_lat) {
        b->cap_lat = b->cap_lat ? b->cap_lat * 2 : 65536;
        b->lat_ns = xrealloc(b->lat_ns, b->cap_lat * sizeof(*b->lat_ns));
    }
    b->lat_ns[b->n_lat++] = now_ns() - c->sent_ns;
    return HPE_PAUSED; /* one response per request; resume after sending the next */
}

static const llhttp_settings_t *settings(void)
{
    static llhttp_settings_t s;
    static bool ready;
    if (!ready) {
        llhttp_settings_init(&s);
        s.on_message_complete = on_message_complete;
        ready = true;
    }
    return &s;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    bench_conn_t *c = h->data;
    buf->base = c->bench->read_buf;
    buf->len = sizeof(c->bench->read_buf);
}

static void on_input(bench_conn_t *c, const char *p, size_t len)
{
    while (len > 0) {
        llhttp_errno_t e = llhttp_execute(&c->parser, p, len);
        if (e == HPE_OK)
            break;
        if (e != HPE_PAUSED) {
            c->bench->errors++;
            finish_conn(c);
            return;
        }
        const char *pos = llhttp_get_error_pos(&c->parser);
        len -= (size_t)(pos - p);
        p = pos;
        llhttp_resume(&c->parser);
        send_next(c);
        if (c->done)
            return;
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    bench_conn_t *c = s->data;
    if (nread < 0) {
        c->bench->errors++;
        finish_conn(c);
        return;
    }
    on_input(c, buf->base, (size_t)nread);
}

/* ---- io_uring transport: user_data is the connection, bit 0 set for sends ---- */

static struct io_uring_sqe *ring_sqe(bench_ring_t *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

static void ring_arm_recv(bench_ring_t *r, bench_conn_t *c)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data(sqe, c);
}

static void ring_reap(bench_ring_t *r)
{
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
        uintptr_t ud = (uintptr_t)io_uring_cqe_get_data(cqe);
        bench_conn_t *c = (bench_conn_t *)(ud & ~(uintptr_t)1);
        int res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&r->ring, cqe);
        if (ud & 1) { /* a send */
            if (res < 0 && !c->done) {
                c->bench->errors++;
                finish_conn(c);
            }
            continue;
        }
        if (flags & IORING_CQE_F_BUFFER) {
            unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
            if (res > 0 && !c->done)
                on_input(c, r->bufs + (size_t)bid * RING_BUF_SIZE, (size_t)res);
            io_uring_buf_ring_add(r->br, r->bufs + (size_t)bid * RING_BUF_SIZE, RING_BUF_SIZE,
                                  (unsigned short)bid, io_uring_buf_ring_mask(RING_BUFS), 0);
            io_uring_buf_ring_advance(r->br, 1);
        }
        if (flags & IORING_CQE_F_MORE)
            continue;
        if (res == -ENOBUFS && !c->done) {
            ring_arm_recv(r, c);
        } else if (!c->done) {
            c->bench->errors++; /* the server closed on us */
            finish_conn(c);
        }
    }
}

/* Until every connection is done: submit what the last round queued, wait
 * for at least one completion, handle them all. */
static void ring_run(bench_ring_t *r)
{
    while (r->live > 0) {
        io_uring_submit_and_wait(&r->ring, 1);
        ring_reap(r);
    }
}

static bench_ring_t *ring_new(void)
{
    bench_ring_t *r = xcalloc(1, sizeof(*r));
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
    if (io_uring_queue_init_params(1024, &r->ring, &p) < 0) {
        free(r);
        return NULL;
    }
    size_t br_bytes = RING_BUFS * sizeof(struct io_uring_buf);
    r->br = mmap(NULL, br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)r->br,
                                   .ring_entries = RING_BUFS};
    if (r->br == MAP_FAILED || io_uring_register_buf_ring(&r->ring, &reg, 0) < 0) {
        io_uring_queue_exit(&r->ring);
        free(r);
        return NULL;
    }
    io_uring_buf_ring_init(r->br);
    r->bufs = xmalloc((size_t)RING_BUFS * RING_BUF_SIZE);
    for (unsigned i = 0; i < RING_BUFS; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * RING_BUF_SIZE, RING_BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(RING_BUFS), (int)i);
    io_uring_buf_ring_advance(r->br, RING_BUFS);
    return r;
}

static int ring_connect(bench_ring_t *r, bench_conn_t *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    r->live++;
    ring_arm_recv(r, c);
    return 0;
}

static void write_cb(uv_write_t *w, int status)
{
    bench_conn_t *c = w->data;
    if (status < 0) {
        c->bench->errors++;
        finish_conn(c);
    }
}

static void send_next(bench_conn_t *c)
{
    bench_t *b = c->bench;
    if (now_ns() >= b->end_ns) {
        finish_conn(c);
        return;
    }
    const char *req = b->reqs[c->next_path++ % b->n_reqs];
    c->sent_ns = now_ns();
    if (b->ring) {
        struct io_uring_sqe *sqe = ring_sqe(b->ring);
        io_uring_prep_send(sqe, c->fd, req, strlen(req), MSG_NOSIGNAL);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data(sqe, (void *)((uintptr_t)c | 1));
        return;
    }
    uv_buf_t buf = uv_buf_init((char *)req, (unsigned)strlen(req));
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb) < 0) {
        b->errors++;
        finish_conn(c);
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    bench_conn_t *c = req->data;
    if (status < 0) {
        fprintf(stderr, "bench_api: connect %s: %s\n", c->bench->sock, uv_strerror(status));
        c->bench->errors++;
        finish_conn(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
    send_next(c);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *sock = "/run/berth.sock";
    int conns = 16;
    double seconds = 5;
    const char *paths[16];
    size_t n_paths = 0;
    int ch;
    bool use_libuv_streams = false;
    while ((ch = getopt(argc, argv, "s:c:d:p:lh")) != -1) {
        switch (ch) {
        case 'l':
            use_libuv_streams = true;
            break;
        case 's':
            sock = optarg;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'd':
            seconds = atof(optarg);
            break;
        case 'p':
            if (n_paths < ARRAY_SIZE(paths))
                paths[n_paths++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: bench_api -s SOCK [-c CONNS] [-d SECONDS] [-p PATH]... [-l]\n");
            return 2;
        }
    }
    if (conns < 1 || seconds <= 0) {
        fprintf(stderr, "bench_api: bad -c or -d\n");
        return 2;
    }
    if (n_paths == 0) {
        paths[n_paths++] = "/_ping";
        paths[n_paths++] = "/v1.44/images/json";
    }
    bench_t b;
    memset(&b, 0, sizeof(b));
    uv_loop_t loop;
    uv_loop_init(&loop);
    b.loop = &loop;
    b.sock = sock;
    b.n_reqs = n_paths;
    b.reqs = xcalloc(n_paths, sizeof(char *));
    for (size_t i = 0; i < n_paths; i++)
        b.reqs[i] = xasprintf("GET %s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
                              "User-Agent: bench_api\r\n\r\n",
                              paths[i]);
    bench_conn_t *cs = xcalloc((size_t)conns, sizeof(*cs));
    if (!use_libuv_streams) {
        b.ring = ring_new();
        if (!b.ring)
            fprintf(stderr, "bench_api: io_uring unavailable, using libuv streams\n");
    }
    uint64_t start = now_ns();
    b.end_ns = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++) {
        bench_conn_t *c = &cs[i];
        c->bench = &b;
        c->next_path = (size_t)i;
        if (b.ring) {
            llhttp_init(&c->parser, HTTP_RESPONSE, settings());
            c->parser.data = c;
            int r = ring_connect(b.ring, c, sock);
            if (r < 0) {
                fprintf(stderr, "bench_api: connect %s: %s\n", sock, strerror(-r));
                return 1;
            }
            send_next(c);
            continue;
        }
        uv_pipe_init(&loop, &c->pipe, 0);
        c->pipe.data = c;
        llhttp_init(&c->parser, HTTP_RESPONSE, settings());
        c->parser.data = c;
        c->connect_req.data = c;
        uv_pipe_connect(&c->connect_req, &c->pipe, sock, connect_cb);
    }
    if (b.ring)
        ring_run(b.ring);
    else
        uv_run(&loop, UV_RUN_DEFAULT);
    double elapsed = (double)(now_ns() - start) / 1e9;
    qsort(b.lat_ns, b.n_lat, sizeof(*b.lat_ns), cmp_u64);
    double p50 = b.n_lat ? (double)b.lat_ns[b.n_lat / 2] / 1e3 : 0;
    double p99 = b.n_lat ? (double)b.lat_ns[(size_t)((double)b.n_lat * 0.99)] / 1e3 : 0;
    printf("conns=%d requests=%zu seconds=%.2f req_per_s=%.0f p50_us=%.1f p99_us=%.1f "
           "errors=%zu non_2xx=%zu\n",
           conns, b.n_lat, elapsed, (double)b.n_lat / elapsed, p50, p99, b.errors, b.non_2xx);
    for (size_t i = 0; i < n_paths; i++)
        free(b.reqs[i]);
    free(b.reqs);
    free(b.lat_ns);
    if (b.ring) {
        for (int i = 0; i < conns; i++)
            close(cs[i].fd);
        io_uring_queue_exit(&b.ring->ring);
        free(b.ring->bufs);
        free(b.ring);
    }
    free(cs);
    uv_loop_close(&loop);
    return b.errors ? 1 : 0;
}
