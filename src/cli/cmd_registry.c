/* Registry commands: pull, push (with progress display), login, logout. */
#include <errno.h>
#include <string.h>
#include <termios.h>

#include "cli/internal.h"

/* ---- progress display (docker's jsonmessage) ----------------------------------
 * On a terminal, messages with an id redraw that id's line in place; else
 * every message is one plain line. */
typedef struct progress progress_t;
static int stream_progress(cli_t *cli, client_req_t *req, bool quiet, progress_t *p);

struct progress {
    cli_t *cli;
    FILE *out; /* where progress goes (stdout; stderr for run's implicit pull) */
    bool tty;
    bool quiet;
    char **ids; /* line order of ids shown so far */
    size_t nids;
    size_t lines_since; /* lines printed below the first id line */
    char *error;
    long error_code;
    char *digest; /* from "Digest: ..." / aux */
};

static void progress_bar(const cJSON *detail, char *out, size_t len)
{
    out[0] = '\0';
    double cur = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(detail, "current"));
    double total = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(detail, "total"));
    if (cur != cur || cur <= 0)
        return;
    char c[32], t[32];
    cli_human_size(cur, 4, c, sizeof(c));
    if (total == total && total > 0 && cur <= total) {
        cli_human_size(total, 4, t, sizeof(t));
        int w = (int)(50.0 * cur / total);
        char bar[52];
        for (int i = 0; i < 50; i++)
            bar[i] = i < w ? '=' : i == w ? '>' : ' ';
        bar[50] = '\0';
        snprintf(out, len, "[%s] %8s/%s", bar, c, t);
    } else {
        snprintf(out, len, "%8s", c);
    }
}

static int progress_line_cb(void *opaque, cJSON *msg)
{
    progress_t *p = opaque;
    FILE *o = p->out;
    const cJSON *ed = cJSON_GetObjectItemCaseSensitive(msg, "errorDetail");
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(ed, "message");
    if (!cJSON_IsString(em))
        em = cJSON_GetObjectItemCaseSensitive(msg, "error");
    if (cJSON_IsString(em)) {
        if (!p->error) {
            p->error = xstrdup(em->valuestring);
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(ed, "code");
            p->error_code = cJSON_IsNumber(code) ? (long)code->valuedouble : 0;
        }
        return 0;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(msg, "status");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(msg, "stream");
    const char *st = cJSON_IsString(status) ? status->valuestring : NULL;
    if (st && !strncmp(st, "Digest: ", 8)) {
        free(p->digest);
        p->digest = xstrdup(st + 8);
    }
    if (p->quiet)
        return 0;
    if (!st && !cJSON_IsString(stream))
        return 0; /* aux and empty messages print nothing */
    char bar[128] = "";
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(msg, "progressDetail");
    if (p->tty)
        progress_bar(detail, bar, sizeof(bar));
    berth_buf_t line;
    buf_init(&line);
    if (cJSON_IsString(id) && *id->valuestring)
        buf_printf(&line, "%s: ", id->valuestring);
    if (st)
        buf_printf(&line, "%s%s%s", st, bar[0] ? " " : "", bar);
    else
        buf_puts(&line, stream->valuestring);
    if (!line.data) {
        buf_free(&line);
        return 0;
    }
    if (p->tty && cJSON_IsString(id) && *id->valuestring) {
        /* A wrapped line would break the cursor arithmetic: cut to the width. */
        int th, tw;
        if (cli_term_size(&th, &tw) && tw > 1 && line.len >= (size_t)tw) {
            line.len = (size_t)tw - 1;
            line.data[line.len] = '\0';
        }
        size_t idx = p->nids;
        for (size_t i = 0; i < p->nids; i++)
            if (!strcmp(p->ids[i], id->valuestring))
                idx = i;
        if (idx == p->nids) {
            p->ids = xrealloc(p->ids, (p->nids + 1) * sizeof(char *));
            p->ids[p->nids++] = xstrdup(id->valuestring);
            fprintf(o, "%s\n", line.data);
            p->lines_since = 0;
        } else {
            /* Move up to that id's line, rewrite it, come back down. */
            size_t up = (p->nids - idx) + p->lines_since;
            fprintf(o, "\033[%zuA\r\033[2K%s\033[%zuB\r", up, line.data, up);
        }
    } else {
        size_t l = line.len;
        fprintf(o, "%s%s", line.data, l && line.data[l - 1] == '\n' ? "" : "\n");
        if (p->nids)
            p->lines_since++;
    }
    fflush(o);
    buf_free(&line);
    return 0;
}

static void progress_free(progress_t *p)
{
    for (size_t i = 0; i < p->nids; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->error);
    free(p->digest);
}

int cli_show_json_stream(cli_t *cli, client_req_t *req, bool quiet, FILE *out)
{
    progress_t p = {.out = out};
    int rc = stream_progress(cli, req, quiet, &p);
    progress_free(&p);
    return rc;
}

/* Run a streaming request and show its progress; returns the exit code. */
static int stream_progress(cli_t *cli, client_req_t *req, bool quiet, progress_t *p)
{
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        return 1;
    }
    p->cli = cli;
    if (!p->out)
        p->out = cli->out;
    p->tty = isatty(fileno(p->out));
    p->quiet = quiet;
    client_json_lines_t jl;
    client_json_lines_init(&jl, progress_line_cb, p);
    req->on_data = client_json_lines_data_cb;
    req->opaque = &jl;
    client_resp_t resp;
    int rc = 1;
    if (client_do(c, req, &resp, &err) < 0) {
        cli_print_err(cli, &err);
    } else if (resp.status >= 400) {
        cleanup_free char *msg = client_resp_error_message(&resp);
        fprintf(cli->err, "Error response from daemon: %s\n", msg);
    } else {
        client_json_lines_finish(&jl);
        if (p->error) {
            fprintf(cli->err, "%s\n", p->error);
            rc = p->error_code > 0 && p->error_code < 256 ? (int)p->error_code : 1;
        } else {
            rc = 0;
        }
    }
    client_json_lines_free(&jl);
    client_resp_free(&resp);
    return rc;
}

