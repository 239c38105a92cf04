/* HTTP server: listeners, connection lifecycle, reading and llhttp parsing.
 *
 * One request per connection at a time: the parser pauses at the end of
 * each message, and the bytes of pipelined requests wait in conn->in until
 * the handler finished the current one. Handlers run from the feed loop,
 * never from inside an llhttp callback, so a handler that answers at once
 * cannot re-enter the parser. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "http/internal.h"

static const llhttp_settings_t *parser_settings(void);
static void conn_feed(http_conn_t *c);
static void header_timeout_cb(uv_timer_t *t);

/* ---- request objects ------------------------------------------------------ */

void http_req_free(http_req_t *req)
{
    if (!req)
        return;
    http_req_release_str(req, req->target);
    http_req_release_str(req, req->path);
    for (size_t i = 0; i < req->n_headers; i++)
        http_req_release_str(req, req->headers[i].name); /* the value shares it */
    if (req->headers != req->inline_kv)
        free(req->headers);
    for (size_t i = 0; i < req->n_query; i++) {
        http_req_release_str(req, req->query[i].name);
        http_req_release_str(req, req->query[i].value);
    }
    free(req->query);
    for (size_t i = 0; i < req->n_params; i++)
        free(req->params[i]);
    buf_free(&req->body);
    free(req);
}

http_req_t *http_req_new(http_conn_t *c)
{
    /* Only the public part is zeroed: the arena is scratch space. */
    http_req_t *req = xmalloc(sizeof(*req));
    memset(req, 0, offsetof(http_req_t, arena));
    req->conn = c;
    req->server_data = c->srv->opts.data;
    req->method = HTTP_GET;
    req->method_name = "GET";
    buf_init(&req->body);
    return req;
}

static void conn_reset_parse(http_conn_t *c)
{
    c->ps = HTTP_PS_IDLE;
    /* The header collectors keep their (small) buffers across requests of a
     * keep-alive connection; a big one is given back. */
    if (c->hname.cap > 1024)
        buf_free(&c->hname);
    if (c->hvalue.cap > 1024)
        buf_free(&c->hvalue);
    buf_reset(&c->hname);
    buf_reset(&c->hvalue);
    c->header_bytes = 0;
    c->dispatched = false;
    c->dispatch_now = false;
    c->body_end_now = false;
    c->body_paused = false;
    c->drain_wanted = false;
}

/* ---- connection lifecycle ------------------------------------------------- */

static void server_maybe_done(http_server_t *srv)
{
    if (srv->closing && srv->closing_handles == 0 && srv->n_conns == 0 && !srv->listeners) {
        void (*done)(void *) = srv->done_cb;
        void *data = srv->done_data;
        buf_free(&srv->reply_scratch);
        buf_free(&srv->json_scratch);
        free(srv);
        if (done)
            done(data);
    }
}

void http_conn_release(http_conn_t *c)
{
    if (--c->open_handles > 0)
        return;
    http_server_t *srv = c->srv;
    buf_free(&c->in);
    buf_free(&c->hname);
    buf_free(&c->hvalue);
    free(c);
    srv->closing_handles--;
    server_maybe_done(srv);
}

static void conn_handle_closed_cb(uv_handle_t *h)
{
    http_conn_release(h->data);
}

/* The request in progress is dropped: its handler hears on_abort. */
static void conn_abort_req(http_conn_t *c)
{
    http_req_t *req = c->req;
    c->req = NULL;
    if (req && c->dispatched && req->on_abort)
        req->on_abort(req);
    http_req_free(req);
    conn_reset_parse(c);
}

void http_conn_close(http_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    http_server_t *srv = c->srv;
    conn_abort_req(c);

    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    srv->closing_handles++;
    if (srv->n_conns == 0 && !srv->closing && srv->opts.on_quiet)
        srv->opts.on_quiet(srv->opts.data);

    /* Three handles to close, and every op the ring still has of ours. */
    c->open_handles = 3;
    if (c->use_ring) {
        http_ring_cancel_conn(srv->opts.ring, c); /* first: it sends what is queued */
        http_conn_drop_writes(c);
        c->open_handles += (int)c->ring_ops;
    }
    uv_close(&c->h.handle, conn_handle_closed_cb);
    uv_close((uv_handle_t *)&c->header_timer, conn_handle_closed_cb);
    uv_close((uv_handle_t *)&c->defer_timer, conn_handle_closed_cb);
}

