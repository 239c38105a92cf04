/* Route table and the two http hooks: api_route_cb decides at header time
 * (version range, which handler, streamed body or not), api_dispatch_cb
 * answers the errors found then or calls the handler. */
#include <errno.h>
#include <string.h>

#include "api/internal.h"
#include "berth/runtime.h"

#define API_MAX_SEGMENTS 32

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_GREEDY };

typedef struct api_seg {
    enum seg_kind kind;
    char *text; /* literal text, or the parameter name */
} api_seg_t;

typedef struct api_route_entry {
    char *method;
    char *pattern;
    api_seg_t segs[API_MAX_SEGMENTS];
    size_t n_segs;
    bool greedy;
    bool literal; /* no parameters: matched by comparing the path string */
    api_handler_fn fn;
    unsigned flags;
} api_route_entry_t;

struct api_router {
    api_route_entry_t *routes;
    size_t n_routes;
};

static size_t split_in_place(char *copy, char **segs, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return max + 1; /* too deep: matches nothing */
        segs[n++] = tok;
    }
    return n;
}

size_t api_split_path(const char *path, char **storage, char **segs, size_t max)
{
    char *copy = xstrdup(path);
    *storage = copy;
    return split_in_place(copy, segs, max);
}

api_router_t *api_router_new(void)
{
    return xcalloc(1, sizeof(api_router_t));
}

void api_router_free(api_router_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_routes; i++) {
        api_route_entry_t *e = &r->routes[i];
        free(e->method);
        free(e->pattern);
        for (size_t j = 0; j < e->n_segs; j++)
            free(e->segs[j].text);
    }
    free(r->routes);
    free(r);
}

void api_route(api_router_t *r, const char *method, const char *pattern, api_handler_fn fn,
               unsigned flags)
{
    r->routes = xrealloc(r->routes, (r->n_routes + 1) * sizeof(*r->routes));
    api_route_entry_t *e = &r->routes[r->n_routes];
    memset(e, 0, sizeof(*e));
    e->method = xstrdup(method);
    e->pattern = xstrdup(pattern);
    e->fn = fn;
    e->flags = flags;
    char *storage = NULL;
    char *segs[API_MAX_SEGMENTS];
    size_t n = api_split_path(pattern, &storage, segs, API_MAX_SEGMENTS);
    if (n > API_MAX_SEGMENTS) {
        /* A programming error in a route table, caught at startup. */
        log_error("api: route pattern too deep: %s", pattern);
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        if (len >= 2 && segs[i][0] == '{' && segs[i][len - 1] == '}') {
            bool greedy = len >= 3 && segs[i][len - 2] == '*';
            e->segs[i].kind = greedy ? SEG_GREEDY : SEG_PARAM;
            e->segs[i].text = xstrndup(segs[i] + 1, len - 2 - (greedy ? 1 : 0));
            e->greedy |= greedy;
        } else {
            e->segs[i].kind = SEG_LITERAL;
            e->segs[i].text = xstrdup(segs[i]);
        }
    }
    e->n_segs = n;
    e->literal = true;
    for (size_t i = 0; i < n; i++)
        e->literal &= e->segs[i].kind == SEG_LITERAL;
    free(storage);
    r->n_routes++;
}

/* Match pattern segments [pi..] against path segments [si..]; on success the
 * parameter spans are recorded in spans (start, count) per parameter. */
static bool match_from(const api_route_entry_t *e, size_t pi, char **segs, size_t n, size_t si,
                       size_t spans[][2], size_t np)
{
    if (pi == e->n_segs)
        return si == n;
    const api_seg_t *s = &e->segs[pi];
    if (s->kind == SEG_LITERAL)
        return si < n && strcmp(s->text, segs[si]) == 0 &&
               match_from(e, pi + 1, segs, n, si + 1, spans, np);
    if (s->kind == SEG_PARAM) {
        if (si >= n)
            return false;
        spans[np][0] = si;
        spans[np][1] = 1;
        return match_from(e, pi + 1, segs, n, si + 1, spans, np + 1);
    }
    /* Greedy: as many segments as possible, at least one. */
    for (size_t take = n - si; take >= 1 && si + take <= n; take--) {
        spans[np][0] = si;
        spans[np][1] = take;
        if (match_from(e, pi + 1, segs, n, si + take, spans, np + 1))
            return true;
    }
    return false;
}

