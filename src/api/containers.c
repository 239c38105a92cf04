/* API routes for containers: create, list, inspect, start/stop/kill/restart,
 * pause, rename, resize, wait, attach (hijack), logs (follow), top, stats,
 * delete, prune. Thin: the container manager (berth/containers.h) does the
 * work; this file parses queries and shapes responses. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "api/internal.h"
#include "berth/api.h"
#include "berth/containers.h"
#include "berth/runtime.h"
#include "berth/daemon.h"
#include "berth/image.h"
#include "berth/logs.h"

#define LOGS_HIGH_WATER (1024 * 1024)
#define LOGS_STEP_BYTES (256 * 1024)

static rt_ctr_t *find_ctr(berthd_t *d, http_req_t *req)
{
    if (!d->containers) {
        http_reply_error(req, 503, "the container runtime is not available");
        return NULL;
    }
    berth_err_t err = {0};
    rt_ctr_t *c = rt_manager_lookup(d->containers, req->params[0], &err);
    if (!c)
        http_reply_berth_err(req, &err);
    return c;
}

static void reply_err_or_304(http_req_t *req, const berth_err_t *err)
{
    if (err->status == 304)
        http_reply_status(req, 304);
    else
        http_reply_berth_err(req, err);
}

/* A request waiting for an asynchronous completion; the request may go away
 * first (on_abort), the completion always comes and frees the reference. */
typedef struct req_ref {
    http_req_t *req;
    int ok_status;
} req_ref_t;

static void ref_abort(http_req_t *req)
{
    req_ref_t *r = req->handler_data;
    r->req = NULL;
}

static req_ref_t *ref_new(http_req_t *req, int ok_status)
{
    req_ref_t *r = xcalloc(1, sizeof(*r));
    r->req = req;
    r->ok_status = ok_status;
    req->handler_data = r;
    req->on_abort = ref_abort;
    return r;
}

static void ref_done_cb(rt_ctr_t *c, const berth_err_t *err, void *data)
{
    (void)c;
    req_ref_t *r = data;
    if (r->req) {
        r->req->on_abort = NULL;
        if (err)
            http_reply_berth_err(r->req, err);
        else
            http_reply_status(r->req, r->ok_status);
    }
    free(r);
}

/* ---- POST /containers/create ---- */
static void h_create(berthd_t *d, http_req_t *req)
{
    if (!d->containers) {
        http_reply_error(req, 503, "the container runtime is not available");
        return;
    }
    cJSON *body = req->body.len ? cJSON_ParseWithLength(req->body.data, req->body.len) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        http_reply_error(req, 400, "invalid JSON in the request body");
        return;
    }
    cJSON *warnings = cJSON_CreateArray();
    berth_err_t err = {0};
    rt_ctr_t *c =
        rt_manager_create(d->containers, http_req_query(req, "name"), body, warnings, &err);
    cJSON_Delete(body);
    if (!c) {
        cJSON_Delete(warnings);
        http_reply_berth_err(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", rt_ctr_id(c));
    cJSON_AddItemToObject(o, "Warnings", warnings);
    http_reply_json(req, 201, o);
}

/* ---- GET /containers/json ---- */
static bool any_match(const cJSON *vals, bool (*fn)(const rt_ctr_t *, const char *, void *),
                      const rt_ctr_t *c, void *ctx)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, vals)
    {
        if (cJSON_IsString(v) && fn(c, v->valuestring, ctx))
            return true;
    }
    return false;
}

static bool m_status(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    return !strcmp(rt_ctr_status_name(rt_ctr_status(c)), v);
}

static bool m_label(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(rt_ctr_config(c), "Labels");
    const char *eq = strchr(v, '=');
    cleanup_free char *key = eq ? xstrndup(v, (size_t)(eq - v)) : xstrdup(v);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, key);
    if (!cJSON_IsString(l))
        return false;
    return !eq || !strcmp(l->valuestring, eq + 1);
}

static bool m_name(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    /* Docker matches names as a regexp against "/name". */
    regex_t re;
    if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0)
        return strstr(rt_ctr_name(c), v) != NULL;
    cleanup_free char *slash = xasprintf("/%s", rt_ctr_name(c));
    bool hit = regexec(&re, slash, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

static bool m_id(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    return !strncmp(rt_ctr_id(c), v, strlen(v));
}

static bool m_ancestor(const rt_ctr_t *c, const char *v, void *ctx)
{
    berthd_t *d = ctx;
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(rt_ctr_config(c), "Image");
    if (cJSON_IsString(img) && !strcmp(img->valuestring, v))
        return true;
    if (!d->images)
        return false;
    berth_err_t err = {0};
    img_image_t *im = img_store_lookup(d->images, v, &err);
    return im && !strcmp(im->id, rt_ctr_image_id(c));
}

static bool m_exited(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    return rt_ctr_status(c) == RT_CTR_EXITED && atoi(v) == rt_ctr_exit_code(c);
}

/* "80", "80/udp", "8000-8080/tcp" against a port key like "8080/tcp". */
static bool port_key_match(const char *key, const char *v)
{
    unsigned lo = 0, hi = 0, port = 0;
    char proto[16] = "tcp", kproto[16] = "tcp";
    const char *slash = strchr(v, '/');
    if (slash)
        snprintf(proto, sizeof(proto), "%s", slash + 1);
    int n = sscanf(v, "%u-%u", &lo, &hi);
    if (n < 1)
        return false;
    if (n == 1)
        hi = lo;
    if (sscanf(key, "%u/%15s", &port, kproto) < 1)
        return false;
    return port >= lo && port <= hi && !strcmp(proto, kproto);
}

static bool any_port_key(const cJSON *obj, const char *v)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, obj)
    {
        if (k->string && port_key_match(k->string, v))
            return true;
    }
    return false;
}

static bool m_expose(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    return any_port_key(cJSON_GetObjectItemCaseSensitive(rt_ctr_config(c), "ExposedPorts"), v);
}

