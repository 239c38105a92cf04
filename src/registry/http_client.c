/* HTTP client transport: libcurl's multi-socket interface driven by the
 * libuv loop. curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION
 * -> one uv_poll_t per socket) and when to wake it (CURLMOPT_TIMERFUNCTION ->
 * one uv_timer_t); we hand readiness back with curl_multi_socket_action().
 * No threads and no blocking calls: DNS for literal addresses and localhost
 * needs no resolver round trip, and curl's threaded resolver is off-loop. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "registry/curl_dl.h"

struct reg_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int in_curl; /* > 0 while libcurl may be running our callbacks */
    reg_xfer_t *live;
    reg_xfer_t *pending_add;
    reg_xfer_t *pending_remove;
    size_t n_live;
    unsigned open_handles; /* timer + socket polls not yet closed */
    bool closing;
    bool timer_closed;
    void (*close_cb)(void *data);
    void *close_data;
};

typedef struct reg_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    reg_http_t *http;
} reg_sock_t;

static void http_maybe_closed(reg_http_t *h);
static void check_multi_info(reg_http_t *h);
static void run_deferred(reg_http_t *h);

/* ---- loop glue ---------------------------------------------------------- */

static void sock_close_cb(uv_handle_t *handle)
{
    reg_sock_t *s = handle->data;
    reg_http_t *h = s->http;
    free(s);
    h->open_handles--;
    http_maybe_closed(h);
}

static void socket_action(reg_http_t *h, curl_socket_t fd, int flags)
{
    int running = 0;
    h->in_curl++;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    h->in_curl--;
    check_multi_info(h);
    run_deferred(h);
}

static void poll_cb(uv_poll_t *handle, int status, int events)
{
    reg_sock_t *s = handle->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    socket_action(s->http, s->fd, flags);
}

