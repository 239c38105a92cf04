/* Image store: blobs, image records, references, layers on disk; lookups. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/sha256.h"

#include "image/internal.h"

#define MAX_META_BYTES (16 * 1024 * 1024)

/* ---- hashing ---- */
struct img_hasher {
    berth_sha256_t sha;
};

img_hasher_t *img_hasher_new(void)
{
    img_hasher_t *h = xmalloc(sizeof(*h));
    berth_sha256_init(&h->sha);
    return h;
}

void img_hasher_update(img_hasher_t *h, const void *data, size_t len)
{
    berth_sha256_update(&h->sha, data, len);
}

void img_hasher_final(img_hasher_t *h, char out[IMG_DIGEST_LEN])
{
    unsigned char md[BERTH_SHA256_LEN];
    berth_sha256_final(&h->sha, md);
    free(h);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + i * 2, 3, "%02x", md[i]);
}

void img_sha256_digest(const void *data, size_t len, char out[IMG_DIGEST_LEN])
{
    img_hasher_t *h = img_hasher_new();
    img_hasher_update(h, data, len);
    img_hasher_final(h, out);
}

void img_chain_id(const char *parent_chain, const char *diff_id, char out[IMG_DIGEST_LEN])
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, IMG_DIGEST_LEN, "%s", diff_id);
        return;
    }
    cleanup_free char *s = xasprintf("%s %s", parent_chain, diff_id);
    img_sha256_digest(s, strlen(s), out);
}

char *img_short_id(const char *id, char out[13])
{
    const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
    size_t n = strnlen(hex, 12);
    memcpy(out, hex, n);
    out[n] = '\0';
    return out;
}

static const char *hex_of(const char *digest)
{
    return strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
}

/* ---- blobs ---- */
static char *blob_path(img_store_t *s, const char *digest)
{
    return xasprintf("%s/%s", s->blobs, hex_of(digest));
}

bool img_blob_exists(img_store_t *s, const char *digest)
{
    if (!img_digest_valid(digest))
        return false;
    cleanup_free char *p = blob_path(s, digest);
    return fs_exists(p);
}

int img_blob_put(img_store_t *s, const char *expected, const void *data, size_t len,
                 char out[IMG_DIGEST_LEN], berth_err_t *err)
{
    char dg[IMG_DIGEST_LEN];
    img_sha256_digest(data, len, dg);
    if (expected && strcmp(expected, dg) != 0)
        return berth_err_set(err, BERTH_E_INVALID, "digest mismatch: expected %s, got %s", expected,
                             dg);
    if (out)
        memcpy(out, dg, IMG_DIGEST_LEN);
    cleanup_free char *p = blob_path(s, dg);
    if (fs_exists(p))
        return 0;
    int r = fs_write_atomic(p, data, len, 0644);
    if (r < 0)
        return berth_err_sys(err, -r, "writing blob %s", dg);
    return 0;
}

static int blob_read(img_store_t *s, const char *digest, bool verify, char **data, size_t *len,
                     berth_err_t *err)
{
    if (!img_digest_valid(digest))
        return berth_err_set(err, BERTH_E_INVALID, "invalid digest %s", digest);
    cleanup_free char *p = blob_path(s, digest);
    char *buf = NULL;
    size_t n = 0;
    int r = fs_read_file(p, MAX_META_BYTES, &buf, &n);
    if (r == -ENOENT)
        return berth_err_set(err, BERTH_E_NOT_FOUND, "blob %s not found", digest);
    if (r < 0)
        return berth_err_sys(err, -r, "reading blob %s", digest);
    char dg[IMG_DIGEST_LEN];
    if (verify) {
        img_sha256_digest(buf, n, dg);
        if (strcmp(dg, digest) != 0) {
            free(buf);
            return berth_err_set(err, BERTH_E_INTERNAL, "blob %s is corrupt", digest);
        }
    }
    *data = buf;
    *len = n;
    return 0;
}

int img_blob_get(img_store_t *s, const char *digest, char **data, size_t *len, berth_err_t *err)
{
    return blob_read(s, digest, true, data, len, err);
}

/* ---- image records ---- */
static void image_free(img_image_t *img)
{
    if (!img)
        return;
    cJSON_Delete(img->config);
    for (size_t i = 0; i < img->n_layers; i++) {
        free(img->diff_ids[i]);
        free(img->chain_ids[i]);
    }
    free(img->diff_ids);
    free(img->chain_ids);
    for (size_t i = 0; i < img->n_repo_tags; i++)
        free(img->repo_tags[i]);
    free(img->repo_tags);
    for (size_t i = 0; i < img->n_repo_digests; i++)
        free(img->repo_digests[i]);
    free(img->repo_digests);
    free(img);
}