static bool m_publish(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    return any_port_key(cJSON_GetObjectItemCaseSensitive(rt_ctr_host_config(c), "PortBindings"), v);
}

static bool m_network(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    cJSON *sum = rt_ctr_summary_json(c);
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(sum, "NetworkSettings"), "Networks");
    const cJSON *n;
    bool hit = false;
    cJSON_ArrayForEach(n, nets)
    {
        const char *nid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "NetworkID"));
        if (!strcmp(n->string, v) || (nid && *nid && !strncmp(nid, v, strlen(v))))
            hit = true;
    }
    cJSON_Delete(sum);
    return hit;
}

/* Docker: the volume name (or the source of a bind) or the destination. */
static bool m_volume(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    cJSON *sum = rt_ctr_summary_json(c);
    const cJSON *m;
    bool hit = false;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(sum, "Mounts"))
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Name"));
        const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Source"));
        const char *dst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Destination"));
        const char *key = name && *name ? name : src;
        if ((key && !strcmp(key, v)) || (dst && !strcmp(dst, v)))
            hit = true;
    }
    cJSON_Delete(sum);
    return hit;
}

/* No healthchecks and no swarm tasks yet: every container is health "none"
 * and not a task. */
static bool m_health(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)c;
    (void)ctx;
    return !strcmp(v, "none");
}

static bool m_is_task(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)c;
    (void)ctx;
    return !strcmp(v, "false") || !strcmp(v, "0");
}

static bool m_isolation(const rt_ctr_t *c, const char *v, void *ctx)
{
    (void)ctx;
    const char *iso =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rt_ctr_host_config(c), "Isolation"));
    if (!iso || !*iso)
        iso = "default";
    return !strcmp(v, iso);
}

/* Values Docker refuses with 400 rather than matching nothing. */
static const char *bad_filter_value(const char *key, const char *v)
{
    static const char *const states[] = {"created",  "running", "paused", "restarting",
                                         "removing", "exited",  "dead"};
    static const char *const health[] = {"starting", "healthy", "unhealthy", "none"};
    static const char *const bools[] = {"true", "false", "1", "0"};
    const char *const *set = NULL;
    size_t n = 0;
    if (!strcmp(key, "status")) {
        set = states;
        n = ARRAY_SIZE(states);
    } else if (!strcmp(key, "health")) {
        set = health;
        n = ARRAY_SIZE(health);
    } else if (!strcmp(key, "is-task")) {
        set = bools;
        n = ARRAY_SIZE(bools);
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(set[i], v))
            return NULL;
    return set ? v : NULL;
}

static void h_list(berthd_t *d, http_req_t *req)
{
    if (!d->containers) {
        http_reply_json(req, 200, cJSON_CreateArray());
        return;
    }
    bool all = http_req_query_bool(req, "all", false);
    int perr = 0;
    long long limit = http_req_query_int(req, "limit", -1, &perr);
    if (perr) {
        http_reply_error(req, 400, "invalid limit");
        return;
    }
    cJSON *filters = NULL;
    const char *raw = http_req_query(req, "filters");
    if (raw && *raw) {
        berth_err_t err = {0};
        filters = api_parse_filters(raw, &err);
        if (!filters) {
            http_reply_berth_err(req, &err);
            return;
        }
    }
    static const struct {
        const char *key;
        bool (*fn)(const rt_ctr_t *, const char *, void *);
    } kinds[] = {{"status", m_status},      {"label", m_label},
                 {"name", m_name},          {"id", m_id},
                 {"ancestor", m_ancestor},  {"exited", m_exited},
                 {"expose", m_expose},      {"publish", m_publish},
                 {"network", m_network},    {"volume", m_volume},
                 {"health", m_health},      {"is-task", m_is_task},
                 {"isolation", m_isolation}};
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
            known |= !strcmp(f->string, kinds[i].key);
        if (!known && strcmp(f->string, "before") && strcmp(f->string, "since")) {
            http_reply_error(req, 400, "invalid filter '%s'", f->string);
            cJSON_Delete(filters);
            return;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, f)
        {
            const char *bad =
                cJSON_IsString(v) ? bad_filter_value(f->string, v->valuestring) : NULL;
            if (bad) {
                http_reply_error(req, 400, "invalid filter '%s=%s'", f->string, bad);
                cJSON_Delete(filters);
                return;
            }
        }
    }
    /* before/since: created before/after that container (the list comes
     * newest first, so by position). */
    const rt_ctr_t *bounds[2] = {NULL, NULL};
    static const char *const bound_keys[2] = {"before", "since"};
    for (int b = 0; b < 2; b++) {
        const cJSON *vals = cJSON_GetObjectItemCaseSensitive(filters, bound_keys[b]);
        const cJSON *v;
        cJSON_ArrayForEach(v, vals)
        {
            if (!cJSON_IsString(v))
                continue;
            berth_err_t err = {0};
            bounds[b] = rt_manager_lookup(d->containers, v->valuestring, &err);
            if (!bounds[b]) {
                http_reply_berth_err(req, &err);
                cJSON_Delete(filters);
                return;
            }
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(filters, "status") ||
        cJSON_GetObjectItemCaseSensitive(filters, "exited") || limit > 0)
        all = true;
    size_t n = 0;
    rt_ctr_t **list = rt_manager_list(d->containers, &n);
    cJSON *out = cJSON_CreateArray();
    long long count = 0;
    bool past_before = bounds[0] == NULL; /* the list is newest first */
    for (size_t i = 0; i < n; i++) {
        rt_ctr_t *c = list[i];
        if (c == bounds[1])
            break; /* since: only newer ones, which came before it */
        if (c == bounds[0]) {
            past_before = true;
            continue;
        }
        if (!past_before)
            continue;
        if (!all && !rt_ctr_is_running(c))
            continue;
        bool ok = true;
        for (size_t k = 0; ok && k < ARRAY_SIZE(kinds); k++) {
            const cJSON *vals = cJSON_GetObjectItemCaseSensitive(filters, kinds[k].key);
            if (!vals)
                continue;
            if (!strcmp(kinds[k].key, "label")) {
                /* Every label filter must match. */
                const cJSON *v;
                cJSON_ArrayForEach(v, vals)
                {
                    if (cJSON_IsString(v) && !m_label(c, v->valuestring, d))
                        ok = false;
                }
            } else {
                ok = any_match(vals, kinds[k].fn, c, d);
            }
        }
        if (!ok)
            continue;
        if (limit > 0 && count >= limit)
            break;
        cJSON_AddItemToArray(out, rt_ctr_summary_json(c));
        count++;
    }
    free(list);
    cJSON_Delete(filters);
    http_reply_json(req, 200, out);
}

