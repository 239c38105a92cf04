/* Container commands that do not attach: ps, logs, stop, kill, restart, rm,
 * wait, top, stats, pause, unpause, rename, container prune. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cli/internal.h"

static const cli_column_t ps_cols[] = {
    {"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"RunningFor", "CREATED"},
    {"Status", "STATUS"},   {"Ports", "PORTS"}, {"Names", "NAMES"},
};

#define jstr cli_jstr

/* Go's strconv.Quote for the ASCII we expect in commands. */
static void quote(berth_buf_t *b, const char *s)
{
    buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else if (*s == '\t')
            buf_puts(b, "\\t");
        else
            buf_append(b, s, 1);
    }
    buf_puts(b, "\"");
}

/* docker's Ellipsis: keep maxlen-1 characters and add "…". */
static char *ellipsis(const char *s, size_t maxlen)
{
    size_t n = 0;
    const char *p = s;
    for (; *p; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            n++;
    if (n <= maxlen)
        return xstrdup(s);
    size_t keep = 0, chars = 0;
    for (p = s; *p && chars < maxlen - 1; p++) {
        keep++;
        if (((unsigned char)p[1] & 0xC0) != 0x80)
            chars++;
    }
    return xasprintf("%.*s…", (int)keep, s);
}

static cJSON *ps_row(const cJSON *c, bool no_trunc)
{
    cJSON *row = cJSON_CreateObject();
    berth_buf_t b;
    buf_init(&b);
    const char *cmd = jstr(c, "Command");
    cleanup_free char *cmd_t = no_trunc ? xstrdup(cmd) : ellipsis(cmd, 20);
    quote(&b, cmd_t);
    cJSON_AddStringToObject(row, "Command", b.data);
    buf_reset(&b);
    int64_t created = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "Created"));
    char tb[64];
    cli_format_created(created, tb, sizeof(tb));
    cJSON_AddStringToObject(row, "CreatedAt", tb);
    const char *id = jstr(c, "Id");
    char sid[16];
    cli_short_id(id, sid, sizeof(sid));
    cJSON_AddStringToObject(row, "ID", no_trunc ? id : sid);
    const char *image = jstr(c, "Image");
    char simg[16];
    if (!no_trunc && !strncmp(image, "sha256:", 7)) {
        cli_short_id(image, simg, sizeof(simg));
        image = simg;
    }
    cJSON_AddStringToObject(row, "Image", image);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
    const cJSON *it;
    cJSON_ArrayForEach(it, labels)
    {
        buf_printf(&b, "%s%s=%s", b.len ? "," : "", it->string,
                   cJSON_IsString(it) ? it->valuestring : "");
    }
    cJSON_AddStringToObject(row, "Labels", b.data ? b.data : "");
    buf_reset(&b);
    cJSON_AddStringToObject(row, "LocalVolumes", "0");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "Mounts"))
    {
        const char *n = jstr(it, "Name");
        buf_printf(&b, "%s%s", b.len ? "," : "", *n ? n : jstr(it, "Source"));
    }
    cJSON_AddStringToObject(row, "Mounts", b.data ? b.data : "");
    buf_reset(&b);
    /* Names without the leading slash; linked names (a/b) hidden. */
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "Names"))
    {
        const char *n = cJSON_IsString(it) ? it->valuestring : "";
        if (*n == '/')
            n++;
        if (strchr(n, '/'))
            continue;
        buf_printf(&b, "%s%s", b.len ? "," : "", n);
    }
    cJSON_AddStringToObject(row, "Names", b.data ? b.data : "");
    buf_reset(&b);
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c, "NetworkSettings"), "Networks");
    cJSON_ArrayForEach(it, nets) buf_printf(&b, "%s%s", b.len ? "," : "", it->string);
    cJSON_AddStringToObject(row, "Networks", b.data ? b.data : "");
    buf_reset(&b);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "Ports"))
    {
        double pub = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "PublicPort"));
        double priv = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "PrivatePort"));
        const char *ip = jstr(it, "IP");
        if (b.len)
            buf_puts(&b, ", ");
        if (pub == pub && pub > 0)
            buf_printf(&b, "%s%s%.0f->%.0f/%s", ip, *ip ? ":" : "", pub, priv, jstr(it, "Type"));
        else
            buf_printf(&b, "%.0f/%s", priv, jstr(it, "Type"));
    }
    cJSON_AddNullToObject(row, "Platform"); /* docker 28 prints null here */
    cJSON_AddStringToObject(row, "Ports", b.data ? b.data : "");
    buf_reset(&b);
    char ago[64];
    cli_time_ago(created, ago, sizeof(ago));
    cJSON_AddStringToObject(row, "RunningFor", ago);
    double sz = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "SizeRw"));
    char s1[32];
    cli_human_size(sz == sz ? sz : 0, 3, s1, sizeof(s1));
    cJSON_AddStringToObject(row, "Size", s1);
    cJSON_AddStringToObject(row, "State", jstr(c, "State"));
    cJSON_AddStringToObject(row, "Status", jstr(c, "Status"));
    buf_free(&b);
    return row;
}

