/* Image references, normalised the way docker/distribution's reference
 * package does it (ParseNormalizedNamed + TagNameOnly + FamiliarString). */
#include <ctype.h>
#include <string.h>

#include "berth/image.h"

#define REF_MAX_NAME 255
#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*,
 * separator := [_.] | "__" | "-"+ */
static bool path_component_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    while (i < n) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && !is_lower_alnum(s[i]))
            i++;
        size_t len = i - start;
        const char *sep = s + start;
        bool ok = (len == 1 && (sep[0] == '_' || sep[0] == '.')) ||
                  (len == 2 && sep[0] == '_' && sep[1] == '_');
        if (!ok) {
            ok = true;
            for (size_t k = 0; k < len; k++)
                if (sep[k] != '-')
                    ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* domain := component ('.' component)* [':' port]; component :=
 * [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]; or a bracketed IPv6. */
static bool domain_valid(const char *s, size_t n)
{
    size_t host_end = n;
    if (n == 0)
        return false;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':')
                return false;
        host_end = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon)
            host_end = (size_t)(colon - s);
        size_t i = 0;
        while (i < host_end) {
            size_t start = i;
            while (i < host_end && s[i] != '.')
                i++;
            size_t len = i - start;
            if (len == 0 || !isalnum((unsigned char)s[start]) ||
                !isalnum((unsigned char)s[start + len - 1]))
                return false;
            for (size_t k = start; k < i; k++)
                if (!isalnum((unsigned char)s[k]) && s[k] != '-')
                    return false;
            if (i < host_end)
                i++; /* skip '.' */
            if (i == host_end && s[i - 1] == '.')
                return false;
        }
    }
    if (host_end < n) {
        if (s[host_end] != ':' || host_end + 1 == n)
            return false;
        for (size_t k = host_end + 1; k < n; k++)
            if (!isdigit((unsigned char)s[k]))
                return false;
    }
    return true;
}

/* tag := [\w][\w.-]{0,127} */
static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool word = isalnum((unsigned char)c) || c == '_';
        if (!(word || (i > 0 && (c == '.' || c == '-'))))
            return false;
    }
    return true;
}

bool img_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
        return false;
    for (int i = 7; i < 71; i++)
        if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return false;
    return true;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool img_is_full_id(const char *s)
{
    if (strncmp(s, "sha256:", 7) == 0)
        return img_digest_valid(s);
    return is_hex64(s);
}

void img_ref_free(img_ref_t *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

static int invalid(berth_err_t *err)
{
    return berth_err_set(err, BERTH_E_INVALID, "invalid reference format");
}

static int ref_parse(const char *s, img_ref_t *out, bool default_tag, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return invalid(err);
    cleanup_free char *work = xstrdup(s);
    char *at = strchr(work, '@');
    if (at) {
        *at = '\0';
        if (!img_digest_valid(at + 1)) {
            /* docker accepts other algorithms syntactically; we only store sha256 */
            return invalid(err);
        }
        out->digest = xstrdup(at + 1);
    }
    /* The tag is after the last ':' that follows the last '/'. */
    char *slash = strrchr(work, '/');
    char *colon = strrchr(slash ? slash : work, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_valid(colon + 1))
            goto bad;
        out->tag = xstrdup(colon + 1);
    }
    if (strlen(work) == 0)
        goto bad;
    if (is_hex64(work) && !strchr(work, '/')) {
        img_ref_free(out);
        return berth_err_set(err, BERTH_E_INVALID,
                             "invalid repository name (%s), cannot specify 64-byte hexadecimal "
                             "strings",
                             work);
    }
    /* Split off the domain: the first component is a domain when it has '.'
     * or ':' or is "localhost" (or has uppercase, which then fails). */
    char *first_slash = strchr(work, '/');
    const char *remote = work;
    if (first_slash) {
        size_t dlen = (size_t)(first_slash - work);
        bool is_domain = memchr(work, '.', dlen) || memchr(work, ':', dlen) ||
                         (dlen == 9 && memcmp(work, "localhost", 9) == 0);
        for (size_t i = 0; i < dlen && !is_domain; i++)
            if (isupper((unsigned char)work[i]))
                is_domain = true;
        if (is_domain) {
            if (!domain_valid(work, dlen))
                goto bad;
            out->domain = xstrndup(work, dlen);
            remote = first_slash + 1;
        }
    }
    if (!out->domain)
        out->domain = xstrdup(DEFAULT_DOMAIN);
    if (strcmp(out->domain, LEGACY_DOMAIN) == 0) {
        free(out->domain);
        out->domain = xstrdup(DEFAULT_DOMAIN);
    }
    for (const char *p = remote; *p; p++) {
        if (isupper((unsigned char)*p)) {
            berth_err_set(err, BERTH_E_INVALID,
                          "invalid reference format: repository name (%s) must be lowercase",
                          remote);
            img_ref_free(out);
            return -1;
        }
    }
    /* Validate each path component. */
    const char *p = remote;
    while (true) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!path_component_valid(p, n))
            goto bad;
        if (!e)
            break;
        p = e + 1;
    }
    if (strcmp(out->domain, DEFAULT_DOMAIN) == 0 && !strchr(remote, '/'))
        out->path = xasprintf(OFFICIAL_PREFIX "%s", remote);
    else
        out->path = xstrdup(remote);
    if (strlen(out->domain) + 1 + strlen(out->path) > REF_MAX_NAME)
        goto bad;
    if (default_tag && !out->tag && !out->digest)
        out->tag = xstrdup("latest");
    return 0;
bad:
    img_ref_free(out);
    return invalid(err);
}

int img_ref_parse(const char *s, img_ref_t *out, berth_err_t *err)
{
    return ref_parse(s, out, true, err);
}

int img_ref_parse_no_default(const char *s, img_ref_t *out, berth_err_t *err)
{
    return ref_parse(s, out, false, err);
}

char *img_ref_repo(const img_ref_t *r)
{
    return xasprintf("%s/%s", r->domain, r->path);
}

char *img_ref_string(const img_ref_t *r)
{
    return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                     r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *img_ref_familiar(const img_ref_t *r)
{
    const char *path = r->path;
    bool official = strcmp(r->domain, DEFAULT_DOMAIN) == 0;
    if (official && strncmp(path, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
        !strchr(path + strlen(OFFICIAL_PREFIX), '/'))
        path += strlen(OFFICIAL_PREFIX);
    return xasprintf("%s%s%s%s%s%s%s", official ? "" : r->domain, official ? "" : "/", path,
                     r->tag ? ":" : "", r->tag ? r->tag : "", r->digest ? "@" : "",
                     r->digest ? r->digest : "");
}

char *img_ref_familiarize(const char *full_ref)
{
    img_ref_t r;
    berth_err_t err = {0};
    if (img_ref_parse_no_default(full_ref, &r, &err) < 0)
        return xstrdup(full_ref);
    char *s = img_ref_familiar(&r);
    img_ref_free(&r);
    return s;
}
