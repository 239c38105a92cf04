/* Helper side of docker load (berth-imagejob load): spool the upload to a
 * temp file, read the metadata in a first pass, unpack and verify the layers
 * in a second pass, place layers and config blobs (content-addressed, so the
 * helper may write them), and report the images to the parent (load.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <archive_entry.h>

#include "image/internal.h"

#define SMALL_FILE_MAX (4 * 1024 * 1024)
#define SMALL_FILES_TOTAL_MAX (64 * 1024 * 1024)

typedef struct small_file {
    char *name;
    char *data;
    size_t len;
} small_file_t;

typedef struct load_ctx {
    img_store_t *store;
    int progress_fd; /* child: JSON lines for the parent, -1 for none */
    char *tmpdir;
    char *archive_path;
    small_file_t *files;
    size_t n_files;
    size_t total;
} load_ctx_t;

/* A needed layer: archive member -> unpack dir + result. */
typedef struct layer_job {
    char *member;
    char *dir;
    bool done;
    img_layer_result_t res;
} layer_job_t;

static char *member_name(const char *raw)
{
    while (raw[0] == '.' && raw[1] == '/')
        raw += 2;
    while (raw[0] == '/')
        raw++;
    return xstrdup(raw);
}

static const small_file_t *find_file(load_ctx_t *c, const char *name)
{
    cleanup_free char *n = member_name(name);
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i].name, n) == 0)
            return &c->files[i];
    return NULL;
}

static struct archive *open_outer(const char *path, berth_err_t *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        berth_err_set(err, BERTH_E_INVALID, "invalid tar archive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Pass 1: keep small metadata-ish files (json, blobs that may be configs or
 * manifests) in memory. */
static int read_small_files(load_ctx_t *c, berth_err_t *err)
{
    struct archive *a = open_outer(c->archive_path, err);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r;
    size_t entries = 0;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        entries++;
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        int64_t sz = archive_entry_size(e);
        cleanup_free char *name = member_name(archive_entry_pathname(e));
        bool wanted = sz <= SMALL_FILE_MAX &&
                      (strstr(name, ".json") || strncmp(name, "blobs/", 6) == 0 ||
                       strcmp(name, "repositories") == 0 || strcmp(name, "oci-layout") == 0);
        if (!wanted || c->total + (size_t)sz > SMALL_FILES_TOTAL_MAX)
            continue;
        char *buf = xmalloc((size_t)sz + 1);
        la_ssize_t n = archive_read_data(a, buf, (size_t)sz);
        if (n != sz) {
            free(buf);
            berth_err_set(err, BERTH_E_INVALID, "invalid tar archive: short read of %s", name);
            archive_read_free(a);
            return -1;
        }
        buf[sz] = '\0';
        c->files = xrealloc(c->files, (c->n_files + 1) * sizeof(*c->files));
        c->files[c->n_files++] = (small_file_t){steal_pointer(&name), buf, (size_t)sz};
        c->total += (size_t)sz;
    }
    if (r != ARCHIVE_EOF || entries == 0) {
        berth_err_set(err, BERTH_E_INVALID, "invalid tar archive: %s",
                      entries ? archive_error_string(a) : "no entries");
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    return 0;
}

/* One image to load: config member, layer members, tags. */
typedef struct load_image {
    char *config_member;
    char **layers;
    size_t n_layers;
    char **tags;
    size_t n_tags;
} load_image_t;

static void load_image_free(load_image_t *im)
{
    free(im->config_member);
    for (size_t i = 0; i < im->n_layers; i++)
        free(im->layers[i]);
    free(im->layers);
    for (size_t i = 0; i < im->n_tags; i++)
        free(im->tags[i]);
    free(im->tags);
}

static char *blob_member(const char *digest)
{
    if (!img_digest_valid(digest))
        return NULL;
    return xasprintf("blobs/sha256/%s", digest + 7);
}

/* docker-archive: manifest.json */
static int plan_docker_archive(load_ctx_t *c, const small_file_t *mf, load_image_t **out,
                               size_t *n_out, berth_err_t *err)
{
    cJSON *m = cJSON_ParseWithLength(mf->data, mf->len);
    if (!cJSON_IsArray(m)) {
        cJSON_Delete(m);
        return berth_err_set(err, BERTH_E_INVALID, "invalid manifest.json");
    }
    size_t n = (size_t)cJSON_GetArraySize(m);
    load_image_t *ims = xcalloc(n + 1, sizeof(*ims));
    const cJSON *it;
    size_t k = 0;
    cJSON_ArrayForEach(it, m)
    {
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(it, "Config");
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(it, "Layers");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(it, "RepoTags");
        if (!cJSON_IsString(cfg) || !cJSON_IsArray(layers)) {
            for (size_t i = 0; i < k; i++)
                load_image_free(&ims[i]);
            free(ims);
            cJSON_Delete(m);
            return berth_err_set(err, BERTH_E_INVALID, "invalid manifest.json entry");
        }
        load_image_t *im = &ims[k++];
        im->config_member = member_name(cfg->valuestring);
        im->layers = xcalloc((size_t)cJSON_GetArraySize(layers) + 1, sizeof(char *));
        const cJSON *l;
        cJSON_ArrayForEach(l, layers)
        {
            if (cJSON_IsString(l))
                im->layers[im->n_layers++] = member_name(l->valuestring);
        }
        im->tags = xcalloc((size_t)cJSON_GetArraySize(tags) + 1, sizeof(char *));
        cJSON_ArrayForEach(l, tags)
        {
            if (cJSON_IsString(l))
                im->tags[im->n_tags++] = xstrdup(l->valuestring);
        }
    }
    cJSON_Delete(m);
    UNUSED(c);
    *out = ims;
    *n_out = k;
    return 0;
}

/* Pick the manifest for our platform from an image index (linux/amd64
 * preferred, else the first). Returns a borrowed item. */
static const cJSON *pick_manifest(const cJSON *manifests)
{
    const cJSON *d, *first = NULL;
    cJSON_ArrayForEach(d, manifests)
    {
        if (!first)
            first = d;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "platform");
        const cJSON *arch = cJSON_GetObjectItemCaseSensitive(p, "architecture");
        if (cJSON_IsString(arch) && strcmp(arch->valuestring, "amd64") == 0)
            return d;
    }
    return first;
}

