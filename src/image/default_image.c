/* The built-in busybox:latest, made from the host's /bin/busybox (Debian's
 * busybox-static) so `docker run busybox ...` works without a registry. Built
 * in a child: one layer with bin/busybox, one symlink per applet, a minimal
 * /etc; timestamps come from /bin/busybox so the image ID is stable. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "image/internal.h"

#define BUSYBOX_PATH "/bin/busybox"
#define DEFAULT_REF "docker.io/library/busybox:latest"

typedef struct default_ctx {
    img_store_t *store;
    char *dir;
    void (*done_cb)(const berth_err_t *err, void *data);
    void *data;
} default_ctx_t;

static void default_done(img_job_t *job, cJSON *result, void *data)
{
    UNUSED(job);
    default_ctx_t *c = data;
    berth_err_t err = {0};
    if (!img_job_result_error(result, &err)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(result, "id");
        cleanup_free char *cfg = NULL;
        size_t len;
        img_image_t *img = NULL;
        if (cJSON_IsString(id) && img_blob_get(c->store, id->valuestring, &cfg, &len, &err) == 0 &&
            img_store_commit_image(c->store, cfg, len, NULL, 0, NULL, NULL, &img, &err) == 0) {
            /* Someone may have loaded a real busybox meanwhile: keep theirs. */
            berth_err_t e2 = {0};
            if (!img_store_lookup(c->store, DEFAULT_REF, &e2))
                img_store_tag(c->store, img, DEFAULT_REF, &err);
        }
    }
    if (berth_err_isset(&err))
        log_warn("default busybox image: %s", err.msg);
    else
        log_info("default image busybox:latest ready");
    fs_rm_rf(c->dir);
    if (c->done_cb)
        c->done_cb(berth_err_isset(&err) ? &err : NULL, c->data);
    free(c->dir);
    free(c);
}

static void default_abort(img_job_t *job, void *data)
{
    UNUSED(job);
    default_ctx_t *c = data;
    berth_err_t err = {0};
    berth_err_set(&err, BERTH_E_UNAVAILABLE, "image store closed");
    if (c->done_cb)
        c->done_cb(&err, c->data);
    free(c->dir);
    free(c);
}

int img_default_image_begin(img_store_t *s, void (*done_cb)(const berth_err_t *err, void *data),
                            void *data)
{
    berth_err_t err = {0};
    if (img_store_lookup(s, DEFAULT_REF, &err) || !fs_exists(BUSYBOX_PATH)) {
        if (done_cb)
            done_cb(NULL, data);
        return 0;
    }
    berth_err_clear(&err);
    default_ctx_t *c = xcalloc(1, sizeof(*c));
    c->store = s;
    c->done_cb = done_cb;
    c->data = data;
    c->dir = img_store_tmpdir(s, &err);
    img_job_t *job;
    cJSON *args = NULL;
    if (c->dir) {
        args = cJSON_CreateObject();
        cJSON_AddStringToObject(args, "dir", c->dir);
    }
    if (!c->dir || img_job_start(s, "default", args, false, false, &job, &err) < 0) {
        log_warn("default busybox image: %s", err.msg);
        if (c->dir)
            fs_rm_rf(c->dir);
        free(c->dir);
        free(c);
        return -1;
    }
    job->on_done = default_done;
    job->on_abort = default_abort;
    job->data = c;
    return 0;
}
