/* SizeRw / SizeRootFs for GET /containers/{id}/json?size=1 and
 * /containers/json?size=1 (docker inspect -s, docker ps -s): the bytes of
 * the files in the container's upper dir (hard links once, like Docker's
 * directory.Size), plus the image's layer size for SizeRootFs. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "api/internal.h"
#include "berth/containers.h"
#include "berth/image.h"
#include "berth/runtime.h"

/* Walks are bounded so a huge upper dir cannot stall the loop for long; the
 * sizes are then a lower bound. */
#define SIZE_MAX_ENTRIES 100000

typedef struct size_walk {
    int64_t bytes;
    size_t entries;
    dev_t *seen_dev; /* hard links counted once, like Docker */
    ino_t *seen_ino;
    size_t n_seen, cap_seen;
} size_walk_t;

static void size_dir(size_walk_t *w, int fd)
{
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dir)) && w->entries < SIZE_MAX_ENTRIES) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        w->entries++;
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub =
                openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                size_dir(w, sub);
            continue;
        }
        if (st.st_nlink > 1) {
            bool dup = false;
            for (size_t i = 0; i < w->n_seen && !dup; i++)
                dup = w->seen_dev[i] == st.st_dev && w->seen_ino[i] == st.st_ino;
            if (dup)
                continue;
            if (w->n_seen == w->cap_seen) {
                w->cap_seen = w->cap_seen ? w->cap_seen * 2 : 16;
                w->seen_dev = xrealloc(w->seen_dev, w->cap_seen * sizeof(dev_t));
                w->seen_ino = xrealloc(w->seen_ino, w->cap_seen * sizeof(ino_t));
            }
            w->seen_dev[w->n_seen] = st.st_dev;
            w->seen_ino[w->n_seen++] = st.st_ino;
        }
        w->bytes += st.st_size;
    }
    closedir(dir);
}

void api_add_sizes(berthd_t *d, const rt_ctr_t *c, cJSON *o)
{
    const rt_spec_t *spec = rt_ctr_spec(c);
    size_walk_t w = {0};
    int fd = spec && spec->upperdir ? open(spec->upperdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0)
        size_dir(&w, fd);
    free(w.seen_dev);
    free(w.seen_ino);
    int64_t image = 0;
    berth_err_t err = {0};
    img_image_t *im = d->images && rt_ctr_image_id(c) && *rt_ctr_image_id(c)
                          ? img_store_lookup(d->images, rt_ctr_image_id(c), &err)
                          : NULL;
    if (im)
        image = im->size;
    cJSON_DeleteItemFromObjectCaseSensitive(o, "SizeRw");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "SizeRootFs");
    cJSON_AddNumberToObject(o, "SizeRw", (double)w.bytes);
    cJSON_AddNumberToObject(o, "SizeRootFs", (double)(w.bytes + image));
}
