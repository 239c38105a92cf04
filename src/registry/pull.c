/* Pull: manifest (+ platform selection in an index) -> config -> layers
 * downloaded concurrently, each stream fed as it arrives to the image
 * store's unpack child (hash + decompress + extract), verified, committed by
 * chain ID; the image (config, manifest, tag) is committed last, so a failed
 * or interrupted pull leaves no image and a second pull reuses the layers
 * that did complete. */
#include "client.h"

#include <errno.h>
#include <string.h>

#include "berth/image.h"

#define PULL_MAX_ATTEMPTS 4
/* The store's ingest queue calls drain once it falls under a quarter of
 * IMG_INGEST_HIGH_WATER after reaching it: pause at exactly that mark, so each
 * layer holds little in berthd's memory (RSS stays small during big pulls). */
#define PULL_INGEST_HIGH_WATER IMG_INGEST_HIGH_WATER
#define PULL_PROGRESS_INTERVAL_MS 100

typedef struct pull_op pull_op_t;

enum layer_state { L_NEW, L_WAITING, L_DOWNLOADING, L_UNPACKING, L_UNPACKED, L_DONE };

typedef struct pull_layer {
    pull_op_t *p;
    size_t index;
    const reg_descriptor_t *desc;
    char short_id[13];
    const char *diff_id;
    char chain[IMG_DIGEST_LEN];
    char parent_chain[IMG_DIGEST_LEN]; /* "" for the base layer */
    enum layer_state state;
    reg_xfer_t *xfer;
    img_ingest_t *ing;
    int64_t received;
    uint64_t last_progress_ms;
    int attempts;
    bool paused;
    bool reauthed;
    bool timer_active;
    uv_timer_t retry_timer;
} pull_layer_t;

struct pull_op {
    reg_op_t op;
    reg_sess_t *sess;
    reg_ref_t ref;
    char *os, *arch, *variant;
    bool platform_given;
    reg_progress_cb progress;
    reg_done_cb done;
    void *data;
    reg_xfer_t *xfer;     /* manifest / config request */
    char top_digest[72];  /* what the tag points to (index or manifest) */
    berth_buf_t manifest; /* the image manifest's bytes */
    reg_manifest_t m;
    berth_buf_t config;
    char want_digest[72]; /* manifest chosen from an index */
    char fetching[128];   /* reference of the manifest request in flight */
    bool reauthed;
    char (*diff_ids)[IMG_DIGEST_LEN];
    pull_layer_t *layers;
    size_t n_layers;
    size_t active;
    size_t n_done;
    bool dead;        /* finished or cancelled: only waiting for handles */
    int open_handles; /* retry timers being closed */
};

static void pull_release(pull_op_t *p)
{
    if (p->open_handles > 0)
        return;
    free(p->layers);
    free(p->diff_ids);
    free(p);
}

static void timer_closed_cb(uv_handle_t *h)
{
    pull_layer_t *l = h->data;
    pull_op_t *p = l->p;
    p->open_handles--;
    if (p->dead)
        pull_release(p);
}

/* Stop everything; no callback of ours runs afterwards. */
static void pull_teardown(pull_op_t *p)
{
    p->dead = true;
    reg_op_unlink(&p->op);
    reg_xfer_cancel(p->xfer);
    p->xfer = NULL;
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer_t *l = &p->layers[i];
        reg_xfer_cancel(l->xfer);
        l->xfer = NULL;
        if (l->ing)
            img_ingest_free(l->ing);
        l->ing = NULL;
        if (l->timer_active) {
            l->timer_active = false;
            uv_close((uv_handle_t *)&l->retry_timer, timer_closed_cb);
        }
    }
    reg_sess_free(p->sess);
    p->sess = NULL;
    reg_ref_free(&p->ref);
    free(p->os);
    free(p->arch);
    free(p->variant);
    buf_free(&p->manifest);
    buf_free(&p->config);
    reg_manifest_free(&p->m);
    pull_release(p);
}

static void pull_abort(reg_op_t *op, const berth_err_t *err)
{
    pull_op_t *p = (pull_op_t *)op;
    reg_done_cb done = p->done;
    void *data = p->data;
    pull_teardown(p);
    if (err && done)
        done(data, err, NULL);
}

static void emit(pull_op_t *p, cJSON *msg)
{
    if (p->progress)
        p->progress(p->data, msg);
    else
        cJSON_Delete(msg);
}

