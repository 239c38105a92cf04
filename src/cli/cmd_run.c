/* Container commands that attach to a process: run, create, start, attach,
 * exec. The request order follows the docker CLI: create, attach (hijack),
 * wait (headers in before start), start, resize. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "cli/internal.h"

typedef struct run_opts {
    bool detach, interactive, tty, rm, read_only, init, privileged, sig_proxy;
    const char *name, *workdir, *user, *entrypoint, *memory, *cpus, *restart, *network;
    const char *detach_keys, *hostname, *platform, *stop_signal;
    long pids_limit;
    bool pids_set;
    cli_strv_t env, env_file, volumes, tmpfs, cap_add, cap_drop, security_opt, labels;
} run_opts_t;

static void run_opts_free(run_opts_t *o)
{
    cli_strv_free(&o->env);
    cli_strv_free(&o->env_file);
    cli_strv_free(&o->volumes);
    cli_strv_free(&o->tmpfs);
    cli_strv_free(&o->cap_add);
    cli_strv_free(&o->cap_drop);
    cli_strv_free(&o->security_opt);
    cli_strv_free(&o->labels);
}

static cJSON *strv_array(const cli_strv_t *sv)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < sv->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
    return a;
}

/* "-e K" takes K from our environment (skipped when unset), like docker. */
static void add_env(cJSON *env, const char *kv)
{
    if (strchr(kv, '=')) {
        cJSON_AddItemToArray(env, cJSON_CreateString(kv));
        return;
    }
    const char *v = getenv(kv);
    if (v) {
        cleanup_free char *s = xasprintf("%s=%s", kv, v);
        cJSON_AddItemToArray(env, cJSON_CreateString(s));
    }
}

