/* Image references as a registry client needs them: domain, repository
 * path, tag and digest, normalised the way Docker does (docker.io,
 * library/ for official images, "latest" by default). */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

void reg_ref_free(reg_ref_t *r)
{
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

bool reg_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
        return false;
    for (const char *p = d + 7; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return false;
    return true;
}

static bool tag_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (const char *p = t; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return true;
}

/* One path component: [a-z0-9]+ separated by ".", "_", "__" or runs of "-". */
static bool component_valid(const char *s, size_t n)
{
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (isupper((unsigned char)c))
            return false;
        if (isalnum((unsigned char)c))
            continue;
        if (c == '.' || c == '_') {
            bool two_us = c == '_' && s[i + 1] == '_';
            size_t next = i + (two_us ? 2 : 1);
            if (next >= n || !isalnum((unsigned char)s[next]))
                return false;
            i = next - 1;
        } else if (c == '-') {
            while (i + 1 < n && s[i + 1] == '-')
                i++;
            if (!isalnum((unsigned char)s[i + 1]))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static bool domain_valid(const char *d)
{
    if (!*d)
        return false;
    for (const char *p = d; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
            return false;
    return true;
}

int reg_ref_parse(const char *name, const char *tag_override, reg_ref_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!name || !*name)
        return berth_err_set(err, BERTH_E_INVALID, "invalid reference format: empty name");
    cleanup_free char *s = xstrdup(name);
    char *at = strchr(s, '@');
    if (at) {
        *at = '\0';
        if (!reg_digest_valid(at + 1))
            goto bad;
        out->digest = xstrdup(at + 1);
    }
    char *slash = strrchr(s, '/');
    char *colon = strrchr(slash ? slash : s, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_valid(colon + 1))
            goto bad;
        out->tag = xstrdup(colon + 1);
    }
    char *first_slash = strchr(s, '/');
    char *rest = s;
    if (first_slash) {
        size_t dlen = (size_t)(first_slash - s);
        bool is_domain = memchr(s, '.', dlen) || memchr(s, ':', dlen) ||
                         (dlen == 9 && strncmp(s, "localhost", 9) == 0);
        for (size_t i = 0; i < dlen && !is_domain; i++)
            if (isupper((unsigned char)s[i]))
                is_domain = true;
        if (is_domain) {
            out->domain = xstrndup(s, dlen);
            rest = first_slash + 1;
        }
    }
    if (!out->domain)
        out->domain = xstrdup("docker.io");
    if (!strcmp(out->domain, "index.docker.io") || !strcmp(out->domain, "registry-1.docker.io")) {
        free(out->domain);
        out->domain = xstrdup("docker.io");
    }
    if (!domain_valid(out->domain))
        goto bad;
    for (char *c = rest;;) {
        char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (!component_valid(c, n))
            goto bad;
        if (!e)
            break;
        c = e + 1;
    }
    if (!strcmp(out->domain, "docker.io") && !strchr(rest, '/'))
        out->path = xasprintf("library/%s", rest);
    else
        out->path = xstrdup(rest);
    if (strlen(out->path) + strlen(out->domain) > 255)
        goto bad;
    if (tag_override && *tag_override) {
        if (!strncmp(tag_override, "sha256:", 7)) {
            if (!reg_digest_valid(tag_override))
                goto bad;
            free(out->digest);
            out->digest = xstrdup(tag_override);
            free(out->tag);
            out->tag = NULL;
        } else {
            if (!tag_valid(tag_override))
                goto bad;
            free(out->tag);
            out->tag = xstrdup(tag_override);
        }
    }
    if (!out->tag && !out->digest)
        out->tag = xstrdup("latest");
    return 0;
bad:
    reg_ref_free(out);
    return berth_err_set(err, BERTH_E_INVALID, "invalid reference format: %s%s%s", name,
                         tag_override && *tag_override ? ":" : "",
                         tag_override ? tag_override : "");
}

char *reg_ref_familiar_name(const reg_ref_t *r)
{
    if (!strcmp(r->domain, "docker.io")) {
        if (!strncmp(r->path, "library/", 8) && !strchr(r->path + 8, '/'))
            return xstrdup(r->path + 8);
        return xstrdup(r->path);
    }
    return xasprintf("%s/%s", r->domain, r->path);
}

const char *reg_ref_api_host(const reg_ref_t *r)
{
    return strcmp(r->domain, "docker.io") == 0 ? "registry-1.docker.io" : r->domain;
}
