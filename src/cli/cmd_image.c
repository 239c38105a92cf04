/* Image commands: images, load, save, tag, rmi, image inspect, image prune. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/internal.h"

static const cli_column_t image_cols[] = {
    {"Repository", "REPOSITORY"}, {"Tag", "TAG"},   {"ID", "IMAGE ID"},
    {"CreatedSince", "CREATED"},  {"Size", "SIZE"},
};
static const cli_column_t image_cols_digests[] = {
    {"Repository", "REPOSITORY"}, {"Tag", "TAG"},   {"Digest", "DIGEST"}, {"ID", "IMAGE ID"},
    {"CreatedSince", "CREATED"},  {"Size", "SIZE"},
};

/* One row of `images` output with docker's template field names. */
static cJSON *image_row(const cJSON *img, const char *repo, const char *tag, const char *digest,
                        bool no_trunc)
{
    cJSON *row = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(img, "Id");
    const char *ids = cJSON_IsString(id) ? id->valuestring : "";
    char buf[128];
    const cJSON *containers = cJSON_GetObjectItemCaseSensitive(img, "Containers");
    if (cJSON_IsNumber(containers) && containers->valuedouble >= 0)
        snprintf(buf, sizeof(buf), "%lld", (long long)containers->valuedouble);
    else
        snprintf(buf, sizeof(buf), "N/A");
    cJSON_AddStringToObject(row, "Containers", buf);
    int64_t created =
        (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(img, "Created"));
    time_t t = (time_t)created;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    cJSON_AddStringToObject(row, "CreatedAt", buf);
    cli_time_ago(created, buf, sizeof(buf));
    cJSON_AddStringToObject(row, "CreatedSince", buf);
    cJSON_AddStringToObject(row, "Digest", digest);
    if (no_trunc)
        cJSON_AddStringToObject(row, "ID", ids);
    else {
        cli_short_id(ids, buf, sizeof(buf));
        cJSON_AddStringToObject(row, "ID", buf);
    }
    cJSON_AddStringToObject(row, "Repository", repo);
    const cJSON *shared = cJSON_GetObjectItemCaseSensitive(img, "SharedSize");
    if (cJSON_IsNumber(shared) && shared->valuedouble >= 0)
        cli_human_size(shared->valuedouble, 3, buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "N/A");
    cJSON_AddStringToObject(row, "SharedSize", buf);
    double size = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(img, "Size"));
    if (size != size) /* NaN: missing */
        size = 0;
    cli_human_size(size, 3, buf, sizeof(buf));
    cJSON_AddStringToObject(row, "Size", buf);
    cJSON_AddStringToObject(row, "Tag", tag);
    cJSON_AddStringToObject(row, "UniqueSize", "N/A");
    cli_human_size(size, 4, buf, sizeof(buf)); /* docker uses HumanSize here */
    cJSON_AddStringToObject(row, "VirtualSize", buf);
    return row;
}

/* Rows for one image: one per tag; untagged ones show their digests' repos
 * or <none>. */
static void image_rows(const cJSON *img, bool no_trunc, cJSON ***rows, size_t *nrows)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "RepoTags");
    const cJSON *digests = cJSON_GetObjectItemCaseSensitive(img, "RepoDigests");
    size_t before = *nrows;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
    {
        if (!cJSON_IsString(t) || !strcmp(t->valuestring, "<none>:<none>"))
            continue;
        char *repo, *tag;
        bool by_digest;
        cli_split_ref(t->valuestring, &repo, &tag, &by_digest);
        const char *digest = "<none>";
        const cJSON *d;
        cJSON_ArrayForEach(d, digests)
        {
            const char *at = cJSON_IsString(d) ? strchr(d->valuestring, '@') : NULL;
            if (at && (size_t)(at - d->valuestring) == strlen(repo) &&
                !strncmp(d->valuestring, repo, strlen(repo)))
                digest = at + 1;
        }
        *rows = xrealloc(*rows, (*nrows + 1) * sizeof(**rows));
        (*rows)[(*nrows)++] = image_row(img, repo, tag ? tag : "<none>", digest, no_trunc);
        free(repo);
        free(tag);
    }
    if (*nrows > before)
        return;
    const cJSON *d;
    cJSON_ArrayForEach(d, digests)
    {
        const char *at = cJSON_IsString(d) ? strchr(d->valuestring, '@') : NULL;
        if (!at || !strcmp(d->valuestring, "<none>@<none>"))
            continue;
        char *repo = xstrndup(d->valuestring, (size_t)(at - d->valuestring));
        *rows = xrealloc(*rows, (*nrows + 1) * sizeof(**rows));
        (*rows)[(*nrows)++] = image_row(img, repo, "<none>", at + 1, no_trunc);
        free(repo);
    }
    if (*nrows > before)
        return;
    *rows = xrealloc(*rows, (*nrows + 1) * sizeof(**rows));
    (*rows)[(*nrows)++] = image_row(img, "<none>", "<none>", "<none>", no_trunc);
}

