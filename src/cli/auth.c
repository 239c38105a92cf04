/* Registry credentials in docker's config.json ("auths": {server: {"auth":
 * base64(user:pass)}}), shared with the docker CLI: every other key is kept. */
#include <errno.h>
#include <string.h>

#include "cli/internal.h"

#define INDEX_SERVER "https://index.docker.io/v1/"

char *cli_registry_of_ref(const char *ref)
{
    const char *slash = strchr(ref, '/');
    if (slash) {
        size_t hl = (size_t)(slash - ref);
        if (cli_ref_has_host(ref, hl)) {
            char *h = xstrndup(ref, hl);
            if (!strcmp(h, "docker.io") || !strcmp(h, "index.docker.io") ||
                !strcmp(h, "registry-1.docker.io")) {
                free(h);
                return xstrdup(INDEX_SERVER);
            }
            return h;
        }
    }
    return xstrdup(INDEX_SERVER);
}

char *cli_config_path(const char *config_dir)
{
    if (!config_dir || !*config_dir)
        config_dir = getenv("DOCKER_CONFIG");
    if (config_dir && *config_dir)
        return xasprintf("%s/config.json", config_dir);
    const char *home = getenv("HOME");
    return xasprintf("%s/.docker/config.json", home && *home ? home : "/root");
}

/* "https://host:5000/v2/" -> "host:5000", like docker's ConvertToHostname. */
static char *hostname_of(const char *server)
{
    const char *p = server;
    if (!strncmp(p, "http://", 7))
        p += 7;
    else if (!strncmp(p, "https://", 8))
        p += 8;
    return xstrndup(p, strcspn(p, "/"));
}

static cJSON *config_load(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, 16 << 20, &data, &len) < 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(data, len);
    free(data);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* Find auths entry for server: exact key, else same hostname. */
static cJSON *find_auth_entry(cJSON *auths, const char *server)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(auths, server);
    if (e)
        return e;
    cleanup_free char *want = hostname_of(server);
    cJSON *it;
    cJSON_ArrayForEach(it, auths)
    {
        cleanup_free char *h = hostname_of(it->string);
        if (!strcmp(h, want))
            return it;
    }
    return NULL;
}

int cli_config_get_auth(const char *path, const char *server, char **user, char **pass)
{
    *user = *pass = NULL;
    cJSON *j = config_load(path);
    if (!j)
        return -1;
    cJSON *e = find_auth_entry(cJSON_GetObjectItemCaseSensitive(j, "auths"), server);
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(e, "auth");
    int rc = -1;
    if (cJSON_IsString(auth) && *auth->valuestring)
        rc = client_auth_decode(auth->valuestring, user, pass);
    cJSON_Delete(j);
    return rc;
}

int cli_config_set_auth(const char *path, const char *server, const char *user, const char *pass)
{
    cJSON *j = config_load(path);
    if (!j) {
        if (fs_exists(path))
            return -EINVAL; /* never clobber a config we cannot read */
        j = cJSON_CreateObject();
    }
    cJSON *auths = cJSON_GetObjectItemCaseSensitive(j, "auths");
    if (!cJSON_IsObject(auths)) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "auths");
        auths = cJSON_AddObjectToObject(j, "auths");
    }
    int rc = 0;
    if (user) {
        cJSON_DeleteItemFromObjectCaseSensitive(auths, server);
        cJSON *e = cJSON_AddObjectToObject(auths, server);
        char *b64 = client_auth_encode(user, pass ? pass : "");
        cJSON_AddStringToObject(e, "auth", b64);
        free(b64);
    } else {
        cJSON *e = find_auth_entry(auths, server);
        if (!e) {
            cJSON_Delete(j);
            return -ENOENT;
        }
        cJSON_Delete(cJSON_DetachItemViaPointer(auths, e));
    }
    char *pretty = cli_json_pretty(j);
    cJSON_Delete(j);
    char *text = xasprintf("%s\n", pretty);
    free(pretty);
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        rc = fs_mkdir_p(dir, 0700);
    }
    free(dir);
    if (rc == 0)
        rc = fs_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return rc;
}