static void timer_cb(uv_timer_t *t)
{
    socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    reg_http_t *h = userp;
    reg_sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_close_cb);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->http = h;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        h->open_handles++;
        curl_multi_assign(h->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, poll_cb);
    return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    reg_http_t *h = userp;
    if (timeout_ms < 0) {
        uv_timer_stop(&h->timer);
        return 0;
    }
    /* 0 means "act now"; doing it from the loop avoids re-entering curl. */
    uv_timer_start(&h->timer, timer_cb, timeout_ms ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

/* ---- transfers ---------------------------------------------------------- */

static void xfer_unlink(reg_xfer_t *x)
{
    reg_http_t *h = x->http;
    if (x->prev)
        x->prev->next = x->next;
    else if (h->live == x)
        h->live = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
    h->n_live--;
}

static void xfer_free(reg_xfer_t *x)
{
    if (x->easy) {
        if (x->added)
            curl_multi_remove_handle(x->http->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->req_headers);
    for (size_t i = 0; i < x->n_hdrs; i++) {
        free(x->hdr_names[i]);
        free(x->hdr_values[i]);
    }
    free(x->hdr_names);
    free(x->hdr_values);
    buf_free(&x->body);
    free(x->body_copy);
    free(x->url);
    free(x->effective_url);
    free(x->extra_ca_file);
    free(x);
}

static void xfer_clear_headers(reg_xfer_t *x)
{
    for (size_t i = 0; i < x->n_hdrs; i++) {
        free(x->hdr_names[i]);
        free(x->hdr_values[i]);
    }
    x->n_hdrs = 0;
}

static size_t header_cb(char *line, size_t size, size_t n, void *userp)
{
    reg_xfer_t *x = userp;
    size_t len = size * n;
    if (x->cancelled)
        return 0;
    /* Each response (redirects, 100-continue, proxy CONNECT) starts with a
     * status line: keep only the last response's headers. */
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        xfer_clear_headers(x);
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    x->hdr_names = xrealloc(x->hdr_names, (x->n_hdrs + 1) * sizeof(char *));
    x->hdr_values = xrealloc(x->hdr_values, (x->n_hdrs + 1) * sizeof(char *));
    char *name = xstrndup(line, name_len);
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    x->hdr_names[x->n_hdrs] = name;
    x->hdr_values[x->n_hdrs] = xstrndup(v, (size_t)(end - v));
    x->n_hdrs++;
    return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userp)
{
    reg_xfer_t *x = userp;
    size_t len = size * n;
    if (x->cancelled)
        return 0;
    /* Bodies of redirects and auth challenges are not the payload. */
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (x->on_data && code >= 200 && code < 300) {
        int r = x->on_data(x, data, len);
        if (r == REG_DATA_PAUSE)
            return CURL_WRITEFUNC_PAUSE;
        if (r < 0) {
            if (!x->abort_err)
                x->abort_err = r;
            return 0;
        }
        return len;
    }
    if (x->body.len + len > x->max_body) {
        reg_xfer_fail(x, -EFBIG, "response from %s larger than %zu bytes", x->url, x->max_body);
        return 0;
    }
    buf_append(&x->body, data, len);
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *userp)
{
    reg_xfer_t *x = userp;
    size_t len = size * n;
    if (x->cancelled)
        return CURL_READFUNC_ABORT;
    if (x->on_read) {
        ssize_t r = x->on_read(x, buf, len);
        if (r == REG_READ_PAUSE)
            return CURL_READFUNC_PAUSE;
        if (r < 0) {
            if (!x->abort_err)
                reg_xfer_fail(x, -EIO, "reading upload data for %s", x->url);
            return CURL_READFUNC_ABORT;
        }
        return (size_t)r;
    }
    size_t left = x->body_len - x->body_off;
    if (len > left)
        len = left;
    memcpy(buf, x->body_copy + x->body_off, len);
    x->body_off += len;
    return len;
}

/* Rewinds the in-memory body when curl resends it (redirect, auth retry). */
static int seek_cb(void *userp, curl_off_t off, int origin)
{
    reg_xfer_t *x = userp;
    if (x->on_read || origin != SEEK_SET || off < 0 || (size_t)off > x->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_off = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

/* Adds the registry's CA (certs.d/<host>/ca.crt) to the system trust store
 * curl already loaded, the way Docker extends its pool. */
static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *userp)
{
    (void)easy;
    reg_xfer_t *x = userp;
    if (!x->extra_ca_file)
        return CURLE_OK;
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
    FILE *f = fopen(x->extra_ca_file, "re");
    if (!f)
        return CURLE_SSL_CACERT_BADFILE;
    int added = 0;
    X509 *cert;
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1)
            added++;
        X509_free(cert);
    }
    fclose(f);
    ERR_clear_error();
    return added ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

void reg_xfer_fail(reg_xfer_t *x, int neg_errno, const char *fmt, ...)
{
    if (x->abort_err)
        return;
    x->abort_err = neg_errno < 0 ? neg_errno : -EIO;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->errmsg, sizeof(x->errmsg), fmt, ap);
    va_end(ap);
}

static void xfer_add_now(reg_xfer_t *x)
{
    reg_http_t *h = x->http;
    h->in_curl++;
    CURLMcode mc = curl_multi_add_handle(h->multi, x->easy);
    h->in_curl--;
    if (mc != CURLM_OK) {
        /* Report through on_done like any failure, from the loop. */
        snprintf(x->errmsg, sizeof(x->errmsg), "starting request to %s: %s", x->url,
                 curl_multi_strerror(mc));
        x->abort_err = -EIO;
        x->finished = true;
        xfer_unlink(x);
        if (!x->cancelled && x->on_done)
            x->on_done(x, x->abort_err);
        xfer_free(x);
        return;
    }
    x->added = true;
}

static void run_deferred(reg_http_t *h)
{
    if (h->in_curl)
        return;
    while (h->pending_remove || h->pending_add) {
        while (h->pending_remove) {
            reg_xfer_t *x = h->pending_remove;
            h->pending_remove = x->pending_next;
            xfer_free(x);
        }
        while (h->pending_add) {
            reg_xfer_t *x = h->pending_add;
            h->pending_add = x->pending_next;
            x->pending_next = NULL;
            if (x->cancelled) {
                xfer_unlink(x);
                xfer_free(x);
            } else {
                xfer_add_now(x);
            }
        }
    }
    http_maybe_closed(h);
}

static int curl_result_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
        return -EPROTO;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return -ECONNRESET;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return -EBADMSG;
    case CURLE_TOO_MANY_REDIRECTS:
        return -ELOOP;
    default:
        return -EIO;
    }
}