int cli_cmd_images(cli_t *cli, int argc, char **argv)
{
    bool all = false, quiet = false, no_trunc = false, digests = false;
    const char *format = NULL;
    cli_strv_t filters = {0};
    cli_flag_t flags[] = {
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        {0, "no-trunc", CLI_FLAG_BOOL, &no_trunc, false},
        {0, "digests", CLI_FLAG_BOOL, &digests, false},
        {0, "format", CLI_FLAG_STRING, &format, false},
        {'f', "filter", CLI_FLAG_LIST, &filters, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    /* Declared up here: the gotos below must not skip a cleanup variable. */
    cleanup_free char *refilter = NULL, *fq = NULL, *path = NULL;
    if (!cli_parse(cli, "images", "[OPTIONS] [REPOSITORY[:TAG]]", flags, argc, argv, true, &npos,
                   &pos, &rc))
        goto out_flags;
    if (npos > 1) {
        rc = cli_args_error(cli, "images", "at most 1 argument");
        goto out;
    }
    refilter = npos == 1 ? xasprintf("reference=%s", pos[0]) : NULL;
    if (refilter) {
        filters.v = xrealloc(filters.v, (filters.n + 2) * sizeof(char *));
        filters.v[filters.n++] = refilter;
    }
    fq = cli_filters_query(&filters);
    path = xasprintf("/images/json?all=%d%s%s", all ? 1 : 0, fq ? "&filters=" : "", fq ? fq : "");
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *list = NULL;
    if (!c || client_json(c, "GET", path, NULL, &list, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    cJSON **rows = NULL;
    size_t nrows = 0;
    const cJSON *img;
    cJSON_ArrayForEach(img, list) image_rows(img, no_trunc, &rows, &nrows);
    if (quiet)
        format = "{{.ID}}";
    if (!format || !*format || !strcmp(format, "table")) {
        if (digests)
            cli_print_rows(cli->out, NULL, image_cols_digests, ARRAY_SIZE(image_cols_digests), rows,
                           nrows);
        else
            cli_print_rows(cli->out, NULL, image_cols, ARRAY_SIZE(image_cols), rows, nrows);
    } else {
        cli_print_rows(cli->out, format, image_cols_digests, ARRAY_SIZE(image_cols_digests), rows,
                       nrows);
    }
    for (size_t i = 0; i < nrows; i++)
        cJSON_Delete(rows[i]);
    free(rows);
    cJSON_Delete(list);
    rc = 0;
out:
    free(pos);
out_flags:
    cli_strv_free(&filters);
    return rc;
}

int cli_cmd_load(cli_t *cli, int argc, char **argv)
{
    const char *input = NULL;
    bool quiet = false;
    cli_flag_t flags[] = {
        {'i', "input", CLI_FLAG_STRING, &input, false},
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "load", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    cleanup_close int fd = -1;
    if (npos > 0) {
        rc = cli_args_error(cli, "load", "no arguments");
        goto out;
    }
    if (input) {
        fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(cli->err, "open %s: %s\n", input, strerror(errno));
            goto out;
        }
    } else {
        if (isatty(STDIN_FILENO)) {
            fprintf(cli->err, "requested load from stdin, but stdin is empty\n");
            goto out;
        }
        fd = dup(STDIN_FILENO);
    }
    /* Like docker: no progress when stdout is not a terminal. */
    bool progress = !quiet && isatty(STDOUT_FILENO);
    client_req_t req;
    client_req_init(&req, "POST", progress ? "/images/load?quiet=0" : "/images/load?quiet=1");
    req.content_type = "application/x-tar";
    req.body_fd = fd;
    rc = cli_show_json_stream(cli, &req, false, cli->out);
out:
    free(pos);
    return rc;
}

static int write_fd_cb(void *opaque, const char *data, size_t len)
{
    return fs_write_all(*(int *)opaque, data, len) < 0 ? -1 : 0;
}

int cli_cmd_save(cli_t *cli, int argc, char **argv)
{
    const char *output = NULL;
    cli_flag_t flags[] = {
        {'o', "output", CLI_FLAG_STRING, &output, false},
        {0, "platform", CLI_FLAG_STRING, &(const char *){NULL}, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "save", "[OPTIONS] IMAGE [IMAGE...]", flags, argc, argv, true, &npos, &pos,
                   &rc))
        return rc;
    cleanup_free char *tmp = NULL;
    int fd = -1;
    berth_err_t err = {0};
    if (npos < 1) {
        rc = cli_args_error(cli, "save", "at least 1 argument");
        goto out;
    }
    if (!output && isatty(STDOUT_FILENO)) {
        fprintf(cli->err, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
        goto out;
    }
    berth_buf_t path;
    buf_init(&path);
    buf_puts(&path, "/images/get?");
    for (int i = 0; i < npos; i++) {
        cleanup_free char *enc = client_urlencode(pos[i]);
        buf_printf(&path, "%snames=%s", i ? "&" : "", enc);
    }
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        buf_free(&path);
        goto out;
    }
    if (output) {
        /* Write beside the target and rename at the end: a failed save
         * leaves no truncated archive behind. */
        tmp = xasprintf("%s.berth-tmp-%d", output, (int)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(cli->err, "failed to save image: open %s: %s\n", output, strerror(errno));
            buf_free(&path);
            goto out;
        }
    } else {
        fd = STDOUT_FILENO;
    }
    client_req_t req;
    client_req_init(&req, "GET", path.data);
    req.on_data = write_fd_cb;
    req.opaque = &fd;
    client_resp_t resp;
    int r = client_do(c, &req, &resp, &err);
    buf_free(&path);
    if (r < 0) {
        cli_print_err(cli, &err);
    } else if (resp.status >= 400) {
        cleanup_free char *msg = client_resp_error_message(&resp);
        fprintf(cli->err, "Error response from daemon: %s\n", msg);
    } else {
        rc = 0;
    }
    client_resp_free(&resp);
    if (output) {
        if (rc == 0 && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
            fprintf(cli->err, "failed to save image: %s: %s\n", output, strerror(errno));
            rc = 1;
        }
        close(fd);
        if (rc != 0)
            unlink(tmp);
    }
out:
    free(pos);
    return rc;
}

/* Minimal reference validation like the docker CLI's ParseNormalizedNamed. */
static bool valid_reference(const char *ref)
{
    if (!*ref || strlen(ref) > 255 + 129)
        return false;
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(ref, ':');
    const char *tag = colon && (!slash || colon > slash) ? colon + 1 : NULL;
    size_t name_len = tag ? (size_t)(colon - ref) : strlen(ref);
    if (name_len == 0)
        return false;
    if (tag) {
        if (!*tag || strlen(tag) > 128 || *tag == '.' || *tag == '-')
            return false;
        for (const char *p = tag; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                return false;
    }
    /* The first component may be a registry host (with a port / capitals). */
    const char *first_slash = memchr(ref, '/', name_len);
    size_t start = 0;
    if (first_slash) {
        size_t hl = (size_t)(first_slash - ref);
        if (cli_ref_has_host(ref, hl))
            start = hl + 1;
    }
    for (size_t i = start; i < name_len; i++) {
        char ch = ref[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-' || ch == '/'))
            return false;
    }
    return start < name_len && ref[name_len - 1] != '/';
}

int cli_cmd_tag(cli_t *cli, int argc, char **argv)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", flags, argc, argv, true,
                   &npos, &pos, &rc))
        return rc;
    cleanup_free char *erepo = NULL, *etag = NULL, *path = NULL;
    berth_err_t err = {0};
    if (npos != 2) {
        rc = cli_args_error(cli, "tag", "exactly 2 arguments");
        goto out;
    }
    if (!valid_reference(pos[1]) || strchr(pos[1], '@')) {
        bool upper = false;
        for (const char *p = pos[1]; *p && *p != ':'; p++)
            upper |= *p >= 'A' && *p <= 'Z';
        fprintf(cli->err,
                "Error parsing reference: \"%s\" is not a valid repository/tag: invalid "
                "reference format%s\n",
                pos[1], upper ? ": repository name must be lowercase" : "");
        goto out;
    }
    char *repo, *tag;
    bool at;
    cli_split_ref(pos[1], &repo, &tag, &at);
    erepo = client_urlencode(repo);
    etag = client_urlencode(tag ? tag : "latest");
    free(repo);
    free(tag);
    path = xasprintf("/images/%s/tag?repo=%s&tag=%s", pos[0], erepo, etag);
    client_t *c = cli_client(cli, &err);
    if (!c || client_json(c, "POST", path, NULL, NULL, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    rc = 0;
out:
    free(pos);
    return rc;
}

int cli_cmd_rmi(cli_t *cli, int argc, char **argv)
{
    bool force = false, no_prune = false;
    cli_flag_t flags[] = {
        {'f', "force", CLI_FLAG_BOOL, &force, false},
        {0, "no-prune", CLI_FLAG_BOOL, &no_prune, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "rmi", "[OPTIONS] IMAGE [IMAGE...]", flags, argc, argv, true, &npos, &pos,
                   &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "rmi", "at least 1 argument");
        goto out;
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        goto out;
    }
    /* Like docker: go through all, print what was removed, report the
     * errors together at the end. */
    berth_buf_t errors;
    buf_init(&errors);
    for (int i = 0; i < npos; i++) {
        cleanup_free char *path =
            xasprintf("/images/%s?force=%d&noprune=%d", pos[i], force ? 1 : 0, no_prune ? 1 : 0);
        cJSON *res = NULL;
        berth_err_clear(&err);
        if (client_json(c, "DELETE", path, NULL, &res, NULL, &err) < 0) {
            if (err.status)
                buf_printf(&errors, "Error response from daemon: %s\n", err.msg);
            else
                buf_printf(&errors, "%s\n", err.msg);
            continue;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, res)
        {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "Untagged");
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "Deleted");
            if (cJSON_IsString(u))
                fprintf(cli->out, "Untagged: %s\n", u->valuestring);
            if (cJSON_IsString(d))
                fprintf(cli->out, "Deleted: %s\n", d->valuestring);
        }
        cJSON_Delete(res);
    }
    fflush(cli->out);
    if (errors.len) {
        fputs(errors.data, cli->err);
        rc = 1;
    } else {
        rc = 0;
    }
    buf_free(&errors);
out:
    free(pos);
    return rc;
}

/* Print inspect results: a JSON array, or a template per object. */
static void print_inspect(cli_t *cli, const char *format, cJSON *arr)
{
    if (format && *format && strcmp(format, "json") != 0) {
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)
        {
            char *line = cli_template_render(format, it);
            fprintf(cli->out, "%s\n", line);
            free(line);
        }
        return;
    }
    char *s = cli_json_pretty(arr);
    fprintf(cli->out, "%s\n", s);
    free(s);
}

/* Shared by `inspect` and `image inspect` / `container inspect`. kinds is a
 * list of "container"/"image" tried in order. */
static int inspect_objects(cli_t *cli, const char *cmd, const char *const *kinds, size_t nkinds,
                           int argc, char **argv)
{
    const char *format = NULL, *type = NULL;
    bool size = false;
    cli_flag_t flags[] = {
        {'f', "format", CLI_FLAG_STRING, &format, false},
        {0, "type", CLI_FLAG_STRING, &type, false},
        {'s', "size", CLI_FLAG_BOOL, &size, false},
        CLI_FLAGS_END,
    };
    if (nkinds == 1)
        flags[1].longname = NULL, flags[1].ptr = &(const char *){NULL};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, cmd, "[OPTIONS] NAME|ID [NAME|ID...]", flags, argc, argv, true, &npos, &pos,
                   &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, cmd, "at least 1 argument");
        free(pos);
        return rc;
    }
    static const char *only_container[] = {"container"};
    static const char *only_image[] = {"image"};
    if (type && !strcmp(type, "container")) {
        kinds = only_container;
        nkinds = 1;
    } else if (type && !strcmp(type, "image")) {
        kinds = only_image;
        nkinds = 1;
    } else if (type && *type) {
        fprintf(cli->err, "\"%s\" is not a valid value for --type\n", type);
        free(pos);
        return 1;
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        free(pos);
        return 1;
    }
    cJSON *arr = cJSON_CreateArray();
    berth_buf_t errors;
    buf_init(&errors);
    for (int i = 0; i < npos; i++) {
        bool found = false;
        berth_err_t last = {0};
        for (size_t k = 0; k < nkinds && !found; k++) {
            cleanup_free char *path =
                !strcmp(kinds[k], "container")
                    ? xasprintf("/containers/%s/json%s", pos[i], size ? "?size=1" : "")
                    : xasprintf("/images/%s/json", pos[i]);
            cJSON *obj = NULL;
            berth_err_clear(&err);
            if (client_json(c, "GET", path, NULL, &obj, NULL, &err) == 0 && obj) {
                cJSON_AddItemToArray(arr, obj);
                found = true;
            } else {
                last = err;
                if (err.status != 404)
                    break;
            }
        }
        if (found)
            continue;
        if (nkinds > 1 && last.status == 404)
            buf_printf(&errors, "Error: No such object: %s\n", pos[i]);
        else if (last.status)
            buf_printf(&errors, "Error response from daemon: %s\n", last.msg);
        else
            buf_printf(&errors, "%s\n", last.msg);
    }
    print_inspect(cli, format, arr);
    fflush(cli->out);
    rc = 0;
    if (errors.len) {
        fputs(errors.data, cli->err);
        rc = 1;
    }
    buf_free(&errors);
    cJSON_Delete(arr);
    free(pos);
    return rc;
}