/* Build the POST /containers/create body. On a bad option: NULL with err. */
static cJSON *build_create_body(run_opts_t *o, const char *image, int nargs, char **args,
                                berth_err_t *err)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "Hostname", o->hostname ? o->hostname : "");
    cJSON_AddStringToObject(b, "User", o->user ? o->user : "");
    bool attach = !o->detach;
    cJSON_AddBoolToObject(b, "AttachStdin", attach && o->interactive);
    cJSON_AddBoolToObject(b, "AttachStdout", attach);
    cJSON_AddBoolToObject(b, "AttachStderr", attach);
    cJSON_AddBoolToObject(b, "Tty", o->tty);
    cJSON_AddBoolToObject(b, "OpenStdin", o->interactive);
    cJSON_AddBoolToObject(b, "StdinOnce", attach && o->interactive);
    cJSON *env = cJSON_AddArrayToObject(b, "Env");
    for (size_t i = 0; i < o->env_file.n; i++) {
        char *data = NULL;
        size_t len = 0;
        int r = fs_read_file(o->env_file.v[i], 1 << 20, &data, &len);
        if (r < 0) {
            cJSON_Delete(b);
            berth_err_set(err, 0, "open %s: %s", o->env_file.v[i], strerror(-r));
            return NULL;
        }
        for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
            line[strcspn(line, "\r")] = '\0';
            while (*line == ' ' || *line == '\t')
                line++;
            if (*line && *line != '#')
                add_env(env, line);
        }
        free(data);
    }
    for (size_t i = 0; i < o->env.n; i++)
        add_env(env, o->env.v[i]);
    if (nargs > 0) {
        cJSON *cmd = cJSON_AddArrayToObject(b, "Cmd");
        for (int i = 0; i < nargs; i++)
            cJSON_AddItemToArray(cmd, cJSON_CreateString(args[i]));
    } else {
        cJSON_AddNullToObject(b, "Cmd");
    }
    cJSON_AddStringToObject(b, "Image", image);
    cJSON_AddStringToObject(b, "WorkingDir", o->workdir ? o->workdir : "");
    if (o->entrypoint) {
        cJSON *ep = cJSON_AddArrayToObject(b, "Entrypoint");
        cJSON_AddItemToArray(ep, cJSON_CreateString(o->entrypoint));
    } else {
        cJSON_AddNullToObject(b, "Entrypoint");
    }
    cJSON *labels = cJSON_AddObjectToObject(b, "Labels");
    for (size_t i = 0; i < o->labels.n; i++) {
        const char *eq = strchr(o->labels.v[i], '=');
        cleanup_free char *k =
            eq ? xstrndup(o->labels.v[i], (size_t)(eq - o->labels.v[i])) : xstrdup(o->labels.v[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(labels, k);
        cJSON_AddStringToObject(labels, k, eq ? eq + 1 : "");
    }
    if (o->stop_signal)
        cJSON_AddStringToObject(b, "StopSignal", o->stop_signal);

    cJSON *hc = cJSON_AddObjectToObject(b, "HostConfig");
    cJSON_AddItemToObject(hc, "Binds", strv_array(&o->volumes));
    cJSON_AddBoolToObject(hc, "AutoRemove", o->rm);
    cJSON_AddBoolToObject(hc, "ReadonlyRootfs", o->read_only);
    cJSON_AddBoolToObject(hc, "Privileged", o->privileged);
    if (o->init)
        cJSON_AddBoolToObject(hc, "Init", true);
    cJSON_AddStringToObject(hc, "NetworkMode", o->network ? o->network : "default");
    cJSON_AddItemToObject(hc, "CapAdd", strv_array(&o->cap_add));
    cJSON_AddItemToObject(hc, "CapDrop", strv_array(&o->cap_drop));
    cJSON_AddItemToObject(hc, "SecurityOpt", strv_array(&o->security_opt));
    cJSON *tmpfs = cJSON_AddObjectToObject(hc, "Tmpfs");
    for (size_t i = 0; i < o->tmpfs.n; i++) {
        const char *colon = strchr(o->tmpfs.v[i], ':');
        cleanup_free char *p = colon ? xstrndup(o->tmpfs.v[i], (size_t)(colon - o->tmpfs.v[i]))
                                     : xstrdup(o->tmpfs.v[i]);
        cJSON_AddStringToObject(tmpfs, p, colon ? colon + 1 : "");
    }
    if (o->memory) {
        int64_t m = cli_parse_bytes(o->memory);
        if (m < 0) {
            cJSON_Delete(b);
            berth_err_set(err, 0, "invalid argument \"%s\" for \"-m, --memory\" flag: invalid size",
                          o->memory);
            return NULL;
        }
        cJSON_AddNumberToObject(hc, "Memory", (double)m);
    }
    if (o->cpus) {
        char *end = NULL;
        double c = strtod(o->cpus, &end);
        if (!*o->cpus || *end || c < 0 || !isfinite(c)) {
            cJSON_Delete(b);
            berth_err_set(err, 0, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse",
                          o->cpus);
            return NULL;
        }
        cJSON_AddNumberToObject(hc, "NanoCpus", floor(c * 1e9 + 0.5));
    }
    if (o->pids_set)
        cJSON_AddNumberToObject(hc, "PidsLimit", (double)o->pids_limit);
    cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
    const char *restart = o->restart ? o->restart : "no";
    const char *colon = strchr(restart, ':');
    cleanup_free char *rname =
        colon ? xstrndup(restart, (size_t)(colon - restart)) : xstrdup(restart);
    long retries = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (strcmp(rname, "no") && strcmp(rname, "always") && strcmp(rname, "unless-stopped") &&
        strcmp(rname, "on-failure")) {
        cJSON_Delete(b);
        berth_err_set(err, 0, "invalid restart policy '%s'", restart);
        return NULL;
    }
    if (o->rm && strcmp(rname, "no")) {
        cJSON_Delete(b);
        berth_err_set(err, 0, "Conflicting options: --restart and --rm");
        return NULL;
    }
    cJSON_AddStringToObject(rp, "Name", rname);
    cJSON_AddNumberToObject(rp, "MaximumRetryCount", (double)retries);
    int h, w;
    if (o->tty && cli_term_size(&h, &w)) {
        cJSON *cs = cJSON_AddArrayToObject(hc, "ConsoleSize");
        cJSON_AddItemToArray(cs, cJSON_CreateNumber(h));
        cJSON_AddItemToArray(cs, cJSON_CreateNumber(w));
    }
    cJSON *nc = cJSON_AddObjectToObject(b, "NetworkingConfig");
    cJSON_AddObjectToObject(nc, "EndpointsConfig");
    return b;
}

static void print_warnings(cli_t *cli, const cJSON *res)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(res, "Warnings"))
    {
        if (cJSON_IsString(w))
            fprintf(cli->err, "WARNING: %s\n", w->valuestring);
    }
}