/* ---- GET /containers/{id}/json ---- */
static void h_inspect(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (c)
        http_reply_json(req, 200, rt_ctr_inspect_json(c, http_req_query_bool(req, "size", false)));
}

/* ---- start / stop / restart / kill / pause / rename / resize ---- */
static void h_start(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    berth_err_t err = {0};
    req_ref_t *r = ref_new(req, 204);
    if (rt_ctr_start(c, ref_done_cb, r, &err) < 0) {
        req->on_abort = NULL;
        free(r);
        reply_err_or_304(req, &err);
    }
}

/* t= (seconds, may be negative = wait forever in Docker; here the default). */
static int stop_timeout(http_req_t *req, bool *bad)
{
    int perr = 0;
    long long t = http_req_query_int(req, "t", -1, &perr);
    if (perr)
        *bad = true;
    return t < 0 ? -1 : (int)t;
}

static void h_stop(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    bool bad = false;
    int t = stop_timeout(req, &bad);
    int sig = 0;
    const char *s = http_req_query(req, "signal");
    if (s && *s && (sig = rt_signal_parse(s)) < 0)
        bad = true;
    if (bad) {
        http_reply_error(req, 400, "invalid stop parameters");
        return;
    }
    berth_err_t err = {0};
    req_ref_t *r = ref_new(req, 204);
    if (rt_ctr_stop(c, sig, t, ref_done_cb, r, &err) < 0) {
        req->on_abort = NULL;
        free(r);
        reply_err_or_304(req, &err);
    }
}

static void h_restart(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    bool bad = false;
    int t = stop_timeout(req, &bad);
    if (bad) {
        http_reply_error(req, 400, "invalid t");
        return;
    }
    berth_err_t err = {0};
    req_ref_t *r = ref_new(req, 204);
    if (rt_ctr_restart(c, t, ref_done_cb, r, &err) < 0) {
        req->on_abort = NULL;
        free(r);
        http_reply_berth_err(req, &err);
    }
}

static void h_kill(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    const char *s = http_req_query(req, "signal");
    int sig = SIGKILL;
    if (s && *s && (sig = rt_signal_parse(s)) < 0) {
        http_reply_error(req, 400, "Invalid signal: %s", s);
        return;
    }
    berth_err_t err = {0};
    if (rt_ctr_kill(c, sig, &err) < 0)
        http_reply_berth_err(req, &err);
    else
        http_reply_status(req, 204);
}

static void pause_common(berthd_t *d, http_req_t *req, bool pause)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    berth_err_t err = {0};
    if (rt_ctr_pause(c, pause, &err) < 0)
        http_reply_berth_err(req, &err);
    else
        http_reply_status(req, 204);
}

static void h_pause(berthd_t *d, http_req_t *req)
{
    pause_common(d, req, true);
}

static void h_unpause(berthd_t *d, http_req_t *req)
{
    pause_common(d, req, false);
}

static void h_rename(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    berth_err_t err = {0};
    if (rt_ctr_rename(c, http_req_query(req, "name"), &err) < 0)
        http_reply_berth_err(req, &err);
    else
        http_reply_status(req, 204);
}

static void h_resize(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    int e1 = 0, e2 = 0;
    long long h = http_req_query_int(req, "h", 0, &e1);
    long long w = http_req_query_int(req, "w", 0, &e2);
    if (e1 || e2 || h < 0 || w < 0 || h > 65535 || w > 65535) {
        http_reply_error(req, 400, "invalid resize parameters");
        return;
    }
    berth_err_t err = {0};
    if (rt_ctr_resize(c, (unsigned)h, (unsigned)w, &err) < 0)
        http_reply_berth_err(req, &err);
    else
        http_reply_status(req, 200);
}

/* ---- POST /containers/{id}/wait ---- */
typedef struct wait_ctx {
    http_req_t *req;
    rt_ctr_waiter_t *w;
    bool registering; /* inside rt_ctr_wait: the answer may come at once */
    bool answered;
} wait_ctx_t;

static void wait_abort(http_req_t *req)
{
    wait_ctx_t *wc = req->handler_data;
    rt_ctr_wait_cancel(wc->w);
    free(wc);
}

static void wait_done(int exit_code, const char *error, void *data)
{
    wait_ctx_t *wc = data;
    http_req_t *req = wc->req;
    if (req) {
        req->on_abort = NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "StatusCode", exit_code);
        if (error && *error) {
            cJSON *e = cJSON_AddObjectToObject(o, "Error");
            cJSON_AddStringToObject(e, "Message", error);
        } else {
            cJSON_AddNullToObject(o, "Error");
        }
        http_stream_write_json(req, o);
        http_stream_end(req);
    }
    wc->answered = true;
    if (!wc->registering)
        free(wc);
}

