/* Container manager: a spare container dir, made while berthd is quiet and
 * renamed into place by a --rm create.
 *
 * Why: a create made the container's dir and its files (runtime.json,
 * config.v2.json, hostconfig.json, each through a .tmp, and the shim the log
 * file) on the data root's disk. On some disks a new inode is slow: ext4
 * without a journal skips every inode deleted in the last minutes when it
 * allocates one (find_inode_bit -> recently_deleted), so under the churn of
 * back-to-back runs the dir alone took 0.2 ms on average, 0.7 ms at p90, on
 * this VM. The spare holds the same names as empty files; the writes then go
 * into existing inodes (rt_write_replace/rt_write_rewrite open path.tmp
 * without O_EXCL) and nothing is allocated while a client waits. Only for
 * --rm creates: the others write with fs_write_atomic (random temp names,
 * fsync) and would leave the spare's .tmp files behind.
 *
 * <containers>/.spare is made complete as .spare.new, then renamed; a
 * berthd start removes a .spare.new left by a crash and keeps a .spare.
 * Where a --rm container was just removed, its dir becomes the spare
 * instead (mgr_spare_from_trash): its files renamed back, none unlinked and
 * none made. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/manager_internal.h"

#define SPARE_DIR ".spare"
#define SPARE_LOG "spare-json.log" /* renamed to <id>-json.log */

/* What a --rm create and its first start write, and with which mode. */
static const struct {
    const char *name;
    mode_t mode;
} spare_files[] = {
    {RT_SPEC_FILE ".tmp", 0600},   /* rt_spec_save: rt_write_replace */
    {"config.v2.json", 0600},      /* save_files: rt_write_rewrite swaps... */
    {"config.v2.json.tmp", 0600},  /* ...with this one */
    {"hostconfig.json.tmp", 0600}, /* save_files: rt_write_replace */
    {SPARE_LOG, 0640},             /* rt_jsonlog_open */
};

static char *spare_path(const rt_manager_t *m, const char *suffix)
{
    return xasprintf("%s/" SPARE_DIR "%s", m->containers_dir, suffix);
}

void mgr_spare_init(rt_manager_t *m)
{
    cleanup_free char *tmp = spare_path(m, ".new");
    fs_rm_rf(tmp);
    cleanup_free char *dir = spare_path(m, "");
    struct stat st;
    m->spare_ready = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    mgr_spare_make(m);
}

void mgr_spare_make(rt_manager_t *m)
{
    if (m->spare_ready || m->spare_off || m->closing || mgr_leftovers_make_spare(m))
        return;
    cleanup_free char *tmp = spare_path(m, ".new");
    cleanup_free char *dir = spare_path(m, "");
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        goto fail;
    for (size_t i = 0; i < ARRAY_SIZE(spare_files); i++) {
        cleanup_free char *p = xasprintf("%s/%s", tmp, spare_files[i].name);
        int fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, spare_files[i].mode);
        if (fd < 0)
            goto fail;
        close(fd);
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) < 0)
        goto fail;
    m->spare_ready = true;
    return;
fail:
    /* Once: it is only a shortcut, creates make their dir without it. */
    log_warn("making a spare container dir: %s (creates go without one)", strerror(errno));
    m->spare_off = true;
    fs_rm_rf(tmp);
}

/* A removed --rm container's dir holds what a spare holds, under the names
 * its writes left (and its upper/work/rootfs dirs): renamed back, it is the
 * next spare, and neither its files are unlinked nor a spare's made. */
static const struct {
    const char *name, *spare; /* spare: its name in a spare; NULL: a dir to remove */
} trash_entries[] = {
    {RT_SPEC_FILE, RT_SPEC_FILE ".tmp"},
    {RT_SPEC_FILE ".tmp", RT_SPEC_FILE ".tmp"},
    {"config.v2.json", "config.v2.json"},
    {"config.v2.json.tmp", "config.v2.json.tmp"},
    {"hostconfig.json", "hostconfig.json.tmp"},
    {"hostconfig.json.tmp", "hostconfig.json.tmp"},
    {"upper", NULL},
    {"work", NULL},
    {"rootfs", NULL},
};

/* Its place in trash_entries (the log: the last + 1), or -1: not ours. */
static int trash_entry(const struct dirent *e)
{
    for (size_t i = 0; i < ARRAY_SIZE(trash_entries); i++)
        if (strcmp(e->d_name, trash_entries[i].name) == 0)
            return (trash_entries[i].spare ? e->d_type == DT_REG : e->d_type == DT_DIR) ? (int)i
                                                                                        : -1;
    size_t len = strlen(e->d_name);
    return e->d_type == DT_REG && len == 64 + strlen("-json.log") &&
                   strcmp(e->d_name + 64, "-json.log") == 0
               ? (int)ARRAY_SIZE(trash_entries)
               : -1;
}

