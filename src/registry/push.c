/* Push: for each layer (up to max-concurrent-uploads at once) check whether
 * the registry has it (HEAD, digest remembered from an earlier push), else
 * stream it from the image store's export child straight into a chunked
 * PATCH upload and finish with PUT ?digest=; then the config (monolithic
 * POST + PUT) and the manifest (PUT by tag).
 *
 * A layer goes up as the compressed blob the store keeps for it (the bytes a
 * pull received, with their digest and media type, as Docker's v2metadata
 * does), so nothing is re-compressed and the manifest keeps the original
 * digests. Layers without one (loaded, built) are gzipped once by the store's
 * export child, which keeps the result for the next push. The push cache
 * (chain id -> digest and the repositories of each registry that have it,
 * fed by pulls and pushes) gives the cross-repository mount source. */
#include "client.h"

#include <errno.h>
#include <string.h>

#include "berth/image.h"

#define PUSH_HIGH_WATER (4 * 1024 * 1024)
#define PUSH_LOW_WATER (1024 * 1024)
#define PUSH_LAYER_MT "application/vnd.docker.image.rootfs.diff.tar.gzip"

typedef struct push_op push_op_t;

typedef struct chunk {
    struct chunk *next;
    size_t len, off;
    char data[];
} chunk_t;

enum push_state { P_NEW, P_WAITING, P_ACTIVE, P_DONE };

typedef struct push_layer {
    push_op_t *p;
    size_t index;
    char chain[IMG_DIGEST_LEN];
    char local_diff_id[IMG_DIGEST_LEN];
    char short_id[13];
    enum push_state state;
    reg_xfer_t *xfer;
    img_export_t *ex;
    chunk_t *head, *tail;
    size_t queued;
    bool export_done, export_paused, upload_paused, patch_done;
    int64_t sent;
    uint64_t last_progress_ms;
    char *location;
    char *mount_from; /* a repository of this registry that has the blob */
    /* result */
    char digest[IMG_DIGEST_LEN];
    char diff_id[IMG_DIGEST_LEN];
    char media_type[80];
    int64_t size;
} push_layer_t;

struct push_op {
    reg_op_t op;
    reg_sess_t *sess;
    reg_ref_t ref;
    reg_progress_cb progress;
    reg_done_cb done;
    void *data;
    char image_id[IMG_DIGEST_LEN];
    cJSON *config; /* copy of the image config */
    push_layer_t *layers;
    size_t n_layers, active, n_done;
    reg_xfer_t *xfer; /* config / manifest requests */
    char *config_bytes;
    size_t config_len;
    char config_digest[IMG_DIGEST_LEN];
    char *location;
    char *manifest;
    bool dead;
};

/* ---- push cache: chain id -> what we pushed for it ------------------------ */

static char *cache_path(const reg_client_t *c)
{
    return c->state_dir ? xasprintf("%s/push-cache.json", c->state_dir) : NULL;
}

static cJSON *cache_load(const reg_client_t *c)
{
    cleanup_free char *path = cache_path(c);
    cleanup_free char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    if (path && fs_read_file(path, 16 << 20, &text, &len) == 0)
        root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = cJSON_CreateObject();
    }
    return root;
}

void reg_push_cache_add(cJSON *root, const char *chain, const char *digest, const char *diff_id,
                        int64_t size, const char *repo)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(root, chain);
    if (!e || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "digest")) ?: "", digest)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, chain);
        e = cJSON_AddObjectToObject(root, chain);
        cJSON_AddStringToObject(e, "digest", digest);
        cJSON_AddStringToObject(e, "diff_id", diff_id);
        cJSON_AddNumberToObject(e, "size", (double)size);
        cJSON_AddArrayToObject(e, "repos");
    }
    cJSON *repos = cJSON_GetObjectItem(e, "repos");
    bool have = false;
    const cJSON *r;
    cJSON_ArrayForEach(r, repos) have |= cJSON_IsString(r) && !strcmp(r->valuestring, repo);
    if (!have)
        cJSON_AddItemToArray(repos, cJSON_CreateString(repo));
}

