/* registry: Docker distribution (v2) client on libcurl multi driven by the
 * daemon's libuv loop. Pull, push, login, distribution inspect; auth
 * challenges (Bearer token flow, Basic); X-Registry-Auth decoding.
 *
 * Every operation is asynchronous: it starts, emits progress messages as
 * Docker progress JSON objects (the API layer streams them as they come),
 * and finishes by calling its done callback exactly once — unless
 * reg_op_cancel() ran first, in which case nothing more is called.
 * No callback runs from inside the function that started the operation. */
#ifndef BERTH_REGISTRY_H
#define BERTH_REGISTRY_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "berth/common.h"

typedef struct reg_client reg_client_t;
typedef struct reg_op reg_op_t;
typedef struct img_store img_store_t;

typedef struct reg_client_opts {
    uv_loop_t *loop;
    img_store_t *images; /* may be NULL: pull/push then fail with 501 */
    /* Directories holding <host[:port]>/ca.crt (+ client.cert/client.key);
     * NULL-terminated; NULL means /etc/docker/certs.d and /etc/berth/certs.d. */
    const char *const *certs_dirs;
    /* daemon.json insecure-registries: "host[:port]" or CIDR "10.0.0.0/8".
     * 127.0.0.0/8, ::1 and localhost are always insecure, as in Docker. */
    char **insecure_registries;
    size_t n_insecure_registries;
    int max_concurrent_downloads; /* <= 0: 3 */
    int max_concurrent_uploads;   /* <= 0: 5 */
    /* Where the client keeps small state of its own (which exported layer
     * went to which registry, for "Layer already exists" and mounts):
     * <data_root>/registry. NULL: no such memory. */
    const char *state_dir;
} reg_client_opts_t;

int reg_client_new(const reg_client_opts_t *opts, reg_client_t **out, berth_err_t *err);
/* Cancel all operations (their done callbacks run with a "cancelled" error),
 * then done_cb(data) once every handle is closed. */
void reg_client_close(reg_client_t *c, void (*done_cb)(void *data), void *data);

/* ---- credentials ---------------------------------------------------------- */
typedef struct reg_auth {
    char *username;
    char *password;
    char *identity_token; /* OAuth2 refresh token, used as password for token servers */
    char *registry_token; /* bearer token given as-is */
    char *server_address;
} reg_auth_t;

/* Decode an X-Registry-Auth header value: base64url (standard base64 and a
 * missing padding accepted) of {username, password, auth, email,
 * serveraddress, identitytoken, registrytoken}; "auth" is base64
 * "user:password". NULL/"" yields empty credentials. 0 or -EINVAL. */
int reg_auth_decode_header(const char *value, reg_auth_t *out, berth_err_t *err);
/* From a parsed JSON object with the same keys (POST /auth bodies). */
int reg_auth_from_json(const cJSON *obj, reg_auth_t *out, berth_err_t *err);
void reg_auth_free(reg_auth_t *a);
bool reg_auth_empty(const reg_auth_t *a);

/* ---- operations ------------------------------------------------------------ */
/* A progress message (ownership passes to the callee). */
typedef void (*reg_progress_cb)(void *data, cJSON *msg);
/* err == NULL on success. result: the op-specific answer (may be NULL); the
 * callee takes ownership. */
typedef void (*reg_done_cb)(void *data, const berth_err_t *err, cJSON *result);

/* Login: verify credentials against the registry (GET /v2/ with the auth
 * challenge). result: {"Status":"Login Succeeded","IdentityToken":""}.
 * Bad credentials -> status 401 with the registry's message. */
int reg_login(reg_client_t *c, const reg_auth_t *auth, reg_done_cb done, void *data, reg_op_t **op,
              berth_err_t *err);

/* GET /distribution/{name}/json: result {"Descriptor":{mediaType,digest,size},
 * "Platforms":[{architecture, os, ...}]}. */
int reg_distribution_inspect(reg_client_t *c, const char *name, const reg_auth_t *auth,
                             reg_done_cb done, void *data, reg_op_t **op, berth_err_t *err);

typedef struct reg_pull_opts {
    const char *from_image; /* fromImage query value */
    const char *tag;        /* tag query value (may be a digest or empty) */
    const char *platform;   /* "linux/arm64", NULL/"" = linux/amd64 */
    const reg_auth_t *auth;
} reg_pull_opts_t;

/* Pull an image; progress as Docker's pull statuses. result NULL. Errors
 * before any progress was emitted carry an HTTP-ish status (404 for an
 * unknown repository/tag, 401 for auth); later ones are reported through
 * done as well (the API turns them into errorDetail). */
int reg_pull(reg_client_t *c, const reg_pull_opts_t *opts, reg_progress_cb progress,
             reg_done_cb done, void *data, reg_op_t **op, berth_err_t *err);

typedef struct reg_push_opts {
    const char *name; /* image name as in the path: localhost:5000/foo */
    const char *tag;  /* "" = all tags of the repository (we push the given/latest) */
    const reg_auth_t *auth;
} reg_push_opts_t;

/* Push; progress as Docker's push statuses, the last one the aux
 * {Tag, Digest, Size}. result NULL. */
int reg_push(reg_client_t *c, const reg_push_opts_t *opts, reg_progress_cb progress,
             reg_done_cb done, void *data, reg_op_t **op, berth_err_t *err);

/* ---- daemon hooks (berthd module table) ------------------------------------
 * reg_daemon_open: d->registry from d->cfg (insecure-registries, max-
 * concurrent-downloads/uploads), d->images, state under
 * <data_root>/registry; certs dirs /etc/docker/certs.d and
 * /etc/berth/certs.d, or the colon-separated list in $BERTH_CERTS_DIRS.
 * reg_daemon_close: cancels running pulls/pushes and starts closing; the
 * memory goes once the loop has run the handles' close callbacks. */
typedef struct berthd berthd_t;
int reg_daemon_open(berthd_t *d, berth_err_t *err);
void reg_daemon_close(berthd_t *d);

/* Stop an operation (client went away). Its callbacks never run afterwards;
 * nothing half-done is committed. */
void reg_op_cancel(reg_op_t *op);

#endif
