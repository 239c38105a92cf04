/* The registry client: configuration (certs.d, insecure registries),
 * endpoint probing (https, then http for insecure registries), and the
 * auth handshake shared by every operation (Bearer token flow with a
 * per-scope token cache, Basic). */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* ---- client ---------------------------------------------------------------- */

int reg_client_new(const reg_client_opts_t *o, reg_client_t **out, berth_err_t *err)
{
    static const char *const default_dirs[] = {"/etc/docker/certs.d", "/etc/berth/certs.d", NULL};
    reg_client_t *c = xcalloc(1, sizeof(*c));
    c->loop = o->loop;
    c->images = o->images;
    int r = reg_http_new(o->loop, &c->http);
    if (r < 0) {
        free(c);
        return berth_err_sys(err, -r, "creating registry client");
    }
    const char *const *dirs = o->certs_dirs ? o->certs_dirs : default_dirs;
    for (; *dirs; dirs++) {
        c->certs_dirs = xrealloc(c->certs_dirs, (c->n_certs_dirs + 1) * sizeof(char *));
        c->certs_dirs[c->n_certs_dirs++] = xstrdup(*dirs);
    }
    for (size_t i = 0; i < o->n_insecure_registries; i++) {
        c->insecure = xrealloc(c->insecure, (c->n_insecure + 1) * sizeof(char *));
        c->insecure[c->n_insecure++] = xstrdup(o->insecure_registries[i]);
    }
    c->max_downloads = o->max_concurrent_downloads > 0 ? o->max_concurrent_downloads : 3;
    c->max_uploads = o->max_concurrent_uploads > 0 ? o->max_concurrent_uploads : 5;
    c->state_dir = o->state_dir ? xstrdup(o->state_dir) : NULL;
    *out = c;
    return 0;
}

static void client_free(reg_client_t *c)
{
    for (size_t i = 0; i < c->n_certs_dirs; i++)
        free(c->certs_dirs[i]);
    free(c->certs_dirs);
    for (size_t i = 0; i < c->n_insecure; i++)
        free(c->insecure[i]);
    free(c->insecure);
    while (c->tokens) {
        reg_token_t *t = c->tokens;
        c->tokens = t->next;
        free(t->key);
        free(t->token);
        free(t);
    }
    while (c->endpoints) {
        reg_endpoint_t *e = c->endpoints;
        c->endpoints = e->next;
        free(e->host);
        free(e->base);
        free(e);
    }
    free(c->state_dir);
    free(c);
}

static void http_closed_cb(void *data)
{
    reg_client_t *c = data;
    void (*cb)(void *) = c->close_cb;
    void *cb_data = c->close_data;
    client_free(c);
    if (cb)
        cb(cb_data);
}

void reg_client_close(reg_client_t *c, void (*done_cb)(void *data), void *data)
{
    c->closing = true;
    c->close_cb = done_cb;
    c->close_data = data;
    /* Each op's abort runs its done callback with a "cancelled" error and
     * unlinks it; transfers still live are then finished by the transport. */
    while (c->ops) {
        reg_op_t *op = c->ops;
        berth_err_t err;
        berth_err_clear(&err);
        berth_err_set(&err, BERTH_E_UNAVAILABLE, "operation cancelled: daemon shutting down");
        op->abort(op, &err);
    }
    reg_http_close(c->http, http_closed_cb, c);
}

void reg_op_link(reg_client_t *c, reg_op_t *op)
{
    op->client = c;
    op->next = c->ops;
    op->prev = NULL;
    if (c->ops)
        c->ops->prev = op;
    c->ops = op;
}

