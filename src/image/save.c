/* docker save (docker-archive + OCI layout in one tar, like moby >= 25) and
 * layer export for push. Children stream the bytes over a pipe (save_child.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <archive_entry.h>
#include <zlib.h>

#include "image/internal.h"

typedef struct save_image {
    img_image_t *img;
    char **tags; /* full references to record */
    size_t n_tags;
} save_image_t;

struct img_export {
    img_store_t *store;
    img_job_t *job;
    img_export_cbs_t cbs;
    void *data;
    bool failed;
};

static void export_out_cb(img_job_t *job, const char *buf, size_t len, void *data)
{
    img_export_t *ex = data;
    if (ex->failed)
        return;
    if (ex->cbs.data_cb && ex->cbs.data_cb(ex, buf, len, ex->data) < 0) {
        ex->failed = true;
        img_job_pause_out(job);
        kill(job->pid, SIGKILL);
    }
}

static void export_done_cb(img_job_t *job, cJSON *result, void *data)
{
    UNUSED(job);
    img_export_t *ex = data;
    ex->job = NULL;
    berth_err_t err = {0};
    img_layer_result_t res = {0};
    if (ex->failed)
        berth_err_set(&err, BERTH_E_INTERNAL, "export aborted by the receiver");
    else if (!img_job_result_error(result, &err)) {
        const cJSON *v;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "digest")))
            snprintf(res.digest, sizeof(res.digest), "%s", v->valuestring);
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "diff_id")))
            snprintf(res.diff_id, sizeof(res.diff_id), "%s", v->valuestring);
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "raw_size")))
            res.raw_size = (int64_t)v->valuedouble;
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "size")))
            res.size = (int64_t)v->valuedouble;
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "tar_size")))
            res.tar_size = (int64_t)v->valuedouble;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "media_type")))
            snprintf(res.media_type, sizeof(res.media_type), "%s", v->valuestring);
    }
    if (ex->cbs.done_cb)
        ex->cbs.done_cb(ex, berth_err_isset(&err) ? NULL : &res,
                        berth_err_isset(&err) ? &err : NULL, ex->data);
}

static void export_abort_cb(img_job_t *job, void *data)
{
    UNUSED(job);
    img_export_t *ex = data;
    ex->job = NULL;
    berth_err_t err = {0};
    berth_err_set(&err, BERTH_E_UNAVAILABLE, "image store closed");
    if (ex->cbs.done_cb)
        ex->cbs.done_cb(ex, NULL, &err, ex->data);
}

static int export_start(img_store_t *s, const char *kind, cJSON *args, const img_export_cbs_t *cbs,
                        void *data, img_export_t **out, berth_err_t *err)
{
    img_export_t *ex = xcalloc(1, sizeof(*ex));
    ex->store = s;
    ex->cbs = *cbs;
    ex->data = data;
    if (img_job_start(s, kind, args, false, true, &ex->job, err) < 0) {
        free(ex);
        return -1;
    }
    ex->job->on_out = export_out_cb;
    ex->job->on_done = export_done_cb;
    ex->job->on_abort = export_abort_cb;
    ex->job->data = ex;
    *out = ex;
    return 0;
}

int img_export_layer_begin(img_store_t *s, const char *chain_id, bool blob,
                           const img_export_cbs_t *cbs, void *data, img_export_t **out,
                           berth_err_t *err)
{
    if (!img_store_has_layer(s, chain_id))
        return berth_err_set(err, BERTH_E_NOT_FOUND, "layer %s not found", chain_id);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "chain_id", chain_id);
    cJSON_AddBoolToObject(args, "blob", blob);
    return export_start(s, "export", args, cbs, data, out, err);
}

int img_save_begin(img_store_t *s, const char *const *names, size_t n_names,
                   const img_export_cbs_t *cbs, void *data, img_export_t **out, berth_err_t *err)
{
    save_image_t *ims = xcalloc(n_names + 1, sizeof(*ims));
    size_t n = 0;
    int ret = -1;
    for (size_t i = 0; i < n_names; i++) {
        img_image_t *img = img_store_lookup(s, names[i], err);
        if (!img)
            goto out;
        char *tag = NULL;
        img_ref_t r;
        berth_err_t e2 = {0};
        if (!img_is_full_id(names[i]) && img_ref_parse(names[i], &r, &e2) == 0) {
            if (!r.digest) {
                char *full = img_ref_string(&r);
                for (size_t t = 0; t < img->n_repo_tags; t++)
                    if (strcmp(img->repo_tags[t], full) == 0)
                        tag = xstrdup(full);
                free(full);
            }
            img_ref_free(&r);
        }
        save_image_t *si = NULL;
        for (size_t k = 0; k < n; k++)
            if (ims[k].img == img)
                si = &ims[k];
        if (!si) {
            si = &ims[n++];
            si->img = img;
            si->tags = xcalloc(n_names + 1, sizeof(char *));
        }
        if (tag)
            si->tags[si->n_tags++] = tag;
    }
    /* The helper gets what it needs of the records: id, layers, names. */
    cJSON *args = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(args, "images");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", ims[i].img->id);
        cJSON *ch = cJSON_AddArrayToObject(o, "chain_ids");
        for (size_t l = 0; l < ims[i].img->n_layers; l++)
            cJSON_AddItemToArray(ch, cJSON_CreateString(ims[i].img->chain_ids[l]));
        cJSON *tg = cJSON_AddArrayToObject(o, "tags");
        for (size_t t = 0; t < ims[i].n_tags; t++)
            cJSON_AddItemToArray(tg, cJSON_CreateString(ims[i].tags[t]));
        cJSON_AddItemToArray(arr, o);
    }
    ret = export_start(s, "save", args, cbs, data, out, err);
out:
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < ims[i].n_tags; t++)
            free(ims[i].tags[t]);
        free(ims[i].tags);
    }
    free(ims);
    return ret;
}

void img_export_pause(img_export_t *ex)
{
    if (ex->job)
        img_job_pause_out(ex->job);
}

void img_export_resume(img_export_t *ex)
{
    if (ex->job && !ex->failed)
        img_job_resume_out(ex->job);
}

void img_export_free(img_export_t *ex)
{
    if (!ex)
        return;
    if (ex->job)
        img_job_cancel(ex->job);
    free(ex);
}
