/* docker load: docker-archive (manifest.json) and OCI image layout
 * (index.json) tarballs. The upload streams to a berth-imagejob helper
 * (load_child.c) that unpacks and places layers and config blobs; here the
 * parent commits records and tags. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "image/internal.h"

struct img_load {
    img_store_t *store;
    img_job_t *job;
    char *tmpdir;
    img_load_cbs_t cbs;
    void *data;
    bool ended;
    bool tmp_removed;
    berth_buf_t status_buf; /* partial progress line from the child */
};

static void load_done_cb(img_job_t *job, cJSON *result, void *data)
{
    UNUSED(job);
    img_load_t *ld = data;
    ld->job = NULL;
    berth_err_t err = {0};
    if (!img_job_result_error(result, &err)) {
        const cJSON *images = cJSON_GetObjectItemCaseSensitive(result, "images");
        const cJSON *im;
        cJSON_ArrayForEach(im, images)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(im, "id");
            const cJSON *tags = cJSON_GetObjectItemCaseSensitive(im, "tags");
            cleanup_free char *cfg = NULL;
            size_t len;
            img_image_t *img = NULL;
            if (!cJSON_IsString(id) ||
                img_blob_get(ld->store, id->valuestring, &cfg, &len, &err) < 0 ||
                img_store_commit_image(ld->store, cfg, len, NULL, 0, NULL, NULL, &img, &err) < 0)
                break;
            const cJSON *t;
            bool tagged = false;
            cJSON_ArrayForEach(t, tags)
            {
                if (!cJSON_IsString(t))
                    continue;
                berth_err_t e2 = {0};
                img_image_t *old = img_store_lookup(ld->store, t->valuestring, &e2);
                if (old && old != img && ld->cbs.progress_cb) {
                    cleanup_free char *fam0 = img_ref_familiarize(t->valuestring);
                    cleanup_free char *msg =
                        xasprintf("The image %s already exists, renaming the old one with ID %s "
                                  "to empty string\n",
                                  fam0, old->id);
                    ld->cbs.progress_cb(ld, msg, ld->data);
                }
                if (img_store_tag(ld->store, img, t->valuestring, &err) < 0)
                    break;
                cleanup_free char *fam = img_ref_familiarize(t->valuestring);
                cleanup_free char *line = xasprintf("Loaded image: %s\n", fam);
                tagged = true;
                if (ld->cbs.progress_cb)
                    ld->cbs.progress_cb(ld, line, ld->data);
            }
            if (berth_err_isset(&err))
                break;
            if (!tagged && ld->cbs.progress_cb) {
                cleanup_free char *line = xasprintf("Loaded image ID: %s\n", img->id);
                ld->cbs.progress_cb(ld, line, ld->data);
            }
        }
    }
    /* The spooled upload can be big: unlink it off the loop. */
    img_store_remove_async(ld->store, ld->tmpdir);
    ld->tmp_removed = true;
    if (ld->cbs.done_cb)
        ld->cbs.done_cb(ld, berth_err_isset(&err) ? &err : NULL, ld->data);
}

static void load_out_cb(img_job_t *job, const char *buf, size_t len, void *data)
{
    UNUSED(job);
    img_load_t *ld = data;
    if (ld->status_buf.len + len > 1024 * 1024)
        return; /* a child never sends this much; ignore rather than grow */
    buf_append(&ld->status_buf, buf, len);
    char *nl;
    while (ld->status_buf.len && (nl = memchr(ld->status_buf.data, '\n', ld->status_buf.len))) {
        size_t n = (size_t)(nl - ld->status_buf.data);
        cJSON *msg = cJSON_ParseWithLength(ld->status_buf.data, n);
        buf_consume(&ld->status_buf, n + 1);
        if (msg && ld->cbs.status_cb)
            ld->cbs.status_cb(ld, msg, ld->data);
        cJSON_Delete(msg);
    }
}

static void load_abort_cb(img_job_t *job, void *data)
{
    UNUSED(job);
    img_load_t *ld = data;
    ld->job = NULL;
    berth_err_t err = {0};
    berth_err_set(&err, BERTH_E_UNAVAILABLE, "image store closed");
    if (ld->cbs.done_cb)
        ld->cbs.done_cb(ld, &err, ld->data);
}

static void load_drain_cb(img_job_t *job, void *data)
{
    UNUSED(job);
    img_load_t *ld = data;
    if (ld->cbs.drain_cb)
        ld->cbs.drain_cb(ld, ld->data);
}

int img_load_begin(img_store_t *s, const img_load_cbs_t *cbs, void *data, img_load_t **out,
                   berth_err_t *err)
{
    img_load_t *ld = xcalloc(1, sizeof(*ld));
    ld->store = s;
    ld->cbs = *cbs;
    ld->data = data;
    ld->tmpdir = img_store_tmpdir(s, err);
    if (!ld->tmpdir) {
        free(ld);
        return -1;
    }
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "tmpdir", ld->tmpdir);
    buf_init(&ld->status_buf);
    if (img_job_start(s, "load", args, true, true, &ld->job, err) < 0) {
        fs_rm_rf(ld->tmpdir);
        free(ld->tmpdir);
        free(ld);
        return -1;
    }
    ld->job->on_done = load_done_cb;
    ld->job->on_drain = load_drain_cb;
    ld->job->on_abort = load_abort_cb;
    ld->job->on_out = load_out_cb;
    ld->job->data = ld;
    *out = ld;
    return 0;
}

int img_load_write(img_load_t *ld, const void *buf, size_t len)
{
    return ld->job ? img_job_write(ld->job, buf, len) : -EPIPE;
}

size_t img_load_pending(const img_load_t *ld)
{
    return ld->job ? ld->job->pending : 0;
}

void img_load_end(img_load_t *ld)
{
    if (ld->job && !ld->ended) {
        ld->ended = true;
        img_job_end_input(ld->job);
    }
}

void img_load_free(img_load_t *ld)
{
    if (!ld)
        return;
    if (ld->job)
        img_job_cancel(ld->job);
    /* The killed child may still hold files open; removing the dir is fine. */
    if (!ld->tmp_removed)
        img_store_remove_async(ld->store, ld->tmpdir);
    buf_free(&ld->status_buf);
    free(ld->tmpdir);
    free(ld);
}
