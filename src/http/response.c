/* Response writers: whole replies, chunked streams, hijacked raw streams.
 * Every write is copied (or owned) and queued with uv_write after trying to
 * write it at once; queued bytes drive the on_drain backpressure signal. */
#include <errno.h>
#include <string.h>

#include "http/internal.h"

/* A write left the queue (status < 0: it failed): backpressure signal,
 * deferred close. */
static void conn_write_finished(http_conn_t *c, int status)
{
    if (c->closing)
        return;
    if (status < 0) {
        http_conn_close(c); /* aborts the request, if any */
        return;
    }
    if (c->drain_wanted && c->write_queued < HTTP_WRITE_LOW_WATER) {
        c->drain_wanted = false;
        if (c->req && c->req->on_drain)
            c->req->on_drain(c->req);
        if (c->closing)
            return;
    }
    if (c->close_after_write && c->writes_inflight == 0)
        http_conn_close(c);
}

static void write_cb(uv_write_t *w, int status)
{
    http_write_t *wr = (http_write_t *)w;
    http_conn_t *c = wr->conn;
    c->writes_inflight--;
    c->write_queued -= wr->len;
    free(wr->owned);
    free(wr);
    conn_write_finished(c, status);
}

void http_conn_on_sent(http_conn_t *c, int res)
{
    c->send_in_ring = false;
    if (res == 0)
        res = -EPIPE; /* no progress on a non-empty send */
    size_t done = res > 0 ? (size_t)res : 0;
    /* The writes the send covered: sent ones leave the queue (all of them
     * on an error or a closing connection); a short send leaves the rest of
     * its first unsent write at the head, to go next. */
    while (c->sendq && c->sendq->in_ring) {
        http_write_t *wr = c->sendq;
        size_t n = wr->len - wr->off < done ? wr->len - wr->off : done;
        wr->off += n;
        done -= n;
        c->write_queued -= n;
        if (wr->off < wr->len && res > 0 && !c->closing)
            break;
        c->sendq = wr->next;
        c->writes_inflight--;
        c->write_queued -= wr->len - wr->off;
        free(wr->owned);
        free(wr);
    }
    if (!c->sendq)
        c->sendq_tail = NULL;
    for (http_write_t *wr = c->sendq; wr && wr->in_ring; wr = wr->next)
        wr->in_ring = false;
    if (c->closing)
        return;
    int status = res < 0 ? res : 0;
    if (status == 0 && c->sendq)
        http_ring_want_send(c->srv->opts.ring, c);
    conn_write_finished(c, status);
}

void http_conn_drop_writes(http_conn_t *c)
{
    http_write_t **link = &c->sendq;
    while (*link) {
        http_write_t *wr = *link;
        if (wr->in_ring) { /* freed at its CQE */
            link = &wr->next;
            continue;
        }
        *link = wr->next;
        c->writes_inflight--;
        c->write_queued -= wr->len - wr->off;
        free(wr->owned);
        free(wr);
    }
    c->sendq_tail = c->sendq;
}

/* Mark the connection broken; the close (and on_abort) happens from the
 * defer timer, not inside the caller's stack. */
static int conn_fail(http_conn_t *c)
{
    if (!c->failed) {
        c->failed = true;
        http_conn_defer(c);
    }
    return -EPIPE;
}

/* A queued write owning a malloc'd buffer, or (owned NULL) a copy of data. */
static http_write_t *write_new(http_conn_t *c, const char *data, size_t len, char *owned)
{
    http_write_t *wr = xmalloc(sizeof(*wr) + (owned ? 0 : len));
    if (owned)
        wr->owned = owned;
    else {
        memcpy(wr->data, data, len);
        wr->owned = NULL;
    }
    wr->conn = c;
    wr->next = NULL;
    wr->len = len;
    wr->off = 0;
    wr->in_ring = false;
    return wr;
}

/* The ring path queues every write: the loop turn's one submit carries a
 * send per connection gathering what the turn wrote. */