cJSON *reg_push_cache_load(const reg_client_t *c)
{
    return cache_load(c);
}

void reg_push_cache_save(const reg_client_t *c, const cJSON *root)
{
    cleanup_free char *path = cache_path(c);
    if (!path)
        return;
    char *text = cJSON_PrintUnformatted(root);
    fs_mkdir_p(c->state_dir, 0700);
    if (fs_write_atomic(path, text, strlen(text), 0600) < 0)
        log_warn("registry: could not write %s", path);
    free(text);
}

static void cache_note(const reg_client_t *c, const push_layer_t *l, const char *repo)
{
    if (!c->state_dir)
        return;
    cJSON *root = cache_load(c);
    reg_push_cache_add(root, l->chain, l->digest, l->diff_id, l->size, repo);
    reg_push_cache_save(c, root);
    cJSON_Delete(root);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void layer_drop_queue(push_layer_t *l)
{
    while (l->head) {
        chunk_t *c = l->head;
        l->head = c->next;
        free(c);
    }
    l->tail = NULL;
    l->queued = 0;
}

static void push_teardown(push_op_t *p)
{
    p->dead = true;
    reg_op_unlink(&p->op);
    reg_xfer_cancel(p->xfer);
    for (size_t i = 0; i < p->n_layers; i++) {
        push_layer_t *l = &p->layers[i];
        reg_xfer_cancel(l->xfer);
        if (l->ex)
            img_export_free(l->ex);
        layer_drop_queue(l);
        free(l->location);
        free(l->mount_from);
    }
    free(p->layers);
    reg_sess_free(p->sess);
    reg_ref_free(&p->ref);
    cJSON_Delete(p->config);
    free(p->config_bytes);
    free(p->location);
    free(p->manifest);
    free(p);
}

static void push_abort(reg_op_t *op, const berth_err_t *err)
{
    push_op_t *p = (push_op_t *)op;
    reg_done_cb done = p->done;
    void *data = p->data;
    push_teardown(p);
    if (err && done)
        done(data, err, NULL);
}

static void emit(push_op_t *p, cJSON *msg)
{
    if (p->progress)
        p->progress(p->data, msg);
    else
        cJSON_Delete(msg);
}

/* Location headers may be relative; uploads continue at the given URL. */
static char *absolute_location(const reg_sess_t *s, const char *loc)
{
    if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
        return xstrdup(loc);
    return xasprintf("%s%s%s", s->base, loc[0] == '/' ? "" : "/", loc);
}

static char *with_digest(const char *loc, const char *digest)
{
    cleanup_free char *d = reg_url_escape(digest);
    return xasprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', d);
}

/* ---- manifest and config ----------------------------------------------------- */

static void manifest_done(reg_xfer_t *x, int result)
{
    push_op_t *p = x->data;
    p->xfer = NULL;
    if (result < 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing manifest: %s", reg_xfer_error(x));
        return;
    }
    if (x->status != 201 && x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing manifest for %s: %s", p->ref.tag, msg);
        return;
    }
    char digest[72];
    size_t size = strlen(p->manifest);
    reg_sha256_digest(p->manifest, size, digest);
    cleanup_free char *line = xasprintf("%s: digest: %s size: %zu", p->ref.tag, digest, size);
    emit(p, reg_msg_status(NULL, line));
    cJSON *aux = cJSON_CreateObject();
    cJSON_AddObjectToObject(aux, "progressDetail");
    cJSON *a = cJSON_AddObjectToObject(aux, "aux");
    cJSON_AddStringToObject(a, "Tag", p->ref.tag);
    cJSON_AddStringToObject(a, "Digest", digest);
    cJSON_AddNumberToObject(a, "Size", (double)size);
    emit(p, aux);
    reg_done_cb done = p->done;
    void *data = p->data;
    push_teardown(p);
    done(data, NULL, NULL);
}

static void put_manifest(push_op_t *p)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "schemaVersion", 2);
    cJSON_AddStringToObject(m, "mediaType", REG_MT_DOCKER_MANIFEST);
    cJSON *cfg = cJSON_AddObjectToObject(m, "config");
    cJSON_AddStringToObject(cfg, "mediaType", REG_MT_DOCKER_CONFIG);
    cJSON_AddNumberToObject(cfg, "size", (double)p->config_len);
    cJSON_AddStringToObject(cfg, "digest", p->config_digest);
    cJSON *layers = cJSON_AddArrayToObject(m, "layers");
    for (size_t i = 0; i < p->n_layers; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(
            l, "mediaType", p->layers[i].media_type[0] ? p->layers[i].media_type : PUSH_LAYER_MT);
        cJSON_AddNumberToObject(l, "size", (double)p->layers[i].size);
        cJSON_AddStringToObject(l, "digest", p->layers[i].digest);
        cJSON_AddItemToArray(layers, l);
    }
    p->manifest = cJSON_Print(m);
    cJSON_Delete(m);
    cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", p->ref.path, p->ref.tag);
    const char *hdrs[] = {"Content-Type: " REG_MT_DOCKER_MANIFEST, NULL};
    reg_xfer_opts_t o = {.method = "PUT",
                         .headers = hdrs,
                         .body = p->manifest,
                         .body_len = strlen(p->manifest),
                         .on_done = manifest_done,
                         .data = p};
    int r = reg_sess_start(p->sess, &o, path, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing manifest: %s", strerror(-r));
}

