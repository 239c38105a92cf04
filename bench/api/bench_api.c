/* bench_api: N keep-alive connections on a Unix socket, each sending one
 * request at a time (alternating over the given paths) for D seconds.
 * Prints requests/s and latency percentiles.
 *
 *   bench_api -s /run/berth.sock [-c 16] [-d 5] [-p /_ping -p /v1.44/images/json]
 */
#include <errno.h>
#include <getopt.h>
#include <llhttp.h>
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
} bench_conn_t;

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
    if (!c->done) {
        c->done = true;
        uv_close((uv_handle_t *)&c->pipe, close_cb);
    }
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

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    bench_conn_t *c = s->data;
    if (nread < 0) {
        c->bench->errors++;
        finish_conn(c);
        return;
    }
    const char *p = buf->base;
    size_t len = (size_t)nread;
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
    uv_buf_t buf = uv_buf_init((char *)req, (unsigned)strlen(req));
    c->sent_ns = now_ns();
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
    while ((ch = getopt(argc, argv, "s:c:d:p:h")) != -1) {
        switch (ch) {
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
            fprintf(stderr, "usage: bench_api -s SOCK [-c CONNS] [-d SECONDS] [-p PATH]...\n");
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
    uint64_t start = now_ns();
    b.end_ns = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++) {
        bench_conn_t *c = &cs[i];
        c->bench = &b;
        c->next_path = (size_t)i;
        uv_pipe_init(&loop, &c->pipe, 0);
        c->pipe.data = c;
        llhttp_init(&c->parser, HTTP_RESPONSE, settings());
        c->parser.data = c;
        c->connect_req.data = c;
        uv_pipe_connect(&c->connect_req, &c->pipe, sock, connect_cb);
    }
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
    free(cs);
    uv_loop_close(&loop);
    return b.errors ? 1 : 0;
}
