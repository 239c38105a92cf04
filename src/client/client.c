/* Blocking HTTP/1.1 client for the Docker Engine API over unix or tcp sockets.
 * Responses are parsed with llhttp in HTTP_RESPONSE mode. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <llhttp.h>

#include "berth/client.h"

/* Transport errors carry no HTTP status: the CLI prints them without
 * "Error response from daemon". */
static int client_err_sys(berth_err_t *err, int code, const char *what)
{
    berth_err_sys(err, code, "%s", what);
    err->status = 0;
    return -1;
}

const char *client_host_from_env(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *h = getenv("BERTH_HOST");
    if (h && *h)
        return h;
    h = getenv("DOCKER_HOST");
    if (h && *h)
        return h;
    return CLIENT_DEFAULT_HOST;
}

int client_init(client_t *c, const char *host, berth_err_t *err)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    snprintf(c->api_version, sizeof(c->api_version), "%s", BERTH_API_VERSION);
    if (!host)
        host = CLIENT_DEFAULT_HOST;
    if (strncmp(host, "unix://", 7) == 0 || host[0] == '/') {
        const char *p = host[0] == '/' ? host : host + 7;
        if (!*p)
            return berth_err_set(err, BERTH_E_INVALID, "invalid host %s: empty socket path", host);
        struct sockaddr_un sa;
        if (strlen(p) >= sizeof(sa.sun_path))
            return berth_err_set(err, BERTH_E_INVALID, "invalid host %s: socket path too long",
                                 host);
        c->unix_path = xstrdup(p);
    } else if (strncmp(host, "tcp://", 6) == 0) {
        const char *hp = host + 6;
        const char *end = hp + strcspn(hp, "/");
        const char *colon = NULL;
        if (*hp == '[') { /* [v6]:port */
            const char *rb = memchr(hp, ']', (size_t)(end - hp));
            if (!rb)
                return berth_err_set(err, BERTH_E_INVALID, "invalid host %s", host);
            c->tcp_host = xstrndup(hp + 1, (size_t)(rb - hp - 1));
            colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        } else {
            colon = memrchr(hp, ':', (size_t)(end - hp));
            c->tcp_host = xstrndup(hp, colon ? (size_t)(colon - hp) : (size_t)(end - hp));
        }
        c->tcp_port = colon ? xstrndup(colon + 1, (size_t)(end - colon - 1)) : xstrdup("2375");
        if (!*c->tcp_host || !*c->tcp_port) {
            client_close(c);
            return berth_err_set(err, BERTH_E_INVALID, "invalid host %s", host);
        }
    } else {
        return berth_err_set(err, BERTH_E_INVALID,
                             "invalid host %s: want unix:///path or tcp://host:port", host);
    }
    c->host = xstrdup(host);
    return 0;
}

void client_close(client_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->host);
    free(c->unix_path);
    free(c->tcp_host);
    free(c->tcp_port);
    c->host = c->unix_path = c->tcp_host = c->tcp_port = NULL;
}

static int client_connect(client_t *c, berth_err_t *err)
{
    if (c->unix_path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return client_err_sys(err, errno, "socket");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->unix_path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int e = errno;
            close(fd);
            /* The docker CLI's wording, which scripts grep for. */
            return berth_err_set(err, 0,
                                 "Cannot connect to the berth daemon at %s. Is the daemon "
                                 "running? (%s)",
                                 c->host, strerror(e));
        }
        return fd;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(c->tcp_host, c->tcp_port, &hints, &res);
    if (rc != 0)
        return berth_err_set(err, 0, "resolving %s: %s", c->tcp_host, gai_strerror(rc));
    int fd = -1, e = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return berth_err_set(err, 0,
                             "Cannot connect to the berth daemon at %s. Is the daemon running? "
                             "(%s)",
                             c->host, strerror(e));
    return fd;
}

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void client_req_init(client_req_t *req, const char *method, const char *path)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->path = path;
    req->body_fd = -1;
}

void client_resp_free(client_resp_t *resp)
{
    free(resp->content_type);
    free(resp->api_version);
    buf_free(&resp->body);
    memset(resp, 0, sizeof(*resp));
}