static void config_put_done(reg_xfer_t *x, int result)
{
    push_op_t *p = x->data;
    p->xfer = NULL;
    if (result < 0 || (x->status != 201 && x->status != 200)) {
        cleanup_free char *msg = result < 0 ? xstrdup(reg_xfer_error(x)) : reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing image config: %s", msg);
        return;
    }
    put_manifest(p);
}

static void config_post_done(reg_xfer_t *x, int result)
{
    push_op_t *p = x->data;
    p->xfer = NULL;
    const char *loc = reg_xfer_header(x, "location");
    if (result < 0 || x->status != 202 || !loc) {
        cleanup_free char *msg = result < 0 ? xstrdup(reg_xfer_error(x)) : reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "starting config upload: %s", msg);
        return;
    }
    cleanup_free char *abs = absolute_location(p->sess, loc);
    cleanup_free char *url = with_digest(abs, p->config_digest);
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    reg_xfer_opts_t o = {.method = "PUT",
                         .headers = hdrs,
                         .body = p->config_bytes,
                         .body_len = p->config_len,
                         .on_done = config_put_done,
                         .data = p};
    int r = reg_sess_start(p->sess, &o, url, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing image config: %s", strerror(-r));
}

static void config_head_done(reg_xfer_t *x, int result)
{
    push_op_t *p = x->data;
    p->xfer = NULL;
    if (result == 0 && x->status == 200) {
        put_manifest(p);
        return;
    }
    cleanup_free char *path = xasprintf("/v2/%s/blobs/uploads/", p->ref.path);
    reg_xfer_opts_t o = {.method = "POST", .body = "", .on_done = config_post_done, .data = p};
    int r = reg_sess_start(p->sess, &o, path, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing image config: %s", strerror(-r));
}

static void push_config(push_op_t *p)
{
    /* The pushed config lists the diff_ids of the tars actually pushed. */
    cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(p->config, "rootfs");
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; i < p->n_layers; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(p->layers[i].diff_id));
    if (!rootfs) {
        rootfs = cJSON_AddObjectToObject(p->config, "rootfs");
        cJSON_AddStringToObject(rootfs, "type", "layers");
    }
    cJSON *old = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    bool same = cJSON_IsArray(old) && cJSON_Compare(old, ids, true);
    if (same) {
        cJSON_Delete(ids);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(rootfs, "diff_ids");
        cJSON_AddItemToObject(rootfs, "diff_ids", ids);
    }
    /* Unchanged configs keep their original bytes (and so the image ID). */
    if (!same || !p->config_bytes) {
        free(p->config_bytes);
        p->config_bytes = cJSON_PrintUnformatted(p->config);
    }
    p->config_len = strlen(p->config_bytes);
    reg_sha256_digest(p->config_bytes, p->config_len, p->config_digest);
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, p->config_digest);
    reg_xfer_opts_t o = {.method = "HEAD", .on_done = config_head_done, .data = p};
    int r = reg_sess_start(p->sess, &o, path, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing image config: %s", strerror(-r));
}

