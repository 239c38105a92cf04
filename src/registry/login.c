/* Small operations: login (POST /auth) and distribution inspect
 * (GET /distribution/{name}/json), plus progress message helpers. */
#include "client.h"

#include <errno.h>
#include <string.h>

cJSON *reg_msg_status(const char *id, const char *status)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "status", status);
    if (id)
        cJSON_AddStringToObject(m, "id", id);
    return m;
}

cJSON *reg_msg_progress(const char *id, const char *status, int64_t current, int64_t total)
{
    cJSON *m = reg_msg_status(id, status);
    cJSON *pd = cJSON_AddObjectToObject(m, "progressDetail");
    cJSON_AddNumberToObject(pd, "current", (double)current);
    if (total > 0)
        cJSON_AddNumberToObject(pd, "total", (double)total);
    return m;
}

void reg_short_id(const char *digest, char out[13])
{
    const char *hex = strchr(digest, ':');
    hex = hex ? hex + 1 : digest;
    snprintf(out, 13, "%.12s", hex);
}

/* ---- login ------------------------------------------------------------------ */

typedef struct login_op {
    reg_op_t op;
    reg_sess_t *sess;
    reg_done_cb done;
    void *data;
} login_op_t;

static void login_free(login_op_t *l)
{
    reg_op_unlink(&l->op);
    reg_sess_free(l->sess);
    free(l);
}

static void login_abort(reg_op_t *op, const berth_err_t *err)
{
    login_op_t *l = (login_op_t *)op;
    reg_done_cb done = l->done;
    void *data = l->data;
    login_free(l);
    if (err && done)
        done(data, err, NULL);
}

static void login_ready_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    (void)s;
    login_op_t *l = data;
    reg_done_cb done = l->done;
    void *cb_data = l->data;
    login_free(l);
    if (err) {
        done(cb_data, err, NULL);
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "Status", "Login Succeeded");
    cJSON_AddStringToObject(res, "IdentityToken", "");
    done(cb_data, NULL, res);
}

/* "https://index.docker.io/v1/" (the CLI's default) and URLs -> host[:port] */
static char *server_host(const char *addr)
{
    if (!addr || !*addr)
        return xstrdup("registry-1.docker.io");
    const char *p = strstr(addr, "://");
    p = p ? p + 3 : addr;
    size_t n = strcspn(p, "/");
    char *h = xstrndup(p, n);
    if (!strcmp(h, "index.docker.io") || !strcmp(h, "docker.io")) {
        free(h);
        h = xstrdup("registry-1.docker.io");
    }
    return h;
}

int reg_login(reg_client_t *c, const reg_auth_t *auth, reg_done_cb done, void *data, reg_op_t **op,
              berth_err_t *err)
{
    if (!auth || !auth->username || !*auth->username)
        return berth_err_set(err, BERTH_E_INVALID, "login requires a username");
    cleanup_free char *host = server_host(auth->server_address);
    login_op_t *l = xcalloc(1, sizeof(*l));
    l->op.abort = login_abort;
    l->done = done;
    l->data = data;
    reg_op_link(c, &l->op);
    l->sess = reg_sess_new(c, host, NULL, NULL, auth);
    if (op)
        *op = &l->op;
    reg_sess_open(l->sess, true, login_ready_cb, l);
    return 0;
}

/* ---- distribution inspect ------------------------------------------------------ */

typedef struct dist_op {
    reg_op_t op;
    reg_sess_t *sess;
    reg_ref_t ref;
    reg_xfer_t *xfer;
    reg_done_cb done;
    void *data;
    cJSON *result;
} dist_op_t;

static void dist_free(dist_op_t *d)
{
    reg_op_unlink(&d->op);
    reg_xfer_cancel(d->xfer);
    reg_sess_free(d->sess);
    reg_ref_free(&d->ref);
    cJSON_Delete(d->result);
    free(d);
}

static void dist_abort(reg_op_t *op, const berth_err_t *err)
{
    dist_op_t *d = (dist_op_t *)op;
    reg_done_cb done = d->done;
    void *data = d->data;
    dist_free(d);
    if (err && done)
        done(data, err, NULL);
}

static void dist_succeed(dist_op_t *d)
{
    reg_done_cb done = d->done;
    void *data = d->data;
    cJSON *res = steal_pointer(&d->result);
    dist_free(d);
    done(data, NULL, res);
}

