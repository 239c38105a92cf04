/* image module internals: store state, child-process jobs, tar helpers. */
#ifndef BERTH_IMAGE_INTERNAL_H
#define BERTH_IMAGE_INTERNAL_H

#include <archive.h>

#include "berth/image.h"

typedef struct img_refent {
    char *ref; /* full normalised reference */
    char id[IMG_DIGEST_LEN];
} img_refent_t;

typedef struct img_job img_job_t;

struct img_store {
    uv_loop_t *loop;
    char *root;   /* <data_root>/image */
    char *blobs;  /* root/blobs/sha256 */
    char *layers; /* root/layers */
    char *images_dir;
    char *tmp;
    char *repos_path;
    img_image_t **images;
    size_t n_images;
    img_refent_t *refs;
    size_t n_refs;
    img_in_use_fn in_use;
    void *in_use_data;
    img_job_t *jobs; /* running child jobs (linked list) */
    bool in_child;   /* this store lives in the berth-imagejob helper */
    char *job_path;  /* berth-imagejob binary (parent side) */
};

/* ---- jobs: work in a child process, results over a pipe ----
 * A job is the berth-imagejob helper (next to berthd, or $BERTH_IMAGEJOB)
 * started with posix_spawn as `berth-imagejob <kind> <image root> <args JSON>
 * <parent pid>`; it runs the child function registered for kind (job_child.c)
 * with fds 3 (in: the bytes the parent queues with img_job_write, when
 * want_in), 4 (out: streamed to on_out, when want_out) and 5 (res: one JSON
 * result object, written with img_job_child_result()). Exec keeps libarchive
 * and the unpack code out of berthd's address space. done runs once on the
 * loop with the parsed result (NULL if the child wrote none) after the child
 * exited and pipes closed. */
typedef int (*img_child_fn)(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
struct img_job {
    img_store_t *store;
    img_job_t *next;
    pid_t pid;
    int pidfd;
    uv_poll_t pid_poll;
    uv_pipe_t in_pipe, out_pipe, res_pipe;
    bool has_in, has_out;
    bool in_open, out_open, res_open, proc_running;
    int handles_open; /* close callbacks pending */
    berth_buf_t res_buf;
    size_t pending; /* bytes queued to in_pipe, not yet written */
    bool above_water;
    bool done_called, cancelled, free_requested;
    int exit_status;
    bool out_paused;
    void (*on_out)(img_job_t *job, const char *buf, size_t len, void *data);
    void (*on_drain)(img_job_t *job, void *data);
    void (*on_done)(img_job_t *job, cJSON *result, void *data);
    /* The store is closing: the job was cancelled (on_done will not run);
     * the owner must forget the job and report an error to its user. */
    void (*on_abort)(img_job_t *job, void *data);
    void *data;
};

/* Small queues in berthd's heap; the in-pipe itself is grown to IMG_JOB_PIPE_SIZE. */
#define IMG_JOB_HIGH_WATER IMG_INGEST_HIGH_WATER
#define IMG_JOB_LOW_WATER (IMG_INGEST_HIGH_WATER / 4)
#define IMG_JOB_PIPE_SIZE (1024 * 1024)

/* args is consumed. A missing or broken helper gives a 500 naming it. */
int img_job_start(img_store_t *s, const char *kind, cJSON *args, bool want_in, bool want_out,
                  img_job_t **out, berth_err_t *err);
/* $BERTH_IMAGEJOB, else berth-imagejob in the directory of /proc/self/exe (or its parent,
 * for unit tests under build/tests). */
char *img_job_default_path(void);
/* Helper side (berth-imagejob's main): dispatch argv to the kind's child function. */
int img_job_child_main(int argc, char **argv);
/* Child functions, one per kind (each in a *_child.c file berthd never references). */
int img_ingest_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
int img_load_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
int img_save_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
int img_export_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
int img_default_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd);
/* Helper side: a store with paths only (no records loaded, never cleans tmp/). */
img_store_t *img_store_open_child(const char *image_root);
int img_job_write(img_job_t *job, const void *buf, size_t len); /* 0/-EPIPE */
void img_job_end_input(img_job_t *job);
void img_job_pause_out(img_job_t *job);
void img_job_resume_out(img_job_t *job);
/* Kill if running; no callbacks after this; memory freed once handles closed. */
void img_job_cancel(img_job_t *job);
/* In the child: write the result object and free it. */
void img_job_child_result(int res_fd, cJSON *result);
/* Child-side: flush the filesystem holding path, so the parent's small
 * fsyncs at commit time do not stall the loop behind our bulk writes. */
