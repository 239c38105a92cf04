/* Helper side of the built-in busybox image (berth-imagejob default): build
 * the layer tar from the host's busybox, unpack and place it, write the
 * config blob; the parent commits the record. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "image/internal.h"

#define BUSYBOX_PATH "/bin/busybox"

static la_ssize_t buf_write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
    UNUSED(a);
    buf_append(data, buf, len);
    return (la_ssize_t)len;
}

static void tar_add(struct archive *a, const char *name, unsigned type, int mode, const char *link,
                    const void *data, size_t len, time_t mtime)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (link)
        archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_write_header(a, e);
    if (len)
        archive_write_data(a, data, len);
    archive_entry_free(e);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ssize_t mem_read(void *ctx, void *out, size_t len)
{
    berth_buf_t *b = ctx;
    size_t n = len < b->len ? len : b->len;
    memcpy(out, b->data, n);
    buf_consume(b, n);
    return (ssize_t)n;
}

static int build_layer(berth_buf_t *tar, time_t *mtime_out, berth_err_t *err)
{
    struct stat st;
    if (stat(BUSYBOX_PATH, &st) < 0)
        return berth_err_sys(err, errno, "%s", BUSYBOX_PATH);
    time_t mt = st.st_mtime;
    *mtime_out = mt;
    cleanup_free char *bin = NULL;
    size_t bin_len;
    int r = fs_read_file(BUSYBOX_PATH, 64 * 1024 * 1024, &bin, &bin_len);
    if (r < 0)
        return berth_err_sys(err, -r, "reading %s", BUSYBOX_PATH);
    FILE *p = popen(BUSYBOX_PATH " --list", "re");
    if (!p)
        return berth_err_sys(err, errno, "running busybox --list");
    char **applets = NULL;
    size_t n = 0;
    char line[256];
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        if (!*line || strchr(line, '/') || strcmp(line, "busybox") == 0)
            continue;
        applets = xrealloc(applets, (n + 1) * sizeof(char *));
        applets[n++] = xstrdup(line);
    }
    pclose(p);
    qsort(applets, n, sizeof(char *), cmp_str);

    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, tar, NULL, buf_write_cb, NULL);
    static const char *dirs[] = {"bin/", "dev/", "etc/",     "home/",     "proc/", "root/",
                                 "sys/", "usr/", "usr/bin/", "usr/sbin/", "var/",  "var/spool/"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
        tar_add(a, dirs[i], AE_IFDIR, strcmp(dirs[i], "root/") == 0 ? 0700 : 0755, NULL, NULL, 0,
                mt);
    tar_add(a, "tmp/", AE_IFDIR, 01777, NULL, NULL, 0, mt);
    tar_add(a, "bin/busybox", AE_IFREG, 0755, NULL, bin, bin_len, mt);
    for (size_t i = 0; i < n; i++) {
        char name[300];
        snprintf(name, sizeof(name), "bin/%s", applets[i]);
        tar_add(a, name, AE_IFLNK, 0777, "busybox", NULL, 0, mt);
        free(applets[i]);
    }
    free(applets);
    static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                                 "bin:x:2:2:bin:/bin:/bin/false\n"
                                 "sys:x:3:3:sys:/dev:/bin/false\n"
                                 "sync:x:4:100:sync:/bin:/bin/sync\n"
                                 "mail:x:8:8:mail:/var/spool/mail:/bin/false\n"
                                 "www-data:x:33:33:www-data:/var/www:/bin/false\n"
                                 "operator:x:37:37:Operator:/var:/bin/false\n"
                                 "nobody:x:65534:65534:nobody:/home:/bin/false\n";
    static const char group[] = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\n"
                                "tty:x:5:\ndisk:x:6:\nwheel:x:10:root\nmail:x:8:\n"
                                "www-data:x:33:\noperator:x:37:\nusers:x:100:\n"
                                "nogroup:x:65534:\n";
    tar_add(a, "etc/passwd", AE_IFREG, 0644, NULL, passwd, strlen(passwd), mt);
    tar_add(a, "etc/group", AE_IFREG, 0644, NULL, group, strlen(group), mt);
    archive_write_close(a);
    archive_write_free(a);
    return 0;
}

int img_default_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    UNUSED(in_fd);
    UNUSED(out_fd);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(args, "dir");
    const char *dir = cJSON_IsString(d) ? d->valuestring : ".";
    berth_err_t err = {0};
    berth_buf_t tar;
    buf_init(&tar);
    time_t mt = 0;
    img_layer_result_t res;
    cleanup_free char *ldir = xasprintf("%s/layer", dir);
    cleanup_free char *diff = xasprintf("%s/diff", ldir);
    cleanup_free char *copy = xasprintf("%s/" IMG_LAYER_TAR, ldir);
    if (build_layer(&tar, &mt, &err) < 0)
        goto fail;
    if (mkdir(ldir, 0700) < 0 || mkdir(diff, 0755) < 0) {
        berth_err_sys(&err, errno, "creating %s", diff);
        goto fail;
    }
    if (img_unpack_stream(mem_read, &tar, diff, NULL, copy, &res, &err) < 0)
        goto fail;
    if (img_store_place_layer(s, ldir, res.diff_id, NULL, &res, &err) < 0)
        goto fail;
    char created[48];
    berth_format_time_ns((int64_t)mt * 1000000000, created, sizeof(created));
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "architecture", "amd64");
    cJSON *cc = cJSON_AddObjectToObject(cfg, "config");
    cJSON *env = cJSON_AddArrayToObject(cc, "Env");
    cJSON_AddItemToArray(
        env,
        cJSON_CreateString("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    cJSON *cmd = cJSON_AddArrayToObject(cc, "Cmd");
    cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
    cJSON_AddStringToObject(cfg, "created", created);
    cJSON *hist = cJSON_AddArrayToObject(cfg, "history");
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "created", created);
    cJSON_AddStringToObject(h, "created_by", "berth: busybox from " BUSYBOX_PATH);
    cJSON_AddItemToArray(hist, h);
    h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "created", created);
    cJSON_AddStringToObject(h, "created_by", "CMD [\"sh\"]");
    cJSON_AddBoolToObject(h, "empty_layer", true);
    cJSON_AddItemToArray(hist, h);
    cJSON_AddStringToObject(cfg, "os", "linux");
    cJSON *rootfs = cJSON_AddObjectToObject(cfg, "rootfs");
    cJSON_AddStringToObject(rootfs, "type", "layers");
    cJSON *diffs = cJSON_AddArrayToObject(rootfs, "diff_ids");
    cJSON_AddItemToArray(diffs, cJSON_CreateString(res.diff_id));
    char *txt = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    char id[IMG_DIGEST_LEN];
    int r = img_blob_put(s, NULL, txt, strlen(txt), id, &err);
    free(txt);
    if (r < 0)
        goto fail;
    buf_free(&tar);
    img_job_child_syncfs(dir);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    img_job_child_result(res_fd, o);
    return 0;
fail:
    buf_free(&tar);
    img_job_child_error(res_fd, &err);
    return 1;
}