static bool is_index_type(const cJSON *desc)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(desc, "mediaType");
    return cJSON_IsString(mt) &&
           (strstr(mt->valuestring, "image.index") || strstr(mt->valuestring, "manifest.list"));
}

/* OCI layout: index.json -> manifests (one level of nested index). */
static int plan_oci(load_ctx_t *c, const small_file_t *idx, load_image_t **out, size_t *n_out,
                    berth_err_t *err)
{
    cJSON *index = cJSON_ParseWithLength(idx->data, idx->len);
    const cJSON *mans = cJSON_GetObjectItemCaseSensitive(index, "manifests");
    if (!cJSON_IsArray(mans)) {
        cJSON_Delete(index);
        return berth_err_set(err, BERTH_E_INVALID, "invalid index.json");
    }
    size_t n = (size_t)cJSON_GetArraySize(mans);
    load_image_t *ims = xcalloc(n + 1, sizeof(*ims));
    size_t k = 0;
    const cJSON *desc;
    int ret = 0;
    cJSON_ArrayForEach(desc, mans)
    {
        const cJSON *digest = cJSON_GetObjectItemCaseSensitive(desc, "digest");
        const cJSON *ann = cJSON_GetObjectItemCaseSensitive(desc, "annotations");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ann, "io.containerd.image.name");
        const cJSON *refname =
            cJSON_GetObjectItemCaseSensitive(ann, "org.opencontainers.image.ref.name");
        cleanup_free char *mpath = cJSON_IsString(digest) ? blob_member(digest->valuestring) : NULL;
        const small_file_t *mf = mpath ? find_file(c, mpath) : NULL;
        if (!mf) {
            ret = berth_err_set(err, BERTH_E_INVALID, "manifest blob missing from archive");
            break;
        }
        cJSON *man = cJSON_ParseWithLength(mf->data, mf->len);
        if (is_index_type(desc) || cJSON_GetObjectItemCaseSensitive(man, "manifests")) {
            const cJSON *sub = pick_manifest(cJSON_GetObjectItemCaseSensitive(man, "manifests"));
            const cJSON *sd = cJSON_GetObjectItemCaseSensitive(sub, "digest");
            cleanup_free char *sp = cJSON_IsString(sd) ? blob_member(sd->valuestring) : NULL;
            const small_file_t *smf = sp ? find_file(c, sp) : NULL;
            cJSON_Delete(man);
            man = smf ? cJSON_ParseWithLength(smf->data, smf->len) : NULL;
        }
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(man, "config");
        const cJSON *cfgd = cJSON_GetObjectItemCaseSensitive(cfg, "digest");
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(man, "layers");
        if (!cJSON_IsString(cfgd) || !cJSON_IsArray(layers)) {
            cJSON_Delete(man);
            ret = berth_err_set(err, BERTH_E_INVALID, "invalid image manifest in archive");
            break;
        }
        load_image_t *im = &ims[k++];
        im->config_member = blob_member(cfgd->valuestring);
        im->layers = xcalloc((size_t)cJSON_GetArraySize(layers) + 1, sizeof(char *));
        const cJSON *l;
        cJSON_ArrayForEach(l, layers)
        {
            const cJSON *ld = cJSON_GetObjectItemCaseSensitive(l, "digest");
            char *p = cJSON_IsString(ld) ? blob_member(ld->valuestring) : NULL;
            if (p)
                im->layers[im->n_layers++] = p;
        }
        im->tags = xcalloc(2, sizeof(char *));
        if (cJSON_IsString(name))
            im->tags[im->n_tags++] = xstrdup(name->valuestring);
        else if (cJSON_IsString(refname) && strchr(refname->valuestring, '/'))
            im->tags[im->n_tags++] = xstrdup(refname->valuestring);
        cJSON_Delete(man);
        if (!im->config_member) {
            ret = berth_err_set(err, BERTH_E_INVALID, "invalid config digest in archive");
            break;
        }
    }
    cJSON_Delete(index);
    if (ret < 0) {
        for (size_t i = 0; i < k; i++)
            load_image_free(&ims[i]);
        free(ims);
        return -1;
    }
    *out = ims;
    *n_out = k;
    return 0;
}