void reg_op_fail(reg_op_t *op, int status, const char *fmt, ...)
{
    berth_err_t err;
    berth_err_clear(&err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    err.status = status;
    op->abort(op, &err);
}

void reg_op_unlink(reg_op_t *op)
{
    reg_client_t *c = op->client;
    if (op->prev)
        op->prev->next = op->next;
    else if (c->ops == op)
        c->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
}

void reg_op_cancel(reg_op_t *op)
{
    if (op)
        op->abort(op, NULL);
}

/* ---- insecure registries and certs.d -------------------------------------- */

/* host without port: "[::1]:5000" -> "::1", "localhost:5000" -> "localhost" */
static char *host_only(const char *hostport)
{
    if (hostport[0] == '[') {
        const char *e = strchr(hostport, ']');
        return e ? xstrndup(hostport + 1, (size_t)(e - hostport - 1)) : xstrdup(hostport);
    }
    const char *colon = strchr(hostport, ':');
    if (colon && strchr(colon + 1, ':'))
        return xstrdup(hostport); /* bare IPv6 */
    return colon ? xstrndup(hostport, (size_t)(colon - hostport)) : xstrdup(hostport);
}

static bool ip_in_cidr(const char *ip, const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    if (!slash)
        return false;
    cleanup_free char *net = xstrndup(cidr, (size_t)(slash - cidr));
    int bits = atoi(slash + 1);
    unsigned char a[16], b[16];
    int len;
    if (inet_pton(AF_INET, ip, a) == 1 && inet_pton(AF_INET, net, b) == 1)
        len = 4;
    else if (inet_pton(AF_INET6, ip, a) == 1 && inet_pton(AF_INET6, net, b) == 1)
        len = 16;
    else
        return false;
    if (bits < 0 || bits > len * 8)
        return false;
    for (int i = 0; i < len && bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask))
            return false;
    }
    return true;
}

bool reg_host_insecure(const reg_client_t *c, const char *hostport)
{
    cleanup_free char *host = host_only(hostport);
    /* Docker's default: 127.0.0.0/8 is insecure; localhost resolves there. */
    if (!strcmp(host, "localhost") || ip_in_cidr(host, "127.0.0.0/8"))
        return true;
    for (size_t i = 0; i < c->n_insecure; i++) {
        const char *e = c->insecure[i];
        if (!strcmp(e, hostport) || !strcmp(e, host))
            return true;
        if (strchr(e, '/') && ip_in_cidr(host, e))
            return true;
    }
    return false;
}