static void check_multi_info(reg_http_t *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        reg_xfer_t *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = msg->data.result;
        if (x->cancelled)
            continue; /* on pending_remove: run_deferred frees it */
        curl_multi_remove_handle(h->multi, x->easy);
        x->added = false;
        x->finished = true;
        xfer_unlink(x);
        int result = 0;
        if (x->abort_err) {
            result = x->abort_err;
        } else if (rc != CURLE_OK) {
            result = curl_result_errno(rc);
            snprintf(x->errmsg, sizeof(x->errmsg), "%s %s: %s", "request", x->url,
                     x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        }
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
        char *eff = NULL;
        if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
            x->effective_url = xstrdup(eff);
        if (!x->cancelled && x->on_done)
            x->on_done(x, result);
        xfer_free(x);
    }
}

int reg_xfer_start(reg_http_t *h, const reg_xfer_opts_t *o, reg_xfer_t **out)
{
    if (!o->url || !o->on_done || h->closing)
        return -EINVAL;
    berth_err_t lerr = {0};
    if (reg_http_ensure(h, &lerr) < 0)
        return -ELIBACC;
    reg_xfer_t *x = xcalloc(1, sizeof(*x));
    x->http = h;
    x->data = o->data;
    x->url = xstrdup(o->url);
    x->on_data = o->on_data;
    x->on_read = o->on_read;
    x->on_done = o->on_done;
    x->max_body = o->max_body ? o->max_body : 4 * 1024 * 1024;
    buf_init(&x->body);
    x->easy = curl_easy_init();
    if (!x->easy) {
        xfer_free(x);
        return -ENOMEM;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    /* Big reads for blob downloads: fewer callbacks and pipe writes. */
    if (o->on_data)
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 15000L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     o->low_speed_time_s > 0 ? o->low_speed_time_s : 60L);
    if (o->total_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
    /* Keep a registry's gzip blobs byte-exact: no Accept-Encoding. */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->follow_redirects) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
        /* Redirects to blob storage must not carry our registry token:
         * curl drops Authorization set via CURLOPT_HTTPHEADER on host
         * change unless UNRESTRICTED_AUTH is set, which we never set. */
    }
    if (o->tls_insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->extra_ca_file) {
        x->extra_ca_file = xstrdup(o->extra_ca_file);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, x);
    }
    if (o->client_cert && o->client_key) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->client_cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->client_key);
    }
    for (const char *const *hp = o->headers; hp && *hp; hp++)
        x->req_headers = curl_slist_append(x->req_headers, *hp);
    /* Blob uploads: no "Expect: 100-continue" round trip. */
    x->req_headers = curl_slist_append(x->req_headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers);

    const char *method = o->method ? o->method : "GET";
    bool has_body = o->on_read || o->body || !strcmp(method, "PUT") || !strcmp(method, "POST") ||
                    !strcmp(method, "PATCH");
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
        if (o->body) {
            x->body_copy = xmalloc(o->body_len ? o->body_len : 1);
            memcpy(x->body_copy, o->body, o->body_len);
            x->body_len = o->body_len;
        }
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        if (o->on_read)
            curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        curl_off_t size = o->on_read ? (curl_off_t)o->upload_size : (curl_off_t)x->body_len;
        if (size >= 0)
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, size);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    x->next = h->live;
    if (h->live)
        h->live->prev = x;
    h->live = x;
    h->n_live++;
    if (out)
        *out = x;
    if (h->in_curl) {
        x->pending_next = h->pending_add;
        h->pending_add = x;
    } else {
        xfer_add_now(x);
    }
    return 0;
}

