/* Helpers for image unit tests: build tar archives in memory (libarchive). */
#ifndef IMAGE_TESTUTIL_H
#define IMAGE_TESTUTIL_H

#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/common.h"

typedef struct tar_member {
    const char *name;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, or 0 for a hardlink */
    const char *content_or_target;
    int mode;
} tar_member_t;

static inline int tb_write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
    (void)a;
    buf_append(data, buf, len);
    return (int)len;
}
static inline la_ssize_t tb_write_cb2(struct archive *a, void *data, const void *buf, size_t len)
{
    return tb_write_cb(a, data, buf, len);
}

/* gzip: add a gzip filter. Returns the tar bytes in out. */
static inline void tar_build(const tar_member_t *m, size_t n, bool gzip, berth_buf_t *out)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, out, NULL, tb_write_cb2, NULL);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_mtime(e, 1700000000, 0);
        size_t len = 0;
        if (m[i].type == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].content_or_target);
        } else {
            archive_entry_set_filetype(e, (unsigned)m[i].type);
            if (m[i].type == AE_IFLNK)
                archive_entry_set_symlink(e, m[i].content_or_target);
            if (m[i].type == AE_IFREG && m[i].content_or_target)
                len = strlen(m[i].content_or_target);
        }
        archive_entry_set_perm(e, m[i].mode ? (mode_t)m[i].mode : 0644);
        archive_entry_set_size(e, (la_int64_t)len);
        archive_write_header(a, e);
        if (len)
            archive_write_data(a, m[i].content_or_target, len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

#endif