static void emit_status(pull_op_t *p, const char *id, const char *status)
{
    emit(p, reg_msg_status(id, status));
}

static const char *ref_id(const pull_op_t *p)
{
    return p->ref.tag ? p->ref.tag : p->ref.digest;
}

/* "busybox:latest" / "localhost:5000/a@sha256:..." */
static char *familiar_ref(const pull_op_t *p)
{
    cleanup_free char *name = reg_ref_familiar_name(&p->ref);
    if (p->ref.tag)
        return xasprintf("%s:%s", name, p->ref.tag);
    return xasprintf("%s@%s", name, p->ref.digest);
}

/* ---- finishing ---------------------------------------------------------- */

/* Remember that this repository has the blobs the store keeps for these
 * layers: a later push to another repository of the registry mounts them. */
static void note_blob_sources(pull_op_t *p)
{
    const reg_client_t *c = p->op.client;
    if (!c->state_dir)
        return;
    cleanup_free char *repo = xasprintf("%s/%s", p->ref.domain, p->ref.path);
    cJSON *root = reg_push_cache_load(c);
    bool changed = false;
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer_t *l = &p->layers[i];
        img_layer_blob_t b;
        if (img_layer_blob_info(c->images, l->chain, &b) < 0 || strcmp(b.digest, l->desc->digest))
            continue;
        reg_push_cache_add(root, l->chain, b.digest, l->diff_id, b.size, repo);
        changed = true;
    }
    if (changed)
        reg_push_cache_save(c, root);
    cJSON_Delete(root);
}

static void pull_commit(pull_op_t *p)
{
    berth_err_t err;
    berth_err_clear(&err);
    img_store_t *store = p->op.client->images;
    cleanup_free char *tag_ref =
        p->ref.tag ? xasprintf("%s/%s:%s", p->ref.domain, p->ref.path, p->ref.tag) : NULL;
    cleanup_free char *digest_ref =
        xasprintf("%s/%s@%s", p->ref.domain, p->ref.path, p->top_digest);
    char config_digest[IMG_DIGEST_LEN];
    reg_sha256_digest(p->config.data, p->config.len, config_digest);
    bool up_to_date = false;
    if (tag_ref) {
        berth_err_t ignore;
        berth_err_clear(&ignore);
        img_image_t *cur = img_store_lookup(store, tag_ref, &ignore);
        up_to_date = cur && !strcmp(cur->id, config_digest);
    }
    if (img_store_commit_image(store, p->config.data, p->config.len, p->manifest.data,
                               p->manifest.len, tag_ref, digest_ref, NULL, &err) < 0) {
        berth_err_prefix(&err, "committing image");
        pull_abort(&p->op, &err);
        return;
    }
    note_blob_sources(p);
    cleanup_free char *fam = familiar_ref(p);
    cleanup_free char *digest_line = xasprintf("Digest: %s", p->top_digest);
    emit_status(p, NULL, digest_line);
    cleanup_free char *status_line = xasprintf(
        "Status: %s for %s", up_to_date ? "Image is up to date" : "Downloaded newer image", fam);
    emit_status(p, NULL, status_line);
    reg_done_cb done = p->done;
    void *data = p->data;
    pull_teardown(p);
    done(data, NULL, NULL);
}

/* ---- layers -------------------------------------------------------------- */

static int layer_start(pull_layer_t *l, berth_err_t *err);

static void pull_schedule(pull_op_t *p)
{
    int max = p->op.client->max_downloads;
    for (size_t i = 0; i < p->n_layers && p->active < (size_t)max; i++) {
        pull_layer_t *l = &p->layers[i];
        if (l->state == L_NEW || l->state == L_WAITING) {
            p->active++;
            l->state = L_DOWNLOADING;
            berth_err_t err;
            berth_err_clear(&err);
            if (layer_start(l, &err) < 0) {
                pull_abort(&p->op, &err);
                return;
            }
        }
    }
    if (p->n_done == p->n_layers)
        pull_commit(p);
}

static void layer_drain_cb(img_ingest_t *ing, void *data)
{
    (void)ing;
    pull_layer_t *l = data;
    if (l->paused && l->xfer) {
        l->paused = false;
        reg_xfer_resume(l->xfer);
    }
}

