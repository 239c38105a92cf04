/* berthd module hooks for the container manager. */
#include <libgen.h>
#include <string.h>

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

int rt_manager_daemon_open(berthd_t *d, berth_err_t *err)
{
    cleanup_free char *shim = default_shim_path();
    rt_manager_opts_t o = {
        .loop = d->loop,
        .data_root = d->cfg.data_root,
        .exec_root = d->cfg.exec_root,
        .shim_path = shim,
        .images = d->images,
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