static void build_head(const client_t *c, const client_req_t *req, bool upgrade, berth_buf_t *out)
{
    if (req->unversioned)
        buf_printf(out, "%s %s HTTP/1.1\r\n", req->method, req->path);
    else
        buf_printf(out, "%s /v%s%s HTTP/1.1\r\n", req->method, c->api_version, req->path);
    buf_puts(out, "Host: api.moby.localhost\r\nUser-Agent: berth/" BERTH_VERSION "\r\n");
    if (upgrade)
        buf_puts(out, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
    if (req->content_type)
        buf_printf(out, "Content-Type: %s\r\n", req->content_type);
    if (req->body_fd >= 0)
        buf_puts(out, "Transfer-Encoding: chunked\r\n");
    else if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0)
        buf_printf(out, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
    for (const char *const *h = req->headers; h && *h; h++)
        buf_printf(out, "%s\r\n", *h);
    buf_puts(out, "\r\n");
}

/* Send the request. The head and a small body go out in one write. A stream
 * body is copied from body_fd as chunks. */
static int send_request(const client_t *c, int fd, const client_req_t *req, bool upgrade,
                        berth_err_t *err)
{
    berth_buf_t out;
    buf_init(&out);
    build_head(c, req, upgrade, &out);
    if (req->body && req->body_fd < 0 && req->body_len < 65536) {
        buf_append(&out, req->body, req->body_len);
    }
    int rc = send_all(fd, out.data, out.len);
    if (rc == 0 && req->body && req->body_fd < 0 && req->body_len >= 65536)
        rc = send_all(fd, req->body, req->body_len);
    buf_free(&out);
    if (rc < 0)
        return client_err_sys(err, -rc, "sending request");
    if (req->body_fd < 0)
        return 0;
    char *chunk = xmalloc(65536 + 32);
    for (;;) {
        ssize_t n = read(req->body_fd, chunk + 16, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(chunk);
            return client_err_sys(err, e, "reading request body");
        }
        if (n == 0)
            break;
        /* Put the size line right before the data: one send per chunk. */
        char hdr[16];
        int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", (size_t)n);
        memcpy(chunk + 16 - hl, hdr, (size_t)hl);
        memcpy(chunk + 16 + n, "\r\n", 2);
        rc = send_all(fd, chunk + 16 - hl, (size_t)hl + (size_t)n + 2);
        if (rc < 0)
            break; /* the daemon may have answered early (an error): read it */
    }
    free(chunk);
    if (rc == 0)
        rc = send_all(fd, "0\r\n\r\n", 5);
    /* A send error after the daemon stopped reading is not fatal: its answer
     * says why. Report it only when no answer follows. */
    return rc < 0 ? 1 : 0;
}

/* ---- response parsing -------------------------------------------------------- */
typedef struct resp_parser {
    llhttp_t parser;
    llhttp_settings_t settings;
    client_resp_t *resp;
    const client_req_t *req;
    berth_buf_t hfield;
    berth_buf_t hvalue;
    bool in_value;
    bool head_method;
    bool hijack;
    bool until_headers; /* return once the headers are parsed */
    bool headers_done;
    bool complete;
    bool aborted;
} resp_parser_t;

static void header_commit(resp_parser_t *p)
{
    if (!p->hfield.data)
        return;
    const char *v = p->hvalue.data ? p->hvalue.data : "";
    if (strcasecmp(p->hfield.data, "Content-Type") == 0) {
        free(p->resp->content_type);
        p->resp->content_type = xstrdup(v);
    } else if (strcasecmp(p->hfield.data, "API-Version") == 0) {
        free(p->resp->api_version);
        p->resp->api_version = xstrdup(v);
    }
    buf_reset(&p->hfield);
    buf_reset(&p->hvalue);
}

static int on_header_field_cb(llhttp_t *l, const char *at, size_t len)
{
    resp_parser_t *p = l->data;
    if (p->in_value) {
        header_commit(p);
        p->in_value = false;
    }
    buf_append(&p->hfield, at, len);
    return 0;
}

static int on_header_value_cb(llhttp_t *l, const char *at, size_t len)
{
    resp_parser_t *p = l->data;
    p->in_value = true;
    buf_append(&p->hvalue, at, len);
    return 0;
}

static int on_headers_complete_cb(llhttp_t *l)
{
    resp_parser_t *p = l->data;
    header_commit(p);
    p->in_value = false;
    p->resp->status = l->status_code;
    p->headers_done = true;
    if (p->hijack && (l->status_code == 101 || l->status_code == 200))
        return 2; /* treat as upgrade: the rest of the bytes are the raw stream */
    if (p->head_method)
        return 1; /* no body */
    return 0;
}

static int on_body_cb(llhttp_t *l, const char *at, size_t len)
{
    resp_parser_t *p = l->data;
    if (p->req->on_data && p->resp->status < 400) {
        if (p->req->on_data(p->req->opaque, at, len) != 0) {
            p->aborted = true;
            return -1;
        }
        return 0;
    }
    buf_append(&p->resp->body, at, len);
    return 0;
}

static int on_message_complete_cb(llhttp_t *l)
{
    resp_parser_t *p = l->data;
    p->complete = true;
    return HPE_PAUSED;
}

static void resp_parser_init(resp_parser_t *p, const client_req_t *req, client_resp_t *resp,
                             bool hijack)
{
    memset(p, 0, sizeof(*p));
    llhttp_settings_init(&p->settings);
    p->settings.on_header_field = on_header_field_cb;
    p->settings.on_header_value = on_header_value_cb;
    p->settings.on_headers_complete = on_headers_complete_cb;
    p->settings.on_body = on_body_cb;
    p->settings.on_message_complete = on_message_complete_cb;
    llhttp_init(&p->parser, HTTP_RESPONSE, &p->settings);
    p->parser.data = p;
    p->resp = resp;
    p->req = req;
    p->head_method = strcmp(req->method, "HEAD") == 0;
    p->hijack = hijack;
    buf_init(&p->hfield);
    buf_init(&p->hvalue);
}

static void resp_parser_free(resp_parser_t *p)
{
    buf_free(&p->hfield);
    buf_free(&p->hvalue);
}

/* Read and parse until the message completes (or, for hijack, the headers).
 * Returns 0, or -1 with err set. *got_bytes tells whether anything arrived (a
 * stale kept-alive connection yields EOF with nothing). *upgrade_pos receives
 * the offset in *tail of bytes after an upgrade. */
static int read_response(int fd, resp_parser_t *p, bool *got_bytes, berth_buf_t *early,
                         berth_err_t *err)
{
    char *rbuf = xmalloc(65536);
    int ret = -1;
    *got_bytes = false;
    for (;;) {
        ssize_t n = recv(fd, rbuf, 65536, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            client_err_sys(err, errno, "reading response");
            goto out;
        }
        if (n == 0) {
            if (!*got_bytes && !p->headers_done) {
                berth_err_set(err, 0, "connection closed by the daemon before a response");
                goto out;
            }
            llhttp_errno_t e = llhttp_finish(&p->parser);
            if (p->complete || (e == HPE_OK && p->headers_done)) {
                ret = 0;
                goto out;
            }
            if (e == HPE_PAUSED && p->complete) {
                ret = 0;
                goto out;
            }
            berth_err_set(err, 0, "unexpected EOF from the daemon");
            goto out;
        }
        *got_bytes = true;
        llhttp_errno_t e = llhttp_execute(&p->parser, rbuf, (size_t)n);
        if (e == HPE_OK && p->until_headers && p->headers_done && p->resp->status < 400) {
            ret = 0;
            goto out;
        }
        if (e == HPE_OK)
            continue;
        /* A 101 ends the message right after its headers (llhttp may report
         * it as complete or as an upgrade): the rest is the raw stream. */
        if ((e == HPE_PAUSED_UPGRADE || e == HPE_PAUSED) && p->hijack && p->headers_done) {
            const char *pos = llhttp_get_error_pos(&p->parser);
            size_t off = pos ? (size_t)(pos - rbuf) : (size_t)n;
            if (early && off < (size_t)n)
                buf_append(early, rbuf + off, (size_t)n - off);
            ret = 0;
            goto out;
        }
        if (e == HPE_PAUSED && p->complete) {
            ret = 0;
            goto out;
        }
        if (p->aborted) {
            berth_err_set(err, 0, "aborted");
            goto out;
        }
        berth_err_set(err, 0, "bad response from the daemon: %s",
                      llhttp_get_error_reason(&p->parser) ?: llhttp_errno_name(e));
        goto out;
    }
out:
    free(rbuf);
    return ret;
}

static int client_do_once(client_t *c, const client_req_t *req, client_resp_t *resp,
                          berth_err_t *err);

/* The daemon refused our API version: it is older than we are. */
static bool version_too_new(const client_resp_t *resp)
{
    return resp->status == 400 && resp->body.len &&
           memmem(resp->body.data, resp->body.len, "is too new", 10) != NULL;
}

int client_do(client_t *c, const client_req_t *req, client_resp_t *resp, berth_err_t *err)
{
    bool lazy = !c->negotiated && !req->unversioned;
    if (lazy && req->body_fd >= 0) { /* cannot be sent twice */
        if (client_negotiate(c, err) < 0)
            return -1;
        lazy = false;
    }
    int rc = client_do_once(c, req, resp, err);
    if (rc == 0 && lazy && version_too_new(resp)) {
        client_resp_free(resp);
        if (client_negotiate(c, err) < 0)
            return -1;
        rc = client_do_once(c, req, resp, err);
    }
    if (rc == 0 && !req->unversioned && !version_too_new(resp))
        c->negotiated = true;
    return rc;
}

static int client_do_once(client_t *c, const client_req_t *req, client_resp_t *resp,
                          berth_err_t *err)
{
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body);
    /* A reused connection may have been closed by the daemon meanwhile: retry
     * once on a fresh one when nothing came back. Not for stream bodies: the
     * fd cannot be rewound. */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = c->fd >= 0;
        if (c->fd < 0) {
            c->fd = client_connect(c, err);
            if (c->fd < 0) {
                c->fd = -1;
                return -1;
            }
        }
        int src = send_request(c, c->fd, req, false, err);
        if (src < 0) {
            close(c->fd);
            c->fd = -1;
            if (reused && req->body_fd < 0) {
                berth_err_clear(err);
                continue;
            }
            return -1;
        }
        resp_parser_t p;
        resp_parser_init(&p, req, resp, false);
        bool got = false;
        int rc = read_response(c->fd, &p, &got, NULL, err);
        bool keep = rc == 0 && p.complete && llhttp_should_keep_alive(&p.parser);
        resp_parser_free(&p);
        if (!keep) {
            close(c->fd);
            c->fd = -1;
        }
        if (rc < 0 && !got && reused && req->body_fd < 0 && !p.aborted) {
            berth_err_clear(err);
            continue;
        }
        return rc;
    }
    return -1;
}