typedef struct member_src {
    struct archive *a;
} member_src_t;

static ssize_t member_read(void *ctx, void *buf, size_t len)
{
    member_src_t *m = ctx;
    la_ssize_t n = archive_read_data(m->a, buf, len);
    return n < 0 ? -1 : n;
}

/* Pass 2: unpack every needed layer member. */
static int unpack_layers(load_ctx_t *c, layer_job_t *jobs, size_t n_jobs, berth_err_t *err)
{
    struct archive *a = open_outer(c->archive_path, err);
    if (!a)
        return -1;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        cleanup_free char *name = member_name(archive_entry_pathname(e));
        for (size_t i = 0; i < n_jobs; i++) {
            if (jobs[i].done || strcmp(jobs[i].member, name) != 0)
                continue;
            member_src_t src = {a};
            cleanup_free char *diff = xasprintf("%s/diff", jobs[i].dir);
            if (mkdir(jobs[i].dir, 0700) < 0 || mkdir(diff, 0755) < 0) {
                archive_read_free(a);
                return berth_err_sys(err, errno, "creating %s", diff);
            }
            cleanup_free char *copy = xasprintf("%s/" IMG_LAYER_TAR, jobs[i].dir);
            if (img_unpack_stream(member_read, &src, diff, NULL, copy, &jobs[i].res, err) < 0) {
                archive_read_free(a);
                return berth_err_prefix(err, "layer %s", name);
            }
            jobs[i].done = true;
            if (c->progress_fd >= 0) {
                char short_id[13];
                cJSON *p = cJSON_CreateObject();
                cJSON_AddStringToObject(p, "status", "Loading layer");
                cJSON *pd = cJSON_AddObjectToObject(p, "progressDetail");
                cJSON_AddNumberToObject(pd, "current", (double)jobs[i].res.tar_size);
                cJSON_AddNumberToObject(pd, "total", (double)jobs[i].res.tar_size);
                cJSON_AddStringToObject(p, "id", img_short_id(jobs[i].res.diff_id, short_id));
                char *txt = cJSON_PrintUnformatted(p);
                cJSON_Delete(p);
                cleanup_free char *line = xasprintf("%s\n", txt);
                free(txt);
                /* progress is best effort: a failed write must not fail the load */
                if (fs_write_all(c->progress_fd, line, strlen(line)) < 0)
                    c->progress_fd = -1;
            }
            break;
        }
    }
    if (r != ARCHIVE_EOF) {
        berth_err_set(err, BERTH_E_INVALID, "invalid tar archive: %s", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    for (size_t i = 0; i < n_jobs; i++)
        if (!jobs[i].done)
            return berth_err_set(err, BERTH_E_INVALID, "layer %s missing from archive",
                                 jobs[i].member);
    return 0;
}

static layer_job_t *job_for(layer_job_t *jobs, size_t n, const char *member)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(jobs[i].member, member) == 0)
            return &jobs[i];
    return NULL;
}

