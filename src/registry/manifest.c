/* Manifests: Docker schema2 and OCI image manifests, manifest lists and OCI
 * indexes, and platform selection among an index's entries. Input comes
 * from the network: every field is checked before use. */
#include "internal.h"

#include "berth/sha256.h"

#include <errno.h>
#include <string.h>

void reg_sha256_digest(const void *data, size_t len, char out[72])
{
    berth_sha256_digest_str(data, len, out);
}

static void desc_free(reg_descriptor_t *d)
{
    free(d->media_type);
    free(d->digest);
    free(d->os);
    free(d->arch);
    free(d->variant);
    for (size_t i = 0; i < d->n_urls; i++)
        free(d->urls[i]);
    free(d->urls);
    memset(d, 0, sizeof(*d));
}

void reg_manifest_free(reg_manifest_t *m)
{
    free(m->media_type);
    desc_free(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        desc_free(&m->layers[i]);
    for (size_t i = 0; i < m->n_entries; i++)
        desc_free(&m->entries[i]);
    free(m->layers);
    free(m->entries);
    memset(m, 0, sizeof(*m));
}

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int desc_parse(const cJSON *o, reg_descriptor_t *d, const char *what, berth_err_t *err)
{
    if (!cJSON_IsObject(o))
        return berth_err_set(err, BERTH_E_INVALID, "%s: not an object", what);
    const char *mt = str_field(o, "mediaType");
    const char *dg = str_field(o, "digest");
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
    if (!dg || !reg_digest_valid(dg))
        return berth_err_set(err, BERTH_E_INVALID, "%s: missing or unsupported digest %s", what,
                             dg ? dg : "");
    if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 1e15)
        return berth_err_set(err, BERTH_E_INVALID, "%s: invalid size", what);
    d->media_type = xstrdup(mt ? mt : "");
    d->digest = xstrdup(dg);
    d->size = (int64_t)sz->valuedouble;
    const cJSON *plat = cJSON_GetObjectItemCaseSensitive(o, "platform");
    if (cJSON_IsObject(plat)) {
        const char *os = str_field(plat, "os");
        const char *arch = str_field(plat, "architecture");
        const char *variant = str_field(plat, "variant");
        d->os = os ? xstrdup(os) : NULL;
        d->arch = arch ? xstrdup(arch) : NULL;
        d->variant = variant ? xstrdup(variant) : NULL;
    }
    const cJSON *urls = cJSON_GetObjectItemCaseSensitive(o, "urls");
    if (cJSON_IsArray(urls)) {
        int n = cJSON_GetArraySize(urls);
        d->urls = xcalloc((size_t)n + 1, sizeof(char *));
        const cJSON *u;
        cJSON_ArrayForEach(u, urls)
        {
            if (cJSON_IsString(u))
                d->urls[d->n_urls++] = xstrdup(u->valuestring);
        }
    }
    return 0;
}