int64_t img_store_layer_size(img_store_t *s, const char *chain_id)
{
    cleanup_free char *p = xasprintf("%s/%s/layer.json", s->layers, hex_of(chain_id));
    cleanup_free char *txt = NULL;
    size_t n;
    if (fs_read_file(p, MAX_META_BYTES, &txt, &n) < 0)
        return -1;
    cJSON *j = cJSON_Parse(txt);
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(j, "size");
    int64_t v = cJSON_IsNumber(sz) ? (int64_t)sz->valuedouble : 0;
    cJSON_Delete(j);
    return v;
}

int img_store_layer_meta(img_store_t *s, const char *chain_id, char diff_id[IMG_DIGEST_LEN],
                         int64_t *size, int64_t *tar_size, berth_err_t *err)
{
    if (!img_digest_valid(chain_id))
        return berth_err_set(err, BERTH_E_INVALID, "invalid layer id %s", chain_id);
    cleanup_free char *p = xasprintf("%s/%s/layer.json", s->layers, hex_of(chain_id));
    cleanup_free char *txt = NULL;
    size_t n;
    if (fs_read_file(p, MAX_META_BYTES, &txt, &n) < 0)
        return berth_err_set(err, BERTH_E_NOT_FOUND, "layer %s not found", chain_id);
    cJSON *j = cJSON_Parse(txt);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "diff_id");
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(j, "size");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "tar_size");
    if (!cJSON_IsString(d) || !img_digest_valid(d->valuestring)) {
        cJSON_Delete(j);
        return berth_err_set(err, BERTH_E_INTERNAL, "layer %s: bad metadata", chain_id);
    }
    if (diff_id)
        snprintf(diff_id, IMG_DIGEST_LEN, "%s", d->valuestring);
    if (size)
        *size = cJSON_IsNumber(sz) ? (int64_t)sz->valuedouble : 0;
    if (tar_size)
        *tar_size = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : -1;
    cJSON_Delete(j);
    return 0;
}

bool img_store_has_layer(img_store_t *s, const char *chain_id)
{
    if (!img_digest_valid(chain_id))
        return false;
    cleanup_free char *p = xasprintf("%s/%s/layer.json", s->layers, hex_of(chain_id));
    return fs_exists(p);
}

char *img_layer_path(img_store_t *s, const char *chain_id)
{
    if (!img_store_has_layer(s, chain_id))
        return NULL;
    return xasprintf("%s/%s/diff", s->layers, hex_of(chain_id));
}

/* Build an in-memory record from a config blob; checks its layers exist.
 * chains: NULL or the chain ids our own record kept at commit time, so a
 * daemon start needs no hashing (and does not load libcrypto). */
static img_image_t *image_from_config(img_store_t *s, const char *id, const char *config,
                                      size_t len, const cJSON *chains, berth_err_t *err)
{
    cJSON *cfg = cJSON_ParseWithLength(config, len);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        berth_err_set(err, BERTH_E_INVALID, "invalid image config %s", id);
        return NULL;
    }
    img_image_t *img = xcalloc(1, sizeof(*img));
    snprintf(img->id, sizeof(img->id), "%s", id);
    img->config = cfg;
    const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(cfg, "rootfs");
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
    size_t n = cJSON_IsArray(diffs) ? (size_t)cJSON_GetArraySize(diffs) : 0;
    if (!cJSON_IsArray(chains) || (size_t)cJSON_GetArraySize(chains) != n)
        chains = NULL;
    const cJSON *cached = chains ? chains->child : NULL;
    img->diff_ids = xcalloc(n + 1, sizeof(char *));
    img->chain_ids = xcalloc(n + 1, sizeof(char *));
    const cJSON *d;
    char chain[IMG_DIGEST_LEN] = "";
    cJSON_ArrayForEach(d, diffs)
    {
        if (!cJSON_IsString(d) || !img_digest_valid(d->valuestring)) {
            berth_err_set(err, BERTH_E_INVALID, "invalid diff_id in image config %s", id);
            goto fail;
        }
        char next[IMG_DIGEST_LEN];
        if (cached && cJSON_IsString(cached) && img_digest_valid(cached->valuestring))
            snprintf(next, sizeof(next), "%s", cached->valuestring);
        else
            img_chain_id(img->n_layers ? chain : NULL, d->valuestring, next);
        cached = cached ? cached->next : NULL;
        memcpy(chain, next, sizeof(chain));
        img->diff_ids[img->n_layers] = xstrdup(d->valuestring);
        img->chain_ids[img->n_layers] = xstrdup(chain);
        img->n_layers++;
        int64_t sz = img_store_layer_size(s, chain);
        if (sz < 0) {
            berth_err_set(err, BERTH_E_NOT_FOUND, "layer %s of image %s is missing", chain, id);
            goto fail;
        }
        img->size += sz;
    }
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(cfg, "created");
    if (cJSON_IsString(created))
        berth_parse_time_ns(created->valuestring, &img->created_ns);
    return img;
