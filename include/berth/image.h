/* image: content-addressed image store, references, layer unpack, load/save.
 *
 * Layout under <data_root>/image/ (see docs/image-store.md):
 *   blobs/sha256/<hex>       configs, manifests (verified on write)
 *   layers/<chainhex>/diff/  unpacked layer (overlay lowerdir), layer.json (diff_id, size, parent)
 *   images/<idhex>           image record (JSON: created time of import, parent)
 *   repositories.json        reference -> image id, written atomically
 *   tmp/                     in-flight imports; emptied at open
 *
 * Rules:
 *  - Functions taking berth_err_t return 0 on success, <0 on failure with err set
 *    (err->status: 400 invalid, 404 no such image, 409 conflict, 500 other).
 *  - Heavy work (unpack, hashing layers, building tars) runs in child processes;
 *    the async calls below report on the loop through their callbacks. If an
 *    async begin function fails, its callback never runs.
 *  - img_image_t records are owned by the store. A pointer stays valid until
 *    the next call that deletes images (img_store_delete/prune/close); copy the
 *    id if you need it longer.
 */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "berth/common.h"

typedef struct img_store img_store_t;

/* "sha256:" + 64 hex + NUL */
#define IMG_DIGEST_LEN 72

/* ---- references -----------------------------------------------------------
 * Docker's normalisation: "busybox" -> docker.io/library/busybox:latest,
 * "foo/bar" -> docker.io/foo/bar:latest, "localhost:5000/a/b:t" kept,
 * "name@sha256:<64 hex>" digest refs. Uppercase repository names, bad tags,
 * bad digests -> "invalid reference format" (status 400). */
typedef struct img_ref {
    char *domain; /* "docker.io", "localhost:5000" */
    char *path;   /* "library/busybox", "a/b" */
    char *tag;    /* "latest"; NULL when digest-only and no tag was given */
    char *digest; /* "sha256:..."; NULL when none */
} img_ref_t;

/* Parse and normalise; a missing tag becomes "latest" unless a digest is
 * given. 0 or -1 with err (400 "invalid reference format[: ...]"). */
int img_ref_parse(const char *s, img_ref_t *out, berth_err_t *err);
/* Same, but never adds the default tag (for "docker images busybox" filters,
 * tag-less deletes are still normalised to :latest by img_ref_parse). */
int img_ref_parse_no_default(const char *s, img_ref_t *out, berth_err_t *err);
void img_ref_free(img_ref_t *r);
/* Full string: "docker.io/library/busybox:latest", "...@sha256:..". Caller frees. */
char *img_ref_string(const img_ref_t *r);
/* Repository name: "docker.io/library/busybox". Caller frees. */
char *img_ref_repo(const img_ref_t *r);
/* Familiar (docker CLI) form: "busybox:latest", "foo/bar:t",
 * "localhost:5000/a/b:t", "busybox@sha256:..". Caller frees. */
char *img_ref_familiar(const img_ref_t *r);
/* Familiar form of a full reference string (as stored); caller frees. */
char *img_ref_familiarize(const char *full_ref);
/* True when s looks like "sha256:<64hex>" or 64 hex (an image ID, not a name). */
bool img_is_full_id(const char *s);

/* ---- digests --------------------------------------------------------------- */
/* "sha256:<hex>" of data. out >= IMG_DIGEST_LEN. */
void img_sha256_digest(const void *data, size_t len, char out[IMG_DIGEST_LEN]);
/* True for "sha256:" + 64 lowercase hex. */
bool img_digest_valid(const char *digest);
/* chainID(parent, diff_id) = sha256(parent + " " + diff_id); parent NULL -> diff_id. */
void img_chain_id(const char *parent_chain, const char *diff_id, char out[IMG_DIGEST_LEN]);

/* ---- store ------------------------------------------------------------------ */
typedef struct img_image {
    char id[IMG_DIGEST_LEN]; /* sha256 of the config blob */
    cJSON *config;           /* parsed config blob (owned by the store) */
    char **diff_ids;         /* rootfs.diff_ids, bottom -> top */
    char **chain_ids;        /* same order */
    size_t n_layers;
    int64_t size;       /* sum of uncompressed layer sizes (bytes of files) */
    int64_t created_ns; /* config "created" (0 when missing) */
    char **repo_tags;   /* full references "docker.io/library/busybox:latest" */
    size_t n_repo_tags;
    char **repo_digests; /* full "repo@sha256:..." */
    size_t n_repo_digests;
    char parent[IMG_DIGEST_LEN]; /* local parent image id (builds), "" when none */
} img_image_t;