int reg_manifest_parse(const char *body, size_t len, const char *content_type, reg_manifest_t *out,
                       berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return berth_err_set(err, BERTH_E_INVALID, "invalid manifest: not a JSON object");
    }
    int r = -1;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
    const char *mt = str_field(root, "mediaType");
    char ct[256] = "";
    if (content_type) {
        /* "application/json; charset=utf-8" -> "application/json" */
        size_t n = strcspn(content_type, "; ");
        if (n >= sizeof(ct))
            n = sizeof(ct) - 1;
        memcpy(ct, content_type, n);
        ct[n] = '\0';
    }
    if (cJSON_IsNumber(schema) && schema->valueint == 1) {
        berth_err_set(err, BERTH_E_INVALID,
                      "unsupported manifest format: Docker Image manifest version 2, schema 1 "
                      "support has been removed");
        goto out;
    }
    if (!mt || !*mt)
        mt = (ct[0] && strcmp(ct, "application/json") != 0) ? ct : NULL;
    const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(root, "manifests");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    bool index;
    if (mt && (!strcmp(mt, REG_MT_DOCKER_LIST) || !strcmp(mt, REG_MT_OCI_INDEX)))
        index = true;
    else if (mt && (!strcmp(mt, REG_MT_DOCKER_MANIFEST) || !strcmp(mt, REG_MT_OCI_MANIFEST)))
        index = false;
    else if (!mt && cJSON_IsArray(manifests))
        index = true;
    else if (!mt && cJSON_IsArray(layers))
        index = false;
    else {
        berth_err_set(err, BERTH_E_INVALID, "unsupported manifest media type %s",
                      mt ? mt : "(none)");
        goto out;
    }
    out->is_index = index;
    out->media_type = xstrdup(mt ? mt : (index ? REG_MT_OCI_INDEX : REG_MT_OCI_MANIFEST));
    if (index) {
        if (!cJSON_IsArray(manifests)) {
            berth_err_set(err, BERTH_E_INVALID, "invalid manifest list: no manifests");
            goto out;
        }
        int n = cJSON_GetArraySize(manifests);
        out->entries = xcalloc((size_t)n + 1, sizeof(reg_descriptor_t));
        const cJSON *e;
        cJSON_ArrayForEach(e, manifests)
        {
            if (desc_parse(e, &out->entries[out->n_entries], "invalid manifest list entry", err) <
                0)
                goto out;
            out->n_entries++;
        }
    } else {
        if (desc_parse(cJSON_GetObjectItemCaseSensitive(root, "config"), &out->config,
                       "invalid manifest config", err) < 0)
            goto out;
        if (!cJSON_IsArray(layers)) {
            berth_err_set(err, BERTH_E_INVALID, "invalid manifest: no layers");
            goto out;
        }
        int n = cJSON_GetArraySize(layers);
        out->layers = xcalloc((size_t)n + 1, sizeof(reg_descriptor_t));
        const cJSON *l;
        cJSON_ArrayForEach(l, layers)
        {
            reg_descriptor_t *d = &out->layers[out->n_layers];
            if (desc_parse(l, d, "invalid manifest layer", err) < 0)
                goto out;
            out->n_layers++;
        }
    }
    r = 0;
out:
    cJSON_Delete(root);
    if (r < 0)
        reg_manifest_free(out);
    return r;
}

int reg_platform_parse(const char *s, char **os, char **arch, char **variant, berth_err_t *err)
{
    *os = *arch = *variant = NULL;
    if (!s || !*s) {
        *os = xstrdup("linux");
        *arch = xstrdup("amd64");
        return 0;
    }
    cleanup_free char *copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    char *parts[4] = {0};
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        if (n == 3)
            goto bad;
        parts[n++] = tok;
    }
    if (n == 0)
        goto bad;
    if (n == 1) {
        /* "arm64" alone means linux/arm64, as containerd's parser does */
        if (strcmp(parts[0], "linux") != 0 && strcmp(parts[0], "windows") != 0) {
            parts[1] = parts[0];
            parts[0] = "linux";
            n = 2;
        }
    }
    *os = xstrdup(parts[0]);
    const char *a = n >= 2 ? parts[1] : "amd64";
    const char *v = n >= 3 ? parts[2] : NULL;
    /* Normalise the common aliases. */
    if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64"))
        a = "amd64";
    else if (!strcmp(a, "aarch64"))
        a = "arm64";
    if (!strcmp(a, "arm64") && v && !strcmp(v, "v8"))
        v = NULL;
    *arch = xstrdup(a);
    *variant = v ? xstrdup(v) : NULL;
    return 0;
bad:
    return berth_err_set(err, BERTH_E_INVALID, "invalid platform %s: expected os[/arch[/variant]]",
                         s);
}

const reg_descriptor_t *reg_manifest_select(const reg_manifest_t *index, const char *os,
                                            const char *arch, const char *variant, berth_err_t *err)
{
    const reg_descriptor_t *best = NULL;
    for (size_t i = 0; i < index->n_entries; i++) {
        const reg_descriptor_t *e = &index->entries[i];
        if (!e->os || !e->arch || strcmp(e->os, os) || strcmp(e->arch, arch))
            continue;
        const char *ev = e->variant;
        if (ev && !strcmp(e->arch, "arm64") && !strcmp(ev, "v8"))
            ev = NULL;
        if (variant && *variant) {
            if (ev && !strcmp(ev, variant))
                return e;
            if (!ev && !best)
                best = e;
            continue;
        }
        /* No variant asked: prefer an entry without one (arm -> v7 first). */
        if (!ev)
            return e;
        if (!best || (!strcmp(arch, "arm") && !strcmp(ev, "v7")))
            best = e;
    }
    if (!best)
        berth_err_set(err, BERTH_E_NOT_FOUND,
                      "no matching manifest for %s/%s%s%s in the manifest list entries", os, arch,
                      variant && *variant ? "/" : "", variant ? variant : "");
    return best;
}