void reg_xfer_cancel(reg_xfer_t *x)
{
    if (!x || x->cancelled || x->finished)
        return;
    x->cancelled = true;
    reg_http_t *h = x->http;
    if (!x->added)
        return; /* still on pending_add: run_deferred frees it */
    xfer_unlink(x);
    if (h->in_curl) {
        x->pending_next = h->pending_remove;
        h->pending_remove = x;
        return;
    }
    xfer_free(x);
    http_maybe_closed(h);
}

void reg_xfer_resume(reg_xfer_t *x)
{
    if (!x || x->cancelled || x->finished || !x->added)
        return;
    reg_http_t *h = x->http;
    h->in_curl++;
    curl_easy_pause(x->easy, CURLPAUSE_CONT);
    h->in_curl--;
    if (h->in_curl == 0) {
        check_multi_info(h);
        run_deferred(h);
    }
}

const char *reg_xfer_header(const reg_xfer_t *x, const char *name)
{
    for (size_t i = 0; i < x->n_hdrs; i++)
        if (strcasecmp(x->hdr_names[i], name) == 0)
            return x->hdr_values[i];
    return NULL;
}

const char *reg_xfer_error(const reg_xfer_t *x)
{
    if (x->errmsg[0])
        return x->errmsg;
    return x->errbuf[0] ? x->errbuf : "unknown transfer error";
}

size_t reg_http_active(const reg_http_t *h)
{
    return h->n_live;
}

int reg_http_new(uv_loop_t *loop, reg_http_t **out)
{
    /* libcurl is loaded and the multi handle made at the first request. */
    reg_http_t *h = xcalloc(1, sizeof(*h));
    h->loop = loop;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->open_handles = 1;
    *out = h;
    return 0;
}

int reg_http_ensure(reg_http_t *h, berth_err_t *err)
{
    if (h->multi)
        return 0;
    if (h->closing)
        return berth_err_set(err, BERTH_E_UNAVAILABLE, "registry client closing");
    if (reg_curl_load(err) < 0) {
        log_warn("%s", err->msg);
        return -1;
    }
    h->multi = curl_multi_init();
    if (!h->multi)
        return berth_err_set(err, BERTH_E_INTERNAL, "curl_multi_init failed");
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /* HTTP/2 multiplexing where the registry offers it (TLS + ALPN). */
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    return 0;
}

static void timer_close_cb(uv_handle_t *handle)
{
    reg_http_t *h = handle->data;
    h->open_handles--;
    http_maybe_closed(h);
}

static void http_maybe_closed(reg_http_t *h)
{
    if (!h->closing || h->in_curl)
        return;
    if (h->multi) {
        if (h->live || h->pending_add || h->pending_remove)
            return;
        h->in_curl++;
        curl_multi_cleanup(h->multi); /* may call curl_socket_cb(REMOVE) */
        h->in_curl--;
        h->multi = NULL;
    }
    if (!h->timer_closed) {
        h->timer_closed = true;
        uv_timer_stop(&h->timer);
        uv_close((uv_handle_t *)&h->timer, timer_close_cb);
        return;
    }
    if (h->open_handles == 0) {
        void (*cb)(void *) = h->close_cb;
        void *data = h->close_data;
        free(h);
        if (cb)
            cb(data);
    }
}

void reg_http_close(reg_http_t *h, void (*done_cb)(void *data), void *data)
{
    h->closing = true;
    h->close_cb = done_cb;
    h->close_data = data;
    /* Finish each live transfer; callbacks may cancel others, so restart
     * from the head each time. */
    while (h->live) {
        reg_xfer_t *x = h->live;
        if (!x->added) {
            /* Pending add: drop from the pending list too. */
            reg_xfer_t **pp = &h->pending_add;
            while (*pp && *pp != x)
                pp = &(*pp)->pending_next;
            if (*pp)
                *pp = x->pending_next;
        }
        xfer_unlink(x);
        x->finished = true;
        snprintf(x->errmsg, sizeof(x->errmsg), "request %s: cancelled (shutting down)", x->url);
        if (!x->cancelled && x->on_done)
            x->on_done(x, -ECANCELED);
        xfer_free(x);
    }
    run_deferred(h);
    http_maybe_closed(h);
}