static bool method_fits(const api_route_entry_t *e, const char *method, bool head_as_get)
{
    if (strcmp(e->method, method) == 0)
        return true;
    return head_as_get && strcmp(method, "HEAD") == 0 && strcmp(e->method, "GET") == 0;
}

static const api_route_entry_t *find(const api_router_t *r, const char *method, char **segs,
                                     size_t n, bool head_as_get, size_t spans[][2],
                                     bool *path_matched)
{
    /* Exact patterns first, greedy ones after, so /images/json never
     * becomes an image called "json". */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->n_routes; i++) {
            const api_route_entry_t *e = &r->routes[i];
            if (e->greedy != (pass == 1))
                continue;
            if (!match_from(e, 0, segs, n, 0, spans, 0))
                continue;
            if (method_fits(e, method, head_as_get))
                return e;
            *path_matched = true;
        }
    }
    return NULL;
}

static void set_params(const api_route_entry_t *e, http_req_t *req, char **segs, size_t spans[][2])
{
    for (size_t i = 0; i < req->n_params; i++)
        free(req->params[i]);
    req->n_params = 0;
    size_t np = 0;
    for (size_t i = 0; i < e->n_segs; i++)
        if (e->segs[i].kind != SEG_LITERAL)
            np++;
    for (size_t p = 0; p < np && p < ARRAY_SIZE(req->params); p++) {
        berth_buf_t b;
        buf_init(&b);
        for (size_t k = 0; k < spans[p][1]; k++) {
            if (k)
                buf_puts(&b, "/");
            buf_puts(&b, segs[spans[p][0] + k]);
        }
        req->params[req->n_params++] = b.data ? buf_steal(&b) : xstrdup("");
    }
}

api_handler_fn api_router_match(const api_router_t *r, http_req_t *req, unsigned *flags,
                                bool *method_mismatch)
{
    char *storage = NULL;
    char *segs[API_MAX_SEGMENTS];
    size_t spans[API_MAX_SEGMENTS][2];
    *method_mismatch = false;
    const char *path = req->path ? req->path : "/";
    /* Fast path: a parameterless route whose pattern is exactly the path
     * (/_ping, /images/json ...) needs no splitting. Literal routes win over
     * parameter routes anyway (find's comment), so the answer is the same. */
    for (size_t i = 0; i < r->n_routes; i++) {
        const api_route_entry_t *e = &r->routes[i];
        if (e->literal && e->pattern[1] == path[1] && strcmp(e->pattern, path) == 0 &&
            strcmp(e->method, req->method_name) == 0) {
            for (size_t k = 0; k < req->n_params; k++)
                free(req->params[k]);
            req->n_params = 0;
            if (flags)
                *flags = e->flags;
            return e->fn;
        }
    }
    size_t n;
    char stack_copy[256];
    if (strlen(path) < sizeof(stack_copy)) {
        /* The usual short path is split in place, without an allocation. */
        strcpy(stack_copy, path);
        n = split_in_place(stack_copy, segs, API_MAX_SEGMENTS);
    } else {
        n = api_split_path(path, &storage, segs, API_MAX_SEGMENTS);
    }
    api_handler_fn fn = NULL;
    if (n <= API_MAX_SEGMENTS) {
        bool path_matched = false;
        const api_route_entry_t *e =
            find(r, req->method_name, segs, n, false, spans, &path_matched);
        if (!e && strcmp(req->method_name, "HEAD") == 0)
            e = find(r, req->method_name, segs, n, true, spans, &path_matched);
        if (e) {
            set_params(e, req, segs, spans);
            fn = e->fn;
            if (flags)
                *flags = e->flags;
        } else {
            *method_mismatch = path_matched;
        }
    }
    free(storage);
    return fn;
}

/* ---- the http hooks ---- */