/* Create the container, pulling the image once when it is missing. Returns
 * the new ID (caller frees) or NULL after printing the error. */
static char *create_container(cli_t *cli, run_opts_t *o, const char *image, int nargs, char **args)
{
    berth_err_t err = {0};
    cJSON *body = build_create_body(o, image, nargs, args, &err);
    if (!body) {
        fprintf(cli->err, "%s\nSee 'berth run --help'.\n", err.msg);
        return NULL;
    }
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cJSON_Delete(body);
        cli_print_err(cli, &err);
        return NULL;
    }
    berth_buf_t path;
    buf_init(&path);
    buf_puts(&path, "/containers/create");
    char sep = '?';
    if (o->name) {
        cleanup_free char *e = client_urlencode(o->name);
        buf_printf(&path, "%cname=%s", sep, e);
        sep = '&';
    }
    if (o->platform) {
        cleanup_free char *e = client_urlencode(o->platform);
        buf_printf(&path, "%cplatform=%s", sep, e);
    }
    cJSON *res = NULL;
    int status = 0;
    int r = client_json(c, "POST", path.data, body, &res, &status, &err);
    if (r < 0 && status == 404 && strstr(err.msg, "No such image")) {
        char *name, *tag;
        bool at;
        cli_split_ref(image, &name, &tag, &at);
        cleanup_free char *shown = tag ? xstrdup(image) : xasprintf("%s:latest", image);
        free(name);
        free(tag);
        fprintf(cli->err, "Unable to find image '%s' locally\n", shown);
        fflush(cli->err);
        if (cli_pull_image(cli, image, o->platform, cli->err) != 0) {
            cJSON_Delete(body);
            buf_free(&path);
            return NULL;
        }
        berth_err_clear(&err);
        r = client_json(c, "POST", path.data, body, &res, &status, &err);
    }
    cJSON_Delete(body);
    buf_free(&path);
    if (r < 0) {
        cli_print_err(cli, &err);
        return NULL;
    }
    print_warnings(cli, res);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "Id");
    char *out = cJSON_IsString(id) ? xstrdup(id->valuestring) : NULL;
    if (!out)
        fprintf(cli->err, "Error response from daemon: no container ID in the create response\n");
    cJSON_Delete(res);
    return out;
}

/* docker's exit codes for a failed start: 127 not found, 126 not runnable. */
static int start_error_code(const char *msg)
{
    if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
        strstr(msg, "No such file or directory"))
        return 127;
    if (strstr(msg, "permission denied") || strstr(msg, "Permission denied"))
        return 126;
    return 125;
}

/* Open the attach hijack for id. */
static int attach_container(cli_t *cli, const char *id, bool in, const char *detach_keys, bool logs,
                            cli_io_t *io, berth_err_t *err)
{
    client_t *c = cli_client(cli, err);
    if (!c)
        return -1;
    cleanup_free char *dk = detach_keys ? client_urlencode(detach_keys) : NULL;
    cleanup_free char *path = xasprintf(
        "/containers/%s/attach?%s%s%s%sstderr=1&stdin=%d&stdout=1&stream=1", id,
        dk ? "detachKeys=" : "", dk ? dk : "", dk ? "&" : "", logs ? "logs=1&" : "", in ? 1 : 0);
    client_req_t req;
    client_req_init(&req, "POST", path);
    buf_init(&io->early);
    return client_hijack(c, &req, &io->conn, &io->early, err);
}

