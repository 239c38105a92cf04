/* registry: private helpers shared by the files of src/registry. */
#ifndef BERTH_REGISTRY_INTERNAL_H
#define BERTH_REGISTRY_INTERNAL_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <uv.h>

#include "berth/common.h"
#include "berth/registry.h"

/* ==== transport: libcurl multi driven by the libuv loop (http_client.c) ====
 *
 * One reg_http_t per loop. Every transfer is a reg_xfer_t; its callbacks run
 * on the loop. Contract:
 *  - reg_xfer_start() copies everything it is given; on success on_done runs
 *    exactly once, later, unless reg_xfer_cancel() ran first (then never).
 *  - The xfer is freed right after on_done returns: do not keep the pointer.
 *  - on_data/on_read/on_header run from inside libcurl: they may call
 *    reg_xfer_cancel (on any xfer) and reg_xfer_start; both are deferred
 *    until libcurl returns. */
typedef struct reg_http reg_http_t;
typedef struct reg_xfer reg_xfer_t;

#define REG_DATA_PAUSE 1 /* on_data: data NOT consumed, pause until reg_xfer_resume */
#define REG_READ_PAUSE ((ssize_t)-2)

typedef struct reg_xfer_opts {
    const char *method; /* GET (default), HEAD, PUT, POST, PATCH, DELETE */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    /* Request body from memory (copied). */
    const void *body;
    size_t body_len;
    /* Or a streamed body: on_read fills buf and returns the byte count, 0 at
     * the end, REG_READ_PAUSE to pause (reg_xfer_resume later), or -1 to
     * abort. upload_size -1 means unknown (chunked). */
    ssize_t (*on_read)(reg_xfer_t *x, char *buf, size_t len);
    int64_t upload_size;
    /* Response body: on_data returns 0 (consumed), REG_DATA_PAUSE (not
     * consumed: curl hands the same bytes again after resume) or <0 (abort
     * with that -errno). Without on_data the body is collected in x->body up
     * to max_body bytes (default 4 MiB; more is an error). */
    int (*on_data)(reg_xfer_t *x, const char *data, size_t len);
    size_t max_body;
    /* Runs once: result 0 when an HTTP response arrived (any status), else
     * -errno with a message in reg_xfer_error(). */
    void (*on_done)(reg_xfer_t *x, int result);
    void *data;
    bool follow_redirects;
    /* TLS: verify peers (off for insecure registries) plus extra trust. */
    bool tls_insecure;
    const char *extra_ca_file; /* added to the system store */
    const char *client_cert;   /* PEM, with client_key */
    const char *client_key;
    long connect_timeout_ms; /* default 15 s */
    long low_speed_time_s;   /* abort when < 1 byte/s for this long; default 60 */
    long total_timeout_ms;   /* 0 = none */
} reg_xfer_opts_t;

struct reg_xfer {
    reg_http_t *http;
    void *data;  /* opts.data */
    long status; /* HTTP status of the final response */
    berth_buf_t body;
    /* Headers of the final response (after redirects), names lower-cased. */
    char **hdr_names;
    char **hdr_values;
    size_t n_hdrs;
    char *url;           /* as requested */
    char *effective_url; /* after redirects, set before on_done */
    /* private */
    CURL *easy;
    struct curl_slist *req_headers;
    char *body_copy;
    size_t body_len, body_off;
    size_t max_body;
    int (*on_data)(reg_xfer_t *x, const char *data, size_t len);
    ssize_t (*on_read)(reg_xfer_t *x, char *buf, size_t len);
    void (*on_done)(reg_xfer_t *x, int result);
    char *extra_ca_file;
    int abort_err; /* -errno from a callback that aborted */
    bool cancelled, added, finished;
    char errbuf[CURL_ERROR_SIZE];
    char errmsg[512];
    reg_xfer_t *next, *prev;  /* all live xfers */
    reg_xfer_t *pending_next; /* deferred add / remove */
};

int reg_http_new(uv_loop_t *loop, reg_http_t **out);
/* Load libcurl (dlopen) and set up the multi handle if not done yet; 0 or -1
 * with err (500 naming the missing library). reg_xfer_start calls it too. */
int reg_http_ensure(reg_http_t *h, berth_err_t *err);
/* Finish every live transfer with -ECANCELED (on_done runs), free libcurl
 * state, then done_cb(data) once all handles are closed. */