/* ---- layers ------------------------------------------------------------------ */

static void layer_begin(push_layer_t *l);

static void push_schedule(push_op_t *p)
{
    for (size_t i = 0; i < p->n_layers && p->active < (size_t)p->op.client->max_uploads; i++) {
        push_layer_t *l = &p->layers[i];
        if (l->state == P_NEW || l->state == P_WAITING) {
            l->state = P_ACTIVE;
            p->active++;
            layer_begin(l);
            if (p->dead)
                return;
        }
    }
    if (p->n_done == p->n_layers && !p->xfer)
        push_config(p);
}

static void layer_finished(push_layer_t *l, const char *status)
{
    push_op_t *p = l->p;
    l->state = P_DONE;
    emit(p, reg_msg_status(l->short_id, status));
    p->active--;
    p->n_done++;
    cleanup_free char *repo = xasprintf("%s/%s", p->ref.domain, p->ref.path);
    cache_note(p->op.client, l, repo);
}

static void layer_put_done(reg_xfer_t *x, int result)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    l->xfer = NULL;
    if (result < 0 || (x->status != 201 && x->status != 200)) {
        cleanup_free char *msg = result < 0 ? xstrdup(reg_xfer_error(x)) : reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, msg);
        return;
    }
    img_export_free(l->ex);
    l->ex = NULL;
    layer_finished(l, "Pushed");
    push_schedule(p);
}

static void layer_try_finish(push_layer_t *l)
{
    if (!l->export_done || !l->patch_done)
        return;
    push_op_t *p = l->p;
    cleanup_free char *url = with_digest(l->location, l->digest);
    reg_xfer_opts_t o = {.method = "PUT", .body = "", .on_done = layer_put_done, .data = l};
    int r = reg_sess_start(p->sess, &o, url, &l->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, strerror(-r));
}

static void layer_patch_done(reg_xfer_t *x, int result)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    l->xfer = NULL;
    if (result < 0 || x->status != 202) {
        cleanup_free char *msg = result < 0 ? xstrdup(reg_xfer_error(x)) : reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, msg);
        return;
    }
    const char *loc = reg_xfer_header(x, "location");
    if (loc) {
        free(l->location);
        l->location = absolute_location(p->sess, loc);
    }
    l->patch_done = true;
    layer_try_finish(l);
}

static ssize_t layer_read_cb(reg_xfer_t *x, char *buf, size_t len)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    size_t n = 0;
    while (n < len && l->head) {
        chunk_t *c = l->head;
        size_t take = c->len - c->off;
        if (take > len - n)
            take = len - n;
        memcpy(buf + n, c->data + c->off, take);
        c->off += take;
        n += take;
        if (c->off == c->len) {
            l->head = c->next;
            if (!l->head)
                l->tail = NULL;
            free(c);
        }
    }
    l->queued -= n;
    if (l->export_paused && l->queued < PUSH_LOW_WATER && l->ex) {
        l->export_paused = false;
        img_export_resume(l->ex);
    }
    if (n == 0) {
        if (l->export_done)
            return 0;
        l->upload_paused = true;
        return REG_READ_PAUSE;
    }
    l->sent += (int64_t)n;
    uint64_t now = uv_now(p->op.client->loop);
    if (now - l->last_progress_ms >= 100) {
        l->last_progress_ms = now;
        emit(p, reg_msg_progress(l->short_id, "Pushing", l->sent, 0));
    }
    return (ssize_t)n;
}

