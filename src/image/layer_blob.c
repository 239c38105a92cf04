/* A layer's compressed blob (Docker's v2metadata, kept inside the layer dir):
 * layers/<chain>/layer.blob holds the bytes a registry knows (as pulled, or
 * as compressed once by the first push) and blob.json their digest, size and
 * media type. blob.json is written atomically after layer.blob is complete,
 * so a blob without metadata is never used. (Reading the tar back,
 * img_layer_tar_open, lives in save_child.c: berthd itself must not link
 * libarchive.) */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "image/internal.h"

#define BLOB_META_MAX 4096

int img_layer_blob_meta_write(const char *layer_dir, const img_layer_blob_t *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "digest", b->digest);
    cJSON_AddNumberToObject(o, "size", (double)b->size);
    cJSON_AddStringToObject(o, "media_type", b->media_type);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cleanup_free char *path = xasprintf("%s/" IMG_LAYER_BLOB_META, layer_dir);
    int r = fs_write_atomic(path, txt, strlen(txt), 0600);
    free(txt);
    return r;
}

int img_layer_blob_info(img_store_t *s, const char *chain_id, img_layer_blob_t *out)
{
    if (!img_digest_valid(chain_id))
        return -1;
    cleanup_free char *path =
        xasprintf("%s/layers/%s/" IMG_LAYER_BLOB_META, img_store_root(s), chain_id + 7);
    cleanup_free char *txt = NULL;
    size_t n;
    if (fs_read_file(path, BLOB_META_MAX, &txt, &n) < 0)
        return -1;
    cJSON *o = cJSON_ParseWithLength(txt, n);
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "digest"));
    const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "media_type"));
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
    int ret = -1;
    if (d && img_digest_valid(d) && mt && *mt && strlen(mt) < sizeof(out->media_type) &&
        cJSON_IsNumber(sz) && sz->valuedouble >= 0) {
        snprintf(out->digest, sizeof(out->digest), "%s", d);
        snprintf(out->media_type, sizeof(out->media_type), "%s", mt);
        out->size = (int64_t)sz->valuedouble;
        ret = 0;
    }
    cJSON_Delete(o);
    return ret;
}