fail:
    image_free(img);
    return NULL;
}

img_image_t *img_store_get(img_store_t *s, const char *id)
{
    for (size_t i = 0; i < s->n_images; i++)
        if (strcmp(s->images[i]->id, id) == 0)
            return s->images[i];
    return NULL;
}

/* Recompute RepoTags/RepoDigests of every image from the reference list. */
static void refresh_refs(img_store_t *s)
{
    for (size_t i = 0; i < s->n_images; i++) {
        img_image_t *img = s->images[i];
        for (size_t k = 0; k < img->n_repo_tags; k++)
            free(img->repo_tags[k]);
        for (size_t k = 0; k < img->n_repo_digests; k++)
            free(img->repo_digests[k]);
        free(img->repo_tags);
        free(img->repo_digests);
        img->repo_tags = xcalloc(s->n_refs + 1, sizeof(char *));
        img->repo_digests = xcalloc(s->n_refs + 1, sizeof(char *));
        img->n_repo_tags = img->n_repo_digests = 0;
    }
    for (size_t r = 0; r < s->n_refs; r++) {
        img_image_t *img = img_store_get(s, s->refs[r].id);
        if (!img)
            continue;
        if (strchr(s->refs[r].ref, '@'))
            img->repo_digests[img->n_repo_digests++] = xstrdup(s->refs[r].ref);
        else
            img->repo_tags[img->n_repo_tags++] = xstrdup(s->refs[r].ref);
    }
}

static int save_refs(img_store_t *s, berth_err_t *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *refs = cJSON_AddObjectToObject(root, "references");
    for (size_t i = 0; i < s->n_refs; i++)
        cJSON_AddStringToObject(refs, s->refs[i].ref, s->refs[i].id);
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    int r = fs_write_atomic(s->repos_path, txt, strlen(txt), 0600);
    free(txt);
    if (r < 0)
        return berth_err_sys(err, -r, "writing %s", s->repos_path);
    return 0;
}

static void load_refs(img_store_t *s)
{
    cleanup_free char *txt = NULL;
    size_t n;
    if (fs_read_file(s->repos_path, MAX_META_BYTES, &txt, &n) < 0)
        return;
    cJSON *root = cJSON_Parse(txt);
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(root, "references");
    const cJSON *e;
    size_t cnt = cJSON_IsObject(refs) ? (size_t)cJSON_GetArraySize(refs) : 0;
    s->refs = xcalloc(cnt + 1, sizeof(*s->refs));
    cJSON_ArrayForEach(e, refs)
    {
        if (!cJSON_IsString(e) || !img_store_get(s, e->valuestring))
            continue;
        s->refs[s->n_refs].ref = xstrdup(e->string);
        snprintf(s->refs[s->n_refs].id, IMG_DIGEST_LEN, "%s", e->valuestring);
        s->n_refs++;
    }
    cJSON_Delete(root);
}

static void add_image(img_store_t *s, img_image_t *img)
{
    s->images = xrealloc(s->images, (s->n_images + 1) * sizeof(*s->images));
    s->images[s->n_images++] = img;
}

static void load_images(img_store_t *s)
{
    DIR *d = opendir(s->images_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strlen(de->d_name) != 64)
            continue;
        char id[IMG_DIGEST_LEN];
        snprintf(id, sizeof(id), "sha256:%.64s", de->d_name);
        berth_err_t err = {0};
        cleanup_free char *rec_path = xasprintf("%s/%s", s->images_dir, de->d_name);
        cleanup_free char *rec = NULL;
        size_t rn;
        cJSON *j = fs_read_file(rec_path, MAX_META_BYTES, &rec, &rn) == 0 ? cJSON_Parse(rec) : NULL;
        /* Our own blob, written atomically: read back without re-hashing at
         * start (save and push still verify what they hand out). */
        cleanup_free char *cfg = NULL;
        size_t len = 0;
        if (blob_read(s, id, false, &cfg, &len, &err) < 0) {
            log_warn("image %s skipped: %s", id, err.msg);
            cJSON_Delete(j);
            continue;
        }
        img_image_t *img = image_from_config(
            s, id, cfg, len, cJSON_GetObjectItemCaseSensitive(j, "chain_ids"), &err);
        if (!img) {
            log_warn("image %s skipped: %s", id, err.msg);
            cJSON_Delete(j);
            continue;
        }
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "parent");
        if (cJSON_IsString(p) && img_digest_valid(p->valuestring))
            snprintf(img->parent, sizeof(img->parent), "%s", p->valuestring);
        cJSON_Delete(j);
        add_image(s, img);
    }
    closedir(d);
}

/* Remove what a kill -9 can leave: half-written "x.tmp-XXXXXX" files of
 * fs_write_atomic, and tmp/ (in-flight imports, layers being deleted). tmp/
 * may be big, so it is renamed away and removed by a helper. */