static void h_wait(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    const char *cond = http_req_query(req, "condition");
    enum rt_wait_cond wc_cond = RT_WAIT_NOT_RUNNING;
    if (!cond || !*cond || !strcmp(cond, "not-running"))
        wc_cond = RT_WAIT_NOT_RUNNING;
    else if (!strcmp(cond, "next-exit"))
        wc_cond = RT_WAIT_NEXT_EXIT;
    else if (!strcmp(cond, "removed"))
        wc_cond = RT_WAIT_REMOVED;
    else {
        http_reply_error(req, 400, "invalid condition: \"%s\"", cond);
        return;
    }
    /* The CLI starts the container only once these headers arrive. */
    if (http_stream_begin(req, 200, "application/json", NULL) < 0)
        return;
    wait_ctx_t *wc = xcalloc(1, sizeof(*wc));
    wc->req = req;
    req->handler_data = wc;
    req->on_abort = wait_abort;
    wc->registering = true;
    rt_ctr_waiter_t *w = rt_ctr_wait(c, wc_cond, wait_done, wc);
    if (wc->answered) {
        free(wc);
        return;
    }
    wc->registering = false;
    wc->w = w;
}

/* ---- DELETE /containers/{id} ---- */
static void h_delete(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    if (http_req_query_bool(req, "link", false)) {
        http_reply_error(req, 400, "links are not supported");
        return;
    }
    berth_err_t err = {0};
    req_ref_t *r = ref_new(req, 204);
    if (rt_ctr_remove(c, http_req_query_bool(req, "force", false),
                      http_req_query_bool(req, "v", false), ref_done_cb, r, &err) < 0) {
        req->on_abort = NULL;
        free(r);
        http_reply_berth_err(req, &err);
    }
}

/* ---- POST /containers/prune ---- */
/* A Go duration ("90s", "1h30m", "1.5h"), as Docker's until filters take. */
static bool parse_go_duration(const char *v, int64_t *out_ns)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    double total = 0;
    const char *p = v;
    if (!*p)
        return false;
    while (*p) {
        char *end;
        double n = strtod(p, &end);
        if (end == p || n < 0)
            return false;
        p = end;
        size_t best = 0;
        double mult = 0;
        for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
            size_t l = strlen(units[i].unit);
            if (l > best && !strncmp(p, units[i].unit, l)) {
                best = l;
                mult = units[i].ns;
            }
        }
        if (!best)
            return false;
        total += n * mult;
        p += best;
    }
    *out_ns = (int64_t)total;
    return true;
}

static void h_prune(berthd_t *d, http_req_t *req)
{
    cJSON *filters = NULL;
    const char *raw = http_req_query(req, "filters");
    if (raw && *raw) {
        berth_err_t err = {0};
        filters = api_parse_filters(raw, &err);
        if (!filters) {
            http_reply_berth_err(req, &err);
            return;
        }
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        if (strcmp(f->string, "until") && strcmp(f->string, "label") &&
            strcmp(f->string, "label!")) {
            http_reply_error(req, 400, "invalid filter '%s'", f->string);
            cJSON_Delete(filters);
            return;
        }
    }
    /* until: a timestamp, or a duration back from now */
    int64_t until_ns = 0;
    const char *until = cJSON_GetStringValue(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(filters, "until"), 0));
    if (until) {
        int64_t dur = 0;
        if (parse_go_duration(until, &dur)) {
            until_ns = berth_now_ns() - dur;
        } else if (logs_parse_time(until, &until_ns) < 0 || !until_ns) {
            http_reply_error(req, 400, "invalid until filter: %s", until);
            cJSON_Delete(filters);
            return;
        }
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *deleted = cJSON_AddArrayToObject(out, "ContainersDeleted");
    if (d->containers) {
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(filters, "label");
        const cJSON *not_labels = cJSON_GetObjectItemCaseSensitive(filters, "label!");
        size_t n = 0;
        rt_ctr_t **list = rt_manager_list(d->containers, &n);
        for (size_t i = 0; i < n; i++) {
            rt_ctr_t *c = list[i];
            if (rt_ctr_is_running(c) || rt_ctr_status(c) == RT_CTR_REMOVING)
                continue;
            bool ok = true;
            const cJSON *v;
            cJSON_ArrayForEach(v, labels)
            {
                if (cJSON_IsString(v) && !m_label(c, v->valuestring, d))
                    ok = false;
            }
            /* label!=k / label!=k=v: keep the containers that carry it */
            cJSON_ArrayForEach(v, not_labels)
            {
                if (cJSON_IsString(v) && m_label(c, v->valuestring, d))
                    ok = false;
            }
            if (until_ns) {
                cJSON *ins = rt_ctr_inspect_json(c, false);
                int64_t created = 0;
                berth_parse_time_ns(cJSON_GetStringValue(cJSON_GetObjectItem(ins, "Created")),
                                    &created);
                cJSON_Delete(ins);
                ok = ok && created < until_ns;
            }
            if (!ok)
                continue;
            char id[65];
            snprintf(id, sizeof(id), "%s", rt_ctr_id(c));
            berth_err_t err = {0};
            if (rt_ctr_remove(c, false, false, NULL, NULL, &err) == 0)
                cJSON_AddItemToArray(deleted, cJSON_CreateString(id));
        }
        free(list);
    }
    cJSON_AddNumberToObject(out, "SpaceReclaimed", 0);
    cJSON_Delete(filters);
    http_reply_json(req, 200, out);
}

/* ---- logs ---- */
typedef struct logs_ctx {
    berthd_t *d;
    http_req_t *req;
    char id[65];
    logs_reader_t *reader;
    logs_watch_t *watch;
    rt_ctr_waiter_t *waiter;
    berth_buf_t out;
    bool follow;
    bool ended; /* container stopped: read what is left, then end */
} logs_ctx_t;

static void logs_ctx_free(logs_ctx_t *lc)
{
    logs_watch_stop(lc->watch);
    rt_ctr_wait_cancel(lc->waiter);
    logs_reader_close(lc->reader);
    buf_free(&lc->out);
    free(lc);
}

static void logs_abort(http_req_t *req)
{
    logs_ctx_free(req->handler_data);
}