/* POST path with the X-Registry-Auth header and show the progress. */
static int registry_stream(cli_t *cli, const char *path, const char *auth_header, bool quiet,
                           progress_t *p)
{
    cleanup_free char *hdr = xasprintf("X-Registry-Auth: %s", auth_header);
    const char *headers[] = {hdr, NULL};
    client_req_t req;
    client_req_init(&req, "POST", path);
    req.headers = headers;
    return stream_progress(cli, &req, quiet, p);
}

/* Registry auth header for a reference from the stored logins. */
static char *auth_header_for(cli_t *cli, const char *ref)
{
    cleanup_free char *server = cli_registry_of_ref(ref);
    cleanup_free char *path = cli_config_path(cli->config_dir);
    char *user = NULL, *pass = NULL;
    if (cli_config_get_auth(path, server, &user, &pass) < 0)
        return client_registry_auth_header(NULL, NULL, NULL);
    char *h = client_registry_auth_header(user, pass, server);
    free(user);
    free(pass);
    return h;
}

/* "busybox" -> "docker.io/library/busybox"; others unchanged. */
static char *normalize_name(const char *name)
{
    const char *slash = strchr(name, '/');
    if (slash)
        return cli_ref_has_host(name, (size_t)(slash - name)) ? xstrdup(name)
                                                              : xasprintf("docker.io/%s", name);
    return xasprintf("docker.io/library/%s", name);
}