static void defer_cb(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    if (c->closing)
        return;
    if (c->failed) {
        http_conn_close(c);
        return;
    }
    if (c->raw) {
        /* Bytes the client sent right behind the upgrade request. */
        if (c->ws) {
            http_ws_process(c);
        } else if (c->in.len > 0 && !c->body_paused && c->req && c->req->on_raw_data) {
            berth_buf_t pending = c->in;
            buf_init(&c->in);
            c->req->on_raw_data(c->req, pending.data, pending.len);
            buf_free(&pending);
        }
        if (c->closing)
            return;
        if (c->read_eof && c->in.len == 0 && c->req && !c->ws_eof_reported) {
            c->ws_eof_reported = true; /* the EOF came while bytes were queued */
            if (c->req->on_raw_eof)
                c->req->on_raw_eof(c->req);
            return;
        }
        http_conn_update_reading(c);
        return;
    }
    conn_feed(c);
}

void http_conn_defer(http_conn_t *c)
{
    if (!c->closing)
        uv_timer_start(&c->defer_timer, defer_cb, 0, 0);
}

static void close_now_or_after_writes(http_conn_t *c)
{
    c->close_after_write = true;
    if (c->writes_inflight == 0)
        http_conn_close(c);
}

void http_conn_abort_after_writes(http_conn_t *c)
{
    conn_abort_req(c);
    if (!c->closing)
        close_now_or_after_writes(c);
}

void http_conn_finish_req(http_conn_t *c)
{
    http_req_t *req = c->req;
    bool complete = c->ps == HTTP_PS_DONE;
    bool reuse = req && req->keep_alive && !req->upgrade && complete && !c->raw;
    c->req = NULL;
    http_req_free(req);
    conn_reset_parse(c);
    if (!reuse || c->close_after_write || (c->read_eof && c->in.len == 0)) {
        close_now_or_after_writes(c);
        return;
    }
    if (c->in.len > 0)
        http_conn_defer(c);
    http_conn_update_reading(c);
}

/* Does the peer still read? After EOF on a Unix socket, POLLHUP means both
 * directions are shut (the client is gone); a half-close (shutdown(SHUT_WR))
 * only sets POLLRDHUP. For TCP the two look alike until a write fails. */
static bool peer_fully_closed(http_conn_t *c)
{
    uv_os_fd_t fd;
    if (uv_fileno(&c->h.handle, &fd) != 0)
        return true;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, 0) < 0)
        return false;
    return (p.revents & (POLLHUP | POLLERR)) != 0;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn_t *c = h->data;
    buf->base = c->srv->read_buf;
    buf->len = sizeof(c->srv->read_buf);
}

static void conn_stop_reading(http_conn_t *c)
{
    if (c->reading && !c->use_ring)
        uv_read_stop(&c->h.stream);
    c->reading = false; /* the ring's recv ended with the EOF itself */
}

static void conn_on_eof(http_conn_t *c)
{
    c->read_eof = true;
    conn_stop_reading(c);
    if (c->raw) {
        if (peer_fully_closed(c)) {
            http_conn_close(c);
            return;
        }
        if (c->ws) {
            buf_reset(&c->in); /* a frame cut short never completes */
        } else if (c->in.len > 0) {
            http_conn_defer(c); /* delivers what is queued, then the EOF */
            return;
        }
        if (c->req && !c->ws_eof_reported) {
            c->ws_eof_reported = true;
            if (c->req->on_raw_eof)
                c->req->on_raw_eof(c->req);
        }
        return;
    }
    if (c->req && c->dispatched && c->ps == HTTP_PS_DONE) {
        /* A complete request is being handled: a half-closed client still
         * gets its answer, a vanished one aborts the handler. */
        if (peer_fully_closed(c))
            http_conn_close(c);
        return;
    }
    if (c->in.len > 0 && !c->dispatched)
        return;                   /* pipelined requests still to parse; closed when done */
    close_now_or_after_writes(c); /* a half-closed client still reads its answers */
}