void img_job_child_syncfs(const char *path);
/* Child-side helper: {"error": msg, "status": status}. */
void img_job_child_error(int res_fd, const berth_err_t *err);
/* Parent side: fill err from a result object; returns true if it was an error. */
bool img_job_result_error(const cJSON *result, berth_err_t *err);

/* ---- unpack (runs in a child or in tests) ----
 * Read an archive (plain, gzip, zstd, auto-detected) from fd, hash the raw
 * bytes and the uncompressed tar, extract into dest (an existing empty dir)
 * with whiteout conversion and path checks. expected: NULL or the digest the
 * raw stream must have. */
int img_unpack_fd(int fd, const char *dest, const char *expected, const char *raw_copy,
                  img_layer_result_t *res, berth_err_t *err);
/* Same with a pull-style source: read returns bytes, 0 at EOF, <0 on error. */
typedef ssize_t (*img_raw_read_fn)(void *ctx, void *buf, size_t len);
/* tar_copy: NULL or a path where the uncompressed tar is kept (gzip level 0, stored)
 * so save/push can reproduce the exact bytes behind the diff_id. */
int img_unpack_stream(img_raw_read_fn read_fn, void *ctx, const char *dest, const char *expected,
                      const char *tar_copy, img_layer_result_t *res, berth_err_t *err);
/* raw_copy: NULL or a path (created) where the bytes are kept exactly as read
 * (the registry blob, for push); res->media_type gets the Docker/OCI layer
 * media type matching the compression found. */
int img_unpack_stream_keep(img_raw_read_fn read_fn, void *ctx, const char *dest,
                           const char *expected, const char *tar_copy, const char *raw_copy,
                           img_layer_result_t *res, berth_err_t *err);
/* The same from an already opened archive (entries of a layer tar inside a
 * docker-archive): diff_id is computed by the caller's read callbacks. */
int img_unpack_archive(struct archive *a, int dest_fd, int64_t *size, berth_err_t *err);

/* Write the diff dir as a tar to a libarchive writer (whiteouts converted back). */
int img_tar_dir(struct archive *w, const char *dir, berth_err_t *err);

/* ---- store internals ---- */
char *img_store_tmpdir(img_store_t *s, berth_err_t *err); /* fresh dir under tmp/ */
/* rm -rf path in a child process (falls back to inline). */
void img_store_remove_async(img_store_t *s, const char *path);
/* Move an unpacked temp layer (dir with diff/) into place as chain id. */
int img_store_place_layer(img_store_t *s, const char *tmp_layer_dir, const char *chain_id,
                          const char *parent_chain, const img_layer_result_t *res,
                          berth_err_t *err);
/* Read layers/<chain>/layer.json; 0 or -1 with err (404). */
int img_store_layer_meta(img_store_t *s, const char *chain_id, char diff_id[IMG_DIGEST_LEN],
                         int64_t *size, int64_t *tar_size, berth_err_t *err);
#define IMG_LAYER_TAR "layer.tar.gz" /* inside layers/<chain>/ */
/* The layer's compressed blob as a registry knows it: kept as received on pull,
 * or compressed once by the first push; blob.json = {digest, size, media_type}
 * (like Docker's v2metadata: diff_id -> compressed digest), written last. */
#define IMG_LAYER_BLOB "layer.blob"
#define IMG_LAYER_BLOB_META "blob.json"
/* Record blob meta in layer_dir (atomic write); 0 or -errno. */
int img_layer_blob_meta_write(const char *layer_dir, const img_layer_blob_t *b);
/* Open a layer's uncompressed tar (from layer.blob or the kept layer.tar.gz)
 * for archive_read_data; NULL with err. */
struct archive *img_layer_tar_open(img_store_t *s, const char *chain_id, berth_err_t *err);
char *img_short_id(const char *id, char out[13]);

/* sha256 streaming helper (OpenSSL EVP). */
typedef struct img_hasher img_hasher_t;
img_hasher_t *img_hasher_new(void);
void img_hasher_update(img_hasher_t *h, const void *data, size_t len);
void img_hasher_final(img_hasher_t *h, char out[IMG_DIGEST_LEN]); /* frees h */

#endif