int client_hijack(client_t *c, const client_req_t *req, int *fd_out, berth_buf_t *early,
                  berth_err_t *err)
{
    *fd_out = -1;
    if (!c->negotiated && !req->unversioned && client_negotiate(c, err) < 0)
        return -1;
    cleanup_close int fd = client_connect(c, err);
    if (fd < 0)
        return -1;
    if (send_request(c, fd, req, true, err) < 0)
        return -1;
    client_resp_t resp;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body);
    client_req_t r = *req;
    r.on_data = NULL; /* error bodies are collected */
    resp_parser_t p;
    resp_parser_init(&p, &r, &resp, true);
    bool got = false;
    int rc = read_response(fd, &p, &got, early, err);
    resp_parser_free(&p);
    if (rc == 0 && resp.status != 101 && resp.status != 200) {
        cleanup_free char *msg = client_resp_error_message(&resp);
        berth_err_set(err, resp.status, "%s", msg);
        rc = -1;
    }
    client_resp_free(&resp);
    if (rc < 0)
        return -1;
    *fd_out = steal_fd(&fd);
    return 0;
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "error";
    }
}

char *client_resp_error_message(const client_resp_t *resp)
{
    const char *body = resp->body.data ? resp->body.data : "";
    cJSON *j = cJSON_ParseWithLength(body, resp->body.len);
    if (j) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        if (cJSON_IsString(m)) {
            char *out = xstrdup(m->valuestring);
            cJSON_Delete(j);
            return out;
        }
        cJSON_Delete(j);
    }
    size_t len = resp->body.len;
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
        len--;
    if (len > 0)
        return xstrndup(body, len);
    return xasprintf("%d %s", resp->status, status_text(resp->status));
}

