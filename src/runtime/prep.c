/* runtime: a rootfs prepared ahead by a pooled init.
 *
 * Why: from the moment a start hands a pooled init its spec, the init's
 * mounts (overlay, /proc, /dev, /sys, the cgroup hierarchies, the masked
 * and read-only paths: ~40 mounts) were the longest part of the start. An
 * idle pooled init now makes them while it waits, for the image berthd
 * last started from the pool, over an upper and work dir of its own
 * (<containers>/.pool-<shim pid>-upper and -work), mounted on the shared
 * mount point <containers>/.pool-rootfs. A start whose spec fits (same
 * layers, no mounts of the user's, no tty, not privileged: rt_prep_fits)
 * takes them: the shim renames the pool's upper and work dirs to the
 * container's (which nobody made yet: no directory is replaced, and on this
 * kind of disk replacing one waits for its blocks to be discarded), and the
 * init only binds the /etc files and pivots. Any other start sets up as
 * before and the pool's dirs are removed.
 *
 * berthd -> pool shim -> init: "P" + the text of rt_prep_encode. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
    if (p->layer_ids)
        for (size_t i = 0; i < p->n_lowerdirs; i++)
            free(p->layer_ids[i]);
    free(p->layer_ids);
    rt_strv_free(p->lowerdirs, p->n_lowerdirs);
    memset(p, 0, sizeof(*p));
}

/* The identity of a directory (inode and generation): NULL if the
 * filesystem cannot tell. */
static struct file_handle *dir_handle(const char *path)
{
    struct file_handle *fh = xmalloc(sizeof(*fh) + MAX_HANDLE_SZ);
    fh->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) < 0) {
        free(fh);
        return NULL;
    }
    return fh;
}

int rt_prep_identify(rt_prep_t *p)
{
    p->layer_ids = xcalloc(p->n_lowerdirs, sizeof(*p->layer_ids));
    for (size_t i = 0; i < p->n_lowerdirs; i++)
        if (!(p->layer_ids[i] = dir_handle(p->lowerdirs[i])))
            return -1;
    return 0;
}

bool rt_prep_same_layers(const rt_prep_t *p, const rt_spec_t *s)
{
    if (!p->layer_ids || s->n_lowerdirs != p->n_lowerdirs)
        return false;
    for (size_t i = 0; i < s->n_lowerdirs; i++) {
        struct file_handle *fh = dir_handle(s->lowerdirs[i]);
        const struct file_handle *want = p->layer_ids[i];
        bool same = fh && want && fh->handle_type == want->handle_type &&
                    fh->handle_bytes == want->handle_bytes &&
                    memcmp(fh->f_handle, want->f_handle, fh->handle_bytes) == 0;
        free(fh);
        if (!same)
            return false;
    }
    return true;
}

char *rt_prep_path(const rt_prep_t *p, const char *name)
{
    return xasprintf("%s-%s", p->dir, name);
}

char *rt_prep_rootfs(const rt_prep_t *p)
{
    const char *slash = strrchr(p->dir, '/');
    int parent = slash ? (int)(slash - p->dir) : 0;
    return xasprintf("%.*s/" RT_PREP_DIR_PREFIX "rootfs", parent, p->dir);
}

void rt_prep_remove(const char *dir)
{
    const char *subs[] = {"upper", "work"};
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
        cleanup_free char *d = xasprintf("%s-%s", dir, subs[i]);
        fs_rm_rf(d);
    }
}

bool rt_prep_fits(const rt_spec_t *s, const rt_prep_t *p)
{
    /* What the prepared mounts assumed (rt_prep_template): anything else
     * would have mounted differently, or in another order (a user's bind
     * goes before the masks, so it cannot uncover a masked path). */
    if (!p->dir || s->n_lowerdirs != p->n_lowerdirs || s->volatile_overlay != p->volatile_overlay ||
        s->privileged || s->process.tty || s->n_mounts || s->net_mode != RT_NET_NONE ||
        (s->shm_size != 0 && s->shm_size != 64LL << 20) || !s->upperdir || !s->workdir ||
        !s->run_dir || !s->etc_hostname || !s->etc_hosts || !s->etc_resolv_conf)
        return false; /* the last: the /etc binds rt_rootfs_prepare made targets for */
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
    t->rootfs = rt_prep_rootfs(p);
}

void rt_prep_set_layers(rt_prep_t *p, const rt_spec_t *s)
{
    rt_prep_free(p);
    p->volatile_overlay = s->volatile_overlay;
    p->n_lowerdirs = s->n_lowerdirs;
    p->lowerdirs = xcalloc(s->n_lowerdirs, sizeof(char *));
    for (size_t i = 0; i < s->n_lowerdirs; i++)
        p->lowerdirs[i] = xstrdup(s->lowerdirs[i]);
}

void rt_prep_template_free(rt_spec_t *t)
{
    free(t->upperdir);
    free(t->workdir);
    free(t->rootfs);
}