/* Open POST /containers/{id}/wait before the start. */
static client_stream_t *wait_open(cli_t *cli, const char *id, const char *condition,
                                  client_resp_t *resp, berth_err_t *err)
{
    client_t *c = cli_client(cli, err);
    if (!c)
        return NULL;
    cleanup_free char *path = xasprintf("/containers/%s/wait?condition=%s", id, condition);
    client_req_t req;
    client_req_init(&req, "POST", path);
    client_stream_t *s = NULL;
    if (client_stream_open(c, &req, &s, resp, err) < 0)
        return NULL;
    if (resp->status >= 400) {
        cleanup_free char *msg = client_resp_error_message(resp);
        berth_err_set(err, resp->status, "%s", msg);
        client_stream_close(s);
        return NULL;
    }
    return s;
}

/* Finish the wait: the container's exit code, or 125 on errors. Signals
 * that arrive meanwhile are still forwarded. */
static int wait_finish(cli_t *cli, const cli_io_t *io, client_stream_t *s, client_resp_t *resp)
{
    berth_err_t err = {0};
    int code = 125;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = client_stream_fd(s), .events = POLLIN},
                                {.fd = io->sigfd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN)
            cli_io_signals(cli, io);
        if (pfd[0].revents)
            break;
    }
    if (client_stream_finish(s, &err) < 0) {
        cli_print_err(cli, &err);
    } else {
        cJSON *j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "Error");
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(e, "Message");
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
        if (cJSON_IsString(em) && *em->valuestring)
            fprintf(cli->err, "Error response from daemon: %s\n", em->valuestring);
        else if (cJSON_IsNumber(sc))
            code = (int)sc->valuedouble;
        cJSON_Delete(j);
    }
    client_stream_close(s);
    client_resp_free(resp);
    return code;
}

static int post_simple(cli_t *cli, const char *path, berth_err_t *err)
{
    client_t *c = cli_client(cli, err);
    if (!c)
        return -1;
    return client_json(c, "POST", path, NULL, NULL, NULL, err);
}

#define RUN_FLAGS(o)                                                                               \
    {'d', "detach", CLI_FLAG_BOOL, &(o).detach, false},                                            \
        {'i', "interactive", CLI_FLAG_BOOL, &(o).interactive, false},                              \
        {'t', "tty", CLI_FLAG_BOOL, &(o).tty, false}, {0, "rm", CLI_FLAG_BOOL, &(o).rm, false},    \
        {0, "name", CLI_FLAG_STRING, &(o).name, false},                                            \
        {'e', "env", CLI_FLAG_LIST, &(o).env, false},                                              \
        {0, "env-file", CLI_FLAG_LIST, &(o).env_file, false},                                      \
        {'v', "volume", CLI_FLAG_LIST, &(o).volumes, false},                                       \
        {0, "tmpfs", CLI_FLAG_LIST, &(o).tmpfs, false},                                            \
        {'w', "workdir", CLI_FLAG_STRING, &(o).workdir, false},                                    \
        {'u', "user", CLI_FLAG_STRING, &(o).user, false},                                          \
        {0, "entrypoint", CLI_FLAG_STRING, &(o).entrypoint, false},                                \
        {'m', "memory", CLI_FLAG_STRING, &(o).memory, false},                                      \
        {0, "cpus", CLI_FLAG_STRING, &(o).cpus, false},                                            \
        {0, "pids-limit", CLI_FLAG_INT, &(o).pids_limit, false},                                   \
        {0, "cap-add", CLI_FLAG_LIST, &(o).cap_add, false},                                        \
        {0, "cap-drop", CLI_FLAG_LIST, &(o).cap_drop, false},                                      \
        {0, "security-opt", CLI_FLAG_LIST, &(o).security_opt, false},                              \
        {0, "read-only", CLI_FLAG_BOOL, &(o).read_only, false},                                    \
        {0, "restart", CLI_FLAG_STRING, &(o).restart, false},                                      \
        {0, "network", CLI_FLAG_STRING, &(o).network, false},                                      \
        {0, "net", CLI_FLAG_STRING, &(o).network, false},                                          \
        {0, "init", CLI_FLAG_BOOL, &(o).init, false},                                              \
        {0, "privileged", CLI_FLAG_BOOL, &(o).privileged, false},                                  \
        {0, "detach-keys", CLI_FLAG_STRING, &(o).detach_keys, false},                              \
        {'l', "label", CLI_FLAG_LIST, &(o).labels, false},                                         \
        {'h', "hostname", CLI_FLAG_STRING, &(o).hostname, false},                                  \
        {0, "platform", CLI_FLAG_STRING, &(o).platform, false},                                    \
        {0, "stop-signal", CLI_FLAG_STRING, &(o).stop_signal, false},                              \
        {0, "sig-proxy", CLI_FLAG_BOOL, &(o).sig_proxy, false}, CLI_FLAGS_END