static int export_data_cb(img_export_t *ex, const char *buf, size_t len, void *data)
{
    (void)ex;
    push_layer_t *l = data;
    chunk_t *c = xmalloc(sizeof(*c) + len);
    c->next = NULL;
    c->len = len;
    c->off = 0;
    memcpy(c->data, buf, len);
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->queued += len;
    if (l->queued > PUSH_HIGH_WATER && !l->export_paused) {
        l->export_paused = true;
        img_export_pause(l->ex);
    }
    if (l->upload_paused && l->xfer) {
        l->upload_paused = false;
        reg_xfer_resume(l->xfer);
    }
    return 0;
}

static void export_done_cb(img_export_t *ex, const img_layer_result_t *res, const berth_err_t *err,
                           void *data)
{
    (void)ex;
    push_layer_t *l = data;
    push_op_t *p = l->p;
    if (err) {
        reg_op_fail(&p->op, err->status ? err->status : BERTH_E_INTERNAL, "exporting layer %s: %s",
                    l->short_id, err->msg);
        return;
    }
    snprintf(l->digest, sizeof(l->digest), "%s", res->digest);
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", res->diff_id);
    if (res->media_type[0])
        snprintf(l->media_type, sizeof(l->media_type), "%s", res->media_type);
    l->size = res->raw_size;
    l->export_done = true;
    if (l->upload_paused && l->xfer) {
        l->upload_paused = false;
        reg_xfer_resume(l->xfer); /* lets the read callback report the end */
    }
    layer_try_finish(l);
}

static void layer_stream_to(push_layer_t *l, const char *loc);

static void layer_post_done(reg_xfer_t *x, int result)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    l->xfer = NULL;
    const char *loc = reg_xfer_header(x, "location");
    if (result < 0 || x->status != 202 || !loc) {
        cleanup_free char *msg = result < 0 ? xstrdup(reg_xfer_error(x)) : reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, msg);
        return;
    }
    layer_stream_to(l, loc);
}

/* Export the layer and stream it into the upload session at loc. */
static void layer_stream_to(push_layer_t *l, const char *loc)
{
    push_op_t *p = l->p;
    free(l->location);
    l->location = absolute_location(p->sess, loc);
    berth_err_t err;
    berth_err_clear(&err);
    img_export_cbs_t cbs = {.data_cb = export_data_cb, .done_cb = export_done_cb};
    if (img_export_layer_begin(p->op.client->images, l->chain, true, &cbs, l, &l->ex, &err) < 0) {
        berth_err_prefix(&err, "exporting layer %s", l->short_id);
        push_abort(&p->op, &err);
        return;
    }
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    reg_xfer_opts_t o = {.method = "PATCH",
                         .headers = hdrs,
                         .on_read = layer_read_cb,
                         .upload_size = -1,
                         .on_done = layer_patch_done,
                         .data = l,
                         .low_speed_time_s = 120};
    int r = reg_sess_start(p->sess, &o, l->location, &l->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, strerror(-r));
}

static void layer_upload(push_layer_t *l)
{
    push_op_t *p = l->p;
    emit(p, reg_msg_status(l->short_id, "Pushing"));
    cleanup_free char *path = xasprintf("/v2/%s/blobs/uploads/", p->ref.path);
    reg_xfer_opts_t o = {.method = "POST", .body = "", .on_done = layer_post_done, .data = l};
    int r = reg_sess_start(p->sess, &o, path, &l->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "pushing layer %s: %s", l->short_id, strerror(-r));
}