int cli_cmd_pull(cli_t *cli, int argc, char **argv)
{
    bool quiet = false, all_tags = false;
    const char *platform = NULL;
    cli_flag_t flags[] = {
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        {'a', "all-tags", CLI_FLAG_BOOL, &all_tags, false},
        {0, "platform", CLI_FLAG_STRING, &platform, false},
        {0, "disable-content-trust", CLI_FLAG_BOOL, &(bool){false}, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "pull", "[OPTIONS] NAME[:TAG|@DIGEST]", flags, argc, argv, true, &npos,
                   &pos, &rc))
        return rc;
    if (npos != 1) {
        rc = cli_args_error(cli, "pull", "exactly 1 argument");
        free(pos);
        return rc;
    }
    char *name, *tag;
    bool digest;
    cli_split_ref(pos[0], &name, &tag, &digest);
    free(pos);
    if (!tag && !all_tags) {
        tag = xstrdup("latest");
        if (!quiet)
            fprintf(cli->out, "Using default tag: latest\n");
    }
    cleanup_free char *full = normalize_name(name);
    cleanup_free char *efull = client_urlencode(full);
    cleanup_free char *etag = client_urlencode(tag ? tag : "");
    cleanup_free char *eplat = platform ? client_urlencode(platform) : NULL;
    cleanup_free char *path =
        xasprintf("/images/create?fromImage=%s%s%s%s%s", efull, tag ? "&tag=" : "", tag ? etag : "",
                  eplat ? "&platform=" : "", eplat ? eplat : "");
    cleanup_free char *auth = auth_header_for(cli, full);
    progress_t p = {0};
    rc = registry_stream(cli, path, auth, quiet, &p);
    if (rc == 0 && quiet)
        fprintf(cli->out, "%s%s%s\n", full, tag ? (digest ? "@" : ":") : "", tag ? tag : "");
    progress_free(&p);
    free(name);
    free(tag);
    return rc;
}

int cli_cmd_push(cli_t *cli, int argc, char **argv)
{
    bool quiet = false, all_tags = false;
    cli_flag_t flags[] = {
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        {'a', "all-tags", CLI_FLAG_BOOL, &all_tags, false},
        {0, "disable-content-trust", CLI_FLAG_BOOL, &(bool){false}, false},
        {0, "platform", CLI_FLAG_STRING, &(const char *){NULL}, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "push", "[OPTIONS] NAME[:TAG]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos != 1) {
        rc = cli_args_error(cli, "push", "exactly 1 argument");
        free(pos);
        return rc;
    }
    char *name, *tag;
    bool digest;
    cli_split_ref(pos[0], &name, &tag, &digest);
    free(pos);
    if (!tag && !all_tags) {
        tag = xstrdup("latest");
        if (!quiet)
            fprintf(cli->out, "Using default tag: latest\n");
    }
    cleanup_free char *etag = client_urlencode(tag ? tag : "");
    cleanup_free char *path =
        xasprintf("/images/%s/push%s%s", name, tag ? "?tag=" : "", tag ? etag : "");
    cleanup_free char *full = normalize_name(name);
    cleanup_free char *auth = auth_header_for(cli, full);
    progress_t p = {0};
    rc = registry_stream(cli, path, auth, quiet, &p);
    if (rc == 0 && quiet)
        fprintf(cli->out, "%s%s%s\n", name, tag ? ":" : "", tag ? tag : "");
    progress_free(&p);
    free(name);
    free(tag);
    return rc;
}

/* Read a line from the terminal, optionally without echo. */
static char *prompt_line(cli_t *cli, const char *prompt, bool secret)
{
    fprintf(cli->out, "%s", prompt);
    fflush(cli->out);
    struct termios old, raw;
    bool restore = false;
    if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
        raw = old;
        raw.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    char buf[1024];
    char *r = fgets(buf, sizeof(buf), stdin);
    if (restore) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(cli->out, "\n");
    }
    if (!r)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return xstrdup(buf);
}