/* Open (creating directories) and load every committed image; removes
 * leftovers of interrupted imports. Images whose blobs or layers are missing
 * are skipped with a warning. The loop runs child-process jobs. */
int img_store_open(uv_loop_t *loop, const char *data_root, img_store_t **out, berth_err_t *err);
/* Kills running jobs (their done callbacks run with an "image store closed"
 * error), frees. */
void img_store_close(img_store_t *s);
const char *img_store_root(const img_store_t *s); /* <data_root>/image */

/* Runtime hook for delete/prune: returns IMG_UNUSED, IMG_USED_STOPPED or
 * IMG_USED_RUNNING for image id, filling container_id (>= 65 bytes) with one
 * such container when used. No hook -> never in use. */
enum { IMG_UNUSED = 0, IMG_USED_STOPPED = 1, IMG_USED_RUNNING = 2 };
typedef int (*img_in_use_fn)(void *data, const char *image_id, char *container_id);
void img_store_set_in_use_hook(img_store_t *s, img_in_use_fn fn, void *data);

/* Lookup by reference ("busybox", "busybox:1", "x@sha256:.."), full ID
 * ("sha256:<hex>" or "<hex>") or unique ID prefix (>= 1 hex char, "sha256:"
 * optional). NULL with err 404 "No such image: <name>" (name as given,
 * familiar-normalised for references like Docker). */
img_image_t *img_store_lookup(img_store_t *s, const char *name, berth_err_t *err);
img_image_t *img_store_get(img_store_t *s, const char *id); /* exact "sha256:.." id */
/* All images, in no particular order; *n set. Array owned by the caller (free
 * it), records owned by the store. */
img_image_t **img_store_list(img_store_t *s, size_t *n);
size_t img_store_count(const img_store_t *s);

/* Layer directories (the diff/ dirs) for an overlay mount, ordered top ->
 * bottom (lowerdir=dirs[0]:dirs[1]:...). Caller frees each string and the
 * array. An image with no layers gives n = 0. */
int img_layer_dirs(img_store_t *s, const img_image_t *img, char ***dirs, size_t *n,
                   berth_err_t *err);
/* Path of one layer's diff dir by chain id; caller frees. NULL when absent. */
char *img_layer_path(img_store_t *s, const char *chain_id);
bool img_store_has_layer(img_store_t *s, const char *chain_id);
/* Unpacked size of one layer (bytes of file content); -1 when absent. */
int64_t img_store_layer_size(img_store_t *s, const char *chain_id);
/* config.Labels of an image, or NULL. */
const cJSON *img_image_labels(const img_image_t *img);

/* ---- references on images ---- */
/* Point ref (parsed with img_ref_parse) at image; moves it from a previous
 * image. Digest refs are refused for tag(). 0 or -1 with err. */
int img_store_tag(img_store_t *s, const img_image_t *img, const char *ref, berth_err_t *err);
/* Remove one reference; 404 when absent. */
int img_store_untag(img_store_t *s, const char *ref, berth_err_t *err);

/* Delete like DELETE /images/{name}: appends {"Untagged": "..."} /
 * {"Deleted": "sha256:.."} objects to `report` (a cJSON array). Docker's
 * rules: a name that is a tag just untags while other tags remain; an ID with
 * several tags -> 409 "conflict: unable to delete <short> (must be forced) -
 * image is referenced in multiple repositories" without force; an image used
 * by a container -> 409 "conflict: unable to delete <ref> (must be forced) -
 * image is being used by stopped container <short>" (force untags only). */
int img_store_delete(img_store_t *s, const char *name, bool force, bool noprune, cJSON *report,
                     berth_err_t *err);
/* Delete dangling (untagged) images not used by containers; all=true deletes
 * every unused image. Appends to report as above; *reclaimed gets the bytes
 * of removed layers. label filters: NULL or cJSON array of "k" / "k=v"
 * strings (label=) and label! negations (label_not). */