int cli_cmd_image_inspect(cli_t *cli, int argc, char **argv)
{
    static const char *kinds[] = {"image"};
    return inspect_objects(cli, "image inspect", kinds, 1, argc, argv);
}

int cli_cmd_container_inspect(cli_t *cli, int argc, char **argv)
{
    static const char *kinds[] = {"container"};
    return inspect_objects(cli, "container inspect", kinds, 1, argc, argv);
}

int cli_cmd_inspect(cli_t *cli, int argc, char **argv)
{
    static const char *kinds[] = {"container", "image"};
    return inspect_objects(cli, "inspect", kinds, 2, argc, argv);
}

int cli_cmd_image_prune(cli_t *cli, int argc, char **argv)
{
    bool all = false, force = false;
    cli_strv_t filters = {0};
    cli_flag_t flags[] = {
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {'f', "force", CLI_FLAG_BOOL, &force, false},
        {0, "filter", CLI_FLAG_LIST, &filters, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    cleanup_free char *fq = NULL, *path = NULL;
    if (!cli_parse(cli, "image prune", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        goto out_flags;
    if (!force && !cli_confirm(cli, all ? "WARNING! This will remove all images without at least "
                                          "one container associated to them.\nAre you sure you "
                                          "want to continue?"
                                        : "WARNING! This will remove all dangling images.\nAre "
                                          "you sure you want to continue?")) {
        rc = 0;
        goto out;
    }
    filters.v = xrealloc(filters.v, (filters.n + 2) * sizeof(char *));
    filters.v[filters.n++] = all ? "dangling=false" : "dangling=true";
    fq = cli_filters_query(&filters);
    path = xasprintf("/images/prune?filters=%s", fq);
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *res = NULL;
    if (!c || client_json(c, "POST", path, NULL, &res, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(res, "ImagesDeleted");
    if (cJSON_GetArraySize(deleted) > 0) {
        fprintf(cli->out, "Deleted Images:\n");
        const cJSON *it;
        cJSON_ArrayForEach(it, deleted)
        {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "Untagged");
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "Deleted");
            if (cJSON_IsString(u))
                fprintf(cli->out, "untagged: %s\n", u->valuestring);
            if (cJSON_IsString(d))
                fprintf(cli->out, "deleted: %s\n", d->valuestring);
        }
        fprintf(cli->out, "\n");
    }
    char sz[32];
    double reclaimed =
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(res, "SpaceReclaimed"));
    cli_human_size(reclaimed == reclaimed ? reclaimed : 0, 4, sz, sizeof(sz));
    fprintf(cli->out, "Total reclaimed space: %s\n", sz);
    cJSON_Delete(res);
    rc = 0;
out:
    free(pos);
out_flags:
    cli_strv_free(&filters);
    return rc;
}