void http_conn_on_read_error(http_conn_t *c)
{
    if (!c->closing)
        http_conn_close(c);
}

void http_conn_on_read(http_conn_t *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    if (!data) {
        conn_on_eof(c);
        return;
    }
    if (len == 0)
        return;
    if (!c->reading) {
        /* The ring's recv delivered after we asked it to stop (the cancel
         * was still on its way): keep the bytes for when reading resumes. */
        buf_append(&c->in, data, len);
        http_conn_defer(c);
        return;
    }
    if (c->raw && c->ws) {
        buf_append(&c->in, data, len);
        http_ws_process(c);
        return;
    }
    if (c->raw) {
        if (c->in.len > 0) {
            /* Bytes from before the hijack are still queued: keep order. */
            buf_append(&c->in, data, len);
            http_conn_defer(c);
            return;
        }
        if (c->req && c->req->on_raw_data)
            c->req->on_raw_data(c->req, data, len);
        return;
    }
    buf_append(&c->in, data, len);
    conn_feed(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_conn_t *c = s->data;
    if (nread == UV_EOF)
        http_conn_on_read(c, NULL, 0);
    else if (nread < 0)
        http_conn_on_read_error(c);
    else
        http_conn_on_read(c, buf->base, (size_t)nread);
}

void http_conn_update_reading(http_conn_t *c)
{
    if (c->closing || c->read_eof)
        return;
    size_t limit = c->srv->opts.max_header_bytes + HTTP_READ_AHEAD_SLACK;
    bool want = !c->body_paused && c->in.len < limit;
    if (c->use_ring) {
        if (want != c->reading) {
            c->reading = want;
            http_ring_update_recv(c->srv->opts.ring, c);
        }
        return;
    }
    if (want && !c->reading) {
        if (uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop(&c->h.stream);
        c->reading = false;
    }
}

static void parse_failed(http_conn_t *c, llhttp_errno_t e)
{
    int status = c->err_status ? c->err_status : 400;
    const char *msg = c->err_msg;
    if (!msg)
        msg = e == HPE_USER ? "bad request" : llhttp_errno_name(e);
    if (c->dispatched) {
        /* The handler already owns the request (streamed body): it cannot
         * get an error reply any more, only an abort. */
        http_conn_close(c);
        return;
    }
    log_debug("http: bad request (%d): %s", status, msg);
    http_conn_reply_error_close(c, status, msg);
}

/* Parse what we have, one message at a time, dispatching as messages
 * become ready. */
static void conn_feed(http_conn_t *c)
{
    if (c->in_feed)
        return;
    c->in_feed = true;
    while (!c->closing && !c->raw && !c->close_after_write) {
        if (c->dispatch_now) {
            c->dispatch_now = false;
            c->dispatched = true;
            c->srv->opts.dispatch(c->req);
            continue;
        }
        if (c->body_end_now) {
            c->body_end_now = false;
            if (c->req && c->req->on_body_end)
                c->req->on_body_end(c->req);
            continue;
        }
        if (c->ps == HTTP_PS_DONE || c->body_paused || c->in.len == 0)
            break;
        llhttp_errno_t e = llhttp_execute(&c->parser, c->in.data, c->in.len);
        size_t used = c->in.len;
        if (e != HPE_OK) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            used = pos ? (size_t)(pos - c->in.data) : c->in.len;
        }
        if (c->closing)
            break;
        buf_consume(&c->in, used);
        if (e == HPE_PAUSED) {
            llhttp_resume(&c->parser);
        } else if (e == HPE_PAUSED_UPGRADE) {
            /* Whatever follows is stream data for the hijacked connection. */
        } else if (e != HPE_OK) {
            parse_failed(c, e);
            break;
        }
    }
    c->in_feed = false;
    /* The header clock runs only for a request whose headers are still
     * incomplete after a read (a slow client); the usual request arrives
     * whole and costs no timer operations. */
    if (!c->closing && c->ps == HTTP_PS_HEADERS && c->srv->opts.header_timeout_ms &&
        !uv_is_active((uv_handle_t *)&c->header_timer))
        uv_timer_start(&c->header_timer, header_timeout_cb, c->srv->opts.header_timeout_ms, 0);
    if (!c->closing && c->in.len == 0 && c->in.cap > 4096)
        buf_free(&c->in); /* idle connections keep no buffer */
    if (!c->closing && c->read_eof && c->in.len == 0 && !c->close_after_write) {
        if (c->req == NULL)
            close_now_or_after_writes(c);
        else if (!c->dispatched && c->ps != HTTP_PS_DONE)
            http_conn_close(c); /* a request cut short: nothing to answer */
        else
            http_conn_update_reading(c);
    } else
        http_conn_update_reading(c);
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int header_budget(http_conn_t *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > c->srv->opts.max_header_bytes) {
        c->err_status = 431;
        c->err_msg = "request header fields too large";
        return HPE_USER;
    }
    return 0;
}

static void header_timeout_cb(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    if (!c->dispatched && (c->ps == HTTP_PS_HEADERS)) {
        log_debug("http: dropping a client that was too slow sending headers");
        http_conn_close(c);
    }
}

static int on_message_begin(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (c->req == NULL)
        c->req = http_req_new(c);
    c->ps = HTTP_PS_HEADERS;
    c->err_status = 0;
    c->err_msg = NULL;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
    if (header_budget(c, len))
        return HPE_USER;
    /* hvalue doubles as the URL collector until the first header arrives. */
    buf_append(&c->hvalue, at, len);
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    c->req->target = http_req_strndup(c->req, c->hvalue.data ? c->hvalue.data : "", c->hvalue.len);
    buf_reset(&c->hvalue);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
    if (header_budget(c, len))
        return HPE_USER;
    buf_append(&c->hname, at, len);
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
    if (header_budget(c, len))
        return HPE_USER;
    buf_append(&c->hvalue, at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (header_budget(c, 4)) /* ": " and CRLF count too */
        return HPE_USER;
    if (c->req->n_headers >= 256) {
        c->err_status = 431;
        c->err_msg = "too many header fields";
        return HPE_USER;
    }
    http_req_add_header(c->req, c->hname.data ? c->hname.data : "", c->hname.len,
                        c->hvalue.data ? c->hvalue.data : "", c->hvalue.len);
    buf_reset(&c->hname);
    buf_reset(&c->hvalue);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    http_req_t *req = c->req;
    if (uv_is_active((uv_handle_t *)&c->header_timer))
        uv_timer_stop(&c->header_timer);
    buf_reset(&c->hname);
    buf_reset(&c->hvalue);
    req->method = llhttp_get_method(p);
    req->method_name = llhttp_method_name((llhttp_method_t)req->method);
    req->upgrade = llhttp_get_upgrade(p) != 0;
    req->keep_alive = llhttp_should_keep_alive(p) != 0;
    c->http10 = llhttp_get_http_major(p) == 1 && llhttp_get_http_minor(p) == 0;
    if (!req->target || http_parse_target(req, req->target) < 0) {
        c->err_status = 400;
        c->err_msg = "malformed request target";
        return HPE_USER;
    }
    c->ps = HTTP_PS_BODY;
    const char *expect = http_req_header(req, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        http_conn_write(c, cont, sizeof(cont) - 1);
    }
    if (c->srv->opts.route)
        c->srv->opts.route(req);
    if (req->stream_body) {
        /* The handler takes the body as it comes: dispatch from the feed loop
         * before parsing any body byte. */
        c->dispatch_now = true;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
    http_req_t *req = c->req;
    if (!req)
        return HPE_PAUSED; /* handler already answered; the connection closes */
    if (req->stream_body) {
        if (req->on_body && req->on_body(req, at, len) < 0) {
            c->err_msg = "request body rejected";
            return HPE_USER;
        }
        if (c->req != req || c->close_after_write || c->closing)
            return HPE_PAUSED;
        if (c->body_paused)
            return HPE_PAUSED;
        return 0;
    }
    if (req->body.len + len > c->srv->opts.max_body_bytes) {
        c->err_status = 413;
        c->err_msg = "request body too large";
        return HPE_USER;
    }
    buf_append(&req->body, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    c->ps = HTTP_PS_DONE;
    if (!c->req)
        return HPE_PAUSED;
    if (c->dispatched)
        c->body_end_now = true;
    else
        c->dispatch_now = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t *parser_settings(void)
{
    static llhttp_settings_t settings;
    static bool ready;
    if (!ready) {
        llhttp_settings_init(&settings);
        settings.on_message_begin = on_message_begin;
        settings.on_url = on_url;
        settings.on_url_complete = on_url_complete;
        settings.on_header_field = on_header_field;
        settings.on_header_value = on_header_value;
        settings.on_header_value_complete = on_header_value_complete;
        settings.on_headers_complete = on_headers_complete;
        settings.on_body = on_body;
        settings.on_message_complete = on_message_complete;
        ready = true;
    }
    return &settings;
}

/* ---- listeners ------------------------------------------------------------ */

/* Link a connection whose stream handle is initialised into the server and
 * start it; when ok is false, close it at once instead. */
static void conn_start(http_server_t *srv, http_conn_t *c, bool ok)
{
    uv_loop_t *loop = srv->opts.loop;
    c->srv = srv;
    c->h.handle.data = c;
    uv_timer_init(loop, &c->header_timer);
    uv_timer_init(loop, &c->defer_timer);
    c->header_timer.data = c;
    c->defer_timer.data = c;
    llhttp_init(&c->parser, HTTP_REQUEST, parser_settings());
    c->parser.data = c;
    buf_init(&c->in);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    if (!ok) {
        http_conn_close(c);
        return;
    }
    if (c->h.handle.type == UV_TCP)
        uv_tcp_nodelay(&c->h.tcp, 1);
    uv_os_fd_t fd;
    if (srv->opts.ring && uv_fileno(&c->h.handle, &fd) == 0) {
        c->fd = fd;
        c->use_ring = true;
    }
    http_conn_update_reading(c);
}

static void connection_cb(uv_stream_t *server, int status)
{
    http_listener_t *l = server->data;
    http_server_t *srv = l->srv;
    if (status < 0 || srv->closing) {
        log_warn("http: accept: %s", uv_strerror(status));
        return;
    }
    http_conn_t *c = xcalloc(1, sizeof(*c));
    int r = server->type == UV_NAMED_PIPE ? uv_pipe_init(server->loop, &c->h.pipe, 0)
                                          : uv_tcp_init(server->loop, &c->h.tcp);
    if (r < 0) {
        free(c);
        return;
    }
    c->h.handle.data = c;
    /* A failed accept still leaves a live handle: close it like any connection. */
    conn_start(srv, c, uv_accept(server, &c->h.stream) == 0);
}

int http_server_adopt_fd(http_server_t *srv, int fd)
{
    if (srv->closing)
        return -ESHUTDOWN;
    http_conn_t *c = xcalloc(1, sizeof(*c));
    int r = uv_pipe_init(srv->opts.loop, &c->h.pipe, 0);
    if (r < 0) {
        free(c);
        return r;
    }
    r = uv_pipe_open(&c->h.pipe, fd);
    if (r < 0) {
        close(fd); /* the handle did not take it */
        c->h.handle.data = c;
        conn_start(srv, c, false);
        return r;
    }
    conn_start(srv, c, true);
    return 0;
}

int http_server_new(const http_server_opts_t *opts, http_server_t **out)
{
    if (!opts->loop || !opts->dispatch)
        return -EINVAL;
    http_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->opts = *opts;
    if (!srv->opts.max_header_bytes)
        srv->opts.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!srv->opts.max_body_bytes)
        srv->opts.max_body_bytes = HTTP_DEFAULT_MAX_BODY_BYTES;
    if (!srv->opts.header_timeout_ms)
        srv->opts.header_timeout_ms = HTTP_DEFAULT_HEADER_TIMEOUT_MS;
    *out = srv;
    return 0;
}

static void listener_closed_cb(uv_handle_t *h)
{
    http_listener_t *l = h->data;
    http_server_t *srv = l->srv;
    free(l->unix_path);
    free(l);
    srv->closing_handles--;
    server_maybe_done(srv);
}

static void listener_discard(http_listener_t *l)
{
    l->srv->closing_handles++;
    uv_close(&l->h.handle, listener_closed_cb);
}

/* Remove our socket file, unless someone replaced it meanwhile (another
 * daemon started on the same path after us: its socket is not ours). */
static void listener_unlink(http_listener_t *l)
{
    struct stat st;
    if (!l->unix_path || lstat(l->unix_path, &st) < 0)
        return;
    if (st.st_dev == l->unix_dev && st.st_ino == l->unix_ino)
        unlink(l->unix_path);
    else
        log_warn("http: %s was replaced by another socket; leaving it", l->unix_path);
}

static void listener_add(http_server_t *srv, http_listener_t *l)
{
    l->next = srv->listeners;
    srv->listeners = l;
}

/* A socket file nobody accepts on is stale; a live one belongs to someone. */
static int unlink_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return -EEXIST;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (r == 0)
        return -EADDRINUSE;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

/* Bind the socket ourselves and hand libuv the fd: a pipe handle bound by
 * uv_pipe_bind unlinks its path on close even when another daemon has
 * replaced the file since; we unlink only what is still ours. */
static int bind_unix(const char *path, mode_t mode, gid_t gid, struct stat *st_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    if (lstat(path, st_out) < 0 || chmod(path, mode) < 0 ||
        (gid != (gid_t)-1 && chown(path, 0, gid) < 0) || listen(fd, 4096) < 0)
        r = -errno;
    if (r < 0) {
        unlink(path);
        close(fd);
        return r;
    }
    return fd;
}

int http_server_listen_unix(http_server_t *srv, const char *path, mode_t mode, gid_t gid)
{
    int r = unlink_stale_socket(path);
    if (r < 0)
        return r;
    struct stat st;
    int fd = bind_unix(path, mode, gid, &st);
    if (fd < 0)
        return fd;
    http_listener_t *l = xcalloc(1, sizeof(*l));
    l->srv = srv;
    l->unix_path = xstrdup(path);
    l->unix_dev = st.st_dev;
    l->unix_ino = st.st_ino;
    r = uv_pipe_init(srv->opts.loop, &l->h.pipe, 0);
    if (r < 0) {
        unlink(path);
        close(fd);
        free(l->unix_path);
        free(l);
        return r;
    }
    l->h.handle.data = l;
    r = uv_pipe_open(&l->h.pipe, fd);
    if (r < 0)
        close(fd);
    else
        r = uv_listen(&l->h.stream, 4096, connection_cb);
    if (r < 0) {
        listener_unlink(l);
        listener_discard(l);
        return r;
    }
    listener_add(srv, l);
    return 0;
}

int http_server_listen_tcp(http_server_t *srv, const char *host, int port)
{
    struct sockaddr_storage ss;
    int r = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (r < 0)
        r = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    if (r < 0)
        return r;
    http_listener_t *l = xcalloc(1, sizeof(*l));
    l->srv = srv;
    r = uv_tcp_init(srv->opts.loop, &l->h.tcp);
    if (r < 0) {
        free(l);
        return r;
    }
    l->h.handle.data = l;
    r = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen(&l->h.stream, 4096, connection_cb);
    if (r < 0) {
        listener_discard(l);
        return r;
    }
    listener_add(srv, l);
    return 0;
}

void http_server_close(http_server_t *srv, void (*done_cb)(void *data), void *data)
{
    srv->closing = true;
    srv->done_cb = done_cb;
    srv->done_data = data;
    while (srv->listeners) {
        http_listener_t *l = srv->listeners;
        srv->listeners = l->next;
        listener_unlink(l);
        listener_discard(l);
    }
    while (srv->conns)
        http_conn_close(srv->conns);
    /* Nothing may be pending at all: finish on the next loop turn anyway
     * through the close callbacks; with no handles, finish now. */
    server_maybe_done(srv);
}

size_t http_server_connection_count(const http_server_t *srv)
{
    return srv->n_conns;
}

void http_req_pause_body(http_req_t *req)
{
    http_conn_t *c = req->conn;
    c->body_paused = true;
    http_conn_update_reading(c);
}

void http_req_resume_body(http_req_t *req)
{
    http_conn_t *c = req->conn;
    if (!c->body_paused)
        return;
    c->body_paused = false;
    http_conn_update_reading(c);
    http_conn_defer(c);
}