static void clean_leftovers(img_store_t *s)
{
    const char *dirs[] = {s->root, s->blobs, s->images_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        DIR *d = opendir(dirs[i]);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (strstr(de->d_name, ".tmp-")) {
                cleanup_free char *p = xasprintf("%s/%s", dirs[i], de->d_name);
                unlink(p);
            }
        }
        if (d)
            closedir(d);
    }
    char rnd[65];
    berth_random_hex_id(rnd);
    cleanup_free char *stale = xasprintf("%s/tmp-stale-%.16s", s->root, rnd);
    /* Only a non-empty tmp/ is worth a helper process. */
    if (rmdir(s->tmp) < 0 && errno != ENOENT)
        rename(s->tmp, stale);
    DIR *d = opendir(s->root);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "tmp-stale-", 10) == 0) {
            cleanup_free char *p = xasprintf("%s/%s", s->root, de->d_name);
            img_store_remove_async(s, p);
        }
    }
    if (d)
        closedir(d);
    fs_mkdir_p(s->tmp, 0700);
}

static img_store_t *store_alloc(char *root)
{
    img_store_t *s = xcalloc(1, sizeof(*s));
    s->root = root;
    s->blobs = xasprintf("%s/blobs/sha256", s->root);
    s->layers = xasprintf("%s/layers", s->root);
    s->images_dir = xasprintf("%s/images", s->root);
    s->tmp = xasprintf("%s/tmp", s->root);
    s->repos_path = xasprintf("%s/repositories.json", s->root);
    return s;
}

img_store_t *img_store_open_child(const char *image_root)
{
    img_store_t *s = store_alloc(xstrdup(image_root));
    s->in_child = true;
    return s;
}

int img_store_open(uv_loop_t *loop, const char *data_root, img_store_t **out, berth_err_t *err)
{
    img_store_t *s = store_alloc(xasprintf("%s/image", data_root));
    s->loop = loop;
    s->job_path = img_job_default_path();
    const char *dirs[] = {s->blobs, s->layers, s->images_dir, s->tmp};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int r = fs_mkdir_p(dirs[i], 0700);
        if (r < 0) {
            berth_err_sys(err, -r, "creating %s", dirs[i]);
            img_store_close(s);
            return -1;
        }
    }
    clean_leftovers(s);
    load_images(s);
    load_refs(s);
    refresh_refs(s);
    *out = s;
    return 0;
}

void img_store_close(img_store_t *s)
{
    if (!s)
        return;
    while (s->jobs) {
        img_job_t *job = s->jobs;
        void (*abort_cb)(img_job_t *, void *) = job->on_abort;
        void *data = job->data;
        img_job_cancel(job);
        if (abort_cb)
            abort_cb(NULL, data);
    }
    for (size_t i = 0; i < s->n_images; i++)
        image_free(s->images[i]);
    free(s->images);
    for (size_t i = 0; i < s->n_refs; i++)
        free(s->refs[i].ref);
    free(s->refs);
    free(s->root);
    free(s->blobs);
    free(s->layers);
    free(s->images_dir);
    free(s->tmp);
    free(s->repos_path);
    free(s->job_path);
    free(s);
}

const char *img_store_root(const img_store_t *s)
{
    return s->root;
}

void img_store_set_in_use_hook(img_store_t *s, img_in_use_fn fn, void *data)
{
    s->in_use = fn;
    s->in_use_data = data;
}

size_t img_store_count(const img_store_t *s)
{
    return s->n_images;
}

img_image_t **img_store_list(img_store_t *s, size_t *n)
{
    img_image_t **arr = xcalloc(s->n_images + 1, sizeof(*arr));
    if (s->n_images)
        memcpy(arr, s->images, s->n_images * sizeof(*arr));
    *n = s->n_images;
    return arr;
}

static img_image_t *lookup_ref(img_store_t *s, const char *full)
{
    for (size_t i = 0; i < s->n_refs; i++)
        if (strcmp(s->refs[i].ref, full) == 0)
            return img_store_get(s, s->refs[i].id);
    return NULL;
}