static char *certs_file(const reg_client_t *c, const char *hostport, const char *name)
{
    for (size_t i = 0; i < c->n_certs_dirs; i++) {
        char *p = xasprintf("%s/%s/%s", c->certs_dirs[i], hostport, name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            return p;
        free(p);
    }
    return NULL;
}

/* ---- sessions ----------------------------------------------------------------- */

reg_sess_t *reg_sess_new(reg_client_t *c, const char *host, const char *repo, const char *actions,
                         const reg_auth_t *auth)
{
    reg_sess_t *s = xcalloc(1, sizeof(*s));
    s->client = c;
    s->host = xstrdup(host);
    s->repo = repo ? xstrdup(repo) : NULL;
    s->actions = xstrdup(actions ? actions : "pull");
    if (auth) {
        s->auth.username = auth->username ? xstrdup(auth->username) : NULL;
        s->auth.password = auth->password ? xstrdup(auth->password) : NULL;
        s->auth.identity_token = auth->identity_token ? xstrdup(auth->identity_token) : NULL;
        s->auth.registry_token = auth->registry_token ? xstrdup(auth->registry_token) : NULL;
    }
    s->insecure = reg_host_insecure(c, host);
    s->ca_file = certs_file(c, host, "ca.crt");
    s->client_cert = certs_file(c, host, "client.cert");
    s->client_key = certs_file(c, host, "client.key");
    return s;
}

void reg_sess_free(reg_sess_t *s)
{
    if (!s)
        return;
    reg_xfer_cancel(s->xfer);
    free(s->host);
    free(s->repo);
    free(s->actions);
    free(s->extra_scope);
    free(s->base);
    free(s->authz);
    free(s->probe_url);
    free(s->ca_file);
    free(s->client_cert);
    free(s->client_key);
    reg_challenge_free(&s->challenge);
    reg_auth_free(&s->auth);
    free(s);
}

int reg_sess_start(reg_sess_t *s, reg_xfer_opts_t *o, const char *path, reg_xfer_t **out)
{
    const char *hdrs[16];
    size_t n = 0;
    cleanup_free char *url = NULL;
    if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
        url = xstrdup(path);
    else
        url = xasprintf("%s%s", s->base, path);
    if (s->authz && n < ARRAY_SIZE(hdrs) - 1)
        hdrs[n++] = s->authz;
    for (const char *const *h = o->headers; h && *h && n < ARRAY_SIZE(hdrs) - 1; h++)
        hdrs[n++] = *h;
    hdrs[n] = NULL;
    reg_xfer_opts_t opts = *o;
    opts.url = url;
    opts.headers = hdrs;
    opts.tls_insecure = s->insecure;
    opts.extra_ca_file = s->ca_file;
    opts.client_cert = s->client_cert;
    opts.client_key = s->client_key;
    return reg_xfer_start(s->client->http, &opts, out);
}

/* Registry error bodies: {"errors":[{"code":"..","message":"..","detail":..}]}
 * -> "manifest unknown: manifest unknown"-style text (code lower-cased). */
char *reg_error_text(const reg_xfer_t *x)
{
    cJSON *root = cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    berth_buf_t b;
    buf_init(&b);
    const cJSON *e;
    cJSON_ArrayForEach(e, errs)
    {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (b.len)
            buf_puts(&b, "; ");
        if (cJSON_IsString(code)) {
            for (const char *p = code->valuestring; *p; p++) {
                char ch = *p == '_' ? ' ' : (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
                buf_append(&b, &ch, 1);
            }
            if (cJSON_IsString(msg))
                buf_puts(&b, ": ");
        }
        if (cJSON_IsString(msg))
            buf_puts(&b, msg->valuestring);
    }
    /* Token servers answer {"details": "..."} or {"error": ".."}. */
    if (!b.len) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "details");
        if (!cJSON_IsString(d))
            d = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (!cJSON_IsString(d))
            d = cJSON_GetObjectItemCaseSensitive(root, "message");
        if (cJSON_IsString(d))
            buf_puts(&b, d->valuestring);
    }
    cJSON_Delete(root);
    if (!b.len)
        buf_printf(&b, "%ld %s", x->status, reg_status_text(x->status));
    return buf_steal(&b);
}

const char *reg_status_text(long status)
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
    case 416:
        return "Requested Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

static void sess_finish(reg_sess_t *s, const berth_err_t *err)
{
    /* Only login answers 401: the docker CLI treats a 401 from pull or push
     * as "ask the user for credentials" and would prompt (or hang on a
     * closed stdin); dockerd answers those with a 500 and the reason. */
    berth_err_t copy;
    if (err && !s->verify && err->status == BERTH_E_UNAUTHORIZED) {
        copy = *err;
        copy.status = BERTH_E_INTERNAL;
        err = &copy;
    }
    reg_sess_ready_cb cb = s->ready_cb;
    s->ready_cb = NULL;
    if (cb)
        cb(s, err, s->ready_data);
}

