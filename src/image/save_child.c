/* Helper side of docker save and layer export (berth-imagejob save/export):
 * stream the bytes to out_fd. save: layers decompressed from the kept blob (or
 * layer.tar.gz), so their digests match the image's diff_ids; export for push:
 * the kept compressed blob as is, or the tar gzipped once and kept. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <archive_entry.h>
#include <zlib.h>

#include "image/internal.h"

/* What the parent passed for each image: its id, layers and names. */
typedef struct save_image {
    const char *id;
    const char **chain_ids;
    size_t n_layers;
    const char **tags; /* full references to record */
    size_t n_tags;
} save_image_t;

typedef struct save_ctx {
    img_store_t *store;
    save_image_t *images;
    size_t n;
    const char *chain_id; /* export_layer */
    bool blob;
} save_ctx_t;

#define EXPORT_BUF (256 * 1024)

static const char **strings_of(const cJSON *arr, size_t *n)
{
    *n = 0;
    const char **v = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it))
            v[(*n)++] = it->valuestring;
    }
    return v;
}

static int write_all_archive(struct archive *a, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        la_ssize_t n = archive_write_data(a, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int add_entry(struct archive *a, const char *name, int type, int64_t size)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, (unsigned)type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : -1;
}

static int add_bytes(struct archive *a, const char *name, const void *data, size_t len)
{
    if (add_entry(a, name, AE_IFREG, (int64_t)len) < 0)
        return -1;
    return write_all_archive(a, data, len);
}

struct archive *img_layer_tar_open(img_store_t *s, const char *chain_id, berth_err_t *err)
{
    img_layer_blob_t b;
    const char *file = img_layer_blob_info(s, chain_id, &b) == 0 ? IMG_LAYER_BLOB : IMG_LAYER_TAR;
    cleanup_free char *path = xasprintf("%s/layers/%s/%s", img_store_root(s), chain_id + 7, file);
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_raw(a);
    archive_read_support_format_empty(a);
    struct archive_entry *e;
    if (archive_read_open_filename(a, path, 256 * 1024) != ARCHIVE_OK ||
        archive_read_next_header(a, &e) != ARCHIVE_OK) {
        berth_err_set(err, BERTH_E_INTERNAL, "layer %s: opening %s: %s", chain_id, file,
                      archive_error_string(a) ? archive_error_string(a) : "empty");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Copy the uncompressed tar of a layer into the archive. */
static int add_layer(struct archive *a, img_store_t *s, const char *chain_id, berth_err_t *err)
{
    char diff_id[IMG_DIGEST_LEN];
    int64_t size, tar_size;
    if (img_store_layer_meta(s, chain_id, diff_id, &size, &tar_size, err) < 0)
        return -1;
    if (tar_size < 0)
        return berth_err_set(err, BERTH_E_INTERNAL, "layer %s: tar size unknown", chain_id);
    struct archive *in = img_layer_tar_open(s, chain_id, err);
    if (!in)
        return -1;
    cleanup_free char *name = xasprintf("blobs/sha256/%s", diff_id + 7);
    int ret = -1;
    if (add_entry(a, name, AE_IFREG, tar_size) < 0) {
        berth_err_set(err, BERTH_E_INTERNAL, "writing archive: %s", archive_error_string(a));
        goto out;
    }
    cleanup_free char *buf = xmalloc(EXPORT_BUF);
    int64_t left = tar_size;
    while (left > 0) {
        la_ssize_t n = archive_read_data(in, buf, EXPORT_BUF);
        if (n <= 0) {
            berth_err_set(err, BERTH_E_INTERNAL, "layer %s: stored tar is short", chain_id);
            goto out;
        }
        if (n > left)
            n = (la_ssize_t)left;
        if (write_all_archive(a, buf, (size_t)n) < 0) {
            berth_err_set(err, BERTH_E_INTERNAL, "writing archive: %s", archive_error_string(a));
            goto out;
        }
        left -= n;
    }
    ret = 0;
out:
    archive_read_free(in);
    return ret;
}

static bool seen(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int save_child(save_ctx_t *c, int out_fd, int res_fd)
{
    berth_err_t err = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
        berth_err_set(&err, BERTH_E_INTERNAL, "opening archive writer");
        goto fail;
    }
    add_entry(a, "blobs", AE_IFDIR, 0);
    add_entry(a, "blobs/sha256", AE_IFDIR, 0);
    char **done = xcalloc(1, sizeof(char *));
    size_t n_done = 0;
    cJSON *manifest = cJSON_CreateArray();
    cJSON *index = cJSON_CreateObject();
    cJSON_AddNumberToObject(index, "schemaVersion", 2);
    cJSON_AddStringToObject(index, "mediaType", "application/vnd.oci.image.index.v1+json");
    cJSON *idx_mans = cJSON_AddArrayToObject(index, "manifests");
    for (size_t i = 0; i < c->n; i++) {
        save_image_t *img = &c->images[i];
        cJSON *oci = cJSON_CreateObject();
        cJSON_AddNumberToObject(oci, "schemaVersion", 2);
        cJSON_AddStringToObject(oci, "mediaType", "application/vnd.oci.image.manifest.v1+json");
        cJSON *layers = cJSON_AddArrayToObject(oci, "layers");
        cJSON *m = cJSON_CreateObject();
        cJSON *mlayers = cJSON_CreateArray();
        for (size_t l = 0; l < img->n_layers; l++) {
            char diff_id[IMG_DIGEST_LEN];
            int64_t size, tar_size;
            if (img_store_layer_meta(c->store, img->chain_ids[l], diff_id, &size, &tar_size, &err) <
                0)
                goto fail;
            cJSON *ld = cJSON_CreateObject();
            cJSON_AddStringToObject(ld, "mediaType", "application/vnd.oci.image.layer.v1.tar");
            cJSON_AddStringToObject(ld, "digest", diff_id);
            cJSON_AddNumberToObject(ld, "size", (double)tar_size);
            cJSON_AddItemToArray(layers, ld);
            char *blob = xasprintf("blobs/sha256/%s", diff_id + 7);
            cJSON_AddItemToArray(mlayers, cJSON_CreateString(blob));
            if (!seen(done, n_done, diff_id)) {
                if (add_layer(a, c->store, img->chain_ids[l], &err) < 0) {
                    free(blob);
                    goto fail;
                }
                done = xrealloc(done, (n_done + 1) * sizeof(char *));
                done[n_done++] = xstrdup(diff_id);
            }
            free(blob);
        }
        cleanup_free char *cfg = NULL;
        size_t cfg_len;
        if (img_blob_get(c->store, img->id, &cfg, &cfg_len, &err) < 0)
            goto fail;
        cleanup_free char *cfg_name = xasprintf("blobs/sha256/%s", img->id + 7);
        if (!seen(done, n_done, img->id)) {
            add_bytes(a, cfg_name, cfg, cfg_len);
            done = xrealloc(done, (n_done + 1) * sizeof(char *));
            done[n_done++] = xstrdup(img->id);
        }
        cJSON *cd = cJSON_CreateObject();
        cJSON_AddStringToObject(cd, "mediaType", "application/vnd.oci.image.config.v1+json");
        cJSON_AddStringToObject(cd, "digest", img->id);
        cJSON_AddNumberToObject(cd, "size", (double)cfg_len);
        cJSON_AddItemToObject(oci, "config", cd);
        char *oci_txt = cJSON_PrintUnformatted(oci);
        cJSON_Delete(oci);
        char oci_digest[IMG_DIGEST_LEN];
        img_sha256_digest(oci_txt, strlen(oci_txt), oci_digest);
        if (!seen(done, n_done, oci_digest)) {
            cleanup_free char *mname = xasprintf("blobs/sha256/%s", oci_digest + 7);
            add_bytes(a, mname, oci_txt, strlen(oci_txt));
            done = xrealloc(done, (n_done + 1) * sizeof(char *));
            done[n_done++] = xstrdup(oci_digest);
        }
        cJSON *desc = cJSON_CreateObject();
        cJSON_AddStringToObject(desc, "mediaType", "application/vnd.oci.image.manifest.v1+json");
        cJSON_AddStringToObject(desc, "digest", oci_digest);
        cJSON_AddNumberToObject(desc, "size", (double)strlen(oci_txt));
        free(oci_txt);
        cJSON_AddStringToObject(m, "Config", cfg_name);
        cJSON *tags = cJSON_AddArrayToObject(m, "RepoTags");
        cJSON *base_desc = cJSON_Duplicate(desc, true);
        for (size_t t = 0; t < c->images[i].n_tags; t++) {
            const char *tag = c->images[i].tags[t];
            char *fam = img_ref_familiarize(tag);
            cJSON_AddItemToArray(tags, cJSON_CreateString(fam));
            free(fam);
            /* the OCI index gets one descriptor per name */
            cJSON *d = t == 0 ? desc : cJSON_Duplicate(base_desc, true);
            cJSON *ann = cJSON_AddObjectToObject(d, "annotations");
            cJSON_AddStringToObject(ann, "io.containerd.image.name", tag);
            const char *colon = strrchr(tag, ':');
            cJSON_AddStringToObject(ann, "org.opencontainers.image.ref.name",
                                    colon ? colon + 1 : "latest");
            if (t > 0)
                cJSON_AddItemToArray(idx_mans, d);
        }
        cJSON_Delete(base_desc);
        cJSON_AddItemToObject(m, "Layers", mlayers);
        cJSON_AddItemToArray(manifest, m);
        cJSON_AddItemToArray(idx_mans, desc);
    }
    char *mtxt = cJSON_PrintUnformatted(manifest);
    char *itxt = cJSON_PrintUnformatted(index);
    const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
    add_bytes(a, "index.json", itxt, strlen(itxt));
    add_bytes(a, "manifest.json", mtxt, strlen(mtxt));
    add_bytes(a, "oci-layout", layout, strlen(layout));
    free(mtxt);
    free(itxt);
    if (archive_write_close(a) != ARCHIVE_OK) {
        berth_err_set(&err, BERTH_E_INTERNAL, "writing archive: %s", archive_error_string(a));
        goto fail;
    }
    archive_write_free(a);
    img_job_child_result(res_fd, cJSON_CreateObject());
    return 0;
fail:
    archive_write_free(a);
    img_job_child_error(res_fd, &err);
    return 1;
}

/* The kept blob, byte for byte (the registry checks its digest on upload). */
static int export_kept_blob(save_ctx_t *c, const img_layer_blob_t *b, int out_fd, char *buf,
                            berth_err_t *err)
{
    cleanup_free char *path =
        xasprintf("%s/layers/%s/" IMG_LAYER_BLOB, img_store_root(c->store), c->chain_id + 7);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_err_sys(err, errno, "opening %s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, EXPORT_BUF)) > 0) {
        if (fs_write_all(out_fd, buf, (size_t)n) < 0)
            return berth_err_sys(err, errno, "writing layer %s", c->chain_id);
        total += n;
    }
    if (n < 0 || total != b->size)
        return berth_err_set(err, BERTH_E_INTERNAL, "layer %s: kept blob has %lld bytes, not %lld",
                             c->chain_id, (long long)total, (long long)b->size);
    return 0;
}

/* No blob yet (loaded or built layer): gzip the tar once, stream it and keep
 * it, so later pushes send the same bytes (and the registry's HEAD finds them). */
static int export_compress(save_ctx_t *c, img_layer_blob_t *b, int out_fd, char *buf,
                           berth_err_t *err)
{
    cleanup_free char *dir = xasprintf("%s/layers/%s", img_store_root(c->store), c->chain_id + 7);
    cleanup_free char *tmp = xasprintf("%s/" IMG_LAYER_BLOB ".tmp.%d", dir, (int)getpid());
    cleanup_free char *dst = xasprintf("%s/" IMG_LAYER_BLOB, dir);
    struct archive *in = img_layer_tar_open(c->store, c->chain_id, err);
    if (!in)
        return -1;
    int ret = -1;
    z_stream z = {0};
    bool z_ok = deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cleanup_free char *zout = xmalloc(EXPORT_BUF);
    img_hasher_t *h = img_hasher_new();
    int64_t total = 0;
    if (!z_ok || fd < 0) {
        berth_err_sys(err, fd < 0 ? errno : ENOMEM, "compressing layer %s", c->chain_id);
        goto out;
    }
    for (;;) {
        la_ssize_t n = archive_read_data(in, buf, EXPORT_BUF);
        if (n < 0) {
            berth_err_set(err, BERTH_E_INTERNAL, "layer %s: %s", c->chain_id,
                          archive_error_string(in));
            goto out;
        }
        z.next_in = (Bytef *)buf;
        z.avail_in = (uInt)n;
        int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
        int zr;
        do {
            z.next_out = (Bytef *)zout;
            z.avail_out = EXPORT_BUF;
            zr = deflate(&z, flush);
            size_t have = EXPORT_BUF - z.avail_out;
            if (have) {
                img_hasher_update(h, zout, have);
                total += (int64_t)have;
                if (fs_write_all(fd, zout, have) < 0 || fs_write_all(out_fd, zout, have) < 0) {
                    berth_err_sys(err, errno, "writing layer %s", c->chain_id);
                    goto out;
                }
            }
        } while (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
        if (n == 0)
            break;
    }
    /* Data before metadata: blob.json never points at a partial blob. */
    if (fdatasync(fd) < 0 || rename(tmp, dst) < 0) {
        berth_err_sys(err, errno, "keeping the compressed layer %s", c->chain_id);
        goto out;
    }
    img_hasher_final(h, b->digest);
    h = NULL;
    b->size = total;
    snprintf(b->media_type, sizeof(b->media_type), "%s",
             "application/vnd.docker.image.rootfs.diff.tar.gzip");
    int r = img_layer_blob_meta_write(dir, b);
    if (r < 0)
        log_warn("image: layer %s: could not record its blob: %s", c->chain_id, strerror(-r));
    ret = 0;
out:
    if (h) {
        char dummy[IMG_DIGEST_LEN];
        img_hasher_final(h, dummy);
    }
    if (ret < 0)
        unlink(tmp);
    if (z_ok)
        deflateEnd(&z);
    archive_read_free(in);
    return ret;
}

/* The uncompressed tar; its sha256 must be the diff_id. */
static int export_tar(save_ctx_t *c, int out_fd, char *buf, img_layer_result_t *res,
                      berth_err_t *err)
{
    struct archive *in = img_layer_tar_open(c->store, c->chain_id, err);
    if (!in)
        return -1;
    img_hasher_t *h = img_hasher_new();
    int ret = 0;
    la_ssize_t n;
    while ((n = archive_read_data(in, buf, EXPORT_BUF)) > 0) {
        img_hasher_update(h, buf, (size_t)n);
        res->raw_size += n;
        if (fs_write_all(out_fd, buf, (size_t)n) < 0) {
            ret = berth_err_sys(err, errno, "writing layer %s", c->chain_id);
            break;
        }
    }
    if (n < 0 && ret == 0)
        ret = berth_err_set(err, BERTH_E_INTERNAL, "layer %s: %s", c->chain_id,
                            archive_error_string(in));
    img_hasher_final(h, res->digest);
    archive_read_free(in);
    snprintf(res->media_type, sizeof(res->media_type), "%s",
             "application/vnd.docker.image.rootfs.diff.tar");
    return ret;
}

/* Stream one layer: its blob (kept, or compressed now and kept) or the tar. */
int img_export_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    UNUSED(in_fd);
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(args, "chain_id");
    save_ctx_t cc = {.store = s,
                     .chain_id = cJSON_IsString(ch) ? ch->valuestring : "",
                     .blob = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "blob"))};
    save_ctx_t *c = &cc;
    berth_err_t err = {0};
    img_layer_result_t res = {0};
    int64_t size, tar_size;
    if (img_store_layer_meta(c->store, c->chain_id, res.diff_id, &size, &tar_size, &err) < 0) {
        img_job_child_error(res_fd, &err);
        return 1;
    }
    cleanup_free char *buf = xmalloc(EXPORT_BUF);
    int r;
    if (c->blob) {
        img_layer_blob_t b;
        if (img_layer_blob_info(c->store, c->chain_id, &b) == 0)
            r = export_kept_blob(c, &b, out_fd, buf, &err);
        else
            r = export_compress(c, &b, out_fd, buf, &err);
        if (r == 0) {
            snprintf(res.digest, sizeof(res.digest), "%s", b.digest);
            snprintf(res.media_type, sizeof(res.media_type), "%s", b.media_type);
            res.raw_size = b.size;
        }
    } else {
        r = export_tar(c, out_fd, buf, &res, &err);
    }
    if (r < 0) {
        img_job_child_error(res_fd, &err);
        return 1;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "digest", res.digest);
    cJSON_AddStringToObject(o, "diff_id", res.diff_id);
    cJSON_AddNumberToObject(o, "raw_size", (double)res.raw_size);
    cJSON_AddNumberToObject(o, "size", (double)size);
    cJSON_AddNumberToObject(o, "tar_size", (double)tar_size);
    cJSON_AddStringToObject(o, "media_type", res.media_type);
    img_job_child_result(res_fd, o);
    return 0;
}

int img_save_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    UNUSED(in_fd);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(args, "images");
    save_ctx_t c = {.store = s};
    c.images = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(save_image_t));
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsString(id))
            continue;
        save_image_t *im = &c.images[c.n++];
        im->id = id->valuestring;
        im->chain_ids =
            strings_of(cJSON_GetObjectItemCaseSensitive(it, "chain_ids"), &im->n_layers);
        im->tags = strings_of(cJSON_GetObjectItemCaseSensitive(it, "tags"), &im->n_tags);
    }
    int rc = save_child(&c, out_fd, res_fd);
    for (size_t i = 0; i < c.n; i++) {
        free(c.images[i].chain_ids);
        free(c.images[i].tags);
    }
    free(c.images);
    return rc;
}
