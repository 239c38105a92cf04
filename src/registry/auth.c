/* Auth helpers: WWW-Authenticate challenge parsing, base64, the
 * X-Registry-Auth header clients send, and small URL helpers. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* ---- WWW-Authenticate ----------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool is_token_char(char c)
{
    return c && !isspace((unsigned char)c) && c != '=' && c != ',' && c != '"';
}

void reg_challenge_free(reg_challenge_t *c)
{
    free(c->scheme);
    free(c->realm);
    free(c->service);
    free(c->scope);
    free(c->error);
    memset(c, 0, sizeof(*c));
}

/* Grammar (RFC 7235): scheme 1*SP auth-param *( "," auth-param ) with
 * auth-param = token "=" ( token / quoted-string ). A second challenge in
 * the same value ("Basic realm=x, Bearer realm=y") ends at its scheme. */
int reg_challenge_parse(const char *value, reg_challenge_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!value)
        return -EINVAL;
    const char *p = skip_ws(value);
    const char *start = p;
    while (is_token_char(*p))
        p++;
    if (p == start)
        return -EINVAL;
    out->scheme = xstrndup(start, (size_t)(p - start));
    for (char *s = out->scheme; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    for (;;) {
        p = skip_ws(p);
        while (*p == ',')
            p = skip_ws(p + 1);
        if (!*p)
            break;
        const char *k = p;
        while (is_token_char(*p))
            p++;
        size_t klen = (size_t)(p - k);
        p = skip_ws(p);
        if (*p != '=') {
            if (klen == 0)
                goto bad;
            break; /* next challenge's scheme: we use the first one */
        }
        p = skip_ws(p + 1);
        berth_buf_t v;
        buf_init(&v);
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                buf_append(&v, p, 1);
                p++;
            }
            if (*p != '"') {
                buf_free(&v);
                goto bad;
            }
            p++;
        } else {
            const char *vs = p;
            while (is_token_char(*p))
                p++;
            buf_append(&v, vs, (size_t)(p - vs));
        }
        char **slot = NULL;
        if (klen == 5 && strncasecmp(k, "realm", 5) == 0)
            slot = &out->realm;
        else if (klen == 7 && strncasecmp(k, "service", 7) == 0)
            slot = &out->service;
        else if (klen == 5 && strncasecmp(k, "scope", 5) == 0)
            slot = &out->scope;
        else if (klen == 5 && strncasecmp(k, "error", 5) == 0)
            slot = &out->error;
        if (slot && !*slot)
            *slot = buf_steal(&v);
        else
            buf_free(&v);
    }
    return 0;
bad:
    reg_challenge_free(out);
    return -EINVAL;
}

/* ---- base64 --------------------------------------------------------------- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

char *reg_base64_decode(const char *in, size_t *out_len)
{
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == '=' || in[n - 1] == '\n' || in[n - 1] == '\r'))
        n--;
    if (n % 4 == 1)
        return NULL;
    char *out = xmalloc(n * 3 / 4 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}

char *reg_base64_encode(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *reg_url_escape(const char *s)
{
    berth_buf_t b;
    buf_init(&b);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            buf_append(&b, p, 1);
        else
            buf_printf(&b, "%%%02X", *p);
    }
    return buf_steal(&b);
}

/* ---- client credentials ---------------------------------------------------- */

void reg_auth_free(reg_auth_t *a)
{
    if (!a)
        return;
    free(a->username);
    free(a->password);
    free(a->identity_token);
    free(a->registry_token);
    free(a->server_address);
    memset(a, 0, sizeof(*a));
}

bool reg_auth_empty(const reg_auth_t *a)
{
    return !a || ((!a->username || !*a->username) && (!a->password || !*a->password) &&
                  (!a->identity_token || !*a->identity_token) &&
                  (!a->registry_token || !*a->registry_token));
}

static char *json_str(const cJSON *obj, const char *key)
{
    /* Go's encoding/json matches keys case-insensitively; so does this. */
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    if (cJSON_IsString(v) && v->valuestring[0])
        return xstrdup(v->valuestring);
    return NULL;
}

int reg_auth_from_json(const cJSON *obj, reg_auth_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(obj))
        return berth_err_set(err, BERTH_E_INVALID, "invalid auth configuration: not an object");
    out->username = json_str(obj, "username");
    out->password = json_str(obj, "password");
    out->identity_token = json_str(obj, "identitytoken");
    out->registry_token = json_str(obj, "registrytoken");
    out->server_address = json_str(obj, "serveraddress");
    cleanup_free char *auth = json_str(obj, "auth");
    if (auth && !out->username) {
        /* "auth" is base64("user:password") as in ~/.docker/config.json. */
        cleanup_free char *plain = reg_base64_decode(auth, NULL);
        char *colon = plain ? strchr(plain, ':') : NULL;
        if (!colon) {
            reg_auth_free(out);
            return berth_err_set(err, BERTH_E_INVALID,
                                 "invalid auth configuration: malformed auth field");
        }
        out->username = xstrndup(plain, (size_t)(colon - plain));
        free(out->password);
        out->password = xstrdup(colon + 1);
    }
    return 0;
}

int reg_auth_decode_header(const char *value, reg_auth_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!value || !*value)
        return 0;
    size_t len = 0;
    cleanup_free char *json = reg_base64_decode(value, &len);
    if (!json)
        return berth_err_set(err, BERTH_E_INVALID, "invalid X-Registry-Auth header: not base64");
    cJSON *obj = cJSON_ParseWithLength(json, len);
    if (!obj)
        return berth_err_set(err, BERTH_E_INVALID, "invalid X-Registry-Auth header: not JSON");
    int r = reg_auth_from_json(obj, out, err);
    cJSON_Delete(obj);
    if (r < 0)
        berth_err_prefix(err, "invalid X-Registry-Auth header");
    return r;
}
