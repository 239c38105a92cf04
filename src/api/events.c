/* GET /events: a small hub. Domain code publishes events; each streaming
 * subscriber gets the ones its filters accept, as one JSON object per
 * chunk. The last EVENTS_KEEP events are kept for ?since=. */
#include <string.h>

#include "api/internal.h"

#define EVENTS_KEEP 512
/* A subscriber with this much unsent output loses events instead of
 * growing our memory without bound (moby drops for slow readers too). */
#define EVENTS_MAX_PENDING (1024 * 1024)

typedef struct ev_rec {
    char *type, *action, *id;
    cJSON *attrs; /* object of strings */
    int64_t ns;
    char *line; /* the JSON text + "\r\n" as sent */
    size_t line_len;
} ev_rec_t;

typedef struct ev_sub {
    api_events_t *hub;
    http_req_t *req;
    cJSON *filters;
    uv_timer_t *until_timer; /* NULL when the stream has no end */
    struct ev_sub *prev, *next;
} ev_sub_t;

struct api_events {
    uv_loop_t *loop;
    ev_rec_t ring[EVENTS_KEEP];
    size_t head; /* next slot to write */
    size_t count;
    ev_sub_t *subs;
    size_t n_subs;
};

static void rec_clear(ev_rec_t *r)
{
    free(r->type);
    free(r->action);
    free(r->id);
    cJSON_Delete(r->attrs);
    free(r->line);
    memset(r, 0, sizeof(*r));
}

api_events_t *api_events_new(uv_loop_t *loop)
{
    api_events_t *ev = xcalloc(1, sizeof(*ev));
    ev->loop = loop;
    return ev;
}

static void timer_free_cb(uv_handle_t *h)
{
    free(h);
}

static void sub_remove(ev_sub_t *s)
{
    api_events_t *ev = s->hub;
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ev->n_subs--;
    if (s->until_timer)
        uv_close((uv_handle_t *)s->until_timer, timer_free_cb);
    cJSON_Delete(s->filters);
    free(s);
}

void api_events_free(api_events_t *ev)
{
    if (!ev)
        return;
    while (ev->subs) {
        ev_sub_t *s = ev->subs;
        s->req->on_abort = NULL;
        s->req->handler_data = NULL;
        sub_remove(s);
    }
    for (size_t i = 0; i < EVENTS_KEEP; i++)
        rec_clear(&ev->ring[i]);
    free(ev);
}

size_t api_events_listeners(const api_events_t *ev)
{
    return ev ? ev->n_subs : 0;
}

/* ---- filters ---- */

static bool any_value(const cJSON *values, bool (*pred)(const char *v, const ev_rec_t *r),
                      const ev_rec_t *r)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        if (cJSON_IsString(v) && pred(v->valuestring, r))
            return true;
    }
    return false;
}

static const char *attr(const ev_rec_t *r, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->attrs, key);
    return cJSON_IsString(a) ? a->valuestring : NULL;
}

static bool id_or_name(const char *v, const ev_rec_t *r)
{
    const char *name = attr(r, "name");
    size_t n = strlen(v);
    return strcmp(v, r->id) == 0 || (n >= 1 && strncmp(v, r->id, n) == 0 && n >= 12) ||
           (name && strcmp(name, v) == 0);
}

static bool p_type(const char *v, const ev_rec_t *r)
{
    return strcmp(v, r->type) == 0;
}

static bool p_event(const char *v, const ev_rec_t *r)
{
    /* "exec_start: sh -c x" matches the filter "exec_start". */
    size_t n = strlen(v);
    return strcmp(v, r->action) == 0 || (strncmp(v, r->action, n) == 0 && r->action[n] == ':');
}

static bool p_container(const char *v, const ev_rec_t *r)
{
    return strcmp(r->type, "container") == 0 && id_or_name(v, r);
}

static bool p_image(const char *v, const ev_rec_t *r)
{
    if (strcmp(r->type, "image") == 0)
        return strcmp(v, r->id) == 0 || (attr(r, "name") && strcmp(attr(r, "name"), v) == 0);
    const char *img = attr(r, "image");
    return img && strcmp(img, v) == 0;
}

static bool p_network(const char *v, const ev_rec_t *r)
{
    return strcmp(r->type, "network") == 0 && id_or_name(v, r);
}

static bool p_volume(const char *v, const ev_rec_t *r)
{
    return strcmp(r->type, "volume") == 0 && strcmp(v, r->id) == 0;
}

static bool p_label(const char *v, const ev_rec_t *r)
{
    const char *eq = strchr(v, '=');
    if (!eq)
        return attr(r, v) != NULL;
    char *key = xstrndup(v, (size_t)(eq - v));
    const char *have = attr(r, key);
    free(key);
    return have && strcmp(have, eq + 1) == 0;
}

static bool p_daemon(const char *v, const ev_rec_t *r)
{
    (void)v;
    return strcmp(r->type, "daemon") == 0;
}

static bool p_scope(const char *v, const ev_rec_t *r)
{
    (void)r;
    return strcmp(v, "local") == 0;
}

static const struct {
    const char *key;
    bool (*pred)(const char *v, const ev_rec_t *r);
} filter_preds[] = {
    {"type", p_type},   {"event", p_event},     {"container", p_container},
    {"image", p_image}, {"network", p_network}, {"volume", p_volume},
    {"label", p_label}, {"daemon", p_daemon},   {"scope", p_scope},
};

static bool filters_accept(const cJSON *filters, const ev_rec_t *r)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        if (cJSON_GetArraySize(f) == 0)
            continue;
        for (size_t i = 0; i < ARRAY_SIZE(filter_preds); i++)
            if (strcmp(f->string, filter_preds[i].key) == 0 &&
                !any_value(f, filter_preds[i].pred, r))
                return false;
    }
    return true;
}