static int conn_write_ring(http_conn_t *c, const char *data, size_t len, char *owned)
{
    http_write_t *wr = write_new(c, data, len, owned);
    c->writes_inflight++;
    c->write_queued += len;
    if (c->write_queued >= HTTP_WRITE_LOW_WATER)
        c->drain_wanted = true;
    if (c->sendq_tail)
        c->sendq_tail->next = wr;
    else
        c->sendq = wr;
    c->sendq_tail = wr;
    http_ring_want_send(c->srv->opts.ring, c);
    return 0;
}

static int conn_write_impl(http_conn_t *c, const char *data, size_t len, char *owned)
{
    if (c->closing || c->failed) {
        free(owned);
        return -EPIPE;
    }
    if (len == 0) {
        free(owned);
        return 0;
    }
    if (c->use_ring)
        return conn_write_ring(c, data, len, owned);
    size_t off = 0;
    if (c->writes_inflight == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int n = uv_try_write(&c->h.stream, &b, 1);
        if (n >= 0) {
            off = (size_t)n;
        } else if (n != UV_EAGAIN && n != UV_ENOSYS) {
            free(owned);
            return conn_fail(c);
        }
        if (off == len) {
            free(owned);
            return 0;
        }
    }
    http_write_t *wr;
    if (owned && off == 0) {
        wr = write_new(c, data, len, owned);
    } else {
        wr = write_new(c, data + off, len - off, NULL);
        free(owned);
    }
    uv_buf_t b = uv_buf_init(wr->owned ? wr->owned : wr->data, (unsigned)wr->len);
    int r = uv_write(&wr->w, &c->h.stream, &b, 1, write_cb);
    if (r < 0) {
        free(wr->owned);
        free(wr);
        return conn_fail(c);
    }
    c->writes_inflight++;
    c->write_queued += wr->len;
    /* Whatever threshold a producer pauses at, it hears when the queue
     * has gone down again. */
    c->drain_wanted = true;
    return 0;
}

int http_conn_write(http_conn_t *c, const void *data, size_t len)
{
    return conn_write_impl(c, data, len, NULL);
}

int http_conn_write_owned(http_conn_t *c, char *data, size_t len)
{
    return conn_write_impl(c, data, len, data);
}

/* True when req is the live request of its connection (guards misuse after
 * a handler already finished it). */
static bool req_live(const http_req_t *req)
{
    return req && req->conn && req->conn->req == req;
}

/* Append "<text><decimal n>" without printf: replies are on the hot path. */
static void append_num(berth_buf_t *b, const char *text, size_t n)
{
    char digits[24];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    buf_puts(b, text);
    buf_append(b, digits + i, sizeof(digits) - i);
}

static void head_append(berth_buf_t *b, const http_req_t *req, int status, const char *content_type,
                        const char *extra_headers)
{
    append_num(b, "HTTP/1.1 ", (size_t)(status > 0 ? status : 500));
    buf_append(b, " ", 1);
    buf_puts(b, http_status_text(status));
    buf_append(b, "\r\n", 2);
    if (content_type) {
        buf_puts(b, "Content-Type: ");
        buf_puts(b, content_type);
        buf_append(b, "\r\n", 2);
    }
    const char *common = req->conn->srv->opts.common_headers;
    if (common)
        buf_puts(b, common);
    if (extra_headers)
        buf_puts(b, extra_headers);
    if (!req->keep_alive || req->upgrade)
        buf_puts(b, "Connection: close\r\n");
    else if (req->conn->http10)
        buf_puts(b, "Connection: keep-alive\r\n");
}

/* A whole reply whose body is the concatenation of two parts (JSON replies
 * add Go's trailing newline without another copy). The head and body are laid
 * out once in the server's scratch buffer: when the socket takes it all at
 * once (the usual case) the reply costs no allocation; otherwise the write
 * queue copies what is left. */