int cli_cmd_ps(cli_t *cli, int argc, char **argv)
{
    bool all = false, quiet = false, latest = false, no_trunc = false, size = false;
    long last = -1;
    const char *format = NULL;
    cli_strv_t filters = {0};
    cli_flag_t flags[] = {
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        {'l', "latest", CLI_FLAG_BOOL, &latest, false},
        {'n', "last", CLI_FLAG_INT, &last, false},
        {0, "no-trunc", CLI_FLAG_BOOL, &no_trunc, false},
        {'s', "size", CLI_FLAG_BOOL, &size, false},
        {0, "format", CLI_FLAG_STRING, &format, false},
        {'f', "filter", CLI_FLAG_LIST, &filters, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos = NULL;
    cleanup_free char *fq = NULL, *path = NULL;
    if (!cli_parse(cli, "ps", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        goto out;
    if (npos > 0) {
        rc = cli_args_error(cli, "ps", "no arguments");
        goto out;
    }
    if (latest)
        last = 1;
    fq = cli_filters_query(&filters);
    path =
        xasprintf("/containers/json?all=%d%s%s%s%s", all || last > 0 ? 1 : 0, fq ? "&filters=" : "",
                  fq ? fq : "", last > 0 ? "&limit=" : "", size ? "&size=1" : "");
    if (last > 0) {
        char *p2 = xasprintf("%s%ld", path, last);
        free(path);
        path = p2;
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *list = NULL;
    if (!c || client_json(c, "GET", path, NULL, &list, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    cJSON **rows = xcalloc(n + 1, sizeof(cJSON *));
    size_t nrows = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, list) rows[nrows++] = ps_row(it, no_trunc);
    if (quiet)
        format = "{{.ID}}";
    cli_print_rows(cli->out, format, ps_cols, ARRAY_SIZE(ps_cols), rows, nrows);
    for (size_t i = 0; i < nrows; i++)
        cJSON_Delete(rows[i]);
    free(rows);
    cJSON_Delete(list);
    rc = 0;
out:
    free(pos);
    cli_strv_free(&filters);
    return rc;
}

/* "10m", "1h30m", "90s" -> seconds; -1 if not a Go duration. */
static double parse_duration(const char *s)
{
    double total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        if (!strncmp(p, "ms", 2)) {
            total += v / 1000;
            p += 2;
        } else if (*p == 'h') {
            total += v * 3600;
            p++;
        } else if (*p == 'm') {
            total += v * 60;
            p++;
        } else if (*p == 's') {
            total += v;
            p++;
        } else {
            return -1;
        }
    }
    return total;
}

/* docker's GetTimestamp: a duration ago, an RFC 3339 time or a unix time. */
static char *timestamp_arg(const char *s)
{
    double d = parse_duration(s);
    int64_t now = berth_now_ns();
    if (d >= 0) {
        int64_t t = now - (int64_t)(d * 1e9);
        return xasprintf("%lld.%09lld", (long long)(t / 1000000000LL),
                         (long long)(t % 1000000000LL));
    }
    int64_t ns;
    if (berth_parse_time_ns(s, &ns) == 0)
        return xasprintf("%lld.%09lld", (long long)(ns / 1000000000LL),
                         (long long)(ns % 1000000000LL));
    return xstrdup(s);
}

static int logs_frame_cb(void *opaque, int stream, const char *data, size_t len)
{
    UNUSED(opaque);
    return fs_write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, data, len) < 0 ? -1 : 0;
}

static int logs_demux_cb(void *opaque, const char *data, size_t len)
{
    return client_demux_feed(opaque, data, len) < 0 ? -1 : 0;
}

static int logs_raw_cb(void *opaque, const char *data, size_t len)
{
    UNUSED(opaque);
    return fs_write_all(STDOUT_FILENO, data, len) < 0 ? -1 : 0;
}

int cli_cmd_logs(cli_t *cli, int argc, char **argv)
{
    bool follow = false, timestamps = false, details = false;
    const char *tail = NULL, *since = NULL, *until = NULL;
    cli_flag_t flags[] = {
        {'f', "follow", CLI_FLAG_BOOL, &follow, false},
        {'t', "timestamps", CLI_FLAG_BOOL, &timestamps, false},
        {0, "details", CLI_FLAG_BOOL, &details, false},
        {'n', "tail", CLI_FLAG_STRING, &tail, false},
        {0, "since", CLI_FLAG_STRING, &since, false},
        {0, "until", CLI_FLAG_STRING, &until, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "logs", "[OPTIONS] CONTAINER", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    cleanup_free char *path = NULL, *esince = NULL, *euntil = NULL, *etail = NULL, *ipath = NULL,
                      *id = NULL;
    if (npos != 1) {
        rc = cli_args_error(cli, "logs", "exactly 1 argument");
        goto out;
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    ipath = xasprintf("/containers/%s/json", pos[0]);
    cJSON *info = NULL;
    if (!c || client_json(c, "GET", ipath, NULL, &info, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(info, "Config");
    bool tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "Tty"));
    id = xstrdup(jstr(info, "Id"));
    cJSON_Delete(info);
    if (since) {
        cleanup_free char *t = timestamp_arg(since);
        esince = client_urlencode(t);
    }
    if (until) {
        cleanup_free char *t = timestamp_arg(until);
        euntil = client_urlencode(t);
    }
    etail = client_urlencode(tail ? tail : "all");
    path = xasprintf("/containers/%s/logs?%sfollow=%d%s%s&stderr=1&stdout=1&tail=%s%s%s%s", id,
                     details ? "details=1&" : "", follow ? 1 : 0, esince ? "&since=" : "",
                     esince ? esince : "", etail, timestamps ? "&timestamps=1" : "",
                     euntil ? "&until=" : "", euntil ? euntil : "");
    client_demux_t dm;
    client_demux_init(&dm, logs_frame_cb, NULL);
    client_req_t req;
    client_req_init(&req, "GET", path);
    req.on_data = tty ? logs_raw_cb : logs_demux_cb;
    req.opaque = &dm;
    client_resp_t resp;
    if (client_do(c, &req, &resp, &err) < 0) {
        cli_print_err(cli, &err);
    } else if (resp.status >= 400) {
        cleanup_free char *msg = client_resp_error_message(&resp);
        fprintf(cli->err, "Error response from daemon: %s\n", msg);
    } else {
        rc = 0;
    }
    client_resp_free(&resp);
out:
    free(pos);
    return rc;
}

/* Apply one request per container; print the name on success, like docker.
 * fmt has one %s for the container and may add a query. */
static int each_container(cli_t *cli, const char *method, int npos, char **pos, const char *fmt,
                          const char *query, bool print_name)
{
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < npos; i++) {
        cleanup_free char *base = xasprintf(fmt, pos[i]);
        cleanup_free char *path = xasprintf("%s%s", base, query ? query : "");
        berth_err_clear(&err);
        if (client_json(c, method, path, NULL, NULL, NULL, &err) < 0) {
            cli_print_err(cli, &err);
            rc = 1;
            continue;
        }
        if (print_name) {
            fprintf(cli->out, "%s\n", pos[i]);
            fflush(cli->out);
        }
    }
    return rc;
}

static int stop_like(cli_t *cli, int argc, char **argv, const char *cmd, const char *action)
{
    long t = -1;
    const char *sig = NULL;
    cli_flag_t flags[] = {
        {'t', "time", CLI_FLAG_INT, &t, false},
        {0, "timeout", CLI_FLAG_INT, &t, false},
        {'s', "signal", CLI_FLAG_STRING, &sig, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, cmd, "[OPTIONS] CONTAINER [CONTAINER...]", flags, argc, argv, true, &npos,
                   &pos, &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, cmd, "at least 1 argument");
        free(pos);
        return rc;
    }
    berth_buf_t q;
    buf_init(&q);
    if (sig) {
        cleanup_free char *e = client_urlencode(sig);
        buf_printf(&q, "?signal=%s", e);
    }
    if (t >= 0)
        buf_printf(&q, "%ct=%ld", q.len ? '&' : '?', t);
    cleanup_free char *fmt = xasprintf("/containers/%%s/%s", action);
    rc = each_container(cli, "POST", npos, pos, fmt, q.data, true);
    buf_free(&q);
    free(pos);
    return rc;
}

int cli_cmd_stop(cli_t *cli, int argc, char **argv)
{
    return stop_like(cli, argc, argv, "stop", "stop");
}

int cli_cmd_restart(cli_t *cli, int argc, char **argv)
{
    return stop_like(cli, argc, argv, "restart", "restart");
}

int cli_cmd_kill(cli_t *cli, int argc, char **argv)
{
    const char *sig = NULL;
    cli_flag_t flags[] = {
        {'s', "signal", CLI_FLAG_STRING, &sig, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "kill", "[OPTIONS] CONTAINER [CONTAINER...]", flags, argc, argv, true,
                   &npos, &pos, &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "kill", "at least 1 argument");
        free(pos);
        return rc;
    }
    cleanup_free char *e = sig ? client_urlencode(sig) : NULL;
    cleanup_free char *q = e ? xasprintf("?signal=%s", e) : NULL;
    rc = each_container(cli, "POST", npos, pos, "/containers/%s/kill", q, true);
    free(pos);
    return rc;
}

static int simple_multi(cli_t *cli, int argc, char **argv, const char *cmd, const char *fmt)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, cmd, "CONTAINER [CONTAINER...]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos < 1)
        rc = cli_args_error(cli, cmd, "at least 1 argument");
    else
        rc = each_container(cli, "POST", npos, pos, fmt, NULL, true);
    free(pos);
    return rc;
}

int cli_cmd_pause(cli_t *cli, int argc, char **argv)
{
    return simple_multi(cli, argc, argv, "pause", "/containers/%s/pause");
}

int cli_cmd_unpause(cli_t *cli, int argc, char **argv)
{
    return simple_multi(cli, argc, argv, "unpause", "/containers/%s/unpause");
}

int cli_cmd_rm(cli_t *cli, int argc, char **argv)
{
    bool force = false, volumes = false, link = false;
    cli_flag_t flags[] = {
        {'f', "force", CLI_FLAG_BOOL, &force, false},
        {'v', "volumes", CLI_FLAG_BOOL, &volumes, false},
        {'l', "link", CLI_FLAG_BOOL, &link, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "rm", "[OPTIONS] CONTAINER [CONTAINER...]", flags, argc, argv, true, &npos,
                   &pos, &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "rm", "at least 1 argument");
        free(pos);
        return rc;
    }
    cleanup_free char *q =
        xasprintf("?force=%d&link=%d&v=%d", force ? 1 : 0, link ? 1 : 0, volumes ? 1 : 0);
    rc = each_container(cli, "DELETE", npos, pos, "/containers/%s", q, true);
    free(pos);
    return rc;
}

int cli_cmd_wait(cli_t *cli, int argc, char **argv)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "wait", "CONTAINER [CONTAINER...]", flags, argc, argv, true, &npos, &pos,
                   &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "wait", "at least 1 argument");
        free(pos);
        return rc;
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    rc = 0;
    for (int i = 0; i < npos && c; i++) {
        cleanup_free char *path = xasprintf("/containers/%s/wait", pos[i]);
        cJSON *res = NULL;
        berth_err_clear(&err);
        if (client_json(c, "POST", path, NULL, &res, NULL, &err) < 0) {
            cli_print_err(cli, &err);
            rc = 1;
            continue;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(res, "Error");
        const char *em = jstr(e, "Message");
        if (*em) {
            fprintf(cli->err, "Error response from daemon: %s\n", em);
            rc = 1;
        } else {
            fprintf(cli->out, "%lld\n",
                    (long long)cJSON_GetNumberValue(
                        cJSON_GetObjectItemCaseSensitive(res, "StatusCode")));
            fflush(cli->out);
        }
        cJSON_Delete(res);
    }
    if (!c) {
        cli_print_err(cli, &err);
        rc = 1;
    }
    free(pos);
    return rc;
}

int cli_cmd_rename(cli_t *cli, int argc, char **argv)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "rename", "CONTAINER NEW_NAME", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    if (npos != 2) {
        rc = cli_args_error(cli, "rename", "exactly 2 arguments");
        free(pos);
        return rc;
    }
    cleanup_free char *e = client_urlencode(pos[1]);
    cleanup_free char *q = xasprintf("?name=%s", e);
    rc = each_container(cli, "POST", 1, pos, "/containers/%s/rename", q, false);
    free(pos);
    return rc;
}

int cli_cmd_top(cli_t *cli, int argc, char **argv)
{
    cli_flag_t flags[] = {CLI_FLAGS_END};
    int npos, rc = 1;
    char **pos;
    /* Not interspersed: everything after the container is ps options. */
    if (!cli_parse(cli, "top", "CONTAINER [ps OPTIONS]", flags, argc, argv, false, &npos, &pos,
                   &rc))
        return rc;
    if (npos < 1) {
        rc = cli_args_error(cli, "top", "at least 1 argument");
        free(pos);
        return rc;
    }
    berth_buf_t path;
    buf_init(&path);
    buf_printf(&path, "/containers/%s/top", pos[0]);
    if (npos > 1) {
        berth_buf_t args;
        buf_init(&args);
        for (int i = 1; i < npos; i++)
            buf_printf(&args, "%s%s", i > 1 ? " " : "", pos[i]);
        cleanup_free char *e = client_urlencode(args.data);
        buf_printf(&path, "?ps_args=%s", e);
        buf_free(&args);
    }
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *res = NULL;
    if (!c || client_json(c, "GET", path.data, NULL, &res, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    const cJSON *titles = cJSON_GetObjectItemCaseSensitive(res, "Titles");
    size_t ncols = (size_t)cJSON_GetArraySize(titles);
    if (ncols > 0) {
        cli_table_t t;
        cli_table_init(&t, ncols);
        const char **cells = xcalloc(ncols, sizeof(char *));
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, titles) cells[i++] = cJSON_IsString(it) ? it->valuestring : "";
        cli_table_add(&t, cells);
        const cJSON *proc;
        cJSON_ArrayForEach(proc, cJSON_GetObjectItemCaseSensitive(res, "Processes"))
        {
            i = 0;
            for (size_t k = 0; k < ncols; k++)
                cells[k] = "";
            cJSON_ArrayForEach(it, proc)
            {
                if (i < ncols)
                    cells[i++] = cJSON_IsString(it) ? it->valuestring : "";
            }
            cli_table_add(&t, cells);
        }
        free(cells);
        char *text = cli_table_render(&t);
        fputs(text, cli->out);
        free(text);
        cli_table_free(&t);
    }
    cJSON_Delete(res);
    rc = 0;
out:
    buf_free(&path);
    free(pos);
    return rc;
}

static double jnum_path(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = a ? cJSON_GetObjectItemCaseSensitive(o, a) : o;
    double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(x, b));
    return v == v ? v : 0;
}

/* One stats sample -> a row with docker's fields. */
static cJSON *stats_row(const char *name, const cJSON *s)
{
    cJSON *row = cJSON_CreateObject();
    const char *id = jstr(s, "id");
    char sid[16];
    cli_short_id(id, sid, sizeof(sid));
    cJSON_AddStringToObject(row, "Container", name);
    cJSON_AddStringToObject(row, "ID", sid);
    const char *n = jstr(s, "name");
    cJSON_AddStringToObject(row, "Name", *n == '/' ? n + 1 : n);
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(s, "cpu_stats");
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(s, "precpu_stats");
    double cdelta =
        jnum_path(cpu, "cpu_usage", "total_usage") - jnum_path(pre, "cpu_usage", "total_usage");
    double sdelta =
        jnum_path(cpu, NULL, "system_cpu_usage") - jnum_path(pre, NULL, "system_cpu_usage");
    double ncpu = jnum_path(cpu, NULL, "online_cpus");
    if (ncpu <= 0)
        ncpu = 1;
    double cpu_pct = sdelta > 0 && cdelta > 0 ? cdelta / sdelta * ncpu * 100.0 : 0;
    char buf[96], a[32], b[32];
    snprintf(buf, sizeof(buf), "%.2f%%", cpu_pct);
    cJSON_AddStringToObject(row, "CPUPerc", buf);
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(s, "memory_stats");
    double usage = jnum_path(mem, NULL, "usage");
    /* docker subtracts the page cache (cgroup v1 total_inactive_file / v2 inactive_file). */
    double inactive = jnum_path(mem, "stats", "total_inactive_file");
    if (inactive <= 0)
        inactive = jnum_path(mem, "stats", "inactive_file");
    if (inactive > 0 && inactive < usage)
        usage -= inactive;
    double limit = jnum_path(mem, NULL, "limit");
    cli_human_size_binary(usage, a, sizeof(a));
    cli_human_size_binary(limit, b, sizeof(b));
    snprintf(buf, sizeof(buf), "%s / %s", a, b);
    cJSON_AddStringToObject(row, "MemUsage", buf);
    snprintf(buf, sizeof(buf), "%.2f%%", limit > 0 ? usage / limit * 100.0 : 0);
    cJSON_AddStringToObject(row, "MemPerc", buf);
    double rx = 0, tx = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "networks"))
    {
        rx += jnum_path(it, NULL, "rx_bytes");
        tx += jnum_path(it, NULL, "tx_bytes");
    }
    cli_human_size(rx, 3, a, sizeof(a));
    cli_human_size(tx, 3, b, sizeof(b));
    snprintf(buf, sizeof(buf), "%s / %s", a, b);
    cJSON_AddStringToObject(row, "NetIO", buf);
    double rd = 0, wr = 0;
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "blkio_stats"),
                                             "io_service_bytes_recursive"))
    {
        const char *op = jstr(it, "op");
        if (!strcasecmp(op, "read"))
            rd += jnum_path(it, NULL, "value");
        else if (!strcasecmp(op, "write"))
            wr += jnum_path(it, NULL, "value");
    }
    cli_human_size(rd, 3, a, sizeof(a));
    cli_human_size(wr, 3, b, sizeof(b));
    snprintf(buf, sizeof(buf), "%s / %s", a, b);
    cJSON_AddStringToObject(row, "BlockIO", buf);
    snprintf(buf, sizeof(buf), "%.0f", jnum_path(s, "pids_stats", "current"));
    cJSON_AddStringToObject(row, "PIDs", buf);
    return row;
}