static int pids_flag_index(const cli_flag_t *flags)
{
    for (int i = 0; flags[i].ptr; i++)
        if (flags[i].longname && !strcmp(flags[i].longname, "pids-limit"))
            return i;
    return -1;
}

static int run_or_create(cli_t *cli, int argc, char **argv, bool run)
{
    run_opts_t o = {.sig_proxy = true};
    cli_flag_t flags[] = {RUN_FLAGS(o)};
    int npos, rc = 125;
    char **pos = NULL;
    const char *cmd = run ? "run" : "create";
    if (!cli_parse(cli, cmd, "[OPTIONS] IMAGE [COMMAND] [ARG...]", flags, argc, argv, false, &npos,
                   &pos, &rc)) {
        run_opts_free(&o);
        return rc;
    }
    o.pids_set = flags[pids_flag_index(flags)].set;
    /* All cleanup variables up here: the gotos below must not skip one. */
    cleanup_free char *id = NULL, *start_path = NULL, *resize_path = NULL, *kill_path = NULL;
    client_stream_t *ws = NULL;
    client_resp_t wresp = {0};
    cli_io_t io = {.conn = -1, .sigfd = -1};
    sigset_t oldmask;
    bool sig_blocked = false;
    berth_err_t err = {0};
    if (npos < 1) {
        rc = cli_args_error(cli, cmd, "at least 1 argument");
        goto out;
    }
    if (!run)
        o.detach = true; /* create never attaches */
    if (o.detach_keys) {
        unsigned char k[16];
        if (cli_parse_detach_keys(o.detach_keys, k, sizeof(k)) < 0) {
            fprintf(cli->err, "Invalid detach keys (%s) provided\n", o.detach_keys);
            goto out;
        }
    }
    if (run && !o.detach && o.tty && o.interactive && !isatty(STDIN_FILENO)) {
        fprintf(cli->err, "the input device is not a TTY\n");
        rc = 1;
        goto out;
    }
    id = create_container(cli, &o, pos[0], npos - 1, pos + 1);
    if (!id)
        goto out;
    if (!run) {
        fprintf(cli->out, "%s\n", id);
        rc = 0;
        goto out;
    }
    if (!o.detach) {
        io.sigfd = cli_signals_block(&oldmask);
        sig_blocked = true;
        if (attach_container(cli, id, o.interactive, o.detach_keys, false, &io, &err) < 0) {
            cli_print_err(cli, &err);
            goto out;
        }
        ws = wait_open(cli, id, o.rm ? "removed" : "next-exit", &wresp, &err);
        if (!ws) {
            cli_print_err(cli, &err);
            goto out;
        }
    }
    start_path = xasprintf("/containers/%s/start", id);
    if (post_simple(cli, start_path, &err) < 0) {
        cli_print_err(cli, &err);
        rc = start_error_code(err.msg);
        if (o.rm) {
            /* The daemon removes an autoremove container whose start failed;
             * make sure, so nothing is left behind. */
            cleanup_free char *rm = xasprintf("/containers/%s?force=1", id);
            berth_err_t e2 = {0};
            client_json(cli_client(cli, &e2), "DELETE", rm, NULL, NULL, NULL, &e2);
        }
        goto out;
    }
    if (o.detach) {
        fprintf(cli->out, "%s\n", id);
        rc = 0;
        goto out;
    }
    io.tty = o.tty;
    io.send_stdin = o.interactive;
    io.sig_proxy = o.sig_proxy && !o.tty;
    io.detach_keys = o.detach_keys;
    resize_path = xasprintf("/containers/%s/resize", id);
    kill_path = xasprintf("/containers/%s/kill", id);
    io.resize_path = resize_path;
    io.kill_path = kill_path;
    if (o.tty && o.interactive)
        cli_term_raw();
    int pr = cli_io_pump(cli, &io);
    cli_term_restore();
    if (pr == 1) {
        rc = 0; /* detached: the container keeps running */
        goto out;
    }
    rc = wait_finish(cli, &io, ws, &wresp);
    ws = NULL;
out:
    if (ws) {
        client_stream_close(ws);
        client_resp_free(&wresp);
    }
    if (io.conn >= 0)
        close(io.conn);
    if (sig_blocked)
        cli_signals_restore(io.sigfd, &oldmask);
    buf_free(&io.early);
    free(pos);
    run_opts_free(&o);
    return rc;
}