static bool all_hex(const char *p)
{
    if (!*p)
        return false;
    for (; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

img_image_t *img_store_lookup(img_store_t *s, const char *name, berth_err_t *err)
{
    if (!name || !*name) {
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", name ? name : "");
        return NULL;
    }
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    if (all_hex(hex) && strlen(hex) <= 64) {
        if (strlen(hex) == 64) {
            char id[IMG_DIGEST_LEN];
            snprintf(id, sizeof(id), "sha256:%s", hex);
            img_image_t *img = img_store_get(s, id);
            if (img)
                return img;
        }
        /* A name like "abc" may be a repository too: try the reference first
         * when the prefix does not start with sha256:, like Docker. */
        if (hex == name) {
            img_ref_t ref;
            berth_err_t e2 = {0};
            if (img_ref_parse(name, &ref, &e2) == 0) {
                cleanup_free char *full = img_ref_string(&ref);
                img_ref_free(&ref);
                img_image_t *img = lookup_ref(s, full);
                if (img)
                    return img;
            }
        }
        img_image_t *found = NULL;
        size_t matches = 0;
        for (size_t i = 0; i < s->n_images; i++)
            if (strncmp(s->images[i]->id + 7, hex, strlen(hex)) == 0) {
                found = s->images[i];
                matches++;
            }
        if (matches == 1)
            return found;
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", name);
        return NULL;
    }
    img_ref_t ref;
    berth_err_t e2 = {0};
    if (img_ref_parse(name, &ref, &e2) < 0) {
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", name);
        return NULL;
    }
    cleanup_free char *full = img_ref_string(&ref);
    img_image_t *img = lookup_ref(s, full);
    if (!img && ref.digest && ref.tag) {
        /* name:tag@digest resolves by digest */
        free(ref.tag);
        ref.tag = NULL;
        cleanup_free char *dref = img_ref_string(&ref);
        img = lookup_ref(s, dref);
    }
    if (!img) {
        cleanup_free char *fam = img_ref_familiar(&ref);
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", fam);
    }
    img_ref_free(&ref);
    return img;
}

int img_layer_dirs(img_store_t *s, const img_image_t *img, char ***dirs, size_t *n,
                   berth_err_t *err)
{
    char **out = xcalloc(img->n_layers + 1, sizeof(char *));
    for (size_t i = 0; i < img->n_layers; i++) {
        char *p = img_layer_path(s, img->chain_ids[img->n_layers - 1 - i]);
        if (!p) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return berth_err_set(err, BERTH_E_INTERNAL, "layer %s of image %s is missing",
                                 img->chain_ids[img->n_layers - 1 - i], img->id);
        }
        out[i] = p;
    }
    *dirs = out;
    *n = img->n_layers;
    return 0;
}

/* ---- references ---- */
static int set_ref(img_store_t *s, const char *full, const char *id, berth_err_t *err)
{
    for (size_t i = 0; i < s->n_refs; i++) {
        if (strcmp(s->refs[i].ref, full) == 0) {
            char old[IMG_DIGEST_LEN];
            memcpy(old, s->refs[i].id, sizeof(old));
            snprintf(s->refs[i].id, IMG_DIGEST_LEN, "%s", id);
            if (save_refs(s, err) < 0) {
                memcpy(s->refs[i].id, old, sizeof(old));
                return -1;
            }
            refresh_refs(s);
            return 0;
        }
    }
    s->refs = xrealloc(s->refs, (s->n_refs + 1) * sizeof(*s->refs));
    s->refs[s->n_refs].ref = xstrdup(full);
    snprintf(s->refs[s->n_refs].id, IMG_DIGEST_LEN, "%s", id);
    s->n_refs++;
    if (save_refs(s, err) < 0) {
        free(s->refs[--s->n_refs].ref);
        return -1;
    }
    refresh_refs(s);
    return 0;
}

static int remove_ref(img_store_t *s, const char *full, berth_err_t *err)
{
    for (size_t i = 0; i < s->n_refs; i++) {
        if (strcmp(s->refs[i].ref, full) == 0) {
            img_refent_t saved = s->refs[i];
            memmove(&s->refs[i], &s->refs[i + 1], (s->n_refs - i - 1) * sizeof(*s->refs));
            s->n_refs--;
            if (save_refs(s, err) < 0) {
                memmove(&s->refs[i + 1], &s->refs[i], (s->n_refs - i) * sizeof(*s->refs));
                s->refs[i] = saved;
                s->n_refs++;
                return -1;
            }
            free(saved.ref);
            refresh_refs(s);
            return 0;
        }
    }
    return berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", full);
}

int img_store_tag(img_store_t *s, const img_image_t *img, const char *ref, berth_err_t *err)
{
    img_ref_t r;
    if (img_ref_parse(ref, &r, err) < 0)
        return -1;
    if (r.digest) {
        img_ref_free(&r);
        return berth_err_set(err, BERTH_E_INVALID,
                             "refusing to create a tag with a digest reference");
    }
    cleanup_free char *full = img_ref_string(&r);
    img_ref_free(&r);
    return set_ref(s, full, img->id, err);
}

int img_store_untag(img_store_t *s, const char *ref, berth_err_t *err)
{
    img_ref_t r;
    if (img_ref_parse(ref, &r, err) < 0)
        return -1;
    cleanup_free char *full = img_ref_string(&r);
    img_ref_free(&r);
    return remove_ref(s, full, err);
}

/* ---- layers ---- */
char *img_store_tmpdir(img_store_t *s, berth_err_t *err)
{
    char rnd[65];
    berth_random_hex_id(rnd);
    char *p = xasprintf("%s/%.24s", s->tmp, rnd);
    if (mkdir(p, 0700) < 0) {
        berth_err_sys(err, errno, "creating %s", p);
        free(p);
        return NULL;
    }
    return p;
}

int img_store_place_layer(img_store_t *s, const char *tmp_layer_dir, const char *chain_id,
                          const char *parent_chain, const img_layer_result_t *res, berth_err_t *err)
{
    cleanup_free char *dst = xasprintf("%s/%s", s->layers, hex_of(chain_id));
    img_layer_blob_t blob = {0};
    if (res->media_type[0]) {
        snprintf(blob.digest, sizeof(blob.digest), "%s", res->digest);
        snprintf(blob.media_type, sizeof(blob.media_type), "%s", res->media_type);
        blob.size = res->raw_size;
    }
    if (img_store_has_layer(s, chain_id)) {
        /* Same layer known from a load or build: adopt the pulled blob so a
         * push sends it instead of compressing the tar again. */
        img_layer_blob_t have;
        if (blob.media_type[0] && img_layer_blob_info(s, chain_id, &have) < 0) {
            cleanup_free char *from = xasprintf("%s/" IMG_LAYER_BLOB, tmp_layer_dir);
            cleanup_free char *to = xasprintf("%s/" IMG_LAYER_BLOB, dst);
            if (rename(from, to) == 0)
                img_layer_blob_meta_write(dst, &blob);
        }
        img_store_remove_async(s, tmp_layer_dir);
        return 0;
    }
    if (blob.media_type[0]) {
        int br = img_layer_blob_meta_write(tmp_layer_dir, &blob);
        if (br < 0)
            return berth_err_sys(err, -br, "writing blob metadata in %s", tmp_layer_dir);
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "diff_id", res->diff_id);
    cJSON_AddNumberToObject(meta, "size", (double)res->size);
    cJSON_AddNumberToObject(meta, "tar_size", (double)res->tar_size);
    cJSON_AddStringToObject(meta, "parent", parent_chain ? parent_chain : "");
    char *txt = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    cleanup_free char *meta_path = xasprintf("%s/layer.json", tmp_layer_dir);
    int r = fs_write_atomic(meta_path, txt, strlen(txt), 0600);
    free(txt);
    if (r < 0)
        return berth_err_sys(err, -r, "writing %s", meta_path);
    /* layer.json is inside the dir, so the rename publishes diff + metadata at once. */
    if (rename(tmp_layer_dir, dst) < 0) {
        /* Another import placed the same chain meanwhile: keep theirs. Never
         * remove dst here, it may be a layer an image already uses. */
        if ((errno == ENOTEMPTY || errno == EEXIST) && img_store_has_layer(s, chain_id)) {
            img_store_remove_async(s, tmp_layer_dir);
            return 0;
        }
        return berth_err_sys(err, errno, "moving layer into place");
    }
    fs_fsync_dir(s->layers);
    return 0;
}

static bool layer_in_use(img_store_t *s, const char *chain_id)
{
    for (size_t i = 0; i < s->n_images; i++)
        for (size_t k = 0; k < s->images[i]->n_layers; k++)
            if (strcmp(s->images[i]->chain_ids[k], chain_id) == 0)
                return true;
    return false;
}

void img_store_remove_async(img_store_t *s, const char *path)
{
    img_job_t *job;
    berth_err_t err = {0};
    if (s->in_child) {
        fs_rm_rf(path);
        return;
    }
    /* Big layers take a while to delete: do it off the loop. Whatever is
     * left under tmp/ after a crash goes at the next open. */
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "path", path);
    if (img_job_start(s, "rm", args, false, false, &job, &err) < 0)
        fs_rm_rf(path);
}

