/* api: Docker Engine API routes -> handlers. Thin layer: parse the request,
 * call a domain module, serialise the answer; errors become {"message"}. */
#ifndef BERTH_API_H
#define BERTH_API_H

#include "berth/http.h"

typedef struct berthd berthd_t;
typedef struct api_router api_router_t;
typedef struct api_events api_events_t;

typedef void (*api_handler_fn)(berthd_t *d, http_req_t *req);

enum api_route_flags {
    API_ROUTE_STREAM_BODY = 1 << 0, /* handler consumes the body via req->on_body */
};

/* Route patterns: literal segments, "{x}" for one segment, "{x*}" for a greedy
 * parameter that may contain slashes (image names: /images/{name*}/json).
 * method is "GET", "POST", "DELETE", "HEAD", "PUT". GET routes also answer HEAD
 * unless a HEAD route is registered. */
api_router_t *api_router_new(void);
void api_router_free(api_router_t *r);
void api_route(api_router_t *r, const char *method, const char *pattern, api_handler_fn fn,
               unsigned flags);

/* Match req->method + req->path; fills req->params. Returns the handler and
 * its flags, NULL when no pattern matches (*method_mismatch tells 405 vs 404). */
api_handler_fn api_router_match(const api_router_t *r, http_req_t *req, unsigned *flags,
                                bool *method_mismatch);

/* Hooks for the http server (opts.route / opts.dispatch); server_data must be
 * the berthd_t. They handle version checks, 404s and panics-as-500s. */
void api_route_cb(http_req_t *req);
void api_dispatch_cb(http_req_t *req);

/* "Name: value\r\n" lines every response carries (Server, Api-Version,
 * Ostype, Docker-Experimental): http_server_opts_t.common_headers. */
const char *api_common_headers(void);

/* Build the daemon's router: calls each api_*_routes() below. */
api_router_t *api_build_router(void);

/* One registration function per API area (src/api/<area>.c). */
void api_system_routes(api_router_t *r);     /* _ping, version, info, events */
void api_images_routes(api_router_t *r);     /* images/..., load/save, prune */
void api_containers_routes(api_router_t *r); /* containers/... */
void api_exec_routes(api_router_t *r);       /* exec create/start/resize/json */
void api_registry_routes(api_router_t *r);   /* auth, images/create, push, distribution */

/* ---- events (GET /events) ----
 * Domain code reports what happened; subscribers of GET /events get it as
 * Docker's event JSON. type: "container", "image", "network", "volume",
 * "daemon"; action: "create", "start", "die", "destroy", "pull", "tag", ...;
 * actor_id: container/image id (or name for images, like Docker);
 * attributes: NULL or a JSON object of strings (name, image, exitCode,
 * labels flattened as "k": "v"), ownership taken. Recent events are kept
 * for ?since=. Safe to call with d->events == NULL (dropped). */
api_events_t *api_events_new(uv_loop_t *loop);
void api_events_free(api_events_t *ev);
void api_event_publish(berthd_t *d, const char *type, const char *action, const char *actor_id,
                       cJSON *attributes);

/* Parse a Docker "filters" query value: map form {"k":{"v":true}} or list
 * form {"k":["v"]}. Returns a cJSON object k -> array of strings, or NULL with
 * an error message in err. */
cJSON *api_parse_filters(const char *raw, berth_err_t *err);

#endif
