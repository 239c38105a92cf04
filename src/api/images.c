/* API routes for images: list, inspect, history, tag, delete, prune,
 * load (streamed body) and save (streamed tar). */
#include <fnmatch.h>
#include <string.h>

#include "berth/api.h"
#include "berth/containers.h"
#include "berth/daemon.h"
#include "berth/image.h"

#define LOAD_HIGH_WATER (8 * 1024 * 1024)
#define SAVE_HIGH_WATER (4 * 1024 * 1024)

static cJSON *familiar_array(char **refs, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        char *f = img_ref_familiarize(refs[i]);
        cJSON_AddItemToArray(arr, cJSON_CreateString(f));
        free(f);
    }
    return arr;
}

static const cJSON *cfg_get(const img_image_t *img, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(img->config, key);
}

static const char *cfg_str(const img_image_t *img, const char *key, const char *dflt)
{
    const cJSON *v = cfg_get(img, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static cJSON *labels_copy(const img_image_t *img)
{
    const cJSON *l = img_image_labels(img);
    return cJSON_IsObject(l) ? cJSON_Duplicate(l, true) : cJSON_CreateObject();
}

/* ---- GET /images/json ---- */
static bool ref_filter_match(const img_image_t *img, const cJSON *patterns)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patterns)
    {
        if (!cJSON_IsString(p))
            continue;
        for (size_t i = 0; i < img->n_repo_tags; i++) {
            char *fam = img_ref_familiarize(img->repo_tags[i]);
            char *colon = strrchr(fam, ':');
            bool hit = fnmatch(p->valuestring, fam, FNM_PATHNAME) == 0;
            if (!hit && colon) {
                *colon = '\0';
                hit = fnmatch(p->valuestring, fam, FNM_PATHNAME) == 0;
            }
            free(fam);
            if (hit)
                return true;
        }
    }
    return false;
}

static bool label_filter_match(const img_image_t *img, const cJSON *filters)
{
    const cJSON *lbl = img_image_labels(img);
    const cJSON *f;
    cJSON_ArrayForEach(f, filters)
    {
        if (!cJSON_IsString(f))
            continue;
        const char *eq = strchr(f->valuestring, '=');
        char *key =
            eq ? xstrndup(f->valuestring, (size_t)(eq - f->valuestring)) : xstrdup(f->valuestring);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(lbl, key);
        free(key);
        if (!cJSON_IsString(v) || (eq && strcmp(v->valuestring, eq + 1) != 0))
            return false;
    }
    return true;
}

