/* The built-in busybox:latest, made from the host's /bin/busybox (Debian's
 * busybox-static) so `docker run busybox ...` works without a registry. Built
 * in a child: one layer with bin/busybox, one symlink per applet, a minimal
 * /etc; timestamps come from /bin/busybox so the image ID is stable. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "image/internal.h"

#define BUSYBOX_PATH "/bin/busybox"
#define DEFAULT_REF "docker.io/library/busybox:latest"

typedef struct default_ctx {
    img_store_t *store;
    char *dir;
    void (*done_cb)(const berth_err_t *err, void *data);
    void *data;
} default_ctx_t;

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

static int default_child(void *arg, int in_fd, int out_fd, int res_fd)
{
    UNUSED(in_fd);
    UNUSED(out_fd);
    default_ctx_t *c = arg;
    berth_err_t err = {0};
    berth_buf_t tar;
    buf_init(&tar);
    time_t mt = 0;
    img_layer_result_t res;
    cleanup_free char *ldir = xasprintf("%s/layer", c->dir);
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
    if (img_store_place_layer(c->store, ldir, res.diff_id, NULL, &res, &err) < 0)
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
    int r = img_blob_put(c->store, NULL, txt, strlen(txt), id, &err);
    free(txt);
    if (r < 0)
        goto fail;
    buf_free(&tar);
    img_job_child_syncfs(c->dir);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    img_job_child_result(res_fd, o);
    return 0;
fail:
    buf_free(&tar);
    img_job_child_error(res_fd, &err);
    return 1;
}

static void default_done(img_job_t *job, cJSON *result, void *data)
{
    UNUSED(job);
    default_ctx_t *c = data;
    berth_err_t err = {0};
    if (!img_job_result_error(result, &err)) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(result, "id");
        cleanup_free char *cfg = NULL;
        size_t len;
        img_image_t *img = NULL;
        if (cJSON_IsString(id) && img_blob_get(c->store, id->valuestring, &cfg, &len, &err) == 0 &&
            img_store_commit_image(c->store, cfg, len, NULL, 0, NULL, NULL, &img, &err) == 0) {
            /* Someone may have loaded a real busybox meanwhile: keep theirs. */
            berth_err_t e2 = {0};
            if (!img_store_lookup(c->store, DEFAULT_REF, &e2))
                img_store_tag(c->store, img, DEFAULT_REF, &err);
        }
    }
    if (berth_err_isset(&err))
        log_warn("default busybox image: %s", err.msg);
    else
        log_info("default image busybox:latest ready");
    fs_rm_rf(c->dir);
    if (c->done_cb)
        c->done_cb(berth_err_isset(&err) ? &err : NULL, c->data);
    free(c->dir);
    free(c);
}

static void default_abort(img_job_t *job, void *data)
{
    UNUSED(job);
    default_ctx_t *c = data;
    berth_err_t err = {0};
    berth_err_set(&err, BERTH_E_UNAVAILABLE, "image store closed");
    if (c->done_cb)
        c->done_cb(&err, c->data);
    free(c->dir);
    free(c);
}

int img_default_image_begin(img_store_t *s, void (*done_cb)(const berth_err_t *err, void *data),
                            void *data)
{
    berth_err_t err = {0};
    if (img_store_lookup(s, DEFAULT_REF, &err) || !fs_exists(BUSYBOX_PATH)) {
        if (done_cb)
            done_cb(NULL, data);
        return 0;
    }
    berth_err_clear(&err);
    default_ctx_t *c = xcalloc(1, sizeof(*c));
    c->store = s;
    c->done_cb = done_cb;
    c->data = data;
    c->dir = img_store_tmpdir(s, &err);
    img_job_t *job;
    if (!c->dir || img_job_start(s, default_child, c, false, false, &job, &err) < 0) {
        log_warn("default busybox image: %s", err.msg);
        if (c->dir)
            fs_rm_rf(c->dir);
        free(c->dir);
        free(c);
        return -1;
    }
    job->on_done = default_done;
    job->on_abort = default_abort;
    job->data = c;
    return 0;
}
