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
 * before and the pool's dirs are removed. A removed --rm container's upper
 * and work dirs, over the same layers and untouched, are the next pool
 * preparation's: back to the pool shim that ran it (rt_prep_take_returned)
 * or, from any other shim, to whichever prepares next
 * (rt_prep_take_recycled): no dir or bind target made anew, none removed.
 * The pool shim mounts the overlay itself (detached) and hands the init a
 * copy; it keeps its own while its --rm containers give their dirs back
 * untouched, so the next prepared rootfs is the same overlay, not a new
 * mount: a new one makes and removes seven inodes in the work dir (its
 * probes), each dear on a busy disk without a journal (ext4 scans the
 * inodes freed in the last minutes at every allocation).
 *
 * berthd -> pool shim -> init: "P" + the text of rt_prep_encode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

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

bool rt_prep_move_dirs(const char *upper, const char *work, const char *to_upper,
                       const char *to_work)
{
    if (renameat2(AT_FDCWD, upper, AT_FDCWD, to_upper, RENAME_NOREPLACE) < 0)
        return false;
    if (renameat2(AT_FDCWD, work, AT_FDCWD, to_work, RENAME_NOREPLACE) == 0)
        return true;
    if (renameat2(AT_FDCWD, to_upper, AT_FDCWD, upper, RENAME_NOREPLACE) < 0)
        log_warn("pooled rootfs: restoring %s: %s", upper, strerror(errno));
    return false;
}

void rt_prep_remove(const char *dir)
{
    const char *subs[] = {"upper", "work"};
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
        cleanup_free char *d = xasprintf("%s-%s", dir, subs[i]);
        fs_rm_rf(d);
    }
}

char *rt_prep_recycled_path(const char *containers_dir, char *const *lowerdirs, size_t n)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a: a name, not a check */
    for (size_t i = 0; i < n; i++)
        for (const char *c = lowerdirs[i];; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
            if (!*c)
                break;
        }
    return xasprintf("%s/" RT_PREP_DIR_PREFIX "recycled-%016llx", containers_dir,
                     (unsigned long long)h);
}

/* dirfd's entries are exactly the n names (each of the given type). */
static bool dir_holds(int dirfd, const char *const *names, const unsigned char *types, size_t n)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    size_t found = 0;
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = !strcmp(e->d_name, names[i]) && e->d_type == types[i];
        found++;
    }
    closedir(d);
    return ok && found == n;
}

/* No extended attributes but overlayfs' own (a container may set user.*
 * ones on what it can write). */
static bool only_overlay_xattrs(int fd)
{
    char names[1024];
    ssize_t n = flistxattr(fd, names, sizeof(names));
    if (n < 0)
        return errno == ENOTSUP;
    for (const char *x = names; x < names + n; x += strlen(x) + 1)
        if (strncmp(x, "trusted.overlay.", 16) != 0)
            return false;
    return true;
}

/* fd's type, permissions and owner are these, and its xattrs overlay's. */
static bool attrs_are(int fd, mode_t mode, uid_t uid, gid_t gid)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_mode == mode && st.st_uid == uid &&
           st.st_gid == gid && only_overlay_xattrs(fd);
}

/* The upper dir holds just what pool_prep and rt_rootfs_prepare make: etc/
 * (copied up from the layers: their /etc's mode and owner) with the three
 * bind targets, empty, 0644, root's. A container that wrote anywhere else
 * in its upper dir, or changed these (chmod /, chown /etc, setfattr ...),
 * rules it out. */