static void logs_finish(logs_ctx_t *lc)
{
    http_req_t *req = lc->req;
    req->on_abort = NULL;
    req->on_drain = NULL;
    http_stream_end(req);
    logs_ctx_free(lc);
}

/* Read and send until the file's end (or backpressure); finish when done. */
static void logs_pump(logs_ctx_t *lc)
{
    for (;;) {
        if (http_stream_pending(lc->req) > LOGS_HIGH_WATER)
            return; /* on_drain resumes */
        buf_reset(&lc->out);
        int rc = logs_reader_read(lc->reader, &lc->out, LOGS_STEP_BYTES);
        if (lc->out.len && http_stream_write(lc->req, lc->out.data, lc->out.len) < 0)
            return; /* on_abort follows */
        if (rc == 1)
            continue;
        if (rc < 0 || rc == 2 || !lc->follow || lc->ended) {
            logs_finish(lc);
            return;
        }
        return; /* at the end: wait for the watch */
    }
}

static void logs_drain(http_req_t *req)
{
    logs_pump(req->handler_data);
}

static void logs_changed_cb(void *data)
{
    logs_pump(data);
}

static void logs_stopped_cb(int exit_code, const char *error, void *data)
{
    (void)exit_code;
    (void)error;
    logs_ctx_t *lc = data;
    lc->waiter = NULL;
    lc->ended = true;
    logs_pump(lc);
}

static bool parse_logs_opts(http_req_t *req, logs_opts_t *o, bool tty)
{
    memset(o, 0, sizeof(*o));
    o->want_stdout = http_req_query_bool(req, "stdout", false);
    o->want_stderr = http_req_query_bool(req, "stderr", false);
    o->timestamps = http_req_query_bool(req, "timestamps", false);
    o->raw = tty;
    if (!o->want_stdout && !o->want_stderr) {
        http_reply_error(req, 400, "Bad parameters: you must choose at least one stream");
        return false;
    }
    if (logs_parse_tail(http_req_query(req, "tail"), &o->tail) < 0) {
        o->tail = -1; /* Docker treats a bad tail as "all" */
    }
    if (logs_parse_time(http_req_query(req, "since"), &o->since_ns) < 0 ||
        logs_parse_time(http_req_query(req, "until"), &o->until_ns) < 0) {
        http_reply_error(req, 400, "invalid since/until value");
        return false;
    }
    return true;
}

static const char *stream_content_type(http_req_t *req, bool tty)
{
    return !tty && http_req_api_version(req) >= 142 ? "application/vnd.docker.multiplexed-stream"
                                                    : "application/vnd.docker.raw-stream";
}

static void h_logs(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    const char *path = rt_ctr_log_path(c);
    if (!path) {
        http_reply_error(req, 501, "configured logging driver does not support reading");
        return;
    }
    logs_opts_t o;
    if (!parse_logs_opts(req, &o, rt_ctr_tty(c)))
        return;
    logs_ctx_t *lc = xcalloc(1, sizeof(*lc));
    lc->d = d;
    lc->req = req;
    snprintf(lc->id, sizeof(lc->id), "%s", rt_ctr_id(c));
    buf_init(&lc->out);
    int rc = logs_reader_open(path, &o, &lc->reader);
    if (rc < 0) {
        logs_ctx_free(lc);
        http_reply_error(req, 500, "opening the log: %s", strerror(-rc));
        return;
    }
    if (http_stream_begin(req, 200, stream_content_type(req, rt_ctr_tty(c)), NULL) < 0) {
        logs_ctx_free(lc);
        return;
    }
    req->handler_data = lc;
    req->on_abort = logs_abort;
    req->on_drain = logs_drain;
    lc->follow = http_req_query_bool(req, "follow", false) && !o.until_ns;
    if (lc->follow) {
        /* Not running: send what is there and end (checked first because
         * rt_ctr_wait would answer at once). */
        if (!rt_ctr_is_running(c)) {
            lc->ended = true;
        } else {
            lc->waiter = rt_ctr_wait(c, RT_WAIT_NOT_RUNNING, logs_stopped_cb, lc);
            lc->watch = logs_watch_start(d->loop, path, logs_changed_cb, lc);
        }
    }
    logs_pump(lc);
}

/* ---- attach ---- */
typedef struct attach_ctx {
    http_req_t *req;
    rt_ctr_t *c; /* valid while sink != NULL */
    rt_ctr_sink_t *sink;
    bool tty; /* raw output: a tty, or a websocket */
    bool want_stdin;
    bool escape; /* tty with stdin: watch for the detach keys */
    api_detach_t dk;
} attach_ctx_t;

static void attach_output(void *data, int stream, const char *buf, size_t len)
{
    attach_ctx_t *ac = data;
    api_raw_write_output(ac->req, ac->tty, stream, buf, len);
}

static void attach_closed(void *data, int exit_code)
{
    (void)exit_code;
    attach_ctx_t *ac = data;
    ac->sink = NULL;
    ac->c = NULL;
    http_req_t *req = ac->req;
    req->on_abort = NULL;
    req->on_raw_data = NULL;
    req->on_raw_eof = NULL;
    free(ac);
    http_raw_close(req);
}

static void attach_abort(http_req_t *req)
{
    attach_ctx_t *ac = req->handler_data;
    rt_ctr_detach(ac->sink);
    free(ac);
}

/* End this attachment only; the container keeps running. */
static void attach_end(http_req_t *req)
{
    attach_ctx_t *ac = req->handler_data;
    rt_ctr_detach(ac->sink);
    free(ac);
    req->on_abort = NULL;
    req->on_raw_data = NULL;
    req->on_raw_eof = NULL;
    http_raw_close(req);
}