static void reply_parts(http_req_t *req, int status, const char *content_type, const void *body,
                        size_t len, const void *body2, size_t len2, const char *extra_headers)
{
    if (!req_live(req))
        return;
    http_conn_t *c = req->conn;
    bool no_body = status == 204 || status == 304 || status < 200;
    bool send_body = !no_body && req->method != HTTP_HEAD;
    if (status < 100 || status > 999)
        status = 500;
    char status_line[13] = "HTTP/1.1 000 ";
    status_line[9] = (char)('0' + status / 100);
    status_line[10] = (char)('0' + status / 10 % 10);
    status_line[11] = (char)('0' + status % 10);
    char clen[48];
    size_t clen_len = 0;
    if (!no_body) {
        char digits[24];
        size_t n = len + len2, i = sizeof(digits);
        do {
            digits[--i] = (char)('0' + n % 10);
            n /= 10;
        } while (n);
        memcpy(clen, "Content-Length: ", 16);
        memcpy(clen + 16, digits + i, sizeof(digits) - i);
        clen_len = 16 + sizeof(digits) - i;
        memcpy(clen + clen_len, "\r\n", 2);
        clen_len += 2;
    }
    const char *conn_hdr = NULL;
    if (!req->keep_alive || req->upgrade)
        conn_hdr = "Connection: close\r\n";
    else if (c->http10)
        conn_hdr = "Connection: keep-alive\r\n";
    const char *common = c->srv->opts.common_headers;
    struct {
        const void *p;
        size_t n;
    } parts[] = {
        {status_line, sizeof(status_line)},
        {http_status_text(status), strlen(http_status_text(status))},
        {"\r\n", 2},
        {content_type ? "Content-Type: " : "", content_type ? 14 : 0},
        {content_type ? content_type : "", content_type ? strlen(content_type) : 0},
        {content_type ? "\r\n" : "", content_type ? 2 : 0},
        {common ? common : "", common ? strlen(common) : 0},
        {extra_headers ? extra_headers : "", extra_headers ? strlen(extra_headers) : 0},
        {conn_hdr ? conn_hdr : "", conn_hdr ? strlen(conn_hdr) : 0},
        {clen, clen_len},
        {"\r\n", 2},
        {send_body ? body : "", send_body ? len : 0},
        {send_body ? body2 : "", send_body ? len2 : 0},
    };
    size_t total = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        total += parts[i].n;
    berth_buf_t *b = &c->srv->reply_scratch;
    buf_reset(b);
    buf_reserve(b, total);
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        if (parts[i].n)
            memcpy(b->data + b->len, parts[i].p, parts[i].n);
        b->len += parts[i].n;
    }
    http_conn_write(c, b->data, b->len);
    if (b->cap > 256 * 1024)
        buf_free(b); /* a huge reply does not pin its memory */
    http_conn_finish_req(c);
}

void http_reply(http_req_t *req, int status, const char *content_type, const void *body, size_t len,
                const char *extra_headers)
{
    reply_parts(req, status, content_type, body, len, NULL, 0, extra_headers);
}

void http_reply_json(http_req_t *req, int status, cJSON *json)
{
    if (!json) {
        http_reply_error(req, 500, "could not encode the response");
        return;
    }
    /* Small documents print into the server's JSON scratch buffer (no
     * allocation); cJSON says 0 when it does not fit, then the heap. */
    berth_buf_t *scratch = req_live(req) ? &req->conn->srv->json_scratch : NULL;
    if (scratch) {
        if (scratch->cap < 4096)
            buf_reserve(scratch, 4096);
        if (cJSON_PrintPreallocated(json, scratch->data, (int)scratch->cap - 1, 0)) {
            cJSON_Delete(json);
            /* Go's json.Encoder ends documents with a newline. */
            reply_parts(req, status, "application/json", scratch->data, strlen(scratch->data), "\n",
                        1, NULL);
            return;
        }
    }
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!text) {
        http_reply_error(req, 500, "could not encode the response");
        return;
    }
    size_t n = strlen(text);
    if (scratch && n < 256 * 1024)
        buf_reserve(scratch, n + 64); /* the next document this size fits */
    reply_parts(req, status, "application/json", text, n, "\n", 1, NULL);
    cJSON_free(text);
}

static void reply_message(http_req_t *req, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", msg);
    if (status >= 500)
        log_warn("%s %s -> %d %s", req->method_name, req->target ? req->target : "?", status, msg);
    else
        log_debug("%s %s -> %d %s", req->method_name, req->target ? req->target : "?", status, msg);
    http_reply_json(req, status, o);
}