static bool upper_is_pristine(int upper, const rt_prep_t *p)
{
    static const char *const up[] = {"etc"};
    static const unsigned char up_t[] = {DT_DIR};
    static const char *const etc[] = {"hostname", "hosts", "resolv.conf"};
    static const unsigned char etc_t[] = {DT_REG, DT_REG, DT_REG};
    if (!attrs_are(upper, S_IFDIR | 0755, 0, 0) || !dir_holds(upper, up, up_t, 1))
        return false;
    struct stat lower_etc = {0};
    for (size_t i = 0; i < p->n_lowerdirs && !lower_etc.st_mode; i++) {
        cleanup_free char *path = xasprintf("%s/etc", p->lowerdirs[i]);
        if (lstat(path, &lower_etc) < 0)
            lower_etc.st_mode = 0;
    }
    cleanup_close int etcfd = openat(upper, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* Opaque, it would hide the layers' /etc (a privileged container can
     * unmount the binds and remake /etc). */
    if (!S_ISDIR(lower_etc.st_mode) ||
        !attrs_are(etcfd, lower_etc.st_mode, lower_etc.st_uid, lower_etc.st_gid) ||
        fgetxattr(etcfd, "trusted.overlay.opaque", NULL, 0) >= 0 ||
        !dir_holds(etcfd, etc, etc_t, 3))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
        cleanup_close int fd =
            openat(etcfd, etc[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (!attrs_are(fd, S_IFREG | 0644, 0, 0) || fstat(fd, &st) < 0 || st.st_size != 0 ||
            st.st_nlink != 1)
            return false;
    }
    return true;
}

static int open_dir_at(int at, const char *path)
{
    return openat(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

bool rt_prep_take_recycled(const rt_prep_t *p)
{
    static const char *const top[] = {"upper", "work"}; /* in the work dir */
    static const unsigned char top_t[] = {DT_DIR, DT_DIR};
    const char *slash = strrchr(p->dir, '/');
    if (!slash)
        return false;
    cleanup_free char *containers = xstrndup(p->dir, (size_t)(slash - p->dir));
    cleanup_free char *slot = rt_prep_recycled_path(containers, p->lowerdirs, p->n_lowerdirs);
    cleanup_free char *upper = rt_prep_path(p, "upper");
    cleanup_free char *work = rt_prep_path(p, "work");
    /* The slot is a work dir holding its upper dir (mgr_prep_from_trash):
     * ours alone once renamed (another shim may race for it). */
    if (renameat2(AT_FDCWD, slot, AT_FDCWD, work, RENAME_NOREPLACE) < 0)
        return false;
    cleanup_close int holder = open_dir_at(AT_FDCWD, work);
    cleanup_close int upperfd = holder >= 0 ? open_dir_at(holder, "upper") : -1;
    if (upperfd < 0 || !dir_holds(holder, top, top_t, 2) || !upper_is_pristine(upperfd, p) ||
        renameat2(holder, "upper", AT_FDCWD, upper, RENAME_NOREPLACE) < 0) {
        fs_rm_rf(work); /* with what it held */
        return false;
    }
    return true;
}

bool rt_prep_take_returned(const rt_prep_t *p)
{
    static const char *const top[] = {"work"}; /* overlay's own */
    static const unsigned char top_t[] = {DT_DIR};
    cleanup_free char *upper = rt_prep_path(p, "upper");
    cleanup_free char *work = rt_prep_path(p, "work");
    cleanup_close int workfd = open_dir_at(AT_FDCWD, work);
    cleanup_close int upperfd = open_dir_at(AT_FDCWD, upper);
    if (workfd < 0 && upperfd < 0)
        return false; /* none (the usual case for a new pool shim) */
    if (workfd >= 0 && upperfd >= 0 && dir_holds(workfd, top, top_t, 1) &&
        upper_is_pristine(upperfd, p))
        return true;
    rt_prep_remove(p->dir);
    return false;
}

void rt_prep_sweep_recycled(const char *containers_dir)
{
    DIR *d = opendir(containers_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, RT_PREP_DIR_PREFIX "recycled-",
                    strlen(RT_PREP_DIR_PREFIX "recycled-")) == 0) {
            cleanup_free char *path = xasprintf("%s/%s", containers_dir, e->d_name);
            fs_rm_rf(path);
        }
    if (d)
        closedir(d);
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

/* ---- the overlay a pool shim keeps (rt_prep_overlay_t) ---- */
void rt_prep_overlay_init(rt_prep_overlay_t *o)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
}

void rt_prep_overlay_drop(rt_prep_overlay_t *o)
{
    if (o->fd >= 0)
        close(o->fd);
    for (size_t i = 0; i < o->n_layers; i++)
        free(o->layer_ids[i]);
    free(o->layer_ids);
    rt_prep_overlay_init(o);
}

static bool same_handle(const struct file_handle *a, const struct file_handle *b)
{
    return a && b && a->handle_type == b->handle_type && a->handle_bytes == b->handle_bytes &&
           memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

/* What an overlay mount over p's dirs holds on to: its upper dir, its work
 * dir and the work dir's "work" (which every new mount makes anew). */
static bool prep_dir_ids(const rt_prep_t *p, struct stat st[3])
{
    cleanup_free char *upper = rt_prep_path(p, "upper");
    cleanup_free char *work = rt_prep_path(p, "work");
    cleanup_free char *inner = xasprintf("%s/work", work);
    return lstat(upper, &st[0]) == 0 && lstat(work, &st[1]) == 0 && lstat(inner, &st[2]) == 0;
}

/* Is o mounted over p's dirs, with p's layers? Its mount pins those
 * inodes: none can be freed and its number given to another while o is
 * open, so the same numbers are the same dirs. And the same "work" inside
 * means no other mount was made over them since. */
static bool overlay_matches(const rt_prep_overlay_t *o, const rt_prep_t *p)
{
    if (o->fd < 0 || !p->layer_ids || o->n_layers != p->n_lowerdirs ||
        o->volatile_overlay != p->volatile_overlay)
        return false;
    for (size_t i = 0; i < o->n_layers; i++)
        if (!same_handle(o->layer_ids[i], p->layer_ids[i]))
            return false;
    struct stat st[3];
    if (!prep_dir_ids(p, st))
        return false;
    for (size_t i = 0; i < 3; i++)
        if (st[i].st_dev != o->dev[i] || st[i].st_ino != o->ino[i])
            return false;
    return true;
}

/* o := a new detached mount of p's overlay. -1 + err. */
static int overlay_mount(const rt_prep_t *p, rt_prep_overlay_t *o, berth_err_t *err)
{
    rt_spec_t t;
    rt_prep_template(p, &t);
    int fd = rt_overlay_open(&t, err);
    rt_prep_template_free(&t);
    if (fd < 0)
        return -1;
    o->fd = fd;
    struct stat st[3];
    if (!prep_dir_ids(p, st))
        return 0; /* used once, never matched */
    for (size_t i = 0; i < 3; i++) {
        o->dev[i] = st[i].st_dev;
        o->ino[i] = st[i].st_ino;
    }
    o->volatile_overlay = p->volatile_overlay;
    o->layer_ids = xcalloc(p->n_lowerdirs, sizeof(*o->layer_ids));
    o->n_layers = p->n_lowerdirs;
    for (size_t i = 0; i < p->n_lowerdirs; i++) {
        const struct file_handle *h = p->layer_ids[i];
        o->layer_ids[i] = xmalloc(sizeof(*h) + h->handle_bytes);
        memcpy(o->layer_ids[i], h, sizeof(*h) + h->handle_bytes);
    }
    return 0;
}

int rt_prep_overlay_for(const rt_prep_t *p, rt_prep_overlay_t *o, berth_err_t *err)
{
    if (!overlay_matches(o, p)) {
        rt_prep_overlay_drop(o);
        if (!p->layer_ids || overlay_mount(p, o, err) < 0)
            return -1;
    }
    /* A copy for the init; o keeps its own. Before 6.15 a detached mount
     * cannot be copied: the init gets o's, once. */
    int copy = open_tree(o->fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (copy >= 0)
        return copy;
    copy = o->fd;
    o->fd = -1;
    rt_prep_overlay_drop(o);
    return copy;
}
