/* Request-target parsing (percent-decoding, query strings, the /vN.N API
 * prefix), header and query accessors, status texts. No I/O here. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

char *http_req_alloc_str(http_req_t *req, size_t size)
{
    if (size <= sizeof(req->arena) - req->arena_used) {
        char *p = req->arena + req->arena_used;
        req->arena_used += size;
        return p;
    }
    return xmalloc(size);
}

char *http_req_strndup(http_req_t *req, const char *s, size_t n)
{
    char *p = http_req_alloc_str(req, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void http_req_release_str(http_req_t *req, char *p)
{
    if (p && (p < req->arena || p >= req->arena + sizeof(req->arena)))
        free(p);
}

/* Decode into out (at least len + 1 bytes); false on a bad escape or NUL. */
static bool percent_decode_into(char *out, const char *s, size_t len, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return false;
            int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return false;
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (ch == '+' && plus_space) {
            out[o++] = ' ';
        } else if (ch == '\0') {
            return false;
        } else {
            out[o++] = ch;
        }
    }
    out[o] = '\0';
    return true;
}

/* The same, for the strings of a request (arena-backed). */
static char *req_percent_decode(http_req_t *req, const char *s, size_t len, bool plus_space)
{
    char *out = http_req_alloc_str(req, len + 1);
    if (!percent_decode_into(out, s, len, plus_space)) {
        http_req_release_str(req, out);
        return NULL;
    }
    return out;
}

char *http_percent_decode(const char *s, size_t len, bool plus_space)
{
    char *out = xmalloc(len + 1);
    if (!percent_decode_into(out, s, len, plus_space)) {
        free(out);
        return NULL;
    }
    return out;
}

size_t http_version_prefix(const char *path, int *major, int *minor)
{
    if (path[0] != '/' || path[1] != 'v')
        return 0;
    const char *p = path + 2;
    long maj = 0, min = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        maj = maj * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0)
        return 0;
    if (*p == '.') {
        p++;
        digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            min = min * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return 0;
    }
    if (*p != '/' && *p != '\0')
        return 0;
    *major = (int)maj;
    *minor = (int)min;
    return (size_t)(p - path);
}

static int parse_query(http_req_t *req, const char *q, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(q + i, '=', end - i);
            size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
            char *key = req_percent_decode(req, q + i, klen, true);
            char *val = eq ? req_percent_decode(req, eq + 1, end - (size_t)(eq + 1 - q), true)
                           : http_req_strndup(req, "", 0);
            if (!key || !val) {
                http_req_release_str(req, key);
                http_req_release_str(req, val);
                return -EINVAL;
            }
            req->query = xrealloc(req->query, (req->n_query + 1) * sizeof(*req->query));
            req->query[req->n_query].name = key;
            req->query[req->n_query].value = val;
            req->n_query++;
        }
        i = end + 1;
    }
    return 0;
}

int http_parse_target(http_req_t *req, const char *target)
{
    if (target[0] != '/')
        return -EINVAL; /* absolute-form and authority-form are not for us */
    size_t plen = strcspn(target, "?#");
    char *path = req_percent_decode(req, target, plen, false);
    if (!path)
        return -EINVAL;
    if (target[plen] == '?') {
        const char *q = target + plen + 1;
        size_t qlen = strcspn(q, "#");
        if (parse_query(req, q, qlen) < 0) {
            http_req_release_str(req, path);
            return -EINVAL;
        }
    }
    int major = 0, minor = 0;
    size_t pre = http_version_prefix(path, &major, &minor);
    if (pre > 0) {
        req->api_major = major;
        req->api_minor = minor;
        if (path[pre] == '\0') {
            path[0] = '/'; /* "/v1.44" alone is the root */
            path[1] = '\0';
        } else {
            memmove(path, path + pre, strlen(path + pre) + 1);
        }
    }
    req->path = path;
    return 0;
}

void http_req_add_header(http_req_t *req, const char *name, size_t nlen, const char *value,
                         size_t vlen)
{
    /* The first headers go to the inline array; then the heap, doubling. */
    size_t n = req->n_headers;
    const size_t n_inline = ARRAY_SIZE(req->inline_kv);
    if (n == 0) {
        req->headers = req->inline_kv;
    } else if (n == n_inline) {
        req->headers = xmalloc(2 * n_inline * sizeof(*req->headers));
        memcpy(req->headers, req->inline_kv, sizeof(req->inline_kv));
    } else if (n > n_inline && n % n_inline == 0 && ((n / n_inline) & (n / n_inline - 1)) == 0) {
        req->headers = xrealloc(req->headers, n * 2 * sizeof(*req->headers)); /* full at 8*2^k */
    }
    /* Trailing whitespace is not part of a field value (RFC 9110 5.5). */
    while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    /* Name and value share one allocation ("name\0value\0"), freed by name. */
    char *kv = http_req_alloc_str(req, nlen + vlen + 2);
    memcpy(kv, name, nlen);
    kv[nlen] = '\0';
    memcpy(kv + nlen + 1, value, vlen);
    kv[nlen + 1 + vlen] = '\0';
    req->headers[n].name = kv;
    req->headers[n].value = kv + nlen + 1;
    req->n_headers++;
}

const char *http_req_header(const http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *http_req_query(const http_req_t *req, const char *key)
{
    for (size_t i = 0; i < req->n_query; i++)
        if (strcmp(req->query[i].name, key) == 0)
            return req->query[i].value;
    return NULL;
}

bool http_req_query_bool(const http_req_t *req, const char *key, bool dflt)
{
    return berth_parse_bool(http_req_query(req, key), dflt);
}

long long http_req_query_int(const http_req_t *req, const char *key, long long dflt, int *err_out)
{
    const char *v = http_req_query(req, key);
    if (err_out)
        *err_out = 0;
    if (v == NULL || v[0] == '\0')
        return dflt;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0') {
        if (err_out)
            *err_out = -EINVAL;
        return dflt;
    }
    return n;
}

int http_req_api_version(const http_req_t *req)
{
    if (req->api_major == 0 && req->api_minor == 0)
        return 144; /* BERTH_API_VERSION */
    return req->api_major * 100 + req->api_minor;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Request Entity Too Large";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Requested Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}