static int layer_data_cb(reg_xfer_t *x, const char *buf, size_t len)
{
    pull_layer_t *l = x->data;
    pull_op_t *p = l->p;
    if (l->received + (int64_t)len > l->desc->size) {
        reg_xfer_fail(x, -EBADMSG, "size mismatch: layer %s is larger than %lld bytes",
                      l->desc->digest, (long long)l->desc->size);
        return -EBADMSG;
    }
    if (img_ingest_pending(l->ing) >= PULL_INGEST_HIGH_WATER) {
        l->paused = true;
        return REG_DATA_PAUSE;
    }
    if (img_ingest_write(l->ing, buf, len) < 0)
        return -EPIPE; /* the child failed: its done callback says why */
    l->received += (int64_t)len;
    uint64_t now = uv_now(p->op.client->loop);
    if (now - l->last_progress_ms >= PULL_PROGRESS_INTERVAL_MS || l->received == l->desc->size) {
        l->last_progress_ms = now;
        emit(p, reg_msg_progress(l->short_id, "Downloading", l->received, l->desc->size));
    }
    return 0;
}

/* A layer is placed on top of its parent, so unpacked layers are committed
 * bottom-up as soon as everything below them is in place. -1 when the pull
 * was aborted. */
static int commit_ready_layers(pull_op_t *p)
{
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer_t *l = &p->layers[i];
        if (l->state == L_DONE)
            continue;
        if (l->state != L_UNPACKED)
            return 0;
        berth_err_t err;
        berth_err_clear(&err);
        char chain[IMG_DIGEST_LEN];
        if (img_ingest_commit(l->ing, l->parent_chain[0] ? l->parent_chain : NULL, chain, &err) <
            0) {
            berth_err_prefix(&err, "failed to register layer %s", l->desc->digest);
            pull_abort(&p->op, &err);
            return -1;
        }
        if (strcmp(chain, l->chain) != 0) {
            reg_op_fail(&p->op, BERTH_E_INTERNAL, "layer %s: chain ID %s, expected %s",
                        l->desc->digest, chain, l->chain);
            return -1;
        }
        img_ingest_free(l->ing);
        l->ing = NULL;
        l->state = L_DONE;
        p->n_done++;
        emit_status(p, l->short_id, "Pull complete");
    }
    return 0;
}

static void layer_ingest_done(img_ingest_t *ing, const img_layer_result_t *res,
                              const berth_err_t *err, void *data)
{
    pull_layer_t *l = data;
    pull_op_t *p = l->p;
    if (err) {
        /* The download may still be running when the child fails early. */
        if (strstr(err->msg, "digest") || err->status == BERTH_E_INVALID)
            reg_op_fail(&p->op, BERTH_E_INTERNAL,
                        "filesystem layer verification failed for digest %s: %s", l->desc->digest,
                        err->msg);
        else
            reg_op_fail(&p->op, BERTH_E_INTERNAL, "failed to register layer %s: %s",
                        l->desc->digest, err->msg);
        return;
    }
    if (l->xfer) {
        /* Cannot happen (ingest ends only after the download); be safe. */
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "layer %s: unpack finished before the download",
                    l->desc->digest);
        return;
    }
    if (strcmp(res->digest, l->desc->digest) != 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "filesystem layer verification failed for digest %s",
                    l->desc->digest);
        return;
    }
    if (strcmp(res->diff_id, l->diff_id) != 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL,
                    "layer %s: uncompressed digest %s does not match the image config's %s",
                    l->desc->digest, res->diff_id, l->diff_id);
        return;
    }
    (void)ing;
    emit(p, reg_msg_progress(l->short_id, "Extracting", res->raw_size, l->desc->size));
    l->state = L_UNPACKED;
    if (commit_ready_layers(p) < 0)
        return;
    pull_schedule(p);
}

static bool retryable(int result)
{
    return result == -ECONNRESET || result == -ECONNREFUSED || result == -ETIMEDOUT ||
           result == -EIO || result == -EHOSTUNREACH;
}

static void retry_timer_cb(uv_timer_t *t)
{
    pull_layer_t *l = t->data;
    berth_err_t err;
    berth_err_clear(&err);
    if (layer_start(l, &err) < 0)
        pull_abort(&l->p->op, &err);
}

static void layer_retry_later(pull_layer_t *l, unsigned delay_ms)
{
    pull_op_t *p = l->p;
    if (!l->timer_active) {
        uv_timer_init(p->op.client->loop, &l->retry_timer);
        l->retry_timer.data = l;
        l->timer_active = true;
        p->open_handles++;
    }
    uv_timer_start(&l->retry_timer, retry_timer_cb, delay_ms, 0);
}