void http_reply_error(http_req_t *req, int status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_message(req, status, msg);
}

void http_reply_berth_err(http_req_t *req, const berth_err_t *err)
{
    int status = err->status ? err->status : 500;
    reply_message(req, status, err->msg[0] ? err->msg : "internal error");
}

void http_reply_status(http_req_t *req, int status)
{
    http_reply(req, status, NULL, NULL, 0, NULL);
}

void http_conn_reply_error_close(http_conn_t *c, int status, const char *msg)
{
    if (!c->req)
        c->req = http_req_new(c);
    c->req->keep_alive = false;
    c->dispatched = true; /* the reply below finishes it */
    reply_message(c->req, status, msg);
}

/* ---- chunked streams ---- */

int http_stream_begin(http_req_t *req, int status, const char *content_type,
                      const char *extra_headers)
{
    if (!req_live(req))
        return -EINVAL;
    berth_buf_t b;
    buf_init(&b);
    head_append(&b, req, status, content_type, extra_headers);
    buf_puts(&b, "Transfer-Encoding: chunked\r\n\r\n");
    size_t total = b.len;
    return http_conn_write_owned(req->conn, buf_steal(&b), total);
}

int http_stream_write(http_req_t *req, const void *data, size_t len)
{
    if (!req_live(req))
        return -EPIPE;
    if (len == 0)
        return 0; /* an empty chunk would end the stream */
    char *chunk = xmalloc(len + 24);
    int n = snprintf(chunk, 24, "%zx\r\n", len);
    memcpy(chunk + n, data, len);
    memcpy(chunk + n + len, "\r\n", 2);
    return http_conn_write_owned(req->conn, chunk, (size_t)n + len + 2);
}

int http_stream_write_json(http_req_t *req, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text)
        return -ENOMEM;
    size_t n = strlen(text);
    char *line = xmalloc(n + 2);
    memcpy(line, text, n);
    memcpy(line + n, "\r\n", 2);
    cJSON_free(text);
    int r = http_stream_write(req, line, n + 2);
    free(line);
    return r;
}

size_t http_stream_pending(const http_req_t *req)
{
    return req_live(req) ? req->conn->write_queued : 0;
}

void http_stream_end(http_req_t *req)
{
    if (!req_live(req))
        return;
    http_conn_write(req->conn, "0\r\n\r\n", 5);
    http_conn_finish_req(req->conn);
}

/* ---- hijack ---- */

int http_hijack(http_req_t *req, const char *content_type)
{
    if (!req_live(req))
        return -EINVAL;
    http_conn_t *c = req->conn;
    berth_buf_t b;
    buf_init(&b);
    if (req->upgrade)
        buf_printf(&b,
                   "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\n"
                   "Upgrade: tcp\r\n",
                   content_type);
    else
        buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n", content_type);
    if (c->srv->opts.common_headers)
        buf_puts(&b, c->srv->opts.common_headers);
    buf_puts(&b, "\r\n");
    size_t total = b.len;
    int r = http_conn_write_owned(c, buf_steal(&b), total);
    if (r < 0)
        return r;
    c->raw = true;
    if (c->in.len > 0)
        http_conn_defer(c); /* deliver what arrived behind the request */
    http_conn_update_reading(c);
    return 0;
}

int http_raw_write(http_req_t *req, const void *data, size_t len)
{
    if (!req_live(req))
        return -EPIPE;
    if (req->conn->ws)
        return len ? http_ws_send_frame(req->conn, 0x2, data, len) : 0;
    return http_conn_write(req->conn, data, len);
}

size_t http_raw_pending(const http_req_t *req)
{
    return req_live(req) ? req->conn->write_queued : 0;
}

void http_raw_close(http_req_t *req)
{
    if (!req_live(req))
        return;
    http_conn_t *c = req->conn;
    if (c->ws && !c->ws_close_sent) {
        static const unsigned char normal[2] = {0x03, 0xe8}; /* 1000: normal closure */
        http_ws_send_frame(c, 0x8, normal, sizeof(normal));
    }
    http_conn_finish_req(req->conn);
}