static void sess_fail(reg_sess_t *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sess_fail(reg_sess_t *s, int status, const char *fmt, ...)
{
    berth_err_t err;
    berth_err_clear(&err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    err.status = status;
    sess_finish(s, &err);
}

static char *basic_header(const reg_auth_t *a)
{
    cleanup_free char *plain =
        xasprintf("%s:%s", a->username ? a->username : "", a->password ? a->password : "");
    cleanup_free char *b64 = reg_base64_encode(plain, strlen(plain));
    return xasprintf("Authorization: Basic %s", b64);
}

static const char *sess_secret(const reg_sess_t *s)
{
    return s->auth.identity_token ? s->auth.identity_token : s->auth.password;
}

static char *token_key(const reg_sess_t *s, const char *scope)
{
    return xasprintf("%s|%s|%s|%s", s->challenge.realm,
                     s->challenge.service ? s->challenge.service : "", scope ? scope : "",
                     s->auth.username ? s->auth.username : "");
}

static const char *token_cache_get(reg_client_t *c, const char *key)
{
    uint64_t now = uv_now(c->loop);
    for (reg_token_t *t = c->tokens; t; t = t->next)
        if (!strcmp(t->key, key) && t->expires_ms > now)
            return t->token;
    return NULL;
}

static void token_cache_put(reg_client_t *c, const char *key, const char *token, int64_t ttl_s)
{
    uint64_t now = uv_now(c->loop);
    /* Refresh a little before the server's expiry; default lifetime 60 s. */
    if (ttl_s <= 0)
        ttl_s = 60;
    uint64_t expires = now + (uint64_t)(ttl_s > 20 ? ttl_s - 10 : ttl_s) * 1000;
    reg_token_t **pp = &c->tokens;
    size_t count = 0;
    while (*pp) {
        reg_token_t *t = *pp;
        if (!strcmp(t->key, key) || t->expires_ms <= now || count > 64) {
            *pp = t->next;
            free(t->key);
            free(t->token);
            free(t);
            continue;
        }
        count++;
        pp = &t->next;
    }
    reg_token_t *t = xcalloc(1, sizeof(*t));
    t->key = xstrdup(key);
    t->token = xstrdup(token);
    t->expires_ms = expires;
    t->next = c->tokens;
    c->tokens = t;
}

static char *sess_scope(const reg_sess_t *s)
{
    if (!s->repo)
        return NULL;
    if (s->extra_scope)
        return xasprintf("repository:%s:%s %s", s->repo, s->actions, s->extra_scope);
    return xasprintf("repository:%s:%s", s->repo, s->actions);
}

static void token_done_cb(reg_xfer_t *x, int result)
{
    reg_sess_t *s = x->data;
    s->xfer = NULL;
    if (result < 0) {
        sess_fail(s, BERTH_E_INTERNAL, "Get \"%s\": %s", s->challenge.realm, reg_xfer_error(x));
        return;
    }
    if (x->status == 401 || x->status == 403) {
        cleanup_free char *msg = reg_error_text(x);
        if (!reg_auth_empty(&s->auth))
            sess_fail(s, BERTH_E_UNAUTHORIZED, "Get \"%s\": unauthorized: %s", s->probe_url, msg);
        else
            sess_fail(s, BERTH_E_UNAUTHORIZED, "Get \"%s\": unauthorized: authentication required",
                      s->probe_url);
        return;
    }
    if (x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        sess_fail(s, BERTH_E_INTERNAL, "token request to %s failed: %s", s->challenge.realm, msg);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(root, "token");
    if (!cJSON_IsString(tok) || !tok->valuestring[0])
        tok = cJSON_GetObjectItemCaseSensitive(root, "access_token");
    if (!cJSON_IsString(tok) || !tok->valuestring[0]) {
        cJSON_Delete(root);
        sess_fail(s, BERTH_E_INTERNAL, "token request to %s: no token in the response",
                  s->challenge.realm);
        return;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    cleanup_free char *scope = sess_scope(s);
    cleanup_free char *key = token_key(s, scope);
    token_cache_put(s->client, key, tok->valuestring,
                    cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0);
    free(s->authz);
    s->authz = xasprintf("Authorization: Bearer %s", tok->valuestring);
    cJSON_Delete(root);
    sess_finish(s, NULL);
}

static void sess_fetch_token(reg_sess_t *s)
{
    if (s->auth.registry_token) {
        free(s->authz);
        s->authz = xasprintf("Authorization: Bearer %s", s->auth.registry_token);
        sess_finish(s, NULL);
        return;
    }
    cleanup_free char *scope = sess_scope(s);
    cleanup_free char *key = token_key(s, scope);
    /* login must really ask the token server */
    const char *cached = s->verify ? NULL : token_cache_get(s->client, key);
    if (cached) {
        free(s->authz);
        s->authz = xasprintf("Authorization: Bearer %s", cached);
        sess_finish(s, NULL);
        return;
    }
    berth_buf_t url;
    buf_init(&url);
    buf_puts(&url, s->challenge.realm);
    char sep = strchr(s->challenge.realm, '?') ? '&' : '?';
    if (s->challenge.service) {
        cleanup_free char *v = reg_url_escape(s->challenge.service);
        buf_printf(&url, "%cservice=%s", sep, v);
        sep = '&';
    }
    if (scope) {
        /* One scope parameter per space-separated scope. */
        cleanup_free char *copy = xstrdup(scope);
        for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok;
             tok = strtok_r(NULL, " ", &save)) {
            cleanup_free char *v = reg_url_escape(tok);
            buf_printf(&url, "%cscope=%s", sep, v);
            sep = '&';
        }
    }
    if (s->auth.username) {
        cleanup_free char *v = reg_url_escape(s->auth.username);
        buf_printf(&url, "%caccount=%s", sep, v);
    }
    cleanup_free char *authz = NULL;
    const char *hdrs[2] = {NULL, NULL};
    if (s->auth.username || sess_secret(s)) {
        reg_auth_t a = {.username = s->auth.username, .password = (char *)sess_secret(s)};
        authz = basic_header(&a);
        hdrs[0] = authz;
    }
    reg_xfer_opts_t o = {
        .url = url.data,
        .headers = hdrs,
        .on_done = token_done_cb,
        .data = s,
        .follow_redirects = true,
        /* The token server is trusted like the registry it serves. */
        .tls_insecure = s->insecure,
        .extra_ca_file = s->ca_file,
        .max_body = 1024 * 1024,
    };
    int r = reg_xfer_start(s->client->http, &o, &s->xfer);
    buf_free(&url);
    if (r < 0)
        sess_fail(s, BERTH_E_INTERNAL, "token request: %s", strerror(-r));
}

static void sess_probe(reg_sess_t *s);

static void probe_done_cb(reg_xfer_t *x, int result)
{
    reg_sess_t *s = x->data;
    s->xfer = NULL;
    if (result < 0) {
        /* Insecure registries: HTTPS first, then plain HTTP, like Docker. */
        if (s->insecure && !strncmp(s->base, "https://", 8) && !s->basic_verify) {
            free(s->base);
            s->base = xasprintf("http://%s", s->host);
            sess_probe(s);
            return;
        }
        sess_fail(s, BERTH_E_INTERNAL, "Get \"%s\": %s", s->probe_url, reg_xfer_error(x));
        return;
    }
    reg_endpoint_remember(s->client, s->host, s->base);
    if (s->basic_verify) {
        if (x->status == 200) {
            sess_finish(s, NULL);
            return;
        }
        sess_fail(s, BERTH_E_UNAUTHORIZED, "login attempt to %s failed with status: %ld %s",
                  s->probe_url, x->status, reg_status_text(x->status));
        return;
    }
    if (x->status == 200) {
        /* Open registry: nothing to do (credentials, if any, are unused). */
        sess_finish(s, NULL);
        return;
    }
    if (x->status != 401) {
        cleanup_free char *msg = reg_error_text(x);
        sess_fail(s, BERTH_E_INTERNAL, "Get \"%s\": unexpected status %ld: %s", s->probe_url,
                  x->status, msg);
        return;
    }
    reg_challenge_free(&s->challenge);
    if (reg_challenge_parse(reg_xfer_header(x, "www-authenticate"), &s->challenge) < 0) {
        sess_fail(s, BERTH_E_UNAUTHORIZED,
                  "Get \"%s\": unauthorized: missing or malformed WWW-Authenticate", s->probe_url);
        return;
    }
    if (!strcmp(s->challenge.scheme, "basic")) {
        if (!s->auth.username || !sess_secret(s)) {
            sess_fail(s, BERTH_E_UNAUTHORIZED, "Get \"%s\": no basic auth credentials",
                      s->probe_url);
            return;
        }
        free(s->authz);
        s->authz = basic_header(
            &(reg_auth_t){.username = s->auth.username, .password = (char *)sess_secret(s)});
        if (s->verify) {
            s->basic_verify = true;
            sess_probe(s);
            return;
        }
        sess_finish(s, NULL);
        return;
    }
    if (!strcmp(s->challenge.scheme, "bearer") && s->challenge.realm) {
        sess_fetch_token(s);
        return;
    }
    sess_fail(s, BERTH_E_UNAUTHORIZED, "Get \"%s\": unsupported authentication scheme %s",
              s->probe_url, s->challenge.scheme);
}

static void sess_probe(reg_sess_t *s)
{
    free(s->probe_url);
    s->probe_url = xasprintf("%s/v2/", s->base);
    reg_xfer_opts_t o = {
        .on_done = probe_done_cb,
        .data = s,
        .max_body = 64 * 1024,
        .connect_timeout_ms = 10000,
        .total_timeout_ms = 30000,
    };
    /* The first probe goes without credentials so we learn the scheme. */
    cleanup_free char *saved = s->basic_verify ? NULL : steal_pointer(&s->authz);
    int r = reg_sess_start(s, &o, "/v2/", &s->xfer);
    if (r < 0)
        sess_fail(s, BERTH_E_INTERNAL, "Get \"%s\": %s", s->probe_url, strerror(-r));
}

bool reg_sess_reauth(reg_sess_t *s, const reg_xfer_t *x, reg_sess_ready_cb cb, void *data)
{
    if (s->ready_cb || s->auth.registry_token)
        return false;
    reg_challenge_t c;
    if (reg_challenge_parse(reg_xfer_header(x, "www-authenticate"), &c) < 0)
        return false;
    if (strcmp(c.scheme, "bearer") != 0 || !c.realm) {
        reg_challenge_free(&c);
        return false;
    }
    reg_challenge_free(&s->challenge);
    s->challenge = c;
    s->ready_cb = cb;
    s->ready_data = data;
    bool verify = s->verify;
    s->verify = true; /* skip the cache: that token was just refused */
    sess_fetch_token(s);
    s->verify = verify;
    return true;
}

void reg_sess_open(reg_sess_t *s, bool verify, reg_sess_ready_cb cb, void *data)
{
    s->ready_cb = cb;
    s->ready_data = data;
    s->verify = verify;
    s->basic_verify = false;
    free(s->base);
    const char *known = reg_endpoint_lookup(s->client, s->host);
    s->base = known ? xstrdup(known) : xasprintf("https://%s", s->host);
    berth_err_t err = {0};
    if (reg_http_ensure(s->client->http, &err) < 0) {
        sess_finish(s, &err);
        return;
    }
    sess_probe(s);
}

const char *reg_endpoint_lookup(reg_client_t *c, const char *host)
{
    for (reg_endpoint_t *e = c->endpoints; e; e = e->next)
        if (!strcmp(e->host, host))
            return e->base;
    return NULL;
}

void reg_endpoint_remember(reg_client_t *c, const char *host, const char *base)
{
    for (reg_endpoint_t *e = c->endpoints; e; e = e->next) {
        if (!strcmp(e->host, host)) {
            if (strcmp(e->base, base) != 0) {
                free(e->base);
                e->base = xstrdup(base);
            }
            return;
        }
    }
    reg_endpoint_t *e = xcalloc(1, sizeof(*e));
    e->host = xstrdup(host);
    e->base = xstrdup(base);
    e->next = c->endpoints;
    c->endpoints = e;
}