static void layer_reauth_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    (void)s;
    pull_layer_t *l = data;
    if (err) {
        pull_abort(&l->p->op, err);
        return;
    }
    berth_err_t serr;
    berth_err_clear(&serr);
    if (layer_start(l, &serr) < 0)
        pull_abort(&l->p->op, &serr);
}

static void layer_xfer_done(reg_xfer_t *x, int result)
{
    pull_layer_t *l = x->data;
    pull_op_t *p = l->p;
    l->xfer = NULL;
    if (result == -EPIPE)
        return; /* the ingest child failed; layer_ingest_done reports it */
    if (result < 0 && retryable(result) && l->attempts < PULL_MAX_ATTEMPTS) {
        /* Connection lost: start this layer again after a short backoff. */
        img_ingest_free(l->ing);
        l->ing = NULL;
        unsigned delay_ms = 500u << (l->attempts - 1);
        cleanup_free char *msg = xasprintf("Retrying in %u second%s", (delay_ms + 999) / 1000,
                                           (delay_ms + 999) / 1000 == 1 ? "" : "s");
        emit_status(p, l->short_id, msg);
        layer_retry_later(l, delay_ms);
        return;
    }
    if (result < 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "error pulling layer %s: %s", l->desc->digest,
                    reg_xfer_error(x));
        return;
    }
    if (x->status == 401 && !l->reauthed && l->attempts < PULL_MAX_ATTEMPTS) {
        /* Token expired during a long pull: refresh it and start again. */
        l->reauthed = true;
        img_ingest_free(l->ing);
        l->ing = NULL;
        if (!reg_sess_reauth(p->sess, x, layer_reauth_cb, l)) {
            /* Another layer is refreshing it: retry shortly with its token. */
            layer_retry_later(l, 500);
        }
        return;
    }
    if (x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&p->op, x->status == 404 ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL,
                    "error pulling layer %s: %s", l->desc->digest, msg);
        return;
    }
    if (l->received != l->desc->size) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL,
                    "size mismatch: layer %s has %lld bytes, expected %lld", l->desc->digest,
                    (long long)l->received, (long long)l->desc->size);
        return;
    }
    emit_status(p, l->short_id, "Verifying Checksum");
    emit_status(p, l->short_id, "Download complete");
    l->state = L_UNPACKING;
    img_ingest_end(l->ing);
    /* max-concurrent-downloads counts downloads (as in Docker): the next
     * layer starts while this one's child finishes unpacking and syncing. */
    p->active--;
    pull_schedule(p);
}

/* 0, or -1 with err (nothing torn down: the caller aborts the pull). */
static int layer_start(pull_layer_t *l, berth_err_t *err)
{
    pull_op_t *p = l->p;
    l->attempts++;
    l->received = 0;
    l->paused = false;
    if (img_ingest_begin(p->op.client->images, l->desc->digest, layer_ingest_done, l, &l->ing,
                         err) < 0)
        return berth_err_prefix(err, "pulling layer %s", l->desc->digest);
    img_ingest_set_drain_cb(l->ing, layer_drain_cb);
    img_ingest_set_media_type(l->ing, l->desc->media_type);
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, l->desc->digest);
    reg_xfer_opts_t o = {
        .on_data = layer_data_cb,
        .on_done = layer_xfer_done,
        .data = l,
        .follow_redirects = true,
        .low_speed_time_s = 30,
    };
    /* Foreign layers live elsewhere; registries usually mirror them. */
    int r = reg_sess_start(p->sess, &o, path, &l->xfer);
    if (r < 0)
        return berth_err_sys(err, -r, "pulling layer %s", l->desc->digest);
    return 0;
}

/* ---- config --------------------------------------------------------------- */

