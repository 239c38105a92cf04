/* runtime: the container's filesystem, set up by the cloned child inside its
 * own mount namespace (so nothing ever needs unmounting on the host). Every
 * destination is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT) and
 * mounted through /proc/self/fd/N, so an image's symlinks cannot redirect a
 * mount onto the host. */
#include <errno.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

enum { MK_NONE, MK_DIR, MK_FILE };

/* Open (O_PATH) path inside root, creating missing directories and, with
 * MK_FILE, an empty final file. A dangling symlink on the way is followed the
 * way the kernel would inside the root (its target is created), like runc's
 * MkdirAllInRoot. Returns fd or -errno. */
static int open_in_root_depth(int rootfd, const char *path, int make, int depth)
{
    int fd = rt_openat_in_root(rootfd, path, O_PATH, 0);
    if (fd >= 0 || fd != -ENOENT || make == MK_NONE)
        return fd;
    if (depth > 40)
        return -ELOOP;
    /* Usually only the last component is missing: create it in its parent
     * (two lookups instead of one per component). Anything else (a missing
     * parent, a dangling symlink in the way) takes the walk below. */
    const char *base = strrchr(path, '/');
    if (base && base[1] && strcmp(base + 1, ".") != 0 && strcmp(base + 1, "..") != 0) {
        cleanup_free char *parent =
            base == path ? xstrdup("/") : xstrndup(path, (size_t)(base - path));
        cleanup_close int pfd = rt_openat_in_root(rootfd, parent, O_PATH, 0);
        int r = -1;
        if (pfd >= 0 && make == MK_FILE) {
            r = openat(pfd, base + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
            if (r >= 0)
                close(r);
        } else if (pfd >= 0) {
            r = mkdirat(pfd, base + 1, 0755);
        }
        if (r >= 0)
            return rt_openat_in_root(rootfd, path, O_PATH, 0);
    }
    cleanup_free char *p = xstrdup(path);
    char *s = p;
    while (*s == '/')
        s++;
    cleanup_close int dirfd = dup(rootfd);
    char prefix[PATH_MAX] = "";
    while (*s) {
        char *slash = strchr(s, '/');
        bool last = !slash;
        if (slash)
            *slash = '\0';
        if (*s && strcmp(s, ".") != 0) {
            size_t parent_len = strlen(prefix);
            snprintf(prefix + parent_len, sizeof(prefix) - parent_len, "/%s", s);
            int next = rt_openat_in_root(rootfd, prefix, O_PATH, 0);
            if (next == -ENOENT) {
                /* Create relative to the already resolved parent (an O_PATH
                 * fd works as the dirfd of *at calls). */
                int r;
                if (last && make == MK_FILE) {
                    r = openat(dirfd, s, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                               0644);
                    if (r >= 0)
                        close(r);
                } else {
                    r = mkdirat(dirfd, s, 0755);
                }
                if (r < 0 && errno != EEXIST)
                    return -errno;
                next = rt_openat_in_root(rootfd, prefix, O_PATH, 0);
                char link[PATH_MAX];
                ssize_t n;
                if (next == -ENOENT && (n = readlinkat(dirfd, s, link, sizeof(link) - 1)) > 0) {
                    link[n] = '\0';
                    prefix[parent_len] = '\0';
                    cleanup_free char *again =
                        xasprintf("%s/%s%s%s", link[0] == '/' ? "" : prefix, link, last ? "" : "/",
                                  last ? "" : slash + 1);
                    return open_in_root_depth(rootfd, again, make, depth + 1);
                }
            }
            if (next < 0)
                return next;
            close(dirfd);
            dirfd = next;
        }
        if (last)
            break;
        s = slash + 1;
    }
    return steal_fd(&dirfd);
}

static int open_in_root(int rootfd, const char *path, int make)
{
    return open_in_root_depth(rootfd, path, make, 0);
}

static int mount_at(int rootfd, const char *dest, int make, const char *src, const char *fstype,
                    unsigned long flags, const char *data, berth_err_t *err)
{
    cleanup_close int fd = open_in_root(rootfd, dest, make);
    if (fd < 0)
        return berth_err_sys(err, -fd, "resolving mount point %s", dest);
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (mount(src, target, fstype, flags, data) < 0)
        return berth_err_sys(err, errno, "mounting %s on %s", fstype ? fstype : src, dest);
    if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
        /* A bind ignores MS_RDONLY; remount the new mount (reopen: the fd
         * still points below it). */
        cleanup_close int fd2 = open_in_root(rootfd, dest, MK_NONE);
        snprintf(target, sizeof(target), "/proc/self/fd/%d", fd2);
        if (fd2 < 0 ||
            mount(NULL, target, NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                  NULL) < 0)
            return berth_err_sys(err, errno, "remounting %s read-only", dest);
    }
    return 0;
}