static void dist_config_done(reg_xfer_t *x, int result)
{
    dist_op_t *d = x->data;
    d->xfer = NULL;
    cJSON *platforms = cJSON_GetObjectItemCaseSensitive(d->result, "Platforms");
    if (result == 0 && x->status == 200) {
        cJSON *cfg = cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
        cJSON *p = cJSON_CreateObject();
        const char *keys[][2] = {
            {"architecture", "architecture"}, {"os", "os"}, {"variant", "variant"}};
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, keys[i][0]);
            if (cJSON_IsString(v))
                cJSON_AddStringToObject(p, keys[i][1], v->valuestring);
        }
        cJSON_AddItemToArray(platforms, p);
        cJSON_Delete(cfg);
    }
    dist_succeed(d);
}

static void dist_manifest_done(reg_xfer_t *x, int result)
{
    dist_op_t *d = x->data;
    d->xfer = NULL;
    cleanup_free char *name = reg_ref_familiar_name(&d->ref);
    if (result < 0) {
        reg_op_fail(&d->op, BERTH_E_INTERNAL, "%s", reg_xfer_error(x));
        return;
    }
    if (x->status == 404 || x->status == 401 || x->status == 403) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&d->op, x->status == 404 ? BERTH_E_NOT_FOUND : BERTH_E_INTERNAL,
                    "manifest for %s:%s not found: %s", name,
                    d->ref.tag ? d->ref.tag : d->ref.digest, msg);
        return;
    }
    if (x->status != 200) {
        cleanup_free char *msg = reg_error_text(x);
        reg_op_fail(&d->op, BERTH_E_INTERNAL, "fetching manifest for %s: %s", name, msg);
        return;
    }
    char digest[72];
    reg_sha256_digest(x->body.data, x->body.len, digest);
    reg_manifest_t m;
    berth_err_t err;
    berth_err_clear(&err);
    if (reg_manifest_parse(x->body.data, x->body.len, reg_xfer_header(x, "content-type"), &m,
                           &err) < 0) {
        dist_abort(&d->op, &err);
        return;
    }
    d->result = cJSON_CreateObject();
    cJSON *desc = cJSON_AddObjectToObject(d->result, "Descriptor");
    cJSON_AddStringToObject(desc, "mediaType", m.media_type);
    cJSON_AddStringToObject(desc, "digest", digest);
    cJSON_AddNumberToObject(desc, "size", (double)x->body.len);
    cJSON *platforms = cJSON_AddArrayToObject(d->result, "Platforms");
    if (m.is_index) {
        for (size_t i = 0; i < m.n_entries; i++) {
            const reg_descriptor_t *e = &m.entries[i];
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "architecture", e->arch ? e->arch : "");
            cJSON_AddStringToObject(p, "os", e->os ? e->os : "");
            if (e->variant)
                cJSON_AddStringToObject(p, "variant", e->variant);
            cJSON_AddItemToArray(platforms, p);
        }
        reg_manifest_free(&m);
        dist_succeed(d);
        return;
    }
    /* A single manifest: the platform lives in its config. */
    cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", d->ref.path, m.config.digest);
    reg_manifest_free(&m);
    reg_xfer_opts_t o = {.on_done = dist_config_done, .data = d, .follow_redirects = true};
    if (reg_sess_start(d->sess, &o, path, &d->xfer) < 0)
        dist_succeed(d);
}

static void dist_ready_cb(reg_sess_t *s, const berth_err_t *err, void *data)
{
    dist_op_t *d = data;
    if (err) {
        dist_abort(&d->op, err);
        return;
    }
    cleanup_free char *path =
        xasprintf("/v2/%s/manifests/%s", d->ref.path, d->ref.digest ? d->ref.digest : d->ref.tag);
    const char *hdrs[] = {REG_MANIFEST_ACCEPT, NULL};
    reg_xfer_opts_t o = {.headers = hdrs, .on_done = dist_manifest_done, .data = d};
    int r = reg_sess_start(s, &o, path, &d->xfer);
    if (r < 0)
        reg_op_fail(&d->op, BERTH_E_INTERNAL, "fetching manifest: %s", strerror(-r));
}

int reg_distribution_inspect(reg_client_t *c, const char *name, const reg_auth_t *auth,
                             reg_done_cb done, void *data, reg_op_t **op, berth_err_t *err)
{
    dist_op_t *d = xcalloc(1, sizeof(*d));
    if (reg_ref_parse(name, NULL, &d->ref, err) < 0) {
        free(d);
        return -1;
    }
    d->op.abort = dist_abort;
    d->done = done;
    d->data = data;
    reg_op_link(c, &d->op);
    d->sess = reg_sess_new(c, reg_ref_api_host(&d->ref), d->ref.path, "pull", auth);
    if (op)
        *op = &d->op;
    reg_sess_open(d->sess, false, dist_ready_cb, d);
    return 0;
}