static void config_done(reg_xfer_t *x, int result)
{
    pull_op_t *p = x->data;
    p->xfer = NULL;
    if (result < 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "fetching image config: %s", reg_xfer_error(x));
        return;
    }
    if (x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "fetching image config %s: %s", p->m.config.digest,
                    msg);
        return;
    }
    char digest[72];
    reg_sha256_digest(x->body.data, x->body.len, digest);
    if (strcmp(digest, p->m.config.digest) != 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "image config verification failed for digest %s",
                    p->m.config.digest);
        return;
    }
    buf_append(&p->config, x->body.data ? x->body.data : "", x->body.len);
    cJSON *cfg = cJSON_ParseWithLength(p->config.data, p->config.len);
    const cJSON *diff_ids = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
    if (!cJSON_IsArray(diff_ids) || (size_t)cJSON_GetArraySize(diff_ids) != p->m.n_layers) {
        cJSON_Delete(cfg);
        reg_op_fail(
            &p->op, BERTH_E_INTERNAL,
            "invalid image config: rootfs.diff_ids does not match the manifest's %zu layers",
            p->m.n_layers);
        return;
    }
    if (p->platform_given) {
        const cJSON *os = cJSON_GetObjectItemCaseSensitive(cfg, "os");
        const cJSON *arch = cJSON_GetObjectItemCaseSensitive(cfg, "architecture");
        if (cJSON_IsString(os) && cJSON_IsString(arch) &&
            (strcmp(os->valuestring, p->os) || strcmp(arch->valuestring, p->arch))) {
            cleanup_free char *fam = familiar_ref(p);
            reg_op_fail(&p->op, BERTH_E_NOT_FOUND,
                        "image with reference %s was found but its platform (%s/%s) does not "
                        "match the specified platform (%s/%s)",
                        fam, os->valuestring, arch->valuestring, p->os, p->arch);
            cJSON_Delete(cfg);
            return;
        }
    }
    p->n_layers = p->m.n_layers;
    p->layers = xcalloc(p->n_layers + 1, sizeof(pull_layer_t));
    p->diff_ids = xcalloc(p->n_layers + 1, IMG_DIGEST_LEN);
    const char *parent = NULL;
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer_t *l = &p->layers[i];
        const cJSON *d = cJSON_GetArrayItem(diff_ids, (int)i);
        if (!cJSON_IsString(d) || !reg_digest_valid(d->valuestring)) {
            cJSON_Delete(cfg);
            reg_op_fail(&p->op, BERTH_E_INTERNAL, "invalid image config: bad diff_id %zu", i);
            return;
        }
        l->p = p;
        l->index = i;
        l->desc = &p->m.layers[i];
        reg_short_id(l->desc->digest, l->short_id);
        snprintf(p->diff_ids[i], IMG_DIGEST_LEN, "%s", d->valuestring);
        l->diff_id = p->diff_ids[i];
        img_chain_id(parent, d->valuestring, l->chain);
        snprintf(l->parent_chain, sizeof(l->parent_chain), "%s", parent ? parent : "");
        parent = l->chain;
    }
    size_t n = p->n_layers;
    cJSON_Delete(cfg);

    cleanup_free char *from = xasprintf("Pulling from %s", p->ref.path);
    emit_status(p, ref_id(p), from);
    img_store_t *store = p->op.client->images;
    for (size_t i = 0; i < n; i++) {
        pull_layer_t *l = &p->layers[i];
        if (img_store_has_layer(store, l->chain)) {
            l->state = L_DONE;
            p->n_done++;
            emit_status(p, l->short_id, "Already exists");
        } else {
            emit_status(p, l->short_id, "Pulling fs layer");
        }
    }
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        pull_layer_t *l = &p->layers[i];
        if (l->state != L_NEW)
            continue;
        if (started++ >= (size_t)p->op.client->max_downloads) {
            l->state = L_WAITING;
            emit_status(p, l->short_id, "Waiting");
        }
    }
    pull_schedule(p);
}

/* ---- manifest ------------------------------------------------------------- */

static void fetch_manifest(pull_op_t *p, const char *reference);

static void manifest_reauth_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    (void)s;
    pull_op_t *p = data;
    if (err) {
        pull_abort(&p->op, err);
        return;
    }
    fetch_manifest(p, p->fetching);
}