/* "blobs/sha256/<hex>" members must have that digest; other names pass. */
static bool blob_name_matches(const char *member, const char *digest)
{
    const char *prefix = "blobs/sha256/";
    if (strncmp(member, prefix, strlen(prefix)) != 0)
        return true;
    return strcmp(member + strlen(prefix), digest + 7) == 0;
}

static int load_archive(load_ctx_t *c, cJSON *result, berth_err_t *err)
{
    if (read_small_files(c, err) < 0)
        return -1;
    load_image_t *ims = NULL;
    size_t n_ims = 0;
    const small_file_t *mf = find_file(c, "manifest.json");
    const small_file_t *idx = find_file(c, "index.json");
    if (mf) {
        if (plan_docker_archive(c, mf, &ims, &n_ims, err) < 0)
            return -1;
    } else if (idx) {
        if (plan_oci(c, idx, &ims, &n_ims, err) < 0)
            return -1;
    } else {
        return berth_err_set(err, BERTH_E_INVALID,
                             "invalid archive: no manifest.json or index.json found");
    }
    int ret = -1;
    layer_job_t *jobs = NULL;
    size_t n_jobs = 0;
    for (size_t i = 0; i < n_ims; i++)
        for (size_t l = 0; l < ims[i].n_layers; l++) {
            if (job_for(jobs, n_jobs, ims[i].layers[l]))
                continue;
            jobs = xrealloc(jobs, (n_jobs + 1) * sizeof(*jobs));
            jobs[n_jobs] = (layer_job_t){
                .member = xstrdup(ims[i].layers[l]),
                .dir = xasprintf("%s/l%zu", c->tmpdir, n_jobs),
            };
            n_jobs++;
        }
    if (unpack_layers(c, jobs, n_jobs, err) < 0)
        goto out;
    /* Content-addressed members must hash to their names. */
    for (size_t i = 0; i < n_jobs; i++) {
        if (!blob_name_matches(jobs[i].member, jobs[i].res.digest)) {
            berth_err_set(err, BERTH_E_INVALID, "layer %s: digest mismatch (content is %s)",
                          jobs[i].member, jobs[i].res.digest);
            goto out;
        }
    }
    cJSON *images = cJSON_AddArrayToObject(result, "images");
    for (size_t i = 0; i < n_ims; i++) {
        load_image_t *im = &ims[i];
        const small_file_t *cf = find_file(c, im->config_member);
        if (!cf) {
            berth_err_set(err, BERTH_E_INVALID, "config %s missing from archive",
                          im->config_member);
            goto out;
        }
        cJSON *cfg = cJSON_ParseWithLength(cf->data, cf->len);
        const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
        if (!cJSON_IsObject(cfg) || !cJSON_IsArray(diffs) ||
            (size_t)cJSON_GetArraySize(diffs) != im->n_layers) {
            cJSON_Delete(cfg);
            berth_err_set(err, BERTH_E_INVALID,
                          "invalid image config %s: rootfs.diff_ids does not match the layers",
                          im->config_member);
            goto out;
        }
        char chain[IMG_DIGEST_LEN] = "";
        for (size_t l = 0; l < im->n_layers; l++) {
            layer_job_t *lj = job_for(jobs, n_jobs, im->layers[l]);
            const cJSON *want = cJSON_GetArrayItem(diffs, (int)l);
            if (!cJSON_IsString(want) || strcmp(want->valuestring, lj->res.diff_id) != 0) {
                cJSON_Delete(cfg);
                berth_err_set(err, BERTH_E_INVALID,
                              "layer %s: diff_id mismatch: config says %s, content is %s",
                              lj->member, cJSON_IsString(want) ? want->valuestring : "?",
                              lj->res.diff_id);
                goto out;
            }
            char next[IMG_DIGEST_LEN];
            img_chain_id(l ? chain : NULL, lj->res.diff_id, next);
            /* A layer dir may serve several chains: copy it when already placed. */
            if (!img_store_has_layer(c->store, next)) {
                if (!fs_exists(lj->dir)) {
                    /* already placed under another chain: re-unpacking is rare; refuse */
                    cJSON_Delete(cfg);
                    berth_err_set(err, BERTH_E_INVALID, "layer %s used at two positions",
                                  lj->member);
                    goto out;
                }
                if (img_store_place_layer(c->store, lj->dir, next, l ? chain : NULL, &lj->res,
                                          err) < 0) {
                    cJSON_Delete(cfg);
                    goto out;
                }
            }
            memcpy(chain, next, sizeof(chain));
        }
        cJSON_Delete(cfg);
        char id[IMG_DIGEST_LEN];
        img_sha256_digest(cf->data, cf->len, id);
        if (!blob_name_matches(im->config_member, id)) {
            berth_err_set(err, BERTH_E_INVALID, "config %s: digest mismatch (content is %s)",
                          im->config_member, id);
            goto out;
        }
        if (img_blob_put(c->store, NULL, cf->data, cf->len, id, err) < 0)
            goto out;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON *tags = cJSON_AddArrayToObject(o, "tags");
        for (size_t t = 0; t < im->n_tags; t++)
            cJSON_AddItemToArray(tags, cJSON_CreateString(im->tags[t]));
        cJSON_AddItemToArray(images, o);
    }
    ret = 0;
out:
    for (size_t i = 0; i < n_ims; i++)
        load_image_free(&ims[i]);
    free(ims);
    for (size_t i = 0; i < n_jobs; i++) {
        free(jobs[i].member);
        free(jobs[i].dir);
    }
    free(jobs);
    return ret;
}

static int spool(int in_fd, const char *path, berth_err_t *err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return berth_err_sys(err, errno, "creating %s", path);
    char buf[128 * 1024];
    ssize_t n;
    while ((n = read(in_fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return berth_err_sys(err, errno, "reading upload");
        }
        int r = fs_write_all(fd, buf, (size_t)n);
        if (r < 0)
            return berth_err_sys(err, -r, "spooling upload");
    }
    return 0;
}

int img_load_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(args, "tmpdir");
    load_ctx_t cc = {
        .store = s, .progress_fd = out_fd, .tmpdir = cJSON_IsString(t) ? t->valuestring : "."};
    load_ctx_t *c = &cc;
    berth_err_t err = {0};
    c->archive_path = xasprintf("%s/upload.tar", c->tmpdir);
    cJSON *result = cJSON_CreateObject();
    if (spool(in_fd, c->archive_path, &err) < 0 || load_archive(c, result, &err) < 0) {
        cJSON_Delete(result);
        img_job_child_error(res_fd, &err);
        return 1;
    }
    img_job_child_syncfs(c->tmpdir);
    img_job_child_result(res_fd, result);
    return 0;
}