int cli_cmd_run(cli_t *cli, int argc, char **argv)
{
    return run_or_create(cli, argc, argv, true);
}

int cli_cmd_create(cli_t *cli, int argc, char **argv)
{
    return run_or_create(cli, argc, argv, false);
}

/* Inspect a container for Id and Config.Tty / State. */
static cJSON *inspect_container(cli_t *cli, const char *name, berth_err_t *err)
{
    client_t *c = cli_client(cli, err);
    if (!c)
        return NULL;
    cleanup_free char *path = xasprintf("/containers/%s/json", name);
    cJSON *j = NULL;
    if (client_json(c, "GET", path, NULL, &j, NULL, err) < 0)
        return NULL;
    return j;
}

static bool jbool(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, b));
}

/* Attach to a container (started or about to be) and stream until it ends.
 * start: also start it after the attach. */
static int attach_and_stream(cli_t *cli, const char *name, bool in, bool start,
                             const char *detach_keys, bool sig_proxy)
{
    berth_err_t err = {0};
    cJSON *info = inspect_container(cli, name, &err);
    if (!info) {
        cli_print_err(cli, &err);
        return 1;
    }
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(info, "Id");
    cleanup_free char *id = xstrdup(cJSON_IsString(idj) ? idj->valuestring : name);
    bool tty = jbool(info, "Config", "Tty");
    bool open_stdin = jbool(info, "Config", "OpenStdin");
    bool running = jbool(info, "State", "Running");
    bool paused = jbool(info, "State", "Paused");
    cJSON_Delete(info);
    if (!start && !running) {
        fprintf(cli->err, "You cannot attach to a stopped container, start it first\n");
        return 1;
    }
    if (!start && paused) {
        fprintf(cli->err, "You cannot attach to a paused container, unpause it first\n");
        return 1;
    }
    in = in && open_stdin;
    cleanup_free char *resize_path = xasprintf("/containers/%s/resize", id);
    cleanup_free char *kill_path = xasprintf("/containers/%s/kill", id);
    cli_io_t io = {.conn = -1, .sigfd = -1};
    int rc = 1;
    client_stream_t *ws = NULL;
    client_resp_t wresp = {0};
    sigset_t oldmask;
    io.sigfd = cli_signals_block(&oldmask);
    if (attach_container(cli, id, in, detach_keys, false, &io, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    ws = wait_open(cli, id, "next-exit", &wresp, &err);
    if (!ws) {
        cli_print_err(cli, &err);
        goto out;
    }
    if (start) {
        cleanup_free char *sp = xasprintf("/containers/%s/start", id);
        if (post_simple(cli, sp, &err) < 0) {
            cli_print_err(cli, &err);
            goto out;
        }
    }
    io.tty = tty;
    io.send_stdin = in;
    io.sig_proxy = sig_proxy && !tty;
    io.detach_keys = detach_keys;
    io.resize_path = resize_path;
    io.kill_path = kill_path;
    if (tty && in)
        cli_term_raw();
    int pr = cli_io_pump(cli, &io);
    cli_term_restore();
    if (pr == 1) {
        rc = 0;
        goto out;
    }
    rc = wait_finish(cli, &io, ws, &wresp);
    ws = NULL;
out:
    if (ws) {
        client_stream_close(ws);
        client_resp_free(&wresp);
    }
    if (io.conn >= 0)
        close(io.conn);
    cli_signals_restore(io.sigfd, &oldmask);
    buf_free(&io.early);
    return rc;
}

int cli_cmd_start(cli_t *cli, int argc, char **argv)
{
    bool attach = false, interactive = false;
    const char *detach_keys = NULL;
    cli_flag_t flags[] = {
        {'a', "attach", CLI_FLAG_BOOL, &attach, false},
        {'i', "interactive", CLI_FLAG_BOOL, &interactive, false},
        {0, "detach-keys", CLI_FLAG_STRING, &detach_keys, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "start", "[OPTIONS] CONTAINER [CONTAINER...]", flags, argc, argv, true,
                   &npos, &pos, &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "start", "at least 1 argument");
        goto out;
    }
    if (attach || interactive) {
        if (npos > 1) {
            fprintf(cli->err, "you cannot start and attach multiple containers at once\n");
            goto out;
        }
        rc = attach_and_stream(cli, pos[0], interactive, true, detach_keys, true);
        goto out;
    }
    rc = 0;
    for (int i = 0; i < npos; i++) {
        berth_err_t err = {0};
        cleanup_free char *path = xasprintf("/containers/%s/start", pos[i]);
        if (post_simple(cli, path, &err) < 0) {
            cli_print_err(cli, &err);
            rc = 1;
            continue;
        }
        fprintf(cli->out, "%s\n", pos[i]);
    }
out:
    free(pos);
    return rc;
}

int cli_cmd_attach(cli_t *cli, int argc, char **argv)
{
    bool no_stdin = false, sig_proxy = true;
    const char *detach_keys = NULL;
    cli_flag_t flags[] = {
        {0, "no-stdin", CLI_FLAG_BOOL, &no_stdin, false},
        {0, "sig-proxy", CLI_FLAG_BOOL, &sig_proxy, false},
        {0, "detach-keys", CLI_FLAG_STRING, &detach_keys, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "attach", "[OPTIONS] CONTAINER", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos != 1)
        rc = cli_args_error(cli, "attach", "exactly 1 argument");
    else
        rc = attach_and_stream(cli, pos[0], !no_stdin, false, detach_keys, sig_proxy);
    free(pos);
    return rc;
}

int cli_cmd_exec(cli_t *cli, int argc, char **argv)
{
    bool detach = false, interactive = false, tty = false, privileged = false;
    const char *user = NULL, *workdir = NULL, *detach_keys = NULL;
    cli_strv_t env = {0};
    cli_flag_t flags[] = {
        {'d', "detach", CLI_FLAG_BOOL, &detach, false},
        {'i', "interactive", CLI_FLAG_BOOL, &interactive, false},
        {'t', "tty", CLI_FLAG_BOOL, &tty, false},
        {0, "privileged", CLI_FLAG_BOOL, &privileged, false},
        {'u', "user", CLI_FLAG_STRING, &user, false},
        {'w', "workdir", CLI_FLAG_STRING, &workdir, false},
        {'e', "env", CLI_FLAG_LIST, &env, false},
        {0, "detach-keys", CLI_FLAG_STRING, &detach_keys, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", flags, argc, argv, false,
                   &npos, &pos, &rc)) {
        cli_strv_free(&env);
        return rc;
    }
    cleanup_free char *exec_id = NULL, *create_path = NULL, *start_path = NULL, *resize_path = NULL,
                      *inspect_path = NULL, *sbody = NULL;
    cli_io_t io = {.conn = -1, .sigfd = -1};
    berth_err_t err = {0};
    rc = 126;
    if (npos < 2) {
        rc = cli_args_error(cli, "exec", "at least 2 arguments");
        goto out;
    }
    if (tty && interactive && !detach && !isatty(STDIN_FILENO)) {
        fprintf(cli->err, "the input device is not a TTY\n");
        rc = 1;
        goto out;
    }
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        goto out;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "User", user ? user : "");
    cJSON_AddBoolToObject(body, "Privileged", privileged);
    cJSON_AddBoolToObject(body, "Tty", tty);
    cJSON_AddBoolToObject(body, "AttachStdin", interactive && !detach);
    cJSON_AddBoolToObject(body, "AttachStdout", !detach);
    cJSON_AddBoolToObject(body, "AttachStderr", !detach);
    cJSON_AddBoolToObject(body, "Detach", detach);
    if (detach_keys)
        cJSON_AddStringToObject(body, "DetachKeys", detach_keys);
    cJSON *ev = cJSON_AddArrayToObject(body, "Env");
    for (size_t i = 0; i < env.n; i++)
        add_env(ev, env.v[i]);
    cJSON_AddStringToObject(body, "WorkingDir", workdir ? workdir : "");
    cJSON *cmd = cJSON_AddArrayToObject(body, "Cmd");
    for (int i = 1; i < npos; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(pos[i]));
    int h, w;
    if (tty && cli_term_size(&h, &w)) {
        cJSON *cs = cJSON_AddArrayToObject(body, "ConsoleSize");
        cJSON_AddItemToArray(cs, cJSON_CreateNumber(h));
        cJSON_AddItemToArray(cs, cJSON_CreateNumber(w));
    }
    create_path = xasprintf("/containers/%s/exec", pos[0]);
    cJSON *res = NULL;
    int r = client_json(c, "POST", create_path, body, &res, NULL, &err);
    cJSON_Delete(body);
    if (r < 0) {
        cli_print_err(cli, &err);
        rc = err.status == 404 || err.status == 409 ? 1 : 126;
        goto out;
    }
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(res, "Id");
    exec_id = xstrdup(cJSON_IsString(idj) ? idj->valuestring : "");
    cJSON_Delete(res);
    start_path = xasprintf("/exec/%s/start", exec_id);
    cJSON *sb = cJSON_CreateObject();
    cJSON_AddBoolToObject(sb, "Detach", detach);
    cJSON_AddBoolToObject(sb, "Tty", tty);
    if (detach) {
        r = client_json(c, "POST", start_path, sb, NULL, NULL, &err);
        cJSON_Delete(sb);
        if (r < 0) {
            cli_print_err(cli, &err);
            goto out;
        }
        rc = 0;
        goto out;
    }
    sbody = cJSON_PrintUnformatted(sb);
    cJSON_Delete(sb);
    client_req_t req;
    client_req_init(&req, "POST", start_path);
    req.body = sbody;
    req.body_len = strlen(sbody);
    req.content_type = "application/json";
    buf_init(&io.early);
    r = client_hijack(c, &req, &io.conn, &io.early, &err);
    if (r < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    resize_path = xasprintf("/exec/%s/resize", exec_id);
    io.tty = tty;
    io.send_stdin = interactive;
    io.sig_proxy = false; /* docker does not proxy signals to exec */
    io.detach_keys = detach_keys;
    io.resize_path = resize_path;
    sigset_t oldmask;
    io.sigfd = cli_signals_block(&oldmask); /* for SIGWINCH */
    if (tty && interactive)
        cli_term_raw();
    int pr = cli_io_pump(cli, &io);
    cli_term_restore();
    cli_signals_restore(io.sigfd, &oldmask);
    io.sigfd = -1;
    if (pr == 1) {
        rc = 0;
        goto out;
    }
    inspect_path = xasprintf("/exec/%s/json", exec_id);
    cJSON *ins = NULL;
    if (client_json(c, "GET", inspect_path, NULL, &ins, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(ins, "ExitCode");
    rc = cJSON_IsNumber(code) ? (int)code->valuedouble : 0;
    cJSON_Delete(ins);
out:
    if (io.conn >= 0)
        close(io.conn);
    buf_free(&io.early);
    cli_strv_free(&env);
    free(pos);
    return rc;
}
