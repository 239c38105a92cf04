/* Layer unpack: tar (optionally gzip/zstd) -> directory, safely.
 *
 * Safety rules (see docs/image-store.md):
 *  - Entry names are cleaned like Docker's filepath.Clean: leading "/" and
 *    "./" are dropped (an absolute name lands inside the layer, as in Docker),
 *    "a/../b" becomes "b", and a name that climbs above the root is refused.
 *  - Parents are walked one component at a time with O_NOFOLLOW|O_DIRECTORY
 *    from the layer's root fd, so a symlink in the layer can never redirect a
 *    later write outside it; final components are created with O_EXCL /
 *    *at() calls that do not follow symlinks.
 *  - Hardlink targets are cleaned and resolved the same way (inside the layer).
 *  - ".wh.<x>" becomes an overlay whiteout (char 0:0 <x>), ".wh..wh..opq" the
 *    trusted.overlay.opaque=y xattr. Image xattrs in "trusted." are dropped
 *    (they could forge overlay metadata); others are applied best-effort.
 *  - Device nodes and fifos are created as the tar says (we run as root, like
 *    dockerd); containers only reach them through the devices cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <archive_entry.h>
#include <zlib.h>

#include "image/internal.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META_PREFIX ".wh..wh."

/* Clean a tar path into components joined by '/'; "" for the root. Returns
 * NULL when the path climbs above the root. */
static char *clean_path(const char *name)
{
    size_t n = strlen(name);
    char *out = xmalloc(n + 2); /* +1: split_base may shift right by one */
    size_t len = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, '/');
        size_t cl = e ? (size_t)(e - p) : strlen(p);
        if (cl == 1 && p[0] == '.') {
            /* skip */
        } else if (cl == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0) {
                free(out);
                return NULL;
            }
            char *slash = memrchr(out, '/', len);
            len = slash ? (size_t)(slash - out) : 0;
        } else {
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, cl);
            len += cl;
        }
        p += cl;
    }
    out[len] = '\0';
    return out;
}

/* Open directory `rel` (cleaned) under root without following symlinks,
 * creating missing components (mode 0755) when create is set. */
static int open_dir_nofollow(int root_fd, const char *rel, bool create, berth_err_t *err)
{
    int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return berth_err_sys(err, errno, "dup");
    cleanup_free char *copy = xstrdup(rel);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (create && mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            return berth_err_sys(err, e, "creating directory %s in %s", c, rel);
        }
        int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (nfd < 0) {
            if (e == ELOOP || e == ENOTDIR)
                return berth_err_set(err, BERTH_E_INVALID,
                                     "refusing to write through a symlink or non-directory: %s",
                                     rel);
            return berth_err_sys(err, e, "opening %s", rel);
        }
        fd = nfd;
    }
    return fd;
}

/* Split cleaned path into parent and base (base points into path). */
static const char *split_base(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash) {
        memmove(path + 1, path, strlen(path) + 1);
        path[0] = '\0';
        return path + 1;
    }
    *slash = '\0';
    return slash + 1;
}

static int remove_existing(int dir_fd, const char *name, bool keep_dir)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir)
            return 1;
        /* Replace a directory by a non-directory: remove the whole subtree. */
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            char path[64];
            snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
            char real[4096];
            ssize_t n = readlink(path, real, sizeof(real) - 1);
            close(fd);
            if (n > 0) {
                real[n] = '\0';
                fs_rm_rf(real);
            }
        }
        return 0;
    }
    unlinkat(dir_fd, name, 0);
    return 0;
}

static void apply_xattrs(int fd, struct archive_entry *e)
{
    const char *name;
    const void *val;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
        if (strncmp(name, "trusted.", 8) == 0)
            continue;
        fsetxattr(fd, name, val, size, 0);
    }
}

static int write_file_data(struct archive *a, int fd, int64_t *size, berth_err_t *err)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;
    while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        if (pwrite(fd, buf, len, off) != (ssize_t)len)
            return berth_err_sys(err, errno, "writing file");
        *size += (int64_t)len;
    }
    if (r != ARCHIVE_EOF)
        return berth_err_set(err, BERTH_E_INVALID, "reading layer: %s", archive_error_string(a));
    return 0;
}