void reg_http_close(reg_http_t *h, void (*done_cb)(void *data), void *data);
/* 0 and *out, or -errno (bad options). */
int reg_xfer_start(reg_http_t *h, const reg_xfer_opts_t *opts, reg_xfer_t **out);
/* Stop a transfer; its on_done will not run. Safe from any callback. */
void reg_xfer_cancel(reg_xfer_t *x);
/* Continue after REG_DATA_PAUSE / REG_READ_PAUSE. */
void reg_xfer_resume(reg_xfer_t *x);
const char *reg_xfer_header(const reg_xfer_t *x, const char *name); /* case-insensitive */
const char *reg_xfer_error(const reg_xfer_t *x);                    /* after a failure */
/* Abort from inside a callback with this -errno and message (returned as the result). */
void reg_xfer_fail(reg_xfer_t *x, int neg_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t reg_http_active(const reg_http_t *h);

/* ==== auth helpers (auth.c) ==== */
typedef struct reg_challenge {
    char *scheme; /* "bearer", "basic" (lower-cased) */
    char *realm;
    char *service;
    char *scope;
    char *error; /* error="insufficient_scope" etc. */
} reg_challenge_t;

/* Parse one WWW-Authenticate value. 0 or -EINVAL. */
int reg_challenge_parse(const char *value, reg_challenge_t *out);
void reg_challenge_free(reg_challenge_t *c);

/* base64 (standard or URL alphabet, padding optional). Returns a NUL-
 * terminated buffer (caller frees) or NULL on malformed input. */
char *reg_base64_decode(const char *in, size_t *out_len);
char *reg_base64_encode(const void *data, size_t len); /* standard, padded */

/* Percent-encode a query value. */
char *reg_url_escape(const char *s);

/* ==== references and endpoints (reference.c) ==== */
typedef struct reg_ref {
    char *domain; /* "docker.io", "localhost:5000" */
    char *path;   /* "library/busybox" */
    char *tag;    /* NULL when only a digest was given */
    char *digest; /* "sha256:..." or NULL */
} reg_ref_t;

/* Docker's normalisation: "busybox" -> docker.io/library/busybox:latest
 * (tag defaults to "latest" unless a digest is given; tag_override wins when
 * non-empty and may itself be a digest). 0 or -EINVAL with err set. */
int reg_ref_parse(const char *name, const char *tag_override, reg_ref_t *out, berth_err_t *err);
void reg_ref_free(reg_ref_t *r);
/* "docker.io/library/busybox" -> "busybox"; "localhost:5000/a" unchanged. */
char *reg_ref_familiar_name(const reg_ref_t *r);
/* Host to talk to: docker.io -> registry-1.docker.io. */
const char *reg_ref_api_host(const reg_ref_t *r);

/* ==== manifests (manifest.c) ==== */
#define REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define REG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define REG_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define REG_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define REG_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define REG_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define REG_MANIFEST_ACCEPT                                                                        \
    "Accept: " REG_MT_DOCKER_MANIFEST ", " REG_MT_DOCKER_LIST ", " REG_MT_OCI_MANIFEST             \
    ", " REG_MT_OCI_INDEX

typedef struct reg_descriptor {
    char *media_type;
    char *digest;
    int64_t size;
    char *os, *arch, *variant; /* index entries only */
    char **urls;               /* foreign layers; n_urls */
    size_t n_urls;
} reg_descriptor_t;

typedef struct reg_manifest {
    char *media_type;
    bool is_index;
    reg_descriptor_t config;   /* image manifests */
    reg_descriptor_t *layers;  /* image manifests */
    reg_descriptor_t *entries; /* indexes */
    size_t n_layers, n_entries;
} reg_manifest_t;

/* Parse a manifest body; content_type is the response's Content-Type (may
 * be NULL: the body's mediaType or shape decides). Schema 1 manifests are
 * refused with a clear error. */
int reg_manifest_parse(const char *body, size_t len, const char *content_type, reg_manifest_t *out,
                       berth_err_t *err);
void reg_manifest_free(reg_manifest_t *m);
/* Platform "os[/arch[/variant]]" (NULL/"" = linux/amd64). 0 or -EINVAL. */
int reg_platform_parse(const char *s, char **os, char **arch, char **variant, berth_err_t *err);
/* Pick the index entry for a platform; NULL with err (404-ish) when none. */
const reg_descriptor_t *reg_manifest_select(const reg_manifest_t *index, const char *os,
                                            const char *arch, const char *variant,
                                            berth_err_t *err);
/* "sha256:<64 hex>" of data. out >= 72 bytes. */
void reg_sha256_digest(const void *data, size_t len, char out[72]);
bool reg_digest_valid(const char *digest);

#endif
