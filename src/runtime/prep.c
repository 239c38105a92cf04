/* runtime: a rootfs prepared ahead by a pooled init.
 *
 * Why: from the moment a start hands a pooled init its spec, the init's
 * mounts (overlay, /proc, /dev, /sys, the cgroup hierarchies, the masked
 * and read-only paths: ~40 mounts) were the longest part of the start. An
 * idle pooled init now makes them while it waits, for the image berthd
 * last started from the pool, over an upper and work dir of its own in
 * <containers>/.pool-<shim pid>/. A start whose spec fits (same layers, no
 * mounts of the user's, no tty, not privileged: rt_prep_fits) takes them:
 * the shim renames the pool's upper and work dirs over the container's
 * (empty) ones, and the init only binds the /etc files and pivots. Any
 * other start sets up as before; the pool dir is removed either way.
 *
 * berthd -> pool shim -> init: "P" + the text of rt_prep_encode. */
#include <errno.h>
#include <string.h>

#include "runtime/internal.h"

char *rt_prep_encode(const rt_prep_t *p)
{
    berth_buf_t b;
    buf_init(&b);
    buf_printf(&b, "%c\n%s", p->volatile_overlay ? '1' : '0', p->dir);
    for (size_t i = 0; i < p->n_lowerdirs; i++)
        buf_printf(&b, "\n%s", p->lowerdirs[i]);
    return buf_steal(&b);
}

int rt_prep_decode(const char *text, rt_prep_t *p)
{
    memset(p, 0, sizeof(*p));
    if ((text[0] != '0' && text[0] != '1') || text[1] != '\n')
        return -EINVAL;
    p->volatile_overlay = text[0] == '1';
    const char *s = text + 2;
    for (size_t field = 0;; field++) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        if (len == 0 || s[0] != '/') {
            rt_prep_free(p);
            return -EINVAL;
        }
        char *v = xstrndup(s, len);
        if (field == 0) {
            p->dir = v;
        } else {
            p->lowerdirs = xrealloc(p->lowerdirs, (p->n_lowerdirs + 1) * sizeof(char *));
            p->lowerdirs[p->n_lowerdirs++] = v;
        }
        if (!nl)
            break;
        s = nl + 1;
    }
    if (p->n_lowerdirs == 0) {
        rt_prep_free(p);
        return -EINVAL;
    }
    return 0;
}

void rt_prep_free(rt_prep_t *p)
{
    free(p->dir);
    rt_strv_free(p->lowerdirs, p->n_lowerdirs);
    memset(p, 0, sizeof(*p));
}

char *rt_prep_path(const rt_prep_t *p, const char *name)
{
    return xasprintf("%s/%s", p->dir, name);
}

bool rt_prep_fits(const rt_spec_t *s, const rt_prep_t *p)
{
    /* What the prepared mounts assumed (rt_prep_template): anything else
     * would have mounted differently, or in another order (a user's bind
     * goes before the masks, so it cannot uncover a masked path). */
    if (!p->dir || s->n_lowerdirs != p->n_lowerdirs || s->volatile_overlay != p->volatile_overlay ||
        s->privileged || s->process.tty || s->n_mounts || s->net_mode != RT_NET_NONE ||
        (s->shm_size != 0 && s->shm_size != 64LL << 20) || !s->upperdir || !s->workdir)
        return false;
    for (size_t i = 0; i < p->n_lowerdirs; i++)
        if (strcmp(s->lowerdirs[i], p->lowerdirs[i]) != 0)
            return false;
    return true;
}

void rt_prep_template(const rt_prep_t *p, rt_spec_t *t)
{
    rt_spec_init(t);
    t->lowerdirs = p->lowerdirs;
    t->n_lowerdirs = p->n_lowerdirs;
    t->volatile_overlay = p->volatile_overlay;
    t->upperdir = rt_prep_path(p, "upper");
    t->workdir = rt_prep_path(p, "work");
    t->rootfs = rt_prep_path(p, "rootfs");
}

void rt_prep_template_free(rt_spec_t *t)
{
    free(t->upperdir);
    free(t->workdir);
    free(t->rootfs);
}