static void layer_mount_done(reg_xfer_t *x, int result)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    l->xfer = NULL;
    if (result == 0 && x->status == 201) {
        cleanup_free char *status = xasprintf("Mounted from %s", l->mount_from);
        layer_finished(l, status);
        push_schedule(p);
        return;
    }
    /* 202: the registry opened a normal upload session instead. */
    const char *loc = reg_xfer_header(x, "location");
    if (result == 0 && x->status == 202 && loc) {
        emit(p, reg_msg_status(l->short_id, "Pushing"));
        layer_stream_to(l, loc);
        return;
    }
    layer_upload(l);
}

static void layer_head_done(reg_xfer_t *x, int result)
{
    push_layer_t *l = x->data;
    push_op_t *p = l->p;
    l->xfer = NULL;
    if (!(result == 0 && x->status == 200) && l->mount_from) {
        /* Cross-repository mount: no bytes move when the registry has it. */
        cleanup_free char *d = reg_url_escape(l->digest);
        cleanup_free char *from = reg_url_escape(l->mount_from);
        cleanup_free char *path =
            xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->ref.path, d, from);
        reg_xfer_opts_t o = {.method = "POST", .body = "", .on_done = layer_mount_done, .data = l};
        if (reg_sess_start(p->sess, &o, path, &l->xfer) == 0)
            return;
    }
    if (result == 0 && x->status == 200) {
        if (l->size <= 0) {
            const char *cl = reg_xfer_header(x, "content-length");
            l->size = cl ? strtoll(cl, NULL, 10) : 0;
        }
        layer_finished(l, "Layer already exists");
        push_schedule(p);
        return;
    }
    layer_upload(l);
}

/* A repository on the same registry that received this layer before. */
static char *mount_source(const cJSON *entry, const reg_ref_t *ref)
{
    size_t dlen = strlen(ref->domain);
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(entry, "repos"))
    {
        const char *repo = cJSON_GetStringValue(r);
        if (repo && !strncmp(repo, ref->domain, dlen) && repo[dlen] == '/' &&
            strcmp(repo + dlen + 1, ref->path) != 0)
            return xstrdup(repo + dlen + 1);
    }
    return NULL;
}

static void layer_begin(push_layer_t *l)
{
    push_op_t *p = l->p;
    img_layer_blob_t b;
    if (img_layer_blob_info(p->op.client->images, l->chain, &b) < 0) {
        /* Nothing kept yet: the export compresses (once) while uploading. */
        snprintf(l->diff_id, sizeof(l->diff_id), "%s", l->local_diff_id);
        layer_upload(l);
        return;
    }
    snprintf(l->digest, sizeof(l->digest), "%s", b.digest);
    snprintf(l->diff_id, sizeof(l->diff_id), "%s", l->local_diff_id);
    snprintf(l->media_type, sizeof(l->media_type), "%s", b.media_type);
    l->size = b.size;
    cJSON *cache = cache_load(p->op.client);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cache, l->chain);
    const char *digest = cJSON_GetStringValue(cJSON_GetObjectItem(e, "digest"));
    if (digest && !strcmp(digest, l->digest))
        l->mount_from = mount_source(e, &p->ref);
    cJSON_Delete(cache);
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, l->digest);
    reg_xfer_opts_t o = {.method = "HEAD", .on_done = layer_head_done, .data = l};
    if (reg_sess_start(p->sess, &o, path, &l->xfer) < 0)
        layer_upload(l);
}

static void push_ready_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    (void)s;
    push_op_t *p = data;
    if (err) {
        push_abort(&p->op, err);
        return;
    }
    cleanup_free char *line =
        xasprintf("The push refers to repository [%s/%s]", p->ref.domain, p->ref.path);
    emit(p, reg_msg_status(NULL, line));
    /* Docker lists layers top first. */
    for (size_t i = p->n_layers; i-- > 0;)
        emit(p, reg_msg_status(p->layers[i].short_id, "Preparing"));
    size_t max = (size_t)p->op.client->max_uploads;
    for (size_t i = p->n_layers, k = 0; i-- > 0; k++) {
        if (k >= max) {
            p->layers[i].state = P_WAITING;
            emit(p, reg_msg_status(p->layers[i].short_id, "Waiting"));
        }
    }
    push_schedule(p);
}