static void attach_stdin(http_req_t *req, const char *data, size_t len)
{
    attach_ctx_t *ac = req->handler_data;
    if (!ac->c || !ac->want_stdin || !len)
        return;
    if (!ac->escape) {
        rt_ctr_write_stdin(ac->c, data, len);
        return;
    }
    berth_buf_t in;
    buf_init(&in);
    bool detach = api_detach_filter(&ac->dk, data, len, &in);
    if (in.len)
        rt_ctr_write_stdin(ac->c, in.data, in.len);
    buf_free(&in);
    if (detach)
        attach_end(req);
}

/* The client half-closed: its stdin ended; output keeps flowing. */
static void attach_eof(http_req_t *req)
{
    attach_ctx_t *ac = req->handler_data;
    if (ac->c && ac->want_stdin)
        rt_ctr_write_stdin(ac->c, NULL, 0);
}

/* The websocket client sent its close frame: stdin ended (for StdinOnce) and
 * the client is going away, so answer the close and stop streaming. */
static void attach_ws_eof(http_req_t *req)
{
    attach_eof(req);
    attach_end(req);
}

/* POST /containers/{id}/attach (hijacked, multiplexed unless tty) and
 * GET /containers/{id}/attach/ws (websocket: every client data frame is stdin,
 * output goes out as binary frames, never multiplexed since the frames keep
 * the pieces apart, like Docker's MuxStreams=false). */
static void attach_common(berthd_t *d, http_req_t *req, bool ws)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    bool tty = rt_ctr_tty(c);
    bool raw = tty || ws;
    bool want_out = http_req_query_bool(req, "stdout", false);
    bool want_err = http_req_query_bool(req, "stderr", false);
    bool want_in = http_req_query_bool(req, "stdin", false);
    if (ws && http_req_api_version(req) < 142)
        want_out = want_err = want_in = true; /* older APIs ignored the three for ws */
    want_in = want_in && rt_ctr_open_stdin(c);
    bool logs = http_req_query_bool(req, "logs", false);
    bool stream = http_req_query_bool(req, "stream", false);
    api_detach_t dk;
    const char *keys = http_req_query(req, "detachKeys");
    if (api_detach_init(&dk, keys) < 0) {
        http_reply_error(req, 400, "Invalid detach keys (%s) provided", keys);
        return;
    }
    if (ws) {
        if (http_ws_upgrade(req) < 0) {
            http_reply_error(req, 400, "not a websocket upgrade request");
            return;
        }
    } else if (http_hijack(req, stream_content_type(req, tty)) < 0) {
        return;
    }
    if (logs && rt_ctr_log_path(c) && (want_out || want_err)) {
        logs_opts_t o = {.want_stdout = want_out, .want_stderr = want_err, .tail = -1, .raw = raw};
        logs_reader_t *r = NULL;
        if (logs_reader_open(rt_ctr_log_path(c), &o, &r) == 0) {
            berth_buf_t out;
            buf_init(&out);
            while (logs_reader_read(r, &out, 1 << 20) == 1)
                ;
            if (out.len)
                http_raw_write(req, out.data, out.len);
            buf_free(&out);
            logs_reader_close(r);
        }
    }
    /* A stopped container keeps the stream open for its next run (start -a
     * attaches before starting). */
    if (!stream) {
        http_raw_close(req);
        return;
    }
    attach_ctx_t *ac = xcalloc(1, sizeof(*ac));
    ac->req = req;
    ac->c = c;
    ac->tty = raw;
    ac->want_stdin = want_in;
    ac->escape = tty && want_in; /* like Docker: detach keys only with a tty */
    ac->dk = dk;
    rt_ctr_sink_cbs_t cbs = {.output_cb = attach_output, .close_cb = attach_closed};
    ac->sink = rt_ctr_attach(c, want_out, want_err, &cbs, ac);
    req->handler_data = ac;
    req->on_abort = attach_abort;
    req->on_raw_data = attach_stdin;
    req->on_raw_eof = ws ? attach_ws_eof : attach_eof;
}

static void h_attach(berthd_t *d, http_req_t *req)
{
    attach_common(d, req, false);
}

static void h_attach_ws(berthd_t *d, http_req_t *req)
{
    attach_common(d, req, true);
}

