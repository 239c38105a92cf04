/* Filesystem helpers: atomic metadata writes, mkdir -p, rm -rf. */
#include "berth/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *path, mode_t mode)
{
    /* Usually only the last component is missing: one syscall, no walk
     * (each mkdir of an existing prefix costs a path lookup). */
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno != ENOENT && errno != EEXIST)
        return -errno;
    if (errno == ENOENT) {
        cleanup_free char *p = xstrdup(path);
        size_t len = strlen(p);
        for (size_t i = 1; i <= len; i++) {
            if (p[i] != '/' && p[i] != '\0')
                continue;
            char saved = p[i];
            p[i] = '\0';
            if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
            p[i] = saved;
        }
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Remove the contents of dirfd recursively, staying on device dev. */
static int rm_rf_at(int dirfd, dev_t dev)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = errno;
        close(dirfd);
        return -e;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) {
                ret = -EBUSY; /* a mount point: never cross it */
                continue;
            }
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                ret = -errno;
                continue;
            }
            int r = rm_rf_at(sub, dev);
            if (r < 0)
                ret = r;
            if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                ret = -errno;
        } else if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT) {
            ret = -errno;
        }
    }
    closedir(d);
    return ret;
}

int fs_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = rm_rf_at(fd, st.st_dev);
    if (rmdir(path) < 0 && errno != ENOENT)
        return r < 0 ? r : -errno;
    return r;
}

int fs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int fs_replace(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
        return unlink(tmp) < 0 ? -errno : 0;
    /* ENOENT: nothing to replace yet; EINVAL: fs without exchange. */
    return rename(tmp, path) < 0 ? -errno : 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fs_write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    return fs_fsync_dir(dir);
}

int fs_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    berth_buf_t b;
    buf_init(&b);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            buf_free(&b);
            return -e;
        }
        if (n == 0)
            break;
        if (max && b.len + (size_t)n > max) {
            close(fd);
            buf_free(&b);
            return -EFBIG;
        }
        buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    if (out_len)
        *out_len = b.len;
    *out = buf_steal(&b);
    return 0;
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}