int reg_push(reg_client_t *c, const reg_push_opts_t *o, reg_progress_cb progress, reg_done_cb done,
             void *data, reg_op_t **op, berth_err_t *err)
{
    if (!c->images)
        return berth_err_set(err, BERTH_E_NOT_IMPLEMENTED, "push: no image store");
    reg_ref_t ref;
    if (reg_ref_parse(o->name, o->tag && *o->tag ? o->tag : NULL, &ref, err) < 0)
        return -1;
    if (!ref.tag) {
        reg_ref_free(&ref);
        return berth_err_set(err, BERTH_E_INVALID, "push by digest is not supported: give a tag");
    }
    cleanup_free char *full = xasprintf("%s/%s:%s", ref.domain, ref.path, ref.tag);
    berth_err_t lerr;
    berth_err_clear(&lerr);
    img_image_t *img = img_store_lookup(c->images, full, &lerr);
    if (!img) {
        cleanup_free char *fam = reg_ref_familiar_name(&ref);
        reg_ref_free(&ref);
        return berth_err_set(err, BERTH_E_NOT_FOUND,
                             "An image does not exist locally with the tag: %s", fam);
    }
    push_op_t *p = xcalloc(1, sizeof(*p));
    p->ref = ref;
    snprintf(p->image_id, sizeof(p->image_id), "%s", img->id);
    p->config = cJSON_Duplicate(img->config, true);
    /* The original config bytes keep the image ID when nothing changes. */
    char *blob = NULL;
    size_t blob_len = 0;
    berth_err_t berr;
    berth_err_clear(&berr);
    if (img_blob_get(c->images, img->id, &blob, &blob_len, &berr) == 0) {
        p->config_bytes = xstrndup(blob, blob_len);
        free(blob);
    }
    p->n_layers = img->n_layers;
    p->layers = xcalloc(p->n_layers + 1, sizeof(push_layer_t));
    for (size_t i = 0; i < p->n_layers; i++) {
        push_layer_t *l = &p->layers[i];
        l->p = p;
        l->index = i;
        snprintf(l->chain, sizeof(l->chain), "%s", img->chain_ids[i]);
        snprintf(l->local_diff_id, sizeof(l->local_diff_id), "%s", img->diff_ids[i]);
        reg_short_id(img->diff_ids[i], l->short_id);
    }
    /* Mount sources need pull access in the same token. */
    cJSON *cache = cache_load(c);
    berth_buf_t scope;
    buf_init(&scope);
    for (size_t i = 0; i < p->n_layers; i++) {
        cleanup_free char *src =
            mount_source(cJSON_GetObjectItemCaseSensitive(cache, p->layers[i].chain), &p->ref);
        if (!src)
            continue;
        cleanup_free char *one = xasprintf("repository:%s:pull", src);
        if (scope.data && strstr(scope.data, one))
            continue;
        buf_printf(&scope, "%s%s", scope.len ? " " : "", one);
    }
    cJSON_Delete(cache);
    p->op.abort = push_abort;
    p->progress = progress;
    p->done = done;
    p->data = data;
    reg_op_link(c, &p->op);
    p->sess = reg_sess_new(c, reg_ref_api_host(&p->ref), p->ref.path, "pull,push", o->auth);
    if (scope.len)
        p->sess->extra_scope = buf_steal(&scope);
    buf_free(&scope);
    if (op)
        *op = &p->op;
    reg_sess_open(p->sess, false, push_ready_cb, p);
    return 0;
}