int client_json(client_t *c, const char *method, const char *path, const cJSON *body_json,
                cJSON **out, int *status_out, berth_err_t *err)
{
    if (out)
        *out = NULL;
    if (status_out)
        *status_out = 0;
    client_req_t req;
    client_req_init(&req, method, path);
    cleanup_free char *body = NULL;
    if (body_json) {
        body = cJSON_PrintUnformatted(body_json);
        if (!body)
            abort();
        req.body = body;
        req.body_len = strlen(body);
        req.content_type = "application/json";
    }
    client_resp_t resp;
    if (client_do(c, &req, &resp, err) < 0) {
        client_resp_free(&resp);
        return -1;
    }
    if (status_out)
        *status_out = resp.status;
    if (resp.status >= 400) {
        cleanup_free char *msg = client_resp_error_message(&resp);
        berth_err_set(err, resp.status, "%s", msg);
        client_resp_free(&resp);
        return -1;
    }
    if (out && resp.body.len > 0) {
        *out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
        if (!*out) {
            client_resp_free(&resp);
            return berth_err_set(err, 0, "%s %s: invalid JSON in response", method, path);
        }
    }
    client_resp_free(&resp);
    return 0;
}

struct client_stream {
    int fd;
    resp_parser_t parser;
    client_req_t req;
    client_resp_t *resp;
};