/* ---- commit ---- */
int img_store_commit_image(img_store_t *s, const void *config, size_t config_len,
                           const void *manifest, size_t manifest_len, const char *tag_ref,
                           const char *repo_digest_ref, img_image_t **out, berth_err_t *err)
{
    char id[IMG_DIGEST_LEN];
    img_sha256_digest(config, config_len, id);
    img_image_t *img = img_store_get(s, id);
    if (!img) {
        img = image_from_config(s, id, config, config_len, NULL, err);
        if (!img)
            return berth_err_prefix(err, "committing image");
        if (img_blob_put(s, id, config, config_len, NULL, err) < 0 ||
            (manifest && img_blob_put(s, NULL, manifest, manifest_len, NULL, err) < 0)) {
            image_free(img);
            return berth_err_prefix(err, "committing image");
        }
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "parent", img->parent);
        cJSON_AddNumberToObject(rec, "loaded", (double)berth_now_ns());
        cJSON *ch = cJSON_AddArrayToObject(rec, "chain_ids");
        for (size_t i = 0; i < img->n_layers; i++)
            cJSON_AddItemToArray(ch, cJSON_CreateString(img->chain_ids[i]));
        char *txt = cJSON_PrintUnformatted(rec);
        cJSON_Delete(rec);
        cleanup_free char *rec_path = xasprintf("%s/%s", s->images_dir, id + 7);
        int r = fs_write_atomic(rec_path, txt, strlen(txt), 0600);
        free(txt);
        if (r < 0) {
            image_free(img);
            return berth_err_sys(err, -r, "writing image record");
        }
        add_image(s, img);
        refresh_refs(s);
    } else if (manifest && img_blob_put(s, NULL, manifest, manifest_len, NULL, err) < 0) {
        return -1;
    }
    if (tag_ref && img_store_tag(s, img, tag_ref, err) < 0)
        return -1;
    if (repo_digest_ref) {
        img_ref_t r;
        if (img_ref_parse(repo_digest_ref, &r, err) < 0)
            return -1;
        free(r.tag);
        r.tag = NULL;
        cleanup_free char *full = img_ref_string(&r);
        img_ref_free(&r);
        if (set_ref(s, full, img->id, err) < 0)
            return -1;
    }
    if (out)
        *out = img;
    return 0;
}