int img_store_prune(img_store_t *s, bool all, const cJSON *labels, const cJSON *labels_not,
                    cJSON *report, int64_t *reclaimed, berth_err_t *err);

/* ---- blobs (manifests, configs) ---- */
/* Write data as blob; verifies it hashes to expected (NULL: computed). out
 * gets the digest when non-NULL. Idempotent. 400 on digest mismatch. */
int img_blob_put(img_store_t *s, const char *expected, const void *data, size_t len,
                 char out[IMG_DIGEST_LEN], berth_err_t *err);
/* Read a blob (verified against its digest); caller frees *data. 404 if absent. */
int img_blob_get(img_store_t *s, const char *digest, char **data, size_t *len, berth_err_t *err);
bool img_blob_exists(img_store_t *s, const char *digest);

/* Commit an image whose layers are all present (by chain id): writes the
 * config blob (its digest is the image ID), the manifest blob when given,
 * the image record, then the reference(s) — each write atomic, references
 * last, so a crash leaves either no image or a complete one.
 * tag_ref: NULL or a reference to point at the image. repo_digest_ref: NULL or
 * "repo@sha256:<manifest digest>". *out (optional) gets the record. */
int img_store_commit_image(img_store_t *s, const void *config, size_t config_len,
                           const void *manifest, size_t manifest_len, const char *tag_ref,
                           const char *repo_digest_ref, img_image_t **out, berth_err_t *err);

/* ---- layer ingest (registry pull, build) ----------------------------------
 * Feed a layer stream (gzip, zstd or plain tar; detected) in pieces; a child
 * process hashes the raw bytes (digest) and the decompressed tar (diff_id)
 * and extracts it into a temp dir with whiteout conversion and path checks.
 * done_cb runs once on the loop: err NULL on success with the result filled.
 * Then img_ingest_commit() (or img_ingest_free() to discard). */
typedef struct img_ingest img_ingest_t;
typedef struct img_layer_result {
    char digest[IMG_DIGEST_LEN];  /* sha256 of the bytes as fed */
    char diff_id[IMG_DIGEST_LEN]; /* sha256 of the uncompressed tar */
    int64_t raw_size;             /* bytes fed */
    int64_t size;                 /* bytes of file content unpacked */
    int64_t tar_size;             /* bytes of the uncompressed tar */
    char media_type[80];          /* blob media type (compression seen / produced) */
} img_layer_result_t;
typedef void (*img_ingest_done_cb)(img_ingest_t *ing, const img_layer_result_t *res,
                                   const berth_err_t *err, void *data);

/* expected_digest: NULL or the digest the raw stream must have (checked by the
 * child; mismatch -> error 400 "digest mismatch"). */
int img_ingest_begin(img_store_t *s, const char *expected_digest, img_ingest_done_cb done_cb,
                     void *data, img_ingest_t **out, berth_err_t *err);
/* Queue bytes (copied). 0, or -EPIPE when the child already failed (the
 * done_cb will report why). */
int img_ingest_write(img_ingest_t *ing, const void *buf, size_t len);
/* Bytes queued but not yet taken by the child; with drain_cb for
 * backpressure: once the queue reached IMG_INGEST_HIGH_WATER, drain_cb runs
 * when it drops under a quarter of that. The pipe to the helper holds 1 MiB
 * more in the kernel, so a small queue here keeps berthd's RSS low. */
#define IMG_INGEST_HIGH_WATER (256 * 1024)
size_t img_ingest_pending(const img_ingest_t *ing);
void img_ingest_set_drain_cb(img_ingest_t *ing, void (*drain_cb)(img_ingest_t *, void *));
/* The fed bytes are kept as the layer's blob (for push, see img_layer_blob_info)
 * under this media type (the manifest's); unset: derived from the compression. */
void img_ingest_set_media_type(img_ingest_t *ing, const char *media_type);
/* No more bytes: the child finishes and done_cb runs. */
void img_ingest_end(img_ingest_t *ing);
/* After a successful done_cb: move the unpacked layer into place as
 * chainID(parent_chain, diff_id) (parent NULL for the base layer); an
 * existing identical layer is kept and the temp copy discarded. chain_out
 * optional. Does not free ing. */