int cli_cmd_login(cli_t *cli, int argc, char **argv)
{
    const char *user = NULL, *pass = NULL;
    bool pass_stdin = false;
    cli_flag_t flags[] = {
        {'u', "username", CLI_FLAG_STRING, &user, false},
        {'p', "password", CLI_FLAG_STRING, &pass, false},
        {0, "password-stdin", CLI_FLAG_BOOL, &pass_stdin, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "login", "[OPTIONS] [SERVER]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos > 1) {
        rc = cli_args_error(cli, "login", "at most 1 argument");
        free(pos);
        return rc;
    }
    const char *server_arg = npos == 1 ? pos[0] : NULL;
    char *server =
        !server_arg || !strcmp(server_arg, "docker.io") || !strcmp(server_arg, "index.docker.io")
            ? xstrdup("https://index.docker.io/v1/")
            : xstrdup(server_arg);
    free(pos);
    cleanup_free char *user_owned = NULL, *pass_owned = NULL, *cfg = NULL;
    berth_err_t err = {0};
    rc = 1;
    if (pass && pass_stdin) {
        fprintf(cli->err, "--password and --password-stdin are mutually exclusive\n");
        goto out;
    }
    if (pass_stdin) {
        if (!user) {
            fprintf(cli->err, "Must provide --username with --password-stdin\n");
            goto out;
        }
        berth_buf_t b;
        buf_init(&b);
        char tmp[1024];
        ssize_t n;
        while ((n = read(STDIN_FILENO, tmp, sizeof(tmp))) > 0)
            buf_append(&b, tmp, (size_t)n);
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            b.data[--b.len] = '\0';
        pass_owned = b.data ? buf_steal(&b) : xstrdup("");
        pass = pass_owned;
    } else if (pass) {
        fprintf(cli->err, "WARNING! Using --password via the CLI is insecure. Use "
                          "--password-stdin.\n");
    }
    if (!user || !pass) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(cli->err, "Error: Cannot perform an interactive login from a non TTY device\n");
            goto out;
        }
        if (!user) {
            user_owned = prompt_line(cli, "Username: ", false);
            user = user_owned;
        }
        if (!pass) {
            pass_owned = prompt_line(cli, "Password: ", true);
            pass = pass_owned;
        }
        if (!user || !*user) {
            fprintf(cli->err, "Error: Non-null Username Required\n");
            goto out;
        }
        if (!pass || !*pass) {
            fprintf(cli->err, "Error: Password Required\n");
            goto out;
        }
    }
    client_t *c = cli_client(cli, &err);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "username", user);
    cJSON_AddStringToObject(body, "password", pass);
    cJSON_AddStringToObject(body, "serveraddress", server);
    cJSON *res = NULL;
    int r = c ? client_json(c, "POST", "/auth", body, &res, NULL, &err) : -1;
    cJSON_Delete(body);
    if (r < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    cJSON_Delete(res);
    cfg = cli_config_path(cli->config_dir);
    int wr = cli_config_set_auth(cfg, server, user, pass);
    if (wr < 0) {
        fprintf(cli->err, "Error saving credentials: %s: %s\n", cfg, strerror(-wr));
        goto out;
    }
    fprintf(cli->out, "Login Succeeded\n");
    rc = 0;
out:
    free(server);
    return rc;
}

int cli_cmd_logout(cli_t *cli, int argc, char **argv)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "logout", "[SERVER]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos > 1) {
        rc = cli_args_error(cli, "logout", "at most 1 argument");
        free(pos);
        return rc;
    }
    cleanup_free char *server = npos == 0 || !strcmp(pos[0], "docker.io")
                                    ? xstrdup("https://index.docker.io/v1/")
                                    : xstrdup(pos[0]);
    free(pos);
    cleanup_free char *cfg = cli_config_path(cli->config_dir);
    int r = cli_config_set_auth(cfg, server, NULL, NULL);
    if (r == -ENOENT) {
        fprintf(cli->out, "Not logged in to %s\n", server);
        return 0;
    }
    fprintf(cli->out, "Removing login credentials for %s\n", server);
    if (r < 0) {
        fprintf(cli->err, "WARNING: could not erase credentials: %s: %s\n", cfg, strerror(-r));
        return 1;
    }
    return 0;
}

int cli_pull_image(cli_t *cli, const char *ref, const char *platform, FILE *out)
{
    char *name, *tag;
    bool digest;
    cli_split_ref(ref, &name, &tag, &digest);
    cleanup_free char *full = normalize_name(name);
    cleanup_free char *efull = client_urlencode(full);
    cleanup_free char *etag = client_urlencode(tag ? tag : "latest");
    cleanup_free char *eplat = platform ? client_urlencode(platform) : NULL;
    cleanup_free char *path = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", efull, etag,
                                        eplat ? "&platform=" : "", eplat ? eplat : "");
    cleanup_free char *auth = auth_header_for(cli, full);
    progress_t p = {.out = out};
    int rc = registry_stream(cli, path, auth, false, &p);
    progress_free(&p);
    free(name);
    free(tag);
    return rc;
}