bool mgr_spare_from_trash(rt_manager_t *m, const char *trash)
{
    if (m->spare_ready || m->spare_off || m->closing)
        return false;
    int dfd = open(trash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return false;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return false;
    }
    /* Everything known, or nothing changed: a surprise goes to the reaper. */
    bool seen[ARRAY_SIZE(trash_entries) + 1] = {0};
    char log[NAME_MAX + 1] = "";
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int i = trash_entry(e);
        ok = i >= 0 && !seen[i];
        if (ok)
            seen[i] = true;
        if (ok && i == (int)ARRAY_SIZE(trash_entries))
            memcpy(log, e->d_name, strlen(e->d_name) + 1); /* trash_entry: 73 chars */
    }
    for (size_t i = 0; ok && i < ARRAY_SIZE(trash_entries); i++) {
        if (!seen[i])
            continue;
        if (!trash_entries[i].spare) {
            /* Aside (.trash-<id>-upper ...: a restart sweeps .trash-*), then
             * removed off the loop. */
            cleanup_free char *aside = xasprintf("%s-%s", trash, trash_entries[i].name);
            cleanup_free char *sub = xasprintf("%s/%s", trash, trash_entries[i].name);
            if (rename(sub, aside) == 0)
                mgr_trash_spawn(m, aside);
            else
                ok = false;
        } else if (strcmp(trash_entries[i].name, trash_entries[i].spare) != 0) {
            ok = renameat(dfd, trash_entries[i].name, dfd, trash_entries[i].spare) == 0;
        }
    }
    if (ok && log[0])
        ok = renameat(dfd, log, dfd, SPARE_LOG) == 0;
    /* Made only where missing; the log emptied: the shim appends to it. */
    for (size_t i = 0; ok && i < ARRAY_SIZE(spare_files); i++) {
        bool is_log = strcmp(spare_files[i].name, SPARE_LOG) == 0, there = is_log && log[0];
        for (size_t j = 0; !there && j < ARRAY_SIZE(trash_entries); j++)
            there = seen[j] && trash_entries[j].spare &&
                    strcmp(trash_entries[j].spare, spare_files[i].name) == 0;
        if (there && !is_log)
            continue;
        int fd = openat(dfd, spare_files[i].name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                        spare_files[i].mode);
        ok = fd >= 0 && (!there || ftruncate(fd, 0) == 0);
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
    cleanup_free char *dir = spare_path(m, "");
    if (!ok || renameat2(AT_FDCWD, trash, AT_FDCWD, dir, RENAME_NOREPLACE) < 0) {
        mgr_trash_spawn(m, trash); /* what is left of it */
        return true;
    }
    m->spare_ready = true;
    return true;
}

bool mgr_prep_from_trash(const char *trash, const char *slot)
{
    /* The upper dir inside the work dir (no holder dir to make), and that
     * renamed to the slot. */
    cleanup_free char *upper = xasprintf("%s/upper", trash);
    cleanup_free char *work = xasprintf("%s/work", trash);
    cleanup_free char *inside = xasprintf("%s/work/upper", trash);
    if (renameat2(AT_FDCWD, upper, AT_FDCWD, inside, RENAME_NOREPLACE) < 0)
        return false;
    if (renameat2(AT_FDCWD, work, AT_FDCWD, slot, RENAME_NOREPLACE) == 0)
        return true;
    rename(inside, upper); /* back where the reaper finds it */
    return false;
}

bool mgr_spare_take(rt_ctr_t *c)
{
    rt_manager_t *m = c->m;
    if (!m->spare_ready || !mgr_json_bool(c->host_config, "AutoRemove"))
        return false;
    m->spare_ready = false;
    cleanup_free char *dir = spare_path(m, "");
    if (renameat2(AT_FDCWD, dir, AT_FDCWD, c->dir, RENAME_NOREPLACE) < 0)
        return false;
    cleanup_free char *log = xasprintf("%s/" SPARE_LOG, c->dir);
    const char *want = c->spec.log_path;
    cleanup_free char *want_dir = xasprintf("%s/", c->dir);
    if (!want || strncmp(want, want_dir, strlen(want_dir)) != 0 || rename(log, want) < 0)
        unlink(log); /* no json-file log, or one elsewhere */
    return true;
}