int rt_overlay_open(const rt_spec_t *s, berth_err_t *err)
{
    /* made here, not at create: see mgr_make_dirs */
    const char *dirs[] = {s->upperdir, s->workdir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
        if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
            return berth_err_sys(err, errno, "creating %s", dirs[i]);
    /* overlay refuses a work dir with an earlier volatile mount's marker
     * (a --rm container's dirs, recycled into a pool's preparation) */
    cleanup_free char *inc = xasprintf("%s/work/incompat", s->workdir);
    fs_rm_rf(inc);
    cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return berth_err_sys(err, errno, "fsopen overlay");
    /* lowerdir+ (kernel 6.8+) takes one layer per call: no page-size limit on
     * the option string however many layers the image has. */
    for (size_t i = 0; i < s->n_lowerdirs; i++)
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", s->lowerdirs[i], 0) < 0)
            return berth_err_sys(err, errno, "overlay lowerdir %s", s->lowerdirs[i]);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", s->upperdir, 0) < 0)
        return berth_err_sys(err, errno, "overlay upperdir %s", s->upperdir);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", s->workdir, 0) < 0)
        return berth_err_sys(err, errno, "overlay workdir %s", s->workdir);
    if (s->volatile_overlay)
        fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return berth_err_sys(err, errno, "creating overlay mount");
    int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (mfd < 0)
        return berth_err_sys(err, errno, "fsmount overlay");
    return mfd;
}

/* The overlay on s->rootfs: overlay_fd (a detached mount of it made ahead,
 * prep.c) if given and it attaches, else a new mount. */
static int mount_overlay(const rt_spec_t *s, int overlay_fd, berth_err_t *err)
{
    if (mkdir(s->rootfs, 0755) < 0 && errno != EEXIST)
        return berth_err_sys(err, errno, "creating %s", s->rootfs);
    if (overlay_fd >= 0 &&
        move_mount(overlay_fd, "", AT_FDCWD, s->rootfs, MOVE_MOUNT_F_EMPTY_PATH) == 0)
        return 0;
    cleanup_close int mfd = rt_overlay_open(s, err);
    if (mfd < 0)
        return -1;
    if (move_mount(mfd, "", AT_FDCWD, s->rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return berth_err_sys(err, errno, "mounting overlay on %s", s->rootfs);
    return 0;
}

static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

static int mask_path(int rootfd, const char *path, berth_err_t *err)
{
    cleanup_close int fd = open_in_root(rootfd, path, MK_NONE);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return berth_err_sys(err, -fd, "masking %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berth_err_sys(err, errno, "masking %s", path);
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", target, "tmpfs",
                                         MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
                                 : mount("/dev/null", target, NULL, MS_BIND, NULL);
    return rc < 0 ? berth_err_sys(err, errno, "masking %s", path) : 0;
}

static int readonly_path(int rootfd, const char *path, berth_err_t *err)
{
    cleanup_close int fd = open_in_root(rootfd, path, MK_NONE);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return berth_err_sys(err, -fd, "resolving %s", path);
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berth_err_sys(err, errno, "binding %s", path);
    cleanup_close int fd2 = open_in_root(rootfd, path, MK_NONE);
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd2);
    if (fd2 < 0 ||
        mount(NULL, target, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return berth_err_sys(err, errno, "making %s read-only", path);
    return 0;
}

/* The character devices every container gets, in its fresh /dev. */
static int make_dev_nodes(int rootfd, int devfd, berth_err_t *err)
{
    static const struct {
        const char *name;
        unsigned major, minor;
    } devs[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
        /* mknod as runc does for root containers (a bind mount each costs a
         * mount and its path walk); bind the host's node where we may not. */
        if (mknodat(devfd, devs[i].name, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) ==
            0)
            continue;
        if (errno != EPERM)
            return berth_err_sys(err, errno, "creating /dev/%s", devs[i].name);
        char path[32];
        snprintf(path, sizeof(path), "/dev/%s", devs[i].name);
        if (mount_at(rootfd, path, MK_FILE, path, NULL, MS_BIND, NULL, err) < 0)
            return -1;
    }
    return 0;
}

static int setup_dev(const rt_spec_t *s, int rootfd, int pty[2], berth_err_t *err)
{
    if (mount_at(rootfd, "/dev", MK_DIR, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k", err) < 0)
        return -1;
    /* /dev is our fresh tmpfs: plain *at calls through its fd are safe. */
    cleanup_close int devfd = rt_openat_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, 0);
    if (devfd < 0)
        return berth_err_sys(err, -devfd, "opening /dev");
    /* No umask: the nodes are created 0666 at once (no chmod each). */
    mode_t old_umask = umask(0);
    int rc = make_dev_nodes(rootfd, devfd, err);
    umask(old_umask);
    if (rc < 0)
        return -1;
    static const char *const dirs[] = {"pts", "shm", "mqueue"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
        if (mkdirat(devfd, dirs[i], 0755) < 0)
            return berth_err_sys(err, errno, "creating /dev/%s", dirs[i]);
    if (mount_at(rootfd, "/dev/pts", MK_DIR, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0)
        return -1;
    char shm[64];
    snprintf(shm, sizeof(shm), "mode=1777,size=%lld",
             (long long)(s->shm_size > 0 ? s->shm_size : 64LL << 20));
    if (mount_at(rootfd, "/dev/shm", MK_DIR, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm,
                 err) < 0 ||
        mount_at(rootfd, "/dev/mqueue", MK_DIR, "mqueue", "mqueue",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0)
        return -1;
    /* The console is a pty of the devpts just mounted, so its slave is the
     * /dev/pts/N the container sees (runc does the same). */
    if (pty) {
        if (rt_pty_open_in(rootfd, "/dev/pts/ptmx", &s->process, pty, err) < 0)
            return -1;
        char src[32];
        snprintf(src, sizeof(src), "/proc/self/fd/%d", pty[1]);
        if (mount_at(rootfd, "/dev/console", MK_FILE, src, NULL, MS_BIND, NULL, err) < 0)
            return -1;
    }
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"}};
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
            return berth_err_sys(err, errno, "creating /dev/%s", links[i][1]);
    return 0;
}

/* v1: a tmpfs with one read-only hierarchy per controller we use. */
static int mount_cgroup_v1(int rootfd, unsigned long ro, berth_err_t *err)
{
    if (mount_at(rootfd, "/sys/fs/cgroup", MK_NONE, "tmpfs", "tmpfs",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k", err) < 0)
        return -1;
    static const char *const ctrls[] = {"memory", "cpu,cpuacct", "cpu",    "cpuacct",
                                        "cpuset", "pids",        "freezer"};
    for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
        cleanup_free char *host = xasprintf("/sys/fs/cgroup/%s", ctrls[i]);
        struct stat st;
        /* skip missing controllers and the cpu/cpuacct symlinks of combined mounts */
        if (lstat(host, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        cleanup_free char *dest = xasprintf("/sys/fs/cgroup/%s", ctrls[i]);
        /* A pooled init mounts these while its shim may be renaming the pool
         * cgroup to the container's id (rt_cgroup_adopt): the kernel finds
         * the cgroup namespace's root by name, one path component at a
         * time, and a rename in between fails the mount with ENOENT. The
         * rename is atomic: after it the mount succeeds. */
        for (int tries = 0;; tries++) {
            berth_err_t merr = {0};
            if (mount_at(rootfd, dest, MK_DIR, "cgroup", "cgroup",
                         MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, ctrls[i], &merr) == 0)
                break;
            if (merr.code != ENOENT || tries == 100) {
                if (err)
                    *err = merr;
                return -1;
            }
            usleep(100);
        }
    }
    cleanup_close int fd = open_in_root(rootfd, "/sys/fs/cgroup", MK_NONE);
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (ro && (fd < 0 ||
               mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "mode=755,size=64k") < 0))
        return berth_err_sys(err, errno, "remounting /sys/fs/cgroup read-only");
    return 0;
}

static int setup_etc_and_user_mounts(const rt_spec_t *s, int rootfd, berth_err_t *err)
{
    static const struct {
        size_t off;
        const char *file, *dest;
    } etc[] = {
        {offsetof(rt_spec_t, etc_hostname), "hostname", "/etc/hostname"},
        {offsetof(rt_spec_t, etc_hosts), "hosts", "/etc/hosts"},
        {offsetof(rt_spec_t, etc_resolv_conf), "resolv.conf", "/etc/resolv.conf"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
        const char *content = *(char *const *)((const char *)s + etc[i].off);
        if (!content || !s->run_dir)
            continue;
        cleanup_free char *src = xasprintf("%s/%s", s->run_dir, etc[i].file);
        if (mount_at(rootfd, etc[i].dest, MK_FILE, src, NULL,
                     MS_BIND | (s->readonly_rootfs ? MS_RDONLY : 0), NULL, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < s->n_mounts; i++) {
        const rt_mount_t *m = &s->mounts[i];
        if (m->type == RT_MOUNT_TMPFS) {
            if (mount_at(rootfd, m->destination, MK_DIR, "tmpfs", "tmpfs",
                         MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0),
                         m->options ? m->options : "mode=1777", err) < 0)
                return -1;
            continue;
        }
        struct stat st;
        if (stat(m->source, &st) < 0)
            return berth_err_sys(err, errno, "bind source path %s", m->source);
        if (mount_at(rootfd, m->destination, S_ISDIR(st.st_mode) ? MK_DIR : MK_FILE, m->source,
                     NULL, MS_BIND | MS_REC | (m->readonly ? MS_RDONLY : 0), NULL, err) < 0)
            return -1;
    }
    return 0;
}

/* The standard mounts, up to the /etc binds: the rootfs (overlay, or a
 * bind of the rootfs dir) on s->rootfs, /proc, /dev, /sys and the cgroups.
 * Returns an O_PATH fd of the rootfs, or -1 with err. */
static int setup_base(const rt_spec_t *s, int pty[2], int overlay_fd, berth_err_t *err)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return berth_err_sys(err, errno, "making mounts private");
    if (s->n_lowerdirs) {
        if (mount_overlay(s, overlay_fd, err) < 0)
            return -1;
    } else if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
        return berth_err_sys(err, errno, "bind-mounting rootfs %s", s->rootfs);
    }
    cleanup_close int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return berth_err_sys(err, errno, "opening rootfs %s", s->rootfs);
    if (mount_at(rootfd, "/proc", MK_DIR, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                 err) < 0)
        return -1;
    if (setup_dev(s, rootfd, pty, err) < 0)
        return -1;
    unsigned long ro = s->privileged ? 0 : MS_RDONLY;
    if (s->net_mode == RT_NET_NONE) {
        if (mount_at(rootfd, "/sys", MK_DIR, "sysfs", "sysfs",
                     MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0)
            return -1;
    } else if (mount_at(rootfd, "/sys", MK_DIR, "/sys", NULL,
                        MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0) {
        return -1;
    }
    /* The cgroup ns (entered once we were in our cgroup) makes each
     * hierarchy's root our own cgroup, like Docker shows it. */
    if (rt_cgroup_version() == 2) {
        if (mount_at(rootfd, "/sys/fs/cgroup", MK_NONE, "cgroup2", "cgroup2",
                     MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, err) < 0)
            return -1;
    } else if (mount_cgroup_v1(rootfd, ro, err) < 0) {
        return -1;
    }
    return steal_fd(&rootfd);
}

static int setup_masks(const rt_spec_t *s, int rootfd, berth_err_t *err)
{
    if (s->privileged)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++)
        if (mask_path(rootfd, masked_paths[i], err) < 0)
            return -1;
    for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++)
        if (readonly_path(rootfd, readonly_paths[i], err) < 0)
            return -1;
    return 0;
}

/* Make rootfd the root of our mount namespace, the old root detached. */
static int enter_root(const rt_spec_t *s, int rootfd, berth_err_t *err)
{
    /* pivot_root(".", ".") stacks the old root on top of the new one; from the
     * old root's fd we detach it (runc's sequence, no put_old directory). */
    cleanup_close int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0 || fchdir(rootfd) < 0)
        return berth_err_sys(err, errno, "chdir to rootfs");
    if (rt_pivot_root(".", ".") < 0)
        return berth_err_sys(err, errno, "pivot_root");
    if (fchdir(oldroot) < 0)
        return berth_err_sys(err, errno, "chdir to the old root");
    if (umount2(".", MNT_DETACH) < 0)
        return berth_err_sys(err, errno, "detaching the old root");
    if (chdir("/") < 0)
        return berth_err_sys(err, errno, "chdir /");
    if (s->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return berth_err_sys(err, errno, "remounting the rootfs read-only");
    return 0;
}

int rt_setup_rootfs(const rt_spec_t *s, int pty[2],
                    int (*before_binds)(void *arg, berth_err_t *err), void *arg, berth_err_t *err)
{
    cleanup_close int rootfd = setup_base(s, pty, -1, err);
    if (rootfd < 0)
        return -1;
    if (before_binds && before_binds(arg, err) < 0)
        return -1;
    if (setup_etc_and_user_mounts(s, rootfd, err) < 0)
        return -1;
    /* After the user's mounts: a bind cannot uncover a masked path. */
    if (setup_masks(s, rootfd, err) < 0)
        return -1;
    return enter_root(s, rootfd, err);
}

int rt_rootfs_prepare(const rt_spec_t *tmpl, int overlay_fd, berth_err_t *err)
{
    cleanup_close int rootfd = setup_base(tmpl, NULL, overlay_fd, err);
    if (rootfd < 0 || setup_masks(tmpl, rootfd, err) < 0)
        return -1;
    /* The mount points of the /etc files every spec binds (rt_prep_fits),
     * made now as the start would make them: their creation (with the copy-up
     * of /etc) costs the start ~0.2 ms on a busy disk. Best effort: the start
     * makes any that are missing. */
    static const char *const etc[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
        int fd = open_in_root(rootfd, etc[i], MK_FILE);
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

int rt_rootfs_enter_prepared(const rt_spec_t *s, const char *rootfs, berth_err_t *err)
{
    cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return berth_err_sys(err, errno, "opening rootfs %s", rootfs);
    /* rt_prep_fits: no mounts of the user's, so only the /etc files. */
    if (setup_etc_and_user_mounts(s, rootfd, err) < 0)
        return -1;
    return enter_root(s, rootfd, err);
}