/* ---- delete ---- */
static void report_add(cJSON *report, const char *key, const char *val)
{
    if (!report)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, key, val);
    cJSON_AddItemToArray(report, o);
}

static bool has_children(img_store_t *s, const img_image_t *img)
{
    for (size_t i = 0; i < s->n_images; i++)
        if (strcmp(s->images[i]->parent, img->id) == 0)
            return true;
    return false;
}

static int untag_all(img_store_t *s, img_image_t *img, cJSON *report, berth_err_t *err)
{
    while (img->n_repo_tags || img->n_repo_digests) {
        const char *ref = img->n_repo_tags ? img->repo_tags[0] : img->repo_digests[0];
        cleanup_free char *fam = img_ref_familiarize(ref);
        cleanup_free char *full = xstrdup(ref);
        if (remove_ref(s, full, err) < 0)
            return -1;
        report_add(report, "Untagged", fam);
    }
    return 0;
}

/* Remove the record and the layers no other image uses. */
static int64_t remove_image(img_store_t *s, img_image_t *img, cJSON *report)
{
    int64_t reclaimed = 0;
    cleanup_free char *rec_path = xasprintf("%s/%s", s->images_dir, img->id + 7);
    unlink(rec_path);
    fs_fsync_dir(s->images_dir);
    for (size_t i = 0; i < s->n_images; i++)
        if (s->images[i] == img) {
            memmove(&s->images[i], &s->images[i + 1], (s->n_images - i - 1) * sizeof(img));
            s->n_images--;
            break;
        }
    report_add(report, "Deleted", img->id);
    for (size_t k = img->n_layers; k-- > 0;) {
        const char *chain = img->chain_ids[k];
        if (layer_in_use(s, chain))
            continue;
        int64_t sz = img_store_layer_size(s, chain);
        reclaimed += sz > 0 ? sz : 0;
        /* Rename away first so a crash never leaves a half-deleted layer in place. */
        cleanup_free char *src = xasprintf("%s/%s", s->layers, hex_of(chain));
        berth_err_t e = {0};
        cleanup_free char *trash = img_store_tmpdir(s, &e);
        if (trash) {
            cleanup_free char *dst = xasprintf("%s/layer", trash);
            if (rename(src, dst) == 0)
                img_store_remove_async(s, trash);
            else
                fs_rm_rf(src);
        } else {
            fs_rm_rf(src);
        }
        report_add(report, "Deleted", chain);
    }
    /* Blob of the config stays shared with manifests; drop it too. */
    cleanup_free char *bp = blob_path(s, img->id);
    unlink(bp);
    image_free(img);
    return reclaimed;
}

static int usage(img_store_t *s, const img_image_t *img, char cid[65])
{
    cid[0] = '\0';
    if (!s->in_use)
        return IMG_UNUSED;
    return s->in_use(s->in_use_data, img->id, cid);
}

/* Docker's isSingleReference: every reference is in one repository (then
 * deleting by ID untags them all without force). */
static bool single_repository(const img_image_t *img)
{
    cleanup_free char *first = NULL;
    for (size_t i = 0; i < img->n_repo_tags + img->n_repo_digests; i++) {
        const char *ref =
            i < img->n_repo_tags ? img->repo_tags[i] : img->repo_digests[i - img->n_repo_tags];
        img_ref_t r;
        berth_err_t e = {0};
        if (img_ref_parse_no_default(ref, &r, &e) < 0)
            return false;
        char *repo = img_ref_repo(&r);
        img_ref_free(&r);
        if (!first) {
            first = repo;
        } else {
            bool same = strcmp(first, repo) == 0;
            free(repo);
            if (!same)
                return false;
        }
    }
    return true;
}