/* ---- top ---- */
static void h_top(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    if (!rt_ctr_is_running(c)) {
        http_reply_error(req, 409, "Container %s is not running", rt_ctr_id(c));
        return;
    }
    pid_t *pids = NULL;
    size_t n = 0;
    berth_err_t err = {0};
    if (rt_cgroup_pids(rt_ctr_cgroup_parent(c), rt_ctr_id(c), &pids, &n, &err) < 0) {
        http_reply_berth_err(req, &err);
        return;
    }
    const char *ps_args = http_req_query(req, "ps_args");
    if (ps_args && *ps_args && strcmp(ps_args, "-ef") != 0) {
        api_top_ps(d, req, pids, n, ps_args);
        free(pids);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *titles = cJSON_AddArrayToObject(o, "Titles");
    static const char *const cols[] = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
        cJSON_AddItemToArray(titles, cJSON_CreateString(cols[i]));
    cJSON *procs = cJSON_AddArrayToObject(o, "Processes");
    long hz = sysconf(_SC_CLK_TCK);
    /* C, STIME as ps -ef computes them: boot time from /proc/stat, now from
     * /proc/uptime, the process's start in clock ticks since boot. */
    long long btime = 0;
    double uptime = 0;
    cleanup_free char *pstat = NULL, *pup = NULL;
    if (fs_read_file("/proc/stat", 1 << 20, &pstat, NULL) == 0) {
        const char *b = strstr(pstat, "\nbtime ");
        if (b)
            btime = atoll(b + 7);
    }
    if (fs_read_file("/proc/uptime", 4096, &pup, NULL) == 0)
        uptime = atof(pup);
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *stat_path = xasprintf("/proc/%d/stat", (int)pids[i]);
        cleanup_free char *cmd_path = xasprintf("/proc/%d/cmdline", (int)pids[i]);
        cleanup_free char *statline = NULL, *cmd = NULL;
        size_t cmd_len = 0;
        if (fs_read_file(stat_path, 1 << 16, &statline, NULL) < 0)
            continue;
        fs_read_file(cmd_path, 1 << 16, &cmd, &cmd_len);
        /* comm may contain spaces: fields start after the last ')'. */
        char *rp = strrchr(statline, ')');
        char state;
        int ppid = 0, tty_nr = 0;
        unsigned long utime = 0, stime = 0;
        unsigned long long start = 0;
        if (!rp || sscanf(rp + 2,
                          "%c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                          "%*d %llu",
                          &state, &ppid, &tty_nr, &utime, &stime, &start) < 5)
            continue;
        char cbuf[16] = "0", stbuf[16] = "", ttybuf[16] = "?";
        if (hz > 0 && btime) {
            double elapsed = uptime - (double)start / (double)hz;
            if (elapsed > 0)
                snprintf(cbuf, sizeof(cbuf), "%d",
                         (int)((double)(utime + stime) / (double)hz * 100 / elapsed));
            time_t st = (time_t)(btime + (long long)(start / (unsigned long long)hz));
            struct tm tm;
            localtime_r(&st, &tm);
            strftime(stbuf, sizeof(stbuf), now - st < 24 * 3600 ? "%H:%M" : "%b%d", &tm);
        }
        unsigned tty_major = ((unsigned)tty_nr >> 8) & 0xfff;
        unsigned tty_minor = ((unsigned)tty_nr & 0xff) | (((unsigned)tty_nr >> 12) & 0xfff00);
        if (tty_major >= 136 && tty_major <= 143)
            snprintf(ttybuf, sizeof(ttybuf), "pts/%u", (tty_major - 136) * 256 + tty_minor);
        for (size_t k = 0; cmd && k + 1 < cmd_len; k++)
            if (cmd[k] == '\0')
                cmd[k] = ' ';
        struct stat sb;
        cleanup_free char *pdir = xasprintf("/proc/%d", (int)pids[i]);
        uid_t uid = stat(pdir, &sb) == 0 ? sb.st_uid : 0;
        struct passwd *pw = getpwuid(uid);
        char uidbuf[32], pidbuf[16], ppidbuf[16], tbuf[32];
        snprintf(uidbuf, sizeof(uidbuf), "%s", pw ? pw->pw_name : "");
        if (!pw)
            snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)uid);
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pids[i]);
        snprintf(ppidbuf, sizeof(ppidbuf), "%d", ppid);
        unsigned long secs = hz > 0 ? (utime + stime) / (unsigned long)hz : 0;
        snprintf(tbuf, sizeof(tbuf), "%02lu:%02lu:%02lu", secs / 3600, secs / 60 % 60, secs % 60);
        const char *vals[] = {uidbuf, pidbuf, ppidbuf, cbuf,
                              stbuf,  ttybuf, tbuf,    cmd && *cmd ? cmd : ""};
        cJSON *row = cJSON_CreateArray();
        for (size_t k = 0; k < ARRAY_SIZE(vals); k++)
            cJSON_AddItemToArray(row, cJSON_CreateString(vals[k]));
        cJSON_AddItemToArray(procs, row);
    }
    free(pids);
    http_reply_json(req, 200, o);
}

/* ---- stats ---- */
typedef struct stats_ctx {
    berthd_t *d;
    http_req_t *req;
    char id[65];
    uv_timer_t timer;
    rt_stats_t prev;
    int64_t prev_ns; /* when prev was read */
    bool have_prev;
    bool single; /* stream=false: one answer from two samples a second apart */
} stats_ctx_t;

static cJSON *cpu_json(const rt_stats_t *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *u = cJSON_AddObjectToObject(o, "cpu_usage");
    cJSON_AddNumberToObject(u, "total_usage", (double)s->cpu_usage_ns);
    cJSON_AddNumberToObject(u, "usage_in_kernelmode", (double)s->cpu_system_ns);
    cJSON_AddNumberToObject(u, "usage_in_usermode", (double)s->cpu_user_ns);
    cJSON_AddNumberToObject(o, "system_cpu_usage", (double)s->system_cpu_usage_ns);
    cJSON_AddNumberToObject(o, "online_cpus", s->online_cpus);
    cJSON *t = cJSON_AddObjectToObject(o, "throttling_data");
    cJSON_AddNumberToObject(t, "periods", 0);
    cJSON_AddNumberToObject(t, "throttled_periods", 0);
    cJSON_AddNumberToObject(t, "throttled_time", 0);
    return o;
}

static cJSON *stats_json(rt_ctr_t *c, const rt_stats_t *s, const rt_stats_t *prev, int64_t prev_ns)
{
    cJSON *o = cJSON_CreateObject();
    char now[64], pre[64] = "0001-01-01T00:00:00Z";
    berth_format_time_ns(berth_now_ns(), now, sizeof(now));
    if (prev && prev_ns)
        berth_format_time_ns(prev_ns, pre, sizeof(pre));
    cJSON_AddStringToObject(o, "read", now);
    cJSON_AddStringToObject(o, "preread", pre);
    cJSON *p = cJSON_AddObjectToObject(o, "pids_stats");
    cJSON_AddNumberToObject(p, "current", (double)s->pids_current);
    if (s->pids_limit)
        cJSON_AddNumberToObject(p, "limit", (double)s->pids_limit);
    cJSON *b = cJSON_AddObjectToObject(o, "blkio_stats");
    cJSON_AddNullToObject(b, "io_service_bytes_recursive");
    cJSON_AddItemToObject(o, "cpu_stats", cpu_json(s));
    rt_stats_t zero = {0};
    cJSON_AddItemToObject(o, "precpu_stats", cpu_json(prev ? prev : &zero));
    cJSON *m = cJSON_AddObjectToObject(o, "memory_stats");
    cJSON_AddNumberToObject(m, "usage", (double)s->memory_usage);
    cJSON_AddNumberToObject(m, "limit", (double)s->memory_limit);
    cJSON *ms = cJSON_AddObjectToObject(m, "stats");
    cJSON_AddNumberToObject(ms, "cache", (double)s->memory_cache);
    cJSON_AddNumberToObject(ms, "inactive_file", 0);
    cleanup_free char *name = xasprintf("/%s", rt_ctr_name(c));
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "id", rt_ctr_id(c));
    cJSON_AddObjectToObject(o, "networks");
    return o;
}