static int extract_entry(struct archive *a, struct archive_entry *e, int root_fd, int64_t *size,
                         berth_err_t *err)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw)
        return berth_err_set(err, BERTH_E_INVALID, "layer entry without a name");
    cleanup_free char *path = clean_path(raw);
    if (!path)
        return berth_err_set(err, BERTH_E_INVALID, "invalid layer: path %s escapes the layer", raw);
    if (!*path)
        return 0; /* the root itself: "./" */
    const char *base = split_base(path);
    const char *parent = path;
    cleanup_close int dir_fd = open_dir_nofollow(root_fd, parent, true, err);
    if (dir_fd < 0)
        return berth_err_prefix(err, "invalid layer: %s", raw);

    if (strcmp(base, WH_OPAQUE) == 0) {
        if (fsetxattr(dir_fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return berth_err_sys(err, errno, "marking %s opaque", parent);
        return 0;
    }
    if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0; /* aufs hardlink metadata: not used by overlay */
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        const char *victim = base + strlen(WH_PREFIX);
        if (!*victim || strchr(victim, '/'))
            return berth_err_set(err, BERTH_E_INVALID, "invalid whiteout %s", raw);
        remove_existing(dir_fd, victim, false);
        if (mknodat(dir_fd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
            return berth_err_sys(err, errno, "creating whiteout for %s", victim);
        return 0;
    }

    mode_t mode = archive_entry_perm(e);
    uid_t uid = (uid_t)archive_entry_uid(e);
    gid_t gid = (gid_t)archive_entry_gid(e);
    struct timespec ts[2] = {
        {archive_entry_atime(e), archive_entry_atime_nsec(e)},
        {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
    };
    if (!archive_entry_atime_is_set(e))
        ts[0] = ts[1];

    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink) {
        cleanup_free char *target = clean_path(hardlink);
        if (!target || !*target)
            return berth_err_set(err, BERTH_E_INVALID,
                                 "invalid layer: hardlink %s -> %s escapes the layer", raw,
                                 hardlink);
        const char *tbase = split_base(target);
        cleanup_close int tdir = open_dir_nofollow(root_fd, target, false, err);
        if (tdir < 0)
            return berth_err_prefix(err, "invalid layer: hardlink %s", raw);
        remove_existing(dir_fd, base, false);
        /* flags 0: linkat does not follow a symlink target, it links the symlink */
        if (linkat(tdir, tbase, dir_fd, base, 0) < 0)
            return berth_err_sys(err, errno, "invalid layer: hardlink %s -> %s", raw, hardlink);
        return 0;
    }

    switch (archive_entry_filetype(e)) {
    case AE_IFDIR: {
        if (remove_existing(dir_fd, base, true) == 0 && mkdirat(dir_fd, base, 0700) < 0)
            return berth_err_sys(err, errno, "creating directory %s", raw);
        cleanup_close int fd =
            openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return berth_err_sys(err, errno, "opening directory %s", raw);
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode | (archive_entry_mode(e) & 07000)) < 0)
            return berth_err_sys(err, errno, "setting owner/mode of %s", raw);
        apply_xattrs(fd, e);
        futimens(fd, ts);
        return 0;
    }
    case AE_IFREG: {
        remove_existing(dir_fd, base, false);
        cleanup_close int fd =
            openat(dir_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return berth_err_sys(err, errno, "creating %s", raw);
        if (write_file_data(a, fd, size, err) < 0)
            return berth_err_prefix(err, "%s", raw);
        /* chown before chmod: chown clears setuid bits. */
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, archive_entry_mode(e) & 07777) < 0)
            return berth_err_sys(err, errno, "setting owner/mode of %s", raw);
        apply_xattrs(fd, e);
        futimens(fd, ts);
        return 0;
    }
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        remove_existing(dir_fd, base, false);
        if (!target || symlinkat(target, dir_fd, base) < 0)
            return berth_err_sys(err, errno, "creating symlink %s", raw);
        fchownat(dir_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        utimensat(dir_fd, base, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
        remove_existing(dir_fd, base, false);
        if (mknodat(dir_fd, base, archive_entry_mode(e), archive_entry_rdev(e)) < 0)
            return berth_err_sys(err, errno, "creating device %s", raw);
        fchownat(dir_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
        utimensat(dir_fd, base, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    default:
        return berth_err_set(err, BERTH_E_INVALID, "invalid layer: unsupported entry type for %s",
                             raw);
    }
}

int img_unpack_archive(struct archive *a, int dest_fd, int64_t *size, berth_err_t *err)
{
    struct archive_entry *e;
    int r;
    *size = 0;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (extract_entry(a, e, dest_fd, size, err) < 0)
            return -1;
    }
    if (r != ARCHIVE_EOF)
        return berth_err_set(err, BERTH_E_INVALID, "invalid layer tar: %s",
                             archive_error_string(a));
    return 0;
}

/* ---- two-stage reading: raw bytes -> (decompress) -> tar ---- */
typedef struct unpack_src {
    img_raw_read_fn read;
    void *ctx;
    img_hasher_t *raw_hash;
    int64_t raw_size;
    int raw_copy_fd; /* -1, or where the bytes as read are kept */
    bool failed, copy_failed;
    char buf[256 * 1024];
} unpack_src_t;

static void raw_consumed(unpack_src_t *src, const void *buf, size_t n)
{
    img_hasher_update(src->raw_hash, buf, n);
    src->raw_size += (int64_t)n;
    if (src->raw_copy_fd >= 0 && !src->copy_failed && fs_write_all(src->raw_copy_fd, buf, n) < 0)
        src->copy_failed = true;
}

static la_ssize_t raw_read_cb(struct archive *a, void *data, const void **out)
{
    UNUSED(a);
    unpack_src_t *src = data;
    ssize_t n = src->read(src->ctx, src->buf, sizeof(src->buf));
    if (n < 0) {
        src->failed = true;
        archive_set_error(a, EIO, "reading layer data failed");
        return -1;
    }
    raw_consumed(src, src->buf, (size_t)n);
    *out = src->buf;
    return n;
}

typedef struct tar_src {
    struct archive *decomp;
    img_hasher_t *tar_hash;
    gzFile copy;
    bool copy_failed;
    int64_t tar_size;
    char buf[128 * 1024];
} tar_src_t;

static la_ssize_t tar_read_cb(struct archive *a, void *data, const void **out)
{
    tar_src_t *ts = data;
    la_ssize_t n = archive_read_data(ts->decomp, ts->buf, sizeof(ts->buf));
    if (n < 0) {
        archive_set_error(a, EIO, "%s", archive_error_string(ts->decomp));
        return -1;
    }
    img_hasher_update(ts->tar_hash, ts->buf, (size_t)n);
    ts->tar_size += n;
    if (ts->copy && n > 0 && gzwrite(ts->copy, ts->buf, (unsigned)n) != (int)n)
        ts->copy_failed = true;
    *out = ts->buf;
    return n;
}

/* Docker media type of a layer blob from the compression libarchive found. */
static const char *blob_media_type(struct archive *decomp)
{
    switch (archive_filter_code(decomp, 0)) {
    case ARCHIVE_FILTER_GZIP:
        return "application/vnd.docker.image.rootfs.diff.tar.gzip";
    case ARCHIVE_FILTER_ZSTD:
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    default:
        return "application/vnd.docker.image.rootfs.diff.tar";
    }
}

int img_unpack_stream(img_raw_read_fn read_fn, void *ctx, const char *dest, const char *expected,
                      const char *tar_copy, img_layer_result_t *res, berth_err_t *err)
{
    return img_unpack_stream_keep(read_fn, ctx, dest, expected, tar_copy, NULL, res, err);
}

int img_unpack_stream_keep(img_raw_read_fn read_fn, void *ctx, const char *dest,
                           const char *expected, const char *tar_copy, const char *raw_copy,
                           img_layer_result_t *res, berth_err_t *err)
{
    int ret = -1;
    unpack_src_t *src = xcalloc(1, sizeof(*src));
    src->raw_copy_fd = -1;
    tar_src_t *ts = xcalloc(1, sizeof(*ts));
    src->read = read_fn;
    src->ctx = ctx;
    src->raw_hash = img_hasher_new();
    ts->tar_hash = img_hasher_new();
    struct archive *decomp = archive_read_new();
    struct archive *tar = archive_read_new();
    cleanup_close int dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    memset(res, 0, sizeof(*res));
    if (dest_fd < 0) {
        berth_err_sys(err, errno, "opening %s", dest);
        goto out;
    }
    if (raw_copy) {
        src->raw_copy_fd = open(raw_copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (src->raw_copy_fd < 0) {
            berth_err_sys(err, errno, "creating %s", raw_copy);
            goto out;
        }
    }
    if (tar_copy) {
        int cfd = open(tar_copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        ts->copy = cfd >= 0 ? gzdopen(cfd, "wb0") : NULL;
        if (!ts->copy) {
            if (cfd >= 0)
                close(cfd);
            berth_err_sys(err, errno, "creating %s", tar_copy);
            goto out;
        }
    }
    archive_read_support_filter_gzip(decomp);
    archive_read_support_filter_zstd(decomp);
    archive_read_support_filter_none(decomp);
    archive_read_support_format_raw(decomp);
    archive_read_support_format_empty(decomp);
    struct archive_entry *e;
    if (archive_read_open(decomp, src, NULL, raw_read_cb, NULL) != ARCHIVE_OK ||
        archive_read_next_header(decomp, &e) != ARCHIVE_OK) {
        berth_err_set(err, BERTH_E_INVALID, "invalid layer: %s",
                      archive_error_string(decomp) ? archive_error_string(decomp) : "empty");
        goto out;
    }
    ts->decomp = decomp;
    archive_read_support_format_tar(tar);
    if (archive_read_open(tar, ts, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
        berth_err_set(err, BERTH_E_INVALID, "invalid layer tar: %s", archive_error_string(tar));
        goto out;
    }
    if (img_unpack_archive(tar, dest_fd, &res->size, err) < 0)
        goto out;
    /* Hash what the tar reader left (end-of-archive padding), then the raw tail. */
    const void *out_ptr;
    while (tar_read_cb(tar, ts, &out_ptr) > 0)
        ;
    char drain[16384];
    ssize_t n;
    while ((n = read_fn(ctx, drain, sizeof(drain))) > 0)
        raw_consumed(src, drain, (size_t)n);
    if (src->copy_failed) {
        berth_err_set(err, BERTH_E_INTERNAL, "writing %s failed", raw_copy);
        goto out;
    }
    if (raw_copy) /* a media type means: a blob is kept */
        snprintf(res->media_type, sizeof(res->media_type), "%s", blob_media_type(decomp));
    if (ts->copy) {
        int zr = gzclose(ts->copy);
        ts->copy = NULL;
        if (zr != Z_OK || ts->copy_failed) {
            berth_err_set(err, BERTH_E_INTERNAL, "writing %s failed", tar_copy);
            goto out;
        }
    }
    ret = 0;
out:
    if (ts->copy)
        gzclose(ts->copy);
    if (src->raw_copy_fd >= 0)
        close(src->raw_copy_fd);
    res->tar_size = ts->tar_size;
    archive_read_free(tar);
    archive_read_free(decomp);
    img_hasher_final(src->raw_hash, res->digest);
    img_hasher_final(ts->tar_hash, res->diff_id);
    res->raw_size = src->raw_size;
    if (ret == 0 && expected && strcmp(expected, res->digest) != 0)
        ret = berth_err_set(err, BERTH_E_INVALID, "digest mismatch: expected %s, got %s", expected,
                            res->digest);
    free(src);
    free(ts);
    return ret;
}

static ssize_t fd_read_fn(void *ctx, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

int img_unpack_fd(int fd, const char *dest, const char *expected, const char *raw_copy,
                  img_layer_result_t *res, berth_err_t *err)
{
    return img_unpack_stream_keep(fd_read_fn, &fd, dest, expected, NULL, raw_copy, res, err);
}