void api_route_cb(http_req_t *req)
{
    berthd_t *d = req->server_data;
    req->route_status = 0;
    req->route_fn = NULL;
    if (req->api_major != 0 || req->api_minor != 0) {
        int v = http_req_api_version(req);
        if (v > API_VERSION_MAX || v < API_VERSION_MIN) {
            req->route_status = 400;
            return;
        }
    }
    unsigned flags = 0;
    bool mismatch = false;
    api_handler_fn fn = api_router_match(d->router, req, &flags, &mismatch);
    if (!fn) {
        req->route_status = mismatch ? 405 : 404;
        return;
    }
    req->route_fn = (void (*)(void))fn;
    req->route_flags = flags;
    if (flags & API_ROUTE_STREAM_BODY)
        req->stream_body = true;
}

void api_dispatch_cb(http_req_t *req)
{
    berthd_t *d = req->server_data;
    log_debug("%s %s", req->method_name, req->target);
    switch (req->route_status) {
    case 0:
        break;
    case 400:
        if (http_req_api_version(req) > API_VERSION_MAX)
            http_reply_error(req, 400,
                             "client version %d.%d is too new. Maximum supported API version "
                             "is " BERTH_API_VERSION,
                             req->api_major, req->api_minor);
        else
            http_reply_error(req, 400,
                             "client version %d.%d is too old. Minimum supported API version "
                             "is " BERTH_API_MIN_VERSION
                             ", please upgrade your client to a newer version",
                             req->api_major, req->api_minor);
        return;
    case 405:
        http_reply_error(req, 405, "method not allowed");
        return;
    default:
        http_reply_error(req, 404, "page not found");
        return;
    }
    api_handler_fn fn = (api_handler_fn)req->route_fn;
    if (!fn) {
        http_reply_error(req, 404, "page not found");
        return;
    }
    fn(d, req);
}

const char *api_common_headers(void)
{
    return API_COMMON_HEADERS;
}

api_router_t *api_build_router(void)
{
    api_router_t *r = api_router_new();
    api_system_routes(r);
    api_images_routes(r);
    api_containers_routes(r);
    api_exec_routes(r);
    api_registry_routes(r);
    return r;
}

/* ---- filters ---- */

cJSON *api_parse_filters(const char *raw, berth_err_t *err)
{
    cJSON *out = cJSON_CreateObject();
    if (raw == NULL || raw[0] == '\0')
        return out;
    cJSON *in = cJSON_Parse(raw);
    if (!in || !cJSON_IsObject(in)) {
        cJSON_Delete(in);
        cJSON_Delete(out);
        berth_err_set(err, BERTH_E_INVALID, "invalid filter '%s'", raw);
        return NULL;
    }
    cJSON *field;
    cJSON_ArrayForEach(field, in)
    {
        cJSON *values = cJSON_AddArrayToObject(out, field->string);
        cJSON *v;
        if (cJSON_IsObject(field)) {
            /* Map form {"k":{"v":true}}: the keys are the values (moby keeps
             * them whatever the boolean says). */
            cJSON_ArrayForEach(v, field)
            {
                cJSON_AddItemToArray(values, cJSON_CreateString(v->string));
            }
        } else if (cJSON_IsArray(field)) {
            cJSON_ArrayForEach(v, field)
            {
                if (!cJSON_IsString(v)) {
                    cJSON_Delete(in);
                    cJSON_Delete(out);
                    berth_err_set(err, BERTH_E_INVALID, "invalid filter '%s'", raw);
                    return NULL;
                }
                cJSON_AddItemToArray(values, cJSON_CreateString(v->valuestring));
            }
        } else {
            cJSON_Delete(in);
            cJSON_Delete(out);
            berth_err_set(err, BERTH_E_INVALID, "invalid filter '%s'", raw);
            return NULL;
        }
    }
    cJSON_Delete(in);
    return out;
}

void api_raw_write_output(http_req_t *req, bool tty, int stream, const char *buf, size_t len)
{
    if (!tty) {
        uint8_t h[RT_FRAME_HEADER_LEN];
        rt_frame_header(h, (enum rt_frame_type)stream, (uint32_t)len);
        if (http_raw_write(req, h, sizeof(h)) < 0)
            return;
    }
    http_raw_write(req, buf, len);
}