static const cli_column_t stats_cols[] = {
    {"ID", "CONTAINER ID"},   {"Name", "NAME"},
    {"CPUPerc", "CPU %"},     {"MemUsage", "MEM USAGE / LIMIT"},
    {"MemPerc", "MEM %"},     {"NetIO", "NET I/O"},
    {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"},
};

int cli_cmd_stats(cli_t *cli, int argc, char **argv)
{
    bool no_stream = false, all = false, no_trunc = false;
    const char *format = NULL;
    cli_flag_t flags[] = {
        {0, "no-stream", CLI_FLAG_BOOL, &no_stream, false},
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {0, "no-trunc", CLI_FLAG_BOOL, &no_trunc, false},
        {0, "format", CLI_FLAG_STRING, &format, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "stats", "[OPTIONS] [CONTAINER...]", flags, argc, argv, true, &npos, &pos,
                   &rc))
        return rc;
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    if (!c) {
        cli_print_err(cli, &err);
        free(pos);
        return 1;
    }
    /* Without names: every running (or with -a every) container. */
    char **names = NULL;
    size_t nnames = 0;
    cJSON *list = NULL;
    if (npos == 0) {
        cleanup_free char *path = xasprintf("/containers/json?all=%d", all ? 1 : 0);
        if (client_json(c, "GET", path, NULL, &list, NULL, &err) < 0) {
            cli_print_err(cli, &err);
            free(pos);
            return 1;
        }
        const cJSON *it;
        names = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(char *));
        cJSON_ArrayForEach(it, list) names[nnames++] = (char *)jstr(it, "Id");
    } else {
        names = xcalloc((size_t)npos + 1, sizeof(char *));
        for (int i = 0; i < npos; i++)
            names[nnames++] = pos[i];
    }
    bool tty = isatty(fileno(cli->out));
    rc = 0;
    /* The streaming view re-samples once a second; --no-stream prints once.
     * Each sample is a one-shot request, so the client stays blocking. */
    for (;;) {
        cJSON **rows = xcalloc(nnames + 1, sizeof(cJSON *));
        size_t nrows = 0;
        for (size_t i = 0; i < nnames; i++) {
            cleanup_free char *path = xasprintf("/containers/%s/stats?stream=0", names[i]);
            cJSON *s = NULL;
            berth_err_clear(&err);
            if (client_json(c, "GET", path, NULL, &s, NULL, &err) < 0) {
                cli_print_err(cli, &err);
                rc = 1;
                continue;
            }
            rows[nrows++] = stats_row(names[i], s);
            cJSON_Delete(s);
        }
        if (!no_stream && tty)
            fputs("\033[2J\033[H", cli->out);
        cli_print_rows(cli->out, format, stats_cols, ARRAY_SIZE(stats_cols), rows, nrows);
        fflush(cli->out);
        for (size_t i = 0; i < nrows; i++)
            cJSON_Delete(rows[i]);
        free(rows);
        if (no_stream || rc != 0)
            break;
        sleep(1);
    }
    UNUSED(no_trunc);
    free(names);
    cJSON_Delete(list);
    free(pos);
    return rc;
}

