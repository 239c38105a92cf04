/* berthd module hooks for the registry client. */
#include <string.h>

#include "berth/daemon.h"
#include "berth/registry.h"

int reg_daemon_open(berthd_t *d, berth_err_t *err)
{
    cleanup_free char *state = xasprintf("%s/registry", d->cfg.data_root);
    /* Tests and unusual setups point the CA lookup elsewhere. */
    const char *env = getenv("BERTH_CERTS_DIRS");
    cleanup_free char *copy = env && *env ? xstrdup(env) : NULL;
    const char *dirs[9] = {NULL};
    size_t n = 0;
    for (char *save = NULL, *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok && n < 8;
         tok = strtok_r(NULL, ":", &save))
        dirs[n++] = tok;
    reg_client_opts_t o = {
        .loop = d->loop,
        .images = d->images,
        .certs_dirs = n ? dirs : NULL,
        .insecure_registries = d->cfg.insecure_registries,
        .n_insecure_registries = d->cfg.n_insecure_registries,
        .max_concurrent_downloads = d->cfg.max_concurrent_downloads,
        .max_concurrent_uploads = d->cfg.max_concurrent_uploads,
        .state_dir = state,
    };
    return reg_client_new(&o, &d->registry, err);
}

void reg_daemon_close(berthd_t *d)
{
    if (!d->registry)
        return;
    reg_client_close(d->registry, NULL, NULL);
    d->registry = NULL;
}