int img_ingest_commit(img_ingest_t *ing, const char *parent_chain, char chain_out[IMG_DIGEST_LEN],
                      berth_err_t *err);
/* Abort if still running (done_cb does not run after this), drop temp data,
 * free. Safe at any point, including inside done_cb. */
void img_ingest_free(img_ingest_t *ing);

/* ---- export (push, save) ---------------------------------------------------
 * A child writes a layer to data_cb in pieces: blob=false gives the
 * uncompressed tar (its sha256 is the diff_id); blob=true gives the layer's
 * kept compressed blob byte for byte, or, when it has none, gzips the tar once
 * and keeps the result for the next push. done_cb reports digest, size
 * (raw_size) and media_type of the bytes produced, and the diff_id. */
typedef struct img_export img_export_t;
typedef struct img_export_cbs {
    /* Return 0, or <0 to abort (done_cb then gets an error). */
    int (*data_cb)(img_export_t *ex, const char *buf, size_t len, void *data);
    void (*done_cb)(img_export_t *ex, const img_layer_result_t *res, const berth_err_t *err,
                    void *data);
} img_export_cbs_t;
int img_export_layer_begin(img_store_t *s, const char *chain_id, bool blob,
                           const img_export_cbs_t *cbs, void *data, img_export_t **out,
                           berth_err_t *err);
void img_export_pause(img_export_t *ex); /* stop reading the child's pipe */
void img_export_resume(img_export_t *ex);
void img_export_free(img_export_t *ex); /* kills the child if running; no more callbacks */

/* The compressed blob kept for a layer (as pulled, or as first pushed):
 * 0 and *out filled, or -1 when the layer has none (yet). */
typedef struct img_layer_blob {
    char digest[IMG_DIGEST_LEN];
    int64_t size;
    char media_type[80];
} img_layer_blob_t;
int img_layer_blob_info(img_store_t *s, const char *chain_id, img_layer_blob_t *out);

/* ---- load / save (docker load / docker save) -----------------------------
 * load: the tarball arrives in pieces (img_load_write); a child spools and
 * reads docker-archive or OCI layout, unpacks layers and verifies them; the
 * parent commits images and tags. progress_cb gets lines like "Loaded image:
 * busybox:latest\n" (and "Loaded image ID: sha256:..\n" for untagged ones).
 * done_cb runs once (err NULL on success). */
typedef struct img_load img_load_t;
typedef struct img_load_cbs {
    void (*progress_cb)(img_load_t *ld, const char *line, void *data);
    void (*done_cb)(img_load_t *ld, const berth_err_t *err, void *data);
    void (*drain_cb)(img_load_t *ld, void *data); /* pending dropped under 64 KiB */
    /* Optional: Docker-style progress objects while layers unpack, e.g.
     * {"status":"Loading layer","id":"<12 hex>","progressDetail":{...}}.
     * Borrowed: copy what you keep. */
    void (*status_cb)(img_load_t *ld, const cJSON *msg, void *data);
} img_load_cbs_t;
int img_load_begin(img_store_t *s, const img_load_cbs_t *cbs, void *data, img_load_t **out,
                   berth_err_t *err);
int img_load_write(img_load_t *ld, const void *buf, size_t len); /* 0 / -EPIPE */
size_t img_load_pending(const img_load_t *ld);
void img_load_end(img_load_t *ld);
void img_load_free(img_load_t *ld); /* abort if running; no callbacks after */

/* save: docker-archive of the named images (references or IDs; resolved
 * before the child starts, 404 for an unknown name) streamed to data_cb. */
int img_save_begin(img_store_t *s, const char *const *names, size_t n_names,
                   const img_export_cbs_t *cbs, void *data, img_export_t **out, berth_err_t *err);

/* ---- default image ----
 * If busybox:latest is missing and /bin/busybox exists, build it from
 * /bin/busybox in a child (one layer: bin/busybox + applet symlinks,
 * etc/passwd, etc/group; Cmd ["sh"]) and tag it. done_cb (may be NULL) runs
 * on the loop when finished; when nothing is to be done it runs before the
 * call returns. Returns 0 when started or not needed. */
int img_default_image_begin(img_store_t *s, void (*done_cb)(const berth_err_t *err, void *data),
                            void *data);

#endif