/* Docker lists newest first. */
static int cmp_newest_first(const void *a, const void *b)
{
    const img_image_t *x = *(img_image_t *const *)a, *y = *(img_image_t *const *)b;
    if (x->created_ns != y->created_ns)
        return x->created_ns > y->created_ns ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void images_list(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    cJSON *filters = NULL;
    const char *raw = http_req_query(req, "filters");
    if (raw && *raw) {
        filters = api_parse_filters(raw, &err);
        if (!filters) {
            http_reply_berth_err(req, &err);
            return;
        }
    }
    /* API < 1.25 clients send the reference pattern as ?filter= */
    const char *legacy = http_req_query(req, "filter");
    if (legacy && *legacy) {
        if (!filters)
            filters = cJSON_CreateObject();
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(filters, "reference");
        if (!arr)
            arr = cJSON_AddArrayToObject(filters, "reference");
        cJSON_AddItemToArray(arr, cJSON_CreateString(legacy));
    }
    const cJSON *f_ref = cJSON_GetObjectItemCaseSensitive(filters, "reference");
    const cJSON *f_dangling = cJSON_GetObjectItemCaseSensitive(filters, "dangling");
    const cJSON *f_label = cJSON_GetObjectItemCaseSensitive(filters, "label");
    const cJSON *f_before = cJSON_GetObjectItemCaseSensitive(filters, "before");
    const cJSON *f_since = cJSON_GetObjectItemCaseSensitive(filters, "since");
    int64_t before_ns = INT64_MAX, since_ns = INT64_MIN;
    const cJSON *v;
    cJSON_ArrayForEach(v, f_before)
    {
        img_image_t *b =
            cJSON_IsString(v) ? img_store_lookup(d->images, v->valuestring, &err) : NULL;
        if (!b) {
            cJSON_Delete(filters);
            http_reply_berth_err(req, &err);
            return;
        }
        before_ns = b->created_ns;
    }
    cJSON_ArrayForEach(v, f_since)
    {
        img_image_t *b =
            cJSON_IsString(v) ? img_store_lookup(d->images, v->valuestring, &err) : NULL;
        if (!b) {
            cJSON_Delete(filters);
            http_reply_berth_err(req, &err);
            return;
        }
        since_ns = b->created_ns;
    }
    int dangling = -1;
    cJSON_ArrayForEach(v, f_dangling)
    {
        if (cJSON_IsString(v))
            dangling = berth_parse_bool(v->valuestring, false) ? 1 : 0;
    }
    bool old_api = http_req_api_version(req) < 144;
    size_t n;
    img_image_t **list = img_store_list(d->images, &n);
    qsort(list, n, sizeof(*list), cmp_newest_first);
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        img_image_t *img = list[i];
        if (f_ref && !ref_filter_match(img, f_ref))
            continue;
        if (dangling == 1 && img->n_repo_tags > 0)
            continue;
        if (dangling == 0 && img->n_repo_tags == 0)
            continue;
        if (f_label && !label_filter_match(img, f_label))
            continue;
        if (img->created_ns >= before_ns || img->created_ns <= since_ns)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "Containers", -1);
        cJSON_AddNumberToObject(o, "Created", (double)(img->created_ns / 1000000000));
        cJSON_AddStringToObject(o, "Id", img->id);
        cJSON_AddItemToObject(o, "Labels", labels_copy(img));
        cJSON_AddStringToObject(o, "ParentId", img->parent);
        cJSON_AddItemToObject(o, "RepoDigests",
                              familiar_array(img->repo_digests, img->n_repo_digests));
        cJSON_AddItemToObject(o, "RepoTags", familiar_array(img->repo_tags, img->n_repo_tags));
        cJSON_AddNumberToObject(o, "SharedSize", -1);
        cJSON_AddNumberToObject(o, "Size", (double)img->size);
        if (old_api)
            cJSON_AddNumberToObject(o, "VirtualSize", (double)img->size);
        cJSON_AddItemToArray(out, o);
    }
    free(list);
    cJSON_Delete(filters);
    http_reply_json(req, 200, out);
}

/* ---- GET /images/{name}/json ---- */
static cJSON *default_container_config(void)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "Hostname", "");
    cJSON_AddStringToObject(c, "Domainname", "");
    cJSON_AddStringToObject(c, "User", "");
    cJSON_AddBoolToObject(c, "AttachStdin", false);
    cJSON_AddBoolToObject(c, "AttachStdout", false);
    cJSON_AddBoolToObject(c, "AttachStderr", false);
    cJSON_AddBoolToObject(c, "Tty", false);
    cJSON_AddBoolToObject(c, "OpenStdin", false);
    cJSON_AddBoolToObject(c, "StdinOnce", false);
    cJSON_AddNullToObject(c, "Env");
    cJSON_AddNullToObject(c, "Cmd");
    cJSON_AddStringToObject(c, "Image", "");
    cJSON_AddNullToObject(c, "Volumes");
    cJSON_AddStringToObject(c, "WorkingDir", "");
    cJSON_AddNullToObject(c, "Entrypoint");
    cJSON_AddNullToObject(c, "OnBuild");
    cJSON_AddNullToObject(c, "Labels");
    return c;
}

