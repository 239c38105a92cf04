/* Layer ingest for the registry puller (and builds): bytes fed on the loop
 * go through a pipe to a child that hashes, decompresses and unpacks. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "image/internal.h"

struct img_ingest {
    img_store_t *store;
    img_job_t *job;
    char *dir; /* tmp/<x>: diff/ + layer.blob (the bytes as fed) */
    char expected[IMG_DIGEST_LEN];
    char media_type[80]; /* from the manifest; "" -> the compression seen */
    img_ingest_done_cb done_cb;
    void (*drain_cb)(img_ingest_t *, void *);
    void *data;
    img_layer_result_t res;
    bool succeeded, ended, committed;
};

static void ingest_done(img_job_t *job, cJSON *result, void *data)
{
    UNUSED(job);
    img_ingest_t *ing = data;
    ing->job = NULL;
    berth_err_t err = {0};
    if (!img_job_result_error(result, &err)) {
        const cJSON *v;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "digest")))
            snprintf(ing->res.digest, IMG_DIGEST_LEN, "%s", v->valuestring);
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "diff_id")))
            snprintf(ing->res.diff_id, IMG_DIGEST_LEN, "%s", v->valuestring);
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "raw_size")))
            ing->res.raw_size = (int64_t)v->valuedouble;
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "size")))
            ing->res.size = (int64_t)v->valuedouble;
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(result, "tar_size")))
            ing->res.tar_size = (int64_t)v->valuedouble;
        if (ing->media_type[0])
            snprintf(ing->res.media_type, sizeof(ing->res.media_type), "%s", ing->media_type);
        else if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(result, "media_type")))
            snprintf(ing->res.media_type, sizeof(ing->res.media_type), "%s", v->valuestring);
        ing->succeeded = img_digest_valid(ing->res.diff_id);
        if (!ing->succeeded)
            berth_err_set(&err, BERTH_E_INTERNAL, "unpack helper returned no diff_id");
    }
    if (!ing->succeeded)
        img_store_remove_async(ing->store, ing->dir);
    ing->done_cb(ing, ing->succeeded ? &ing->res : NULL, ing->succeeded ? NULL : &err, ing->data);
}

static void ingest_abort(img_job_t *job, void *data)
{
    UNUSED(job);
    img_ingest_t *ing = data;
    ing->job = NULL;
    berth_err_t err = {0};
    berth_err_set(&err, BERTH_E_UNAVAILABLE, "image store closed");
    ing->done_cb(ing, NULL, &err, ing->data);
}

static void ingest_drain(img_job_t *job, void *data)
{
    UNUSED(job);
    img_ingest_t *ing = data;
    if (ing->drain_cb)
        ing->drain_cb(ing, ing->data);
}

int img_ingest_begin(img_store_t *s, const char *expected_digest, img_ingest_done_cb done_cb,
                     void *data, img_ingest_t **out, berth_err_t *err)
{
    if (expected_digest && !img_digest_valid(expected_digest))
        return berth_err_set(err, BERTH_E_INVALID, "invalid digest %s", expected_digest);
    img_ingest_t *ing = xcalloc(1, sizeof(*ing));
    ing->store = s;
    ing->done_cb = done_cb;
    ing->data = data;
    ing->dir = img_store_tmpdir(s, err);
    if (!ing->dir) {
        free(ing);
        return -1;
    }
    if (expected_digest)
        snprintf(ing->expected, sizeof(ing->expected), "%s", expected_digest);
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "dir", ing->dir);
    if (expected_digest)
        cJSON_AddStringToObject(args, "expected", ing->expected);
    if (img_job_start(s, "ingest", args, true, false, &ing->job, err) < 0) {
        fs_rm_rf(ing->dir);
        free(ing->dir);
        free(ing);
        return -1;
    }
    ing->job->on_done = ingest_done;
    ing->job->on_drain = ingest_drain;
    ing->job->on_abort = ingest_abort;
    ing->job->data = ing;
    *out = ing;
    return 0;
}

int img_ingest_write(img_ingest_t *ing, const void *buf, size_t len)
{
    return ing->job && !ing->ended ? img_job_write(ing->job, buf, len) : -EPIPE;
}

size_t img_ingest_pending(const img_ingest_t *ing)
{
    return ing->job ? ing->job->pending : 0;
}

void img_ingest_set_media_type(img_ingest_t *ing, const char *media_type)
{
    snprintf(ing->media_type, sizeof(ing->media_type), "%s", media_type ? media_type : "");
}

void img_ingest_set_drain_cb(img_ingest_t *ing, void (*drain_cb)(img_ingest_t *, void *))
{
    ing->drain_cb = drain_cb;
}

void img_ingest_end(img_ingest_t *ing)
{
    if (ing->job && !ing->ended) {
        ing->ended = true;
        img_job_end_input(ing->job);
    }
}

int img_ingest_commit(img_ingest_t *ing, const char *parent_chain, char chain_out[IMG_DIGEST_LEN],
                      berth_err_t *err)
{
    if (!ing->succeeded || ing->committed)
        return berth_err_set(err, BERTH_E_INTERNAL, "layer ingest not ready to commit");
    char chain[IMG_DIGEST_LEN];
    img_chain_id(parent_chain, ing->res.diff_id, chain);
    if (parent_chain && !img_store_has_layer(ing->store, parent_chain))
        return berth_err_set(err, BERTH_E_INTERNAL, "parent layer %s missing", parent_chain);
    if (img_store_place_layer(ing->store, ing->dir, chain, parent_chain, &ing->res, err) < 0)
        return -1;
    ing->committed = true;
    if (chain_out)
        memcpy(chain_out, chain, IMG_DIGEST_LEN);
    return 0;
}

void img_ingest_free(img_ingest_t *ing)
{
    if (!ing)
        return;
    if (ing->job)
        img_job_cancel(ing->job);
    if (!ing->committed)
        img_store_remove_async(ing->store, ing->dir);
    free(ing->dir);
    free(ing);
}
