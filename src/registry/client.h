/* registry: the client, operations and sessions (private to src/registry). */
#ifndef BERTH_REGISTRY_CLIENT_H
#define BERTH_REGISTRY_CLIENT_H

#include "internal.h"

typedef struct reg_token {
    char *key; /* realm|service|scope|user */
    char *token;
    uint64_t expires_ms; /* uv_now() scale */
    struct reg_token *next;
} reg_token_t;

typedef struct reg_endpoint {
    char *host; /* host[:port] */
    char *base; /* "https://host[:port]" or "http://..." that answered /v2/ */
    struct reg_endpoint *next;
} reg_endpoint_t;

/* Every operation starts with this header. abort(op, err): err NULL means
 * the client cancelled (no callbacks); otherwise report err through the
 * op's done callback. Either way the op unlinks and frees itself. */
struct reg_op {
    reg_client_t *client;
    void (*abort)(reg_op_t *op, const berth_err_t *err);
    reg_op_t *next, *prev;
};

struct reg_client {
    uv_loop_t *loop;
    reg_http_t *http;
    img_store_t *images;
    char **certs_dirs;
    size_t n_certs_dirs;
    char **insecure;
    size_t n_insecure;
    int max_downloads;
    int max_uploads;
    char *state_dir;
    reg_token_t *tokens;
    reg_endpoint_t *endpoints;
    reg_op_t *ops;
    bool closing;
    void (*close_cb)(void *data);
    void *close_data;
};

void reg_op_link(reg_client_t *c, reg_op_t *op);
void reg_op_unlink(reg_op_t *op);
/* Fail an operation: a berth_err_t with status and message goes to op->abort,
 * which tears the operation down and reports to its done callback. */
void reg_op_fail(reg_op_t *op, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool reg_host_insecure(const reg_client_t *c, const char *hostport);
const char *reg_endpoint_lookup(reg_client_t *c, const char *host);
void reg_endpoint_remember(reg_client_t *c, const char *host, const char *base);

/* A session: one registry host (+ one repository and its actions), with the
 * endpoint probed and the Authorization header ready after reg_sess_open. */
typedef struct reg_sess reg_sess_t;
typedef void (*reg_sess_ready_cb)(reg_sess_t *s, const berth_err_t *err, void *data);

struct reg_sess {
    reg_client_t *client;
    char *host;        /* api host[:port] */
    char *repo;        /* NULL for login */
    char *actions;     /* "pull" or "pull,push" */
    char *extra_scope; /* e.g. "repository:other:pull" for a mount source */
    reg_auth_t auth;
    bool insecure;
    char *ca_file, *client_cert, *client_key;
    char *base;  /* scheme://host */
    char *authz; /* "Authorization: ..." header or NULL */
    char *probe_url;
    reg_challenge_t challenge;
    bool verify, basic_verify;
    reg_xfer_t *xfer; /* probe / token request in flight */
    reg_sess_ready_cb ready_cb;
    void *ready_data;
};

reg_sess_t *reg_sess_new(reg_client_t *c, const char *host, const char *repo, const char *actions,
                         const reg_auth_t *auth);
/* Probe /v2/ and authenticate. verify: make sure credentials are checked
 * (login) even with Basic auth. cb runs once (err NULL when ready). */
void reg_sess_open(reg_sess_t *s, bool verify, reg_sess_ready_cb cb, void *data);
/* After a 401 on x (token expired or revoked): fetch a fresh Bearer token
 * from x's challenge, then cb. false when that cannot help (Basic auth, a
 * given registry token, a handshake already running): cb never runs. */
bool reg_sess_reauth(reg_sess_t *s, const reg_xfer_t *x, reg_sess_ready_cb cb, void *data);
/* Start a request: path is "/v2/..." (or an absolute URL); headers in o are
 * kept, the session's Authorization and TLS settings added. */
int reg_sess_start(reg_sess_t *s, reg_xfer_opts_t *o, const char *path, reg_xfer_t **out);
void reg_sess_free(reg_sess_t *s);

/* Registry error JSON -> "code: message" text (caller frees). */
char *reg_error_text(const reg_xfer_t *x);
const char *reg_status_text(long status);

/* Progress JSON helpers (progress.c). */
cJSON *reg_msg_status(const char *id, const char *status);
cJSON *reg_msg_progress(const char *id, const char *status, int64_t current, int64_t total);
/* "sha256:abcdef..." -> "abcdef012345" (12 hex) */
void reg_short_id(const char *digest, char out[13]);

/* Push cache (push.c, <state_dir>/push-cache.json): layer chain id -> its
 * blob digest and the repositories ("host/path") known to have that blob, the
 * cross-repository mount sources of later pushes. Pulls note their source. */
cJSON *reg_push_cache_load(const reg_client_t *c); /* {} when none */
void reg_push_cache_add(cJSON *root, const char *chain, const char *digest, const char *diff_id,
                        int64_t size, const char *repo);
void reg_push_cache_save(const reg_client_t *c, const cJSON *root); /* atomic; warns */

#endif