int client_stream_open(client_t *c, const client_req_t *req, client_stream_t **out,
                       client_resp_t *resp, berth_err_t *err)
{
    *out = NULL;
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body);
    if (!c->negotiated && !req->unversioned && client_negotiate(c, err) < 0)
        return -1;
    int fd = client_connect(c, err);
    if (fd < 0)
        return -1;
    if (send_request(c, fd, req, false, err) < 0) {
        close(fd);
        return -1;
    }
    client_stream_t *s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->req = *req;
    s->req.on_data = NULL;
    s->resp = resp;
    resp_parser_init(&s->parser, &s->req, resp, false);
    s->parser.until_headers = true;
    bool got = false;
    if (read_response(fd, &s->parser, &got, NULL, err) < 0) {
        client_stream_close(s);
        return -1;
    }
    s->parser.until_headers = false;
    *out = s;
    return 0;
}

int client_stream_finish(client_stream_t *s, berth_err_t *err)
{
    if (s->parser.complete)
        return 0;
    bool got = false;
    return read_response(s->fd, &s->parser, &got, NULL, err);
}

void client_stream_close(client_stream_t *s)
{
    if (!s)
        return;
    close(s->fd);
    resp_parser_free(&s->parser);
    free(s);
}

int client_stream_fd(const client_stream_t *s)
{
    return s->fd;
}

static bool parse_api_version(const char *s, int *major, int *minor)
{
    char *end;
    long ma = strtol(s, &end, 10);
    if (end == s || *end != '.')
        return false;
    const char *m = end + 1;
    long mi = strtol(m, &end, 10);
    if (end == m || *end)
        return false;
    *major = (int)ma;
    *minor = (int)mi;
    return true;
}

int client_negotiate(client_t *c, berth_err_t *err)
{
    client_req_t req;
    client_req_init(&req, "HEAD", "/_ping");
    req.unversioned = true;
    client_resp_t resp;
    if (client_do(c, &req, &resp, err) < 0) {
        client_resp_free(&resp);
        return -1;
    }
    int dmaj, dmin, omaj, omin;
    if (resp.status < 400 && resp.api_version &&
        parse_api_version(resp.api_version, &dmaj, &dmin) &&
        parse_api_version(c->api_version, &omaj, &omin) &&
        (dmaj < omaj || (dmaj == omaj && dmin < omin)))
        snprintf(c->api_version, sizeof(c->api_version), "%d.%d", dmaj, dmin);
    client_resp_free(&resp);
    c->negotiated = true;
    return 0;
}