static void stats_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void stats_abort(http_req_t *req)
{
    stats_ctx_t *sc = req->handler_data;
    uv_timer_stop(&sc->timer);
    uv_close((uv_handle_t *)&sc->timer, stats_timer_closed);
}

static void stats_tick(uv_timer_t *t)
{
    stats_ctx_t *sc = t->data;
    berth_err_t err = {0};
    rt_ctr_t *c = sc->d->containers ? rt_manager_lookup(sc->d->containers, sc->id, &err) : NULL;
    rt_stats_t s = {0};
    bool ok = c && rt_ctr_is_running(c) &&
              rt_cgroup_stats(rt_ctr_cgroup_parent(c), rt_ctr_id(c), &s, &err) == 0;
    if (sc->single) {
        http_req_t *req = sc->req;
        req->on_abort = NULL;
        uv_close((uv_handle_t *)&sc->timer, stats_timer_closed);
        if (!c)
            http_reply_error(req, 404, "No such container: %s", sc->id);
        else /* stopped in between: zeros, like a stopped container's */
            http_reply_json(req, 200, stats_json(c, &s, &sc->prev, sc->prev_ns));
        return;
    }
    if (!ok) {
        http_req_t *req = sc->req;
        req->on_abort = NULL;
        uv_timer_stop(&sc->timer);
        uv_close((uv_handle_t *)&sc->timer, stats_timer_closed);
        http_stream_end(req);
        return;
    }
    if (http_stream_pending(sc->req) < (1 << 20))
        http_stream_write_json(sc->req,
                               stats_json(c, &s, sc->have_prev ? &sc->prev : NULL, sc->prev_ns));
    sc->prev = s;
    sc->prev_ns = berth_now_ns();
    sc->have_prev = true;
}

static void h_stats(berthd_t *d, http_req_t *req)
{
    rt_ctr_t *c = find_ctr(d, req);
    if (!c)
        return;
    bool stream = http_req_query_bool(req, "stream", true);
    rt_stats_t s = {0};
    berth_err_t err = {0};
    bool running = rt_ctr_is_running(c);
    if (running && rt_cgroup_stats(rt_ctr_cgroup_parent(c), rt_ctr_id(c), &s, &err) < 0)
        running = false;
    /* A stopped container reports zeros, like Docker; one-shot=true answers
     * at once without a previous sample. */
    if (!running || (!stream && http_req_query_bool(req, "one-shot", false))) {
        http_reply_json(req, 200, stats_json(c, &s, NULL, 0));
        return;
    }
    if (stream && http_stream_begin(req, 200, "application/json", NULL) < 0)
        return;
    stats_ctx_t *sc = xcalloc(1, sizeof(*sc));
    sc->d = d;
    sc->req = req;
    sc->single = !stream;
    snprintf(sc->id, sizeof(sc->id), "%s", rt_ctr_id(c));
    sc->prev = s;
    sc->prev_ns = berth_now_ns();
    sc->have_prev = true;
    /* stream=false (docker stats --no-stream): like Docker, answer with a
     * second sample a second later so precpu_stats gives a CPU %. */
    if (stream)
        http_stream_write_json(req, stats_json(c, &s, NULL, 0));
    uv_timer_init(d->loop, &sc->timer);
    sc->timer.data = sc;
    uv_timer_start(&sc->timer, stats_tick, 1000, stream ? 1000 : 0);
    req->handler_data = sc;
    req->on_abort = stats_abort;
}

/* ---- changes / export: not supported yet ---- */
static void h_not_impl(berthd_t *d, http_req_t *req)
{
    (void)d;
    http_reply_error(req, 501, "%s %s is not implemented", req->method_name, req->path);
}

void api_containers_routes(api_router_t *r)
{
    api_route(r, "POST", "/containers/create", h_create, 0);
    api_route(r, "GET", "/containers/json", h_list, 0);
    api_route(r, "POST", "/containers/prune", h_prune, 0);
    api_route(r, "GET", "/containers/{id}/json", h_inspect, 0);
    api_route(r, "POST", "/containers/{id}/start", h_start, 0);
    api_route(r, "POST", "/containers/{id}/stop", h_stop, 0);
    api_route(r, "POST", "/containers/{id}/restart", h_restart, 0);
    api_route(r, "POST", "/containers/{id}/kill", h_kill, 0);
    api_route(r, "POST", "/containers/{id}/pause", h_pause, 0);
    api_route(r, "POST", "/containers/{id}/unpause", h_unpause, 0);
    api_route(r, "POST", "/containers/{id}/rename", h_rename, 0);
    api_route(r, "POST", "/containers/{id}/resize", h_resize, 0);
    api_route(r, "POST", "/containers/{id}/wait", h_wait, 0);
    api_route(r, "POST", "/containers/{id}/attach", h_attach, 0);
    api_route(r, "GET", "/containers/{id}/attach/ws", h_attach_ws, 0);
    api_route(r, "GET", "/containers/{id}/logs", h_logs, 0);
    api_route(r, "GET", "/containers/{id}/top", h_top, 0);
    api_route(r, "GET", "/containers/{id}/stats", h_stats, 0);
    api_route(r, "GET", "/containers/{id}/changes", h_not_impl, 0);
    api_route(r, "GET", "/containers/{id}/export", h_not_impl, 0);
    api_route(r, "DELETE", "/containers/{id}", h_delete, 0);
}