static void manifest_done(reg_xfer_t *x, int result)
{
    pull_op_t *p = x->data;
    p->xfer = NULL;
    cleanup_free char *fam = familiar_ref(p);
    if (result < 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "%s", reg_xfer_error(x));
        return;
    }
    if (x->status == 404) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_NOT_FOUND, "manifest for %s not found: %s", fam, msg);
        return;
    }
    if (x->status == 401 && !p->reauthed) {
        p->reauthed = true;
        if (reg_sess_reauth(p->sess, x, manifest_reauth_cb, p))
            return;
    }
    if (x->status == 401 || x->status == 403) {
        cleanup_free char *name = reg_ref_familiar_name(&p->ref);
        reg_op_fail(&p->op, BERTH_E_NOT_FOUND,
                    "pull access denied for %s, repository does not exist or may require "
                    "'docker login'",
                    name);
        return;
    }
    if (x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "fetching manifest for %s: %s", fam, msg);
        return;
    }
    char digest[72];
    reg_sha256_digest(x->body.data ? x->body.data : "", x->body.len, digest);
    bool top = p->top_digest[0] == '\0';
    /* A manifest asked for by digest must hash to it. */
    const char *want = top ? p->ref.digest : p->want_digest;
    if (want && strcmp(want, digest) != 0) {
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "manifest verification failed for digest %s", want);
        return;
    }
    if (top)
        snprintf(p->top_digest, sizeof(p->top_digest), "%s", digest);
    berth_err_t err;
    berth_err_clear(&err);
    reg_manifest_t m;
    if (reg_manifest_parse(x->body.data ? x->body.data : "", x->body.len,
                           reg_xfer_header(x, "content-type"), &m, &err) < 0) {
        berth_err_prefix(&err, "%s", fam);
        pull_abort(&p->op, &err);
        return;
    }
    if (m.is_index) {
        if (!top) {
            reg_manifest_free(&m);
            reg_op_fail(&p->op, BERTH_E_INTERNAL, "manifest list points to another manifest list");
            return;
        }
        const reg_descriptor_t *d = reg_manifest_select(&m, p->os, p->arch, p->variant, &err);
        if (!d) {
            reg_manifest_free(&m);
            pull_abort(&p->op, &err);
            return;
        }
        snprintf(p->want_digest, sizeof(p->want_digest), "%s", d->digest);
        reg_manifest_free(&m);
        fetch_manifest(p, p->want_digest);
        return;
    }
    buf_reset(&p->manifest);
    buf_append(&p->manifest, x->body.data ? x->body.data : "", x->body.len);
    p->m = m;
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", p->ref.path, p->m.config.digest);
    reg_xfer_opts_t o = {
        .on_done = config_done, .data = p, .follow_redirects = true, .max_body = 8 << 20};
    int r = reg_sess_start(p->sess, &o, path, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "fetching image config: %s", strerror(-r));
}

static void fetch_manifest(pull_op_t *p, const char *reference)
{
    if (reference != p->fetching)
        snprintf(p->fetching, sizeof(p->fetching), "%s", reference);
    cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", p->ref.path, reference);
    const char *hdrs[] = {REG_MANIFEST_ACCEPT, NULL};
    reg_xfer_opts_t o = {
        .headers = hdrs, .on_done = manifest_done, .data = p, .follow_redirects = true};
    int r = reg_sess_start(p->sess, &o, path, &p->xfer);
    if (r < 0)
        reg_op_fail(&p->op, BERTH_E_INTERNAL, "fetching manifest: %s", strerror(-r));
}

static void pull_ready_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    (void)s;
    pull_op_t *p = data;
    if (err) {
        pull_abort(&p->op, err);
        return;
    }
    fetch_manifest(p, p->ref.digest ? p->ref.digest : p->ref.tag);
}

int reg_pull(reg_client_t *c, const reg_pull_opts_t *o, reg_progress_cb progress, reg_done_cb done,
             void *data, reg_op_t **op, berth_err_t *err)
{
    if (!c->images)
        return berth_err_set(err, BERTH_E_NOT_IMPLEMENTED, "pull: no image store");
    pull_op_t *p = xcalloc(1, sizeof(*p));
    if (reg_ref_parse(o->from_image, o->tag, &p->ref, err) < 0) {
        free(p);
        return -1;
    }
    if (reg_platform_parse(o->platform, &p->os, &p->arch, &p->variant, err) < 0) {
        reg_ref_free(&p->ref);
        free(p);
        return -1;
    }
    p->platform_given = o->platform && *o->platform;
    buf_init(&p->manifest);
    buf_init(&p->config);
    p->op.abort = pull_abort;
    p->progress = progress;
    p->done = done;
    p->data = data;
    reg_op_link(c, &p->op);
    p->sess = reg_sess_new(c, reg_ref_api_host(&p->ref), p->ref.path, "pull", o->auth);
    if (op)
        *op = &p->op;
    reg_sess_open(p->sess, false, pull_ready_cb, p);
    return 0;
}