int img_store_delete(img_store_t *s, const char *name, bool force, bool noprune, cJSON *report,
                     berth_err_t *err)
{
    UNUSED(noprune); /* no parent chains of local builds to prune yet */
    img_image_t *img = img_store_lookup(s, name, err);
    if (!img)
        return -1;
    char cid[65], short_id[13], short_c[13];
    img_short_id(img->id, short_id);
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    bool by_id = all_hex(hex) && strncmp(img->id + 7, hex, strlen(hex)) == 0;
    if (by_id) {
        /* Docker checks a ref-only lookup too: "abc" may be both. */
        img_ref_t r;
        berth_err_t e2 = {0};
        if (hex == name && img_ref_parse(name, &r, &e2) == 0) {
            cleanup_free char *full = img_ref_string(&r);
            img_ref_free(&r);
            if (lookup_ref(s, full) == img)
                by_id = false;
        }
    }
    int use = usage(s, img, cid);
    if (!by_id) {
        img_ref_t r;
        if (img_ref_parse(name, &r, err) < 0)
            return -1;
        cleanup_free char *full = img_ref_string(&r);
        cleanup_free char *fam = img_ref_familiar(&r);
        img_ref_free(&r);
        size_t nrefs = img->n_repo_tags + img->n_repo_digests;
        if (nrefs <= 1 && use != IMG_UNUSED && !force)
            return berth_err_set(err, BERTH_E_CONFLICT,
                                 "conflict: unable to remove repository reference \"%s\" (must "
                                 "force) - container %s is using its referenced image %s",
                                 name, img_short_id(cid, short_c), short_id);
        if (remove_ref(s, full, err) < 0)
            return -1;
        report_add(report, "Untagged", fam);
        if (img->n_repo_tags + img->n_repo_digests > 0 || use != IMG_UNUSED)
            return 0;
    } else {
        if (use == IMG_USED_RUNNING)
            return berth_err_set(err, BERTH_E_CONFLICT,
                                 "conflict: unable to delete %s (cannot be forced) - image is "
                                 "being used by running container %s",
                                 short_id, img_short_id(cid, short_c));
        if (!force) {
            if (!single_repository(img))
                return berth_err_set(err, BERTH_E_CONFLICT,
                                     "conflict: unable to delete %s (must be forced) - image is "
                                     "referenced in multiple repositories",
                                     short_id);
            if (use == IMG_USED_STOPPED)
                return berth_err_set(err, BERTH_E_CONFLICT,
                                     "conflict: unable to delete %s (must be forced) - image is "
                                     "being used by stopped container %s",
                                     short_id, img_short_id(cid, short_c));
        }
        if (untag_all(s, img, report, err) < 0)
            return -1;
        /* A forced delete of an image a stopped container still uses only
         * untags it: its layers are the container's lowerdirs. */
        if (use != IMG_UNUSED)
            return 0;
    }
    if (has_children(s, img))
        return 0; /* stays as an untagged parent, like Docker's layered builds */
    remove_image(s, img, report);
    return 0;
}

static bool label_match(const cJSON *labels_obj, const char *filter)
{
    const char *eq = strchr(filter, '=');
    cleanup_free char *key = eq ? xstrndup(filter, (size_t)(eq - filter)) : xstrdup(filter);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels_obj, key);
    if (!cJSON_IsString(v))
        return false;
    return !eq || strcmp(v->valuestring, eq + 1) == 0;
}

const cJSON *img_image_labels(const img_image_t *img)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(img->config, "config");
    return cJSON_GetObjectItemCaseSensitive(cfg, "Labels");
}

int img_store_prune(img_store_t *s, bool all, const cJSON *labels, const cJSON *labels_not,
                    cJSON *report, int64_t *reclaimed, berth_err_t *err)
{
    *reclaimed = 0;
    bool progress = true;
    /* Repeat: deleting a child may make its parent prunable. */
    while (progress) {
        progress = false;
        for (size_t i = 0; i < s->n_images; i++) {
            img_image_t *img = s->images[i];
            char cid[65];
            if (!all && img->n_repo_tags > 0)
                continue;
            if (usage(s, img, cid) != IMG_UNUSED || has_children(s, img))
                continue;
            const cJSON *lbl = img_image_labels(img);
            const cJSON *f;
            bool ok = true;
            cJSON_ArrayForEach(f, labels)
            {
                if (cJSON_IsString(f) && !label_match(lbl, f->valuestring))
                    ok = false;
            }
            cJSON_ArrayForEach(f, labels_not)
            {
                if (cJSON_IsString(f) && label_match(lbl, f->valuestring))
                    ok = false;
            }
            if (!ok)
                continue;
            if (untag_all(s, img, report, err) < 0)
                return -1;
            *reclaimed += remove_image(s, img, report);
            progress = true;
            break;
        }
    }
    return 0;
}
