/* Client-side stream helpers: JSON-lines splitter, multiplexed stream demux,
 * base64 and the registry auth encodings docker uses. */
#include <errno.h>
#include <string.h>

#include "berth/sha256.h"

#include "berth/client.h"

void client_json_lines_init(client_json_lines_t *jl, client_json_line_cb cb, void *opaque)
{
    buf_init(&jl->pending);
    jl->cb = cb;
    jl->opaque = opaque;
}

void client_json_lines_free(client_json_lines_t *jl)
{
    buf_free(&jl->pending);
}

static int emit_line(client_json_lines_t *jl, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    while (len > 0 && (*line == ' ' || *line == '\r')) {
        line++;
        len--;
    }
    if (len == 0)
        return 0;
    cJSON *msg = cJSON_ParseWithLength(line, len);
    if (!msg)
        return 0; /* not JSON: ignore, like the docker CLI's decoder skipping garbage */
    int rc = jl->cb(jl->opaque, msg);
    cJSON_Delete(msg);
    return rc;
}

int client_json_lines_feed(client_json_lines_t *jl, const char *data, size_t len)
{
    buf_append(&jl->pending, data, len);
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; i < jl->pending.len; i++) {
        if (jl->pending.data[i] != '\n')
            continue;
        rc = emit_line(jl, jl->pending.data + start, i - start);
        start = i + 1;
        if (rc != 0)
            break;
    }
    buf_consume(&jl->pending, start);
    return rc;
}

int client_json_lines_finish(client_json_lines_t *jl)
{
    int rc = 0;
    if (jl->pending.len > 0)
        rc = emit_line(jl, jl->pending.data, jl->pending.len);
    buf_reset(&jl->pending);
    return rc;
}

int client_json_lines_data_cb(void *opaque, const char *data, size_t len)
{
    return client_json_lines_feed(opaque, data, len);
}

void client_demux_init(client_demux_t *dm, client_frame_cb cb, void *opaque)
{
    memset(dm, 0, sizeof(*dm));
    dm->cb = cb;
    dm->opaque = opaque;
}

int client_demux_feed(client_demux_t *dm, const char *data, size_t len)
{
    while (len > 0) {
        if (dm->remaining == 0) {
            size_t take = 8 - dm->hdr_len;
            if (take > len)
                take = len;
            memcpy(dm->hdr + dm->hdr_len, data, take);
            dm->hdr_len += take;
            data += take;
            len -= take;
            if (dm->hdr_len < 8)
                return 0;
            dm->hdr_len = 0;
            if (dm->hdr[0] > 3)
                return -EPROTO;
            dm->stream = dm->hdr[0];
            dm->remaining = (size_t)dm->hdr[4] << 24 | (size_t)dm->hdr[5] << 16 |
                            (size_t)dm->hdr[6] << 8 | (size_t)dm->hdr[7];
            continue; /* an empty frame carries nothing */
        }
        size_t take = dm->remaining < len ? dm->remaining : len;
        int rc = dm->cb(dm->opaque, dm->stream, data, take);
        dm->remaining -= take;
        data += take;
        len -= take;
        if (rc != 0)
            return rc;
    }
    return 0;
}

char *client_base64(const void *data, size_t len, bool url)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *out = xmalloc(cap);
    int n = berth_base64_encode_block((unsigned char *)out, data, (int)len);
    out[n] = '\0';
    if (url)
        for (char *p = out; *p; p++)
            *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

unsigned char *client_base64_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    /* Normalise to padded standard base64 for EVP_DecodeBlock. */
    size_t padded = (n + 3) / 4 * 4;
    cleanup_free char *norm = xmalloc(padded + 1);
    size_t pad_in = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '-')
            ch = '+';
        else if (ch == '_')
            ch = '/';
        else if (ch == '=')
            pad_in++;
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
            return NULL;
        if (pad_in && ch != '=')
            return NULL; /* data after padding */
        norm[i] = ch;
    }
    for (size_t i = n; i < padded; i++)
        norm[i] = '=';
    norm[padded] = '\0';
    size_t total_pad = pad_in + (padded - n);
    if (total_pad > 2)
        return NULL;
    unsigned char *out = xmalloc(padded / 4 * 3 + 1);
    int got = berth_base64_decode_block(out, (unsigned char *)norm, (int)padded);
    if (got < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    size_t len = (size_t)got - total_pad;
    out[len] = '\0';
    if (out_len)
        *out_len = len;
    return out;
}

char *client_auth_encode(const char *user, const char *pass)
{
    cleanup_free char *plain = xasprintf("%s:%s", user, pass);
    return client_base64(plain, strlen(plain), false);
}

int client_auth_decode(const char *auth, char **user, char **pass)
{
    *user = *pass = NULL;
    size_t len = 0;
    cleanup_free unsigned char *plain = client_base64_decode(auth, &len);
    if (!plain || memchr(plain, '\0', len))
        return -1;
    char *colon = strchr((char *)plain, ':');
    if (!colon)
        return -1;
    *user = xstrndup((char *)plain, (size_t)(colon - (char *)plain));
    *pass = xstrdup(colon + 1);
    return 0;
}

char *client_registry_auth_header(const char *user, const char *pass, const char *server)
{
    if (!user)
        return xstrdup("e30=");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "username", user);
    cJSON_AddStringToObject(j, "password", pass ? pass : "");
    if (server)
        cJSON_AddStringToObject(j, "serveraddress", server);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        abort();
    char *out = client_base64(s, strlen(s), true);
    free(s);
    return out;
}

char *client_urlencode(const char *s)
{
    /* Percent-encode all but RFC 3986 unreserved characters, as a query value
     * needs. Done here rather than with curl_easy_escape so that the CLI does
     * not load libcurl and its ~25 dependent libraries on every start (about
     * 10 ms of a 'berth run'). */
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