static void image_inspect(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    img_image_t *img = img_store_lookup(d->images, req->params[0], &err);
    if (!img) {
        http_reply_berth_err(req, &err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", img->id);
    cJSON_AddItemToObject(o, "RepoTags", familiar_array(img->repo_tags, img->n_repo_tags));
    cJSON_AddItemToObject(o, "RepoDigests", familiar_array(img->repo_digests, img->n_repo_digests));
    cJSON_AddStringToObject(o, "Parent", img->parent);
    cJSON_AddStringToObject(o, "Comment", cfg_str(img, "comment", ""));
    cJSON_AddStringToObject(o, "Created", cfg_str(img, "created", "0001-01-01T00:00:00Z"));
    cJSON_AddStringToObject(o, "Container", cfg_str(img, "container", ""));
    const cJSON *cc = cfg_get(img, "container_config");
    cJSON_AddItemToObject(o, "ContainerConfig",
                          cJSON_IsObject(cc) ? cJSON_Duplicate(cc, true)
                                             : default_container_config());
    cJSON_AddStringToObject(o, "DockerVersion", cfg_str(img, "docker_version", ""));
    cJSON_AddStringToObject(o, "Author", cfg_str(img, "author", ""));
    const cJSON *c = cfg_get(img, "config");
    cJSON_AddItemToObject(o, "Config",
                          cJSON_IsObject(c) ? cJSON_Duplicate(c, true) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "Architecture", cfg_str(img, "architecture", "amd64"));
    if (cfg_str(img, "variant", NULL))
        cJSON_AddStringToObject(o, "Variant", cfg_str(img, "variant", ""));
    cJSON_AddStringToObject(o, "Os", cfg_str(img, "os", "linux"));
    cJSON_AddNumberToObject(o, "Size", (double)img->size);
    if (http_req_api_version(req) < 144)
        cJSON_AddNumberToObject(o, "VirtualSize", (double)img->size);
    cJSON *gd = cJSON_AddObjectToObject(o, "GraphDriver");
    cJSON *gdd = cJSON_AddObjectToObject(gd, "Data");
    char **dirs = NULL;
    size_t nd = 0;
    if (img_layer_dirs(d->images, img, &dirs, &nd, &err) == 0 && nd > 0) {
        cJSON_AddStringToObject(gdd, "MergedDir", "");
        cJSON_AddStringToObject(gdd, "UpperDir", dirs[0]);
        berth_buf_t lower;
        buf_init(&lower);
        for (size_t i = 1; i < nd; i++)
            buf_printf(&lower, "%s%s", i > 1 ? ":" : "", dirs[i]);
        if (lower.len)
            cJSON_AddStringToObject(gdd, "LowerDir", lower.data);
        buf_free(&lower);
        cJSON_AddStringToObject(gdd, "WorkDir", "");
    }
    for (size_t i = 0; i < nd; i++)
        free(dirs[i]);
    free(dirs);
    cJSON_AddStringToObject(gd, "Name", "overlay2");
    cJSON *rootfs = cJSON_AddObjectToObject(o, "RootFS");
    cJSON_AddStringToObject(rootfs, "Type", "layers");
    cJSON *layers = cJSON_AddArrayToObject(rootfs, "Layers");
    for (size_t i = 0; i < img->n_layers; i++)
        cJSON_AddItemToArray(layers, cJSON_CreateString(img->diff_ids[i]));
    cJSON *meta = cJSON_AddObjectToObject(o, "Metadata");
    cJSON_AddStringToObject(meta, "LastTagTime", "0001-01-01T00:00:00Z");
    http_reply_json(req, 200, o);
}

/* ---- GET /images/{name}/history ---- */
static void image_history(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    img_image_t *img = img_store_lookup(d->images, req->params[0], &err);
    if (!img) {
        http_reply_berth_err(req, &err);
        return;
    }
    const cJSON *hist = cfg_get(img, "history");
    cJSON *out = cJSON_CreateArray();
    size_t layer = 0;
    const cJSON *h;
    cJSON *entries = cJSON_CreateArray();
    cJSON_ArrayForEach(h, hist)
    {
        const cJSON *empty = cJSON_GetObjectItemCaseSensitive(h, "empty_layer");
        const cJSON *created = cJSON_GetObjectItemCaseSensitive(h, "created");
        const cJSON *by = cJSON_GetObjectItemCaseSensitive(h, "created_by");
        const cJSON *comment = cJSON_GetObjectItemCaseSensitive(h, "comment");
        int64_t ns = 0;
        if (cJSON_IsString(created))
            berth_parse_time_ns(created->valuestring, &ns);
        int64_t size = 0;
        if (!cJSON_IsTrue(empty) && layer < img->n_layers) {
            int64_t total = img_store_layer_size(d->images, img->chain_ids[layer]);
            size = total > 0 ? total : 0;
            layer++;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Id", "<missing>");
        cJSON_AddNumberToObject(o, "Created", (double)(ns / 1000000000));
        cJSON_AddStringToObject(o, "CreatedBy", cJSON_IsString(by) ? by->valuestring : "");
        cJSON_AddNullToObject(o, "Tags");
        cJSON_AddNumberToObject(o, "Size", (double)size);
        cJSON_AddStringToObject(o, "Comment", cJSON_IsString(comment) ? comment->valuestring : "");
        cJSON_AddItemToArray(entries, o);
    }
    if (cJSON_GetArraySize(entries) == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "Id", "<missing>");
        cJSON_AddNumberToObject(o, "Created", (double)(img->created_ns / 1000000000));
        cJSON_AddStringToObject(o, "CreatedBy", "");
        cJSON_AddNullToObject(o, "Tags");
        cJSON_AddNumberToObject(o, "Size", (double)img->size);
        cJSON_AddStringToObject(o, "Comment", "");
        cJSON_AddItemToArray(entries, o);
    }
    /* newest first; the top entry carries the image ID and tags */
    int n = cJSON_GetArraySize(entries);
    for (int i = n - 1; i >= 0; i--) {
        cJSON *o = cJSON_DetachItemFromArray(entries, i);
        if (i == n - 1) {
            cJSON_ReplaceItemInObject(o, "Id", cJSON_CreateString(img->id));
            cJSON_ReplaceItemInObject(o, "Tags", familiar_array(img->repo_tags, img->n_repo_tags));
        }
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(entries);
    http_reply_json(req, 200, out);
}

/* ---- POST /images/{name}/tag ---- */
static void image_tag(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    img_image_t *img = img_store_lookup(d->images, req->params[0], &err);
    if (!img) {
        http_reply_berth_err(req, &err);
        return;
    }
    const char *repo = http_req_query(req, "repo");
    const char *tag = http_req_query(req, "tag");
    if (!repo || !*repo) {
        http_reply_error(req, 400, "repository name must have at least one component");
        return;
    }
    img_ref_t r;
    if (img_ref_parse_no_default(repo, &r, &err) < 0) {
        http_reply_berth_err(req, &err);
        return;
    }
    if (r.digest || (r.tag && tag && *tag)) {
        img_ref_free(&r);
        http_reply_error(req, 400, "invalid reference format");
        return;
    }
    img_ref_free(&r);
    char *full = xasprintf("%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "");
    int rc = img_store_tag(d->images, img, full, &err);
    free(full);
    if (rc < 0) {
        http_reply_berth_err(req, &err);
        return;
    }
    http_reply(req, 201, "text/plain", "", 0, NULL);
}

/* ---- DELETE /images/{name} ---- */
static void image_delete(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    cJSON *report = cJSON_CreateArray();
    bool force = http_req_query_bool(req, "force", false);
    bool noprune = http_req_query_bool(req, "noprune", false);
    if (img_store_delete(d->images, req->params[0], force, noprune, report, &err) < 0) {
        cJSON_Delete(report);
        http_reply_berth_err(req, &err);
        return;
    }
    rt_manager_images_removed(d->containers);
    http_reply_json(req, 200, report);
}

/* ---- POST /images/prune ---- */
static void images_prune(berthd_t *d, http_req_t *req)
{
    berth_err_t err = {0};
    cJSON *filters = NULL;
    const char *raw = http_req_query(req, "filters");
    if (raw && *raw) {
        filters = api_parse_filters(raw, &err);
        if (!filters) {
            http_reply_berth_err(req, &err);
            return;
        }
    }
    bool all = false;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(filters, "dangling"))
    {
        if (cJSON_IsString(v) && !berth_parse_bool(v->valuestring, true))
            all = true;
    }
    cJSON *report = cJSON_CreateArray();
    int64_t reclaimed = 0;
    int rc = img_store_prune(d->images, all, cJSON_GetObjectItemCaseSensitive(filters, "label"),
                             cJSON_GetObjectItemCaseSensitive(filters, "label!"), report,
                             &reclaimed, &err);
    cJSON_Delete(filters);
    if (rc < 0) {
        cJSON_Delete(report);
        http_reply_berth_err(req, &err);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    if (cJSON_GetArraySize(report) == 0) {
        cJSON_Delete(report);
        cJSON_AddNullToObject(out, "ImagesDeleted");
    } else {
        rt_manager_images_removed(d->containers);
        cJSON_AddItemToObject(out, "ImagesDeleted", report);
    }
    cJSON_AddNumberToObject(out, "SpaceReclaimed", (double)reclaimed);
    http_reply_json(req, 200, out);
}

/* ---- POST /images/load ---- */
typedef struct load_state {
    http_req_t *req;
    img_load_t *ld;
    cJSON *lines;
    bool paused;
    bool quiet;
    bool streaming; /* 200 + headers sent: errors now go as errorDetail */
} load_state_t;

static void load_state_free(load_state_t *st)
{
    cJSON_Delete(st->lines);
    free(st);
}

static int load_on_body(http_req_t *req, const char *data, size_t len)
{
    load_state_t *st = req->handler_data;
    if (!st->ld)
        return 0; /* already failed: the reply went out; drop the rest */
    if (img_load_write(st->ld, data, len) < 0)
        return 0; /* the helper stopped; done_cb reports why */
    if (!st->paused && img_load_pending(st->ld) > LOAD_HIGH_WATER) {
        st->paused = true;
        http_req_pause_body(req);
    }
    return 0;
}

static void load_on_body_end(http_req_t *req)
{
    load_state_t *st = req->handler_data;
    if (st->ld)
        img_load_end(st->ld);
}

static void load_on_abort(http_req_t *req)
{
    load_state_t *st = req->handler_data;
    img_load_free(st->ld);
    load_state_free(st);
}

static void load_progress_cb(img_load_t *ld, const char *line, void *data)
{
    UNUSED(ld);
    load_state_t *st = data;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stream", line);
    cJSON_AddItemToArray(st->lines, o);
}

/* Non-quiet loads stream Docker's "Loading layer" progress as it happens. */
static void load_status_cb(img_load_t *ld, const cJSON *msg, void *data)
{
    UNUSED(ld);
    load_state_t *st = data;
    if (st->quiet)
        return;
    if (!st->streaming) {
        if (http_stream_begin(st->req, 200, "application/json", NULL) < 0)
            return;
        st->streaming = true;
    }
    http_stream_write_json(st->req, cJSON_Duplicate(msg, true));
}

static void load_drain_cb(img_load_t *ld, void *data)
{
    UNUSED(ld);
    load_state_t *st = data;
    if (st->paused) {
        st->paused = false;
        http_req_resume_body(st->req);
    }
}

/* After the reply went out (a helper failing early), drop what is left of the body. */
static int discard_body(http_req_t *req, const char *data, size_t len)
{
    UNUSED(req);
    UNUSED(data);
    UNUSED(len);
    return 0;
}

static void discard_body_end(http_req_t *req)
{
    UNUSED(req);
}

static void load_done_cb(img_load_t *ld, const berth_err_t *err, void *data)
{
    load_state_t *st = data;
    http_req_t *req = st->req;
    st->ld = NULL;
    img_load_free(ld);
    req->on_abort = NULL;
    req->on_body = discard_body;
    req->on_body_end = discard_body_end;
    if (st->paused)
        http_req_resume_body(req);
    if (err && !st->streaming) {
        http_reply_berth_err(req, err);
    } else if (st->streaming || http_stream_begin(req, 200, "application/json", NULL) == 0) {
        cJSON *o;
        while ((o = cJSON_DetachItemFromArray(st->lines, 0)))
            http_stream_write_json(req, o);
        if (err) {
            o = cJSON_CreateObject();
            cJSON *detail = cJSON_AddObjectToObject(o, "errorDetail");
            cJSON_AddStringToObject(detail, "message", err->msg);
            cJSON_AddStringToObject(o, "error", err->msg);
            http_stream_write_json(req, o);
        }
        http_stream_end(req);
    }
    load_state_free(st);
}

static void images_load(berthd_t *d, http_req_t *req)
{
    load_state_t *st = xcalloc(1, sizeof(*st));
    st->req = req;
    st->lines = cJSON_CreateArray();
    st->quiet = http_req_query_bool(req, "quiet", false);
    img_load_cbs_t cbs = {load_progress_cb, load_done_cb, load_drain_cb, load_status_cb};
    berth_err_t err = {0};
    if (img_load_begin(d->images, &cbs, st, &st->ld, &err) < 0) {
        load_state_free(st);
        http_reply_berth_err(req, &err);
        return;
    }
    req->handler_data = st;
    req->on_body = load_on_body;
    req->on_body_end = load_on_body_end;
    req->on_abort = load_on_abort;
}

/* ---- GET /images/get, /images/{name}/get ---- */
typedef struct save_state {
    http_req_t *req;
    img_export_t *ex;
    bool paused;
} save_state_t;

static int save_data_cb(img_export_t *ex, const char *buf, size_t len, void *data)
{
    save_state_t *st = data;
    if (http_stream_write(st->req, buf, len) < 0)
        return -1;
    if (!st->paused && http_stream_pending(st->req) > SAVE_HIGH_WATER) {
        st->paused = true;
        img_export_pause(ex);
    }
    return 0;
}

static void save_on_drain(http_req_t *req)
{
    save_state_t *st = req->handler_data;
    if (st->paused && st->ex) {
        st->paused = false;
        img_export_resume(st->ex);
    }
}

static void save_done_cb(img_export_t *ex, const img_layer_result_t *res, const berth_err_t *err,
                         void *data)
{
    UNUSED(res);
    save_state_t *st = data;
    http_req_t *req = st->req;
    img_export_free(ex);
    st->ex = NULL;
    req->on_abort = NULL;
    req->on_drain = NULL;
    if (err)
        log_warn("image save failed after streaming began: %s", err->msg);
    /* A failed save ends the stream early; the client sees a truncated tar. */
    http_stream_end(req);
    free(st);
}

static void save_on_abort(http_req_t *req)
{
    save_state_t *st = req->handler_data;
    img_export_free(st->ex);
    free(st);
}

static void save_names(berthd_t *d, http_req_t *req, const char *const *names, size_t n)
{
    if (n == 0) {
        http_reply_error(req, 400, "no images specified");
        return;
    }
    save_state_t *st = xcalloc(1, sizeof(*st));
    st->req = req;
    img_export_cbs_t cbs = {save_data_cb, save_done_cb};
    berth_err_t err = {0};
    if (img_save_begin(d->images, names, n, &cbs, st, &st->ex, &err) < 0) {
        free(st);
        http_reply_berth_err(req, &err);
        return;
    }
    req->handler_data = st;
    req->on_abort = save_on_abort;
    req->on_drain = save_on_drain;
    if (http_stream_begin(req, 200, "application/x-tar", NULL) < 0) {
        /* on_abort will free */
        return;
    }
}

static void images_get(berthd_t *d, http_req_t *req)
{
    const char **names = xcalloc(req->n_query + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query[i].name, "names") == 0)
            names[n++] = req->query[i].value;
    save_names(d, req, names, n);
    free(names);
}

static void image_get(berthd_t *d, http_req_t *req)
{
    const char *names[1] = {req->params[0]};
    save_names(d, req, names, 1);
}

void api_images_routes(api_router_t *r)
{
    api_route(r, "GET", "/images/json", images_list, 0);
    api_route(r, "POST", "/images/load", images_load, API_ROUTE_STREAM_BODY);
    api_route(r, "POST", "/images/prune", images_prune, 0);
    api_route(r, "GET", "/images/get", images_get, 0);
    api_route(r, "GET", "/images/{name*}/json", image_inspect, 0);
    api_route(r, "GET", "/images/{name*}/history", image_history, 0);
    api_route(r, "GET", "/images/{name*}/get", image_get, 0);
    api_route(r, "POST", "/images/{name*}/tag", image_tag, 0);
    api_route(r, "DELETE", "/images/{name*}", image_delete, 0);
}
