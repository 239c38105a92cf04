/* berthd module hooks for the container manager. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "berth/api.h"
#include "berth/daemon.h"
#include "runtime/manager_internal.h"

/* Image delete/prune asks whether containers use an image. */
static int image_in_use_cb(void *data, const char *image_id, char *container_id)
{
    rt_manager_t *m = data;
    int best = IMG_UNUSED;
    for (size_t i = 0; i < m->n_ctrs; i++) {
        rt_ctr_t *c = m->ctrs[i];
        if (strcmp(c->image_id, image_id) != 0)
            continue;
        int use = rt_ctr_is_running(c) ? IMG_USED_RUNNING : IMG_USED_STOPPED;
        if (use > best) {
            best = use;
            snprintf(container_id, 65, "%s", c->id);
        }
    }
    return best;
}

/* Docker's container event attributes: name, image, labels flattened,
 * exitCode on die, signal on kill. */
static void event_cb(void *data, const rt_ctr_t *c, const char *action, int exit_code, int sig)
{
    berthd_t *d = data;
    cJSON *attrs = cJSON_CreateObject();
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(c->config, "Labels"))
    {
        if (cJSON_IsString(l))
            cJSON_AddStringToObject(attrs, l->string, l->valuestring);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "image");
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "name");
    cJSON_AddStringToObject(attrs, "image", c->image_name ? c->image_name : c->image_id);
    cJSON_AddStringToObject(attrs, "name", c->name);
    char num[16];
    if (!strcmp(action, "die")) {
        snprintf(num, sizeof(num), "%d", exit_code);
        cJSON_AddStringToObject(attrs, "exitCode", num);
    } else if (!strcmp(action, "kill")) {
        snprintf(num, sizeof(num), "%d", sig);
        cJSON_AddStringToObject(attrs, "signal", num);
    }
    api_event_publish(d, "container", action, c->id, attrs);
}

/* berth-shim is installed next to berthd. */
static char *default_shim_path(void)
{
    const char *env = getenv("BERTH_SHIM");
    if (env && *env)
        return xstrdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return xstrdup("/usr/local/bin/berth-shim");
    self[n] = '\0';
    return xasprintf("%s/berth-shim", dirname(self));
}

/* Warm pool size: BERTH_SHIM_POOL (0 disables), default 2: a shim whose
 * container just exited is back in the pool at once but still making its
 * next init for a few ms, and back-to-back runs take the other one (the pool
 * hands out the shim idle the longest). */
#define SHIM_POOL_DEFAULT 2
static int shim_pool_size(void)
{
    const char *env = getenv("BERTH_SHIM_POOL");
    if (!env || !*env)
        return SHIM_POOL_DEFAULT;
    char *end;
    long n = strtol(env, &end, 10);
    return *end || n < 0 ? SHIM_POOL_DEFAULT : n > 16 ? 16 : (int)n;
}

int rt_manager_daemon_open(berthd_t *d, berth_err_t *err)
{
    cleanup_free char *shim = default_shim_path();
    rt_manager_opts_t o = {
        .loop = d->loop,
        .data_root = d->cfg.data_root,
        .exec_root = d->cfg.exec_root,
        .shim_path = shim,
        .images = d->images,
        .event_cb = event_cb,
        .event_data = d,
        .shim_pool = shim_pool_size(),
    };
    if (rt_manager_open(&o, &d->containers, err) < 0)
        return -1;
    if (d->images)
        img_store_set_in_use_hook(d->images, image_in_use_cb, d->containers);
    return 0;
}

void rt_manager_daemon_close(berthd_t *d)
{
    if (!d->containers)
        return;
    if (d->images)
        img_store_set_in_use_hook(d->images, NULL, NULL);
    rt_manager_close(d->containers);
    d->containers = NULL;
}