/* ---- publishing ---- */

static void sub_send(ev_sub_t *s, const ev_rec_t *r)
{
    if (!filters_accept(s->filters, r))
        return;
    if (http_stream_pending(s->req) > EVENTS_MAX_PENDING)
        return;
    http_stream_write(s->req, r->line, r->line_len);
}

void api_event_publish(berthd_t *d, const char *type, const char *action, const char *actor_id,
                       cJSON *attributes)
{
    api_events_t *ev = d ? d->events : NULL;
    if (!ev) {
        cJSON_Delete(attributes);
        return;
    }
    if (!attributes)
        attributes = cJSON_CreateObject();
    ev_rec_t *r = &ev->ring[ev->head];
    rec_clear(r);
    r->type = xstrdup(type);
    r->action = xstrdup(action);
    r->id = xstrdup(actor_id ? actor_id : "");
    r->attrs = attributes;
    r->ns = berth_now_ns();

    cJSON *o = cJSON_CreateObject();
    if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
        /* The pre-1.22 fields some clients still read (docker-py, compose). */
        cJSON_AddStringToObject(o, "status", action);
        cJSON_AddStringToObject(o, "id", r->id);
        const char *from = attr(r, "image");
        if (from && strcmp(type, "container") == 0)
            cJSON_AddStringToObject(o, "from", from);
    }
    cJSON_AddStringToObject(o, "Type", type);
    cJSON_AddStringToObject(o, "Action", action);
    cJSON *actor = cJSON_AddObjectToObject(o, "Actor");
    cJSON_AddStringToObject(actor, "ID", r->id);
    cJSON_AddItemToObject(actor, "Attributes", cJSON_Duplicate(attributes, true));
    cJSON_AddStringToObject(o, "scope", "local");
    cJSON_AddNumberToObject(o, "time", (double)(r->ns / 1000000000LL));
    cJSON_AddNumberToObject(o, "timeNano", (double)r->ns);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    r->line = xasprintf("%s\r\n", text);
    r->line_len = strlen(r->line);
    cJSON_free(text);

    ev->head = (ev->head + 1) % EVENTS_KEEP;
    if (ev->count < EVENTS_KEEP)
        ev->count++;
    for (ev_sub_t *s = ev->subs, *next; s; s = next) {
        next = s->next;
        sub_send(s, r);
    }
}

/* ---- GET /events ---- */

static void events_on_abort(http_req_t *req)
{
    ev_sub_t *s = req->handler_data;
    if (s)
        sub_remove(s);
}

static void until_cb(uv_timer_t *t)
{
    ev_sub_t *s = t->data;
    http_req_t *req = s->req;
    req->on_abort = NULL;
    sub_remove(s);
    http_stream_end(req);
}

static int parse_time_param(http_req_t *req, const char *key, int64_t *out)
{
    const char *v = http_req_query(req, key);
    *out = 0;
    if (!v || !v[0])
        return 0;
    if (berth_parse_time_ns(v, out) != 0) {
        http_reply_error(req, 400, "invalid %s value \"%s\": not a timestamp", key, v);
        return -1;
    }
    return 1;
}

static void events_handler(berthd_t *d, http_req_t *req)
{
    api_events_t *ev = d->events;
    int64_t since = 0, until = 0;
    int has_since = parse_time_param(req, "since", &since);
    if (has_since < 0)
        return;
    int has_until = parse_time_param(req, "until", &until);
    if (has_until < 0)
        return;
    berth_err_t err;
    berth_err_clear(&err);
    cJSON *filters = api_parse_filters(http_req_query(req, "filters"), &err);
    if (!filters) {
        http_reply_berth_err(req, &err);
        return;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(filter_preds); i++)
            known |= strcmp(f->string, filter_preds[i].key) == 0;
        if (!known) {
            http_reply_error(req, 400, "invalid filter '%s'", f->string);
            cJSON_Delete(filters);
            return;
        }
    }
    if (http_stream_begin(req, 200, "application/json", NULL) < 0) {
        cJSON_Delete(filters);
        return;
    }
    int64_t now = berth_now_ns();
    if (ev && has_since) {
        size_t start = (ev->head + EVENTS_KEEP - ev->count) % EVENTS_KEEP;
        for (size_t i = 0; i < ev->count; i++) {
            const ev_rec_t *r = &ev->ring[(start + i) % EVENTS_KEEP];
            if (r->ns < since || (has_until && r->ns > until))
                continue;
            if (filters_accept(filters, r))
                http_stream_write(req, r->line, r->line_len);
        }
    }
    if (!ev || (has_until && until <= now)) {
        cJSON_Delete(filters);
        http_stream_end(req);
        return;
    }
    ev_sub_t *s = xcalloc(1, sizeof(*s));
    s->hub = ev;
    s->req = req;
    s->filters = filters;
    s->next = ev->subs;
    if (ev->subs)
        ev->subs->prev = s;
    ev->subs = s;
    ev->n_subs++;
    if (has_until) {
        s->until_timer = xmalloc(sizeof(*s->until_timer));
        uv_timer_init(ev->loop, s->until_timer);
        s->until_timer->data = s;
        uv_timer_start(s->until_timer, until_cb, (uint64_t)((until - now) / 1000000 + 1), 0);
    }
    req->handler_data = s;
    req->on_abort = events_on_abort;
}

void api_events_routes(api_router_t *r)
{
    api_route(r, "GET", "/events", events_handler, 0);
}
