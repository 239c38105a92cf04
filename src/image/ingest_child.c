/* Helper side of a layer ingest (berth-imagejob ingest): hash, decompress
 * and unpack the bytes arriving on in_fd into <dir>/diff, keeping the bytes
 * as received in <dir>/layer.blob. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "image/internal.h"

int img_ingest_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    UNUSED(s);
    UNUSED(out_fd);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(args, "dir");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(args, "expected");
    const char *dir = cJSON_IsString(d) ? d->valuestring : ".";
    const char *expected = cJSON_IsString(e) ? e->valuestring : NULL;
    berth_err_t err = {0};
    img_layer_result_t res;
    cleanup_free char *diff = xasprintf("%s/diff", dir);
    cleanup_free char *copy = xasprintf("%s/" IMG_LAYER_BLOB, dir); /* bytes as received */
    if (mkdir(diff, 0755) < 0) {
        berth_err_sys(&err, errno, "creating %s", diff);
        img_job_child_error(res_fd, &err);
        return 1;
    }
    if (img_unpack_fd(in_fd, diff, expected, copy, &res, &err) < 0) {
        img_job_child_error(res_fd, &err);
        return 1;
    }
    img_job_child_syncfs(dir);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "digest", res.digest);
    cJSON_AddStringToObject(o, "diff_id", res.diff_id);
    cJSON_AddNumberToObject(o, "raw_size", (double)res.raw_size);
    cJSON_AddNumberToObject(o, "size", (double)res.size);
    cJSON_AddNumberToObject(o, "tar_size", (double)res.tar_size);
    cJSON_AddStringToObject(o, "media_type", res.media_type);
    img_job_child_result(res_fd, o);
    return 0;
}