int cli_cmd_container_prune(cli_t *cli, int argc, char **argv)
{
    bool force = false;
    cli_strv_t filters = {0};
    cli_flag_t flags[] = {
        {'f', "force", CLI_FLAG_BOOL, &force, false},
        {0, "filter", CLI_FLAG_LIST, &filters, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos = NULL;
    cleanup_free char *fq = NULL, *path = NULL;
    if (!cli_parse(cli, "container prune", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        goto out;
    if (!force && !cli_confirm(cli, "WARNING! This will remove all stopped containers.\nAre you "
                                    "sure you want to continue?")) {
        rc = 0;
        goto out;
    }
    fq = cli_filters_query(&filters);
    path = xasprintf("/containers/prune%s%s", fq ? "?filters=" : "", fq ? fq : "");
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *res = NULL;
    if (!c || client_json(c, "POST", path, NULL, &res, NULL, &err) < 0) {
        cli_print_err(cli, &err);
        goto out;
    }
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(res, "ContainersDeleted");
    if (cJSON_GetArraySize(del) > 0) {
        fprintf(cli->out, "Deleted Containers:\n");
        const cJSON *it;
        cJSON_ArrayForEach(it, del) if (cJSON_IsString(it))
            fprintf(cli->out, "%s\n", it->valuestring);
        fprintf(cli->out, "\n");
    }
    char sz[32];
    cli_human_size(jnum_path(res, NULL, "SpaceReclaimed"), 4, sz, sizeof(sz));
    fprintf(cli->out, "Total reclaimed space: %s\n", sz);
    cJSON_Delete(res);
    rc = 0;
out:
    free(pos);
    cli_strv_free(&filters);
    return rc;
}
