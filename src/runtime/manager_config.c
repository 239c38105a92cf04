/* Container manager: the create body (Docker Config + HostConfig) merged with
 * the image config, validated, and turned into the shim's rt_spec_t. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "runtime/manager_internal.h"

int64_t mgr_json_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

const char *mgr_json_str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

bool mgr_json_bool(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const struct {
    const char *name;
    int num;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int rt_signal_parse(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    long n = strtol(s, &end, 10);
    if (*end == '\0')
        return n > 0 && n < 65 ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].num;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        long off = s[5] == '+' ? strtol(s + 6, &end, 10) : 0;
        if ((s[5] == '\0' || *end == '\0') && SIGRTMIN + off <= SIGRTMAX)
            return (int)(SIGRTMIN + off);
    }
    return -1;
}

char *mgr_run_dir(const rt_manager_t *m, const char *id)
{
    /* sun_path is 108 bytes: fall back to a shorter (still unique enough) name
     * when the exec root is deep. */
    if (strlen(m->exec_root) + 1 + 64 + strlen("/" RT_SOCKET_FILE) < 100)
        return xasprintf("%s/%s", m->exec_root, id);
    return xasprintf("%s/%.20s", m->exec_root, id);
}

static bool is_null_or_missing(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

/* Env: image entries, overridden by request entries with the same key. */
static cJSON *merge_env(const cJSON *img_env, const cJSON *req_env)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, img_env)
    {
        if (!cJSON_IsString(e))
            continue;
        const char *eq = strchr(e->valuestring, '=');
        size_t klen = eq ? (size_t)(eq - e->valuestring) : strlen(e->valuestring);
        bool overridden = false;
        const cJSON *r;
        cJSON_ArrayForEach(r, req_env)
        {
            if (cJSON_IsString(r) && strncmp(r->valuestring, e->valuestring, klen) == 0 &&
                (r->valuestring[klen] == '=' || r->valuestring[klen] == '\0'))
                overridden = true;
        }
        if (!overridden)
            cJSON_AddItemToArray(out, cJSON_CreateString(e->valuestring));
    }
    cJSON_ArrayForEach(e, req_env)
    {
        if (cJSON_IsString(e))
            cJSON_AddItemToArray(out, cJSON_CreateString(e->valuestring));
    }
    return out;
}

static void set_item(cJSON *o, const char *k, cJSON *v)
{
    if (cJSON_HasObjectItem(o, k))
        cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
    else
        cJSON_AddItemToObject(o, k, v);
}

static cJSON *str_or_array(const cJSON *v)
{
    /* Entrypoint/Cmd may arrive as a string (old clients): one argv element. */
    if (cJSON_IsString(v)) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateString(v->valuestring));
        return a;
    }
    return cJSON_IsArray(v) ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
}

static bool valid_restart(const char *n)
{
    return !n || !*n || !strcmp(n, "no") || !strcmp(n, "always") || !strcmp(n, "on-failure") ||
           !strcmp(n, "unless-stopped");
}

int mgr_build_config(rt_ctr_t *c, const cJSON *body, const img_image_t *img, cJSON *warnings,
                     berth_err_t *err)
{
    const cJSON *icfg = cJSON_GetObjectItemCaseSensitive(img->config, "config");
    cJSON *cfg = cJSON_Duplicate(body, true);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "HostConfig");
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "NetworkingConfig");
    const cJSON *hc_in = cJSON_GetObjectItemCaseSensitive(body, "HostConfig");
    cJSON *hc = cJSON_IsObject(hc_in) ? cJSON_Duplicate(hc_in, true) : cJSON_CreateObject();
    c->config = cfg;
    c->host_config = hc;

    /* Entrypoint/Cmd: a request Entrypoint replaces the image's and drops its Cmd. */
    const cJSON *req_ep = cJSON_GetObjectItemCaseSensitive(body, "Entrypoint");
    const cJSON *req_cmd = cJSON_GetObjectItemCaseSensitive(body, "Cmd");
    cJSON *ep, *cmd;
    if (!is_null_or_missing(req_ep)) {
        ep = str_or_array(req_ep);
        /* [""] means "reset the entrypoint" in the CLI's encoding. */
        if (cJSON_GetArraySize(ep) == 1 && cJSON_IsString(cJSON_GetArrayItem(ep, 0)) &&
            !*cJSON_GetArrayItem(ep, 0)->valuestring) {
            cJSON_Delete(ep);
            ep = cJSON_CreateNull();
        }
        cmd = str_or_array(req_cmd);
    } else {
        ep = str_or_array(cJSON_GetObjectItemCaseSensitive(icfg, "Entrypoint"));
        cmd = !is_null_or_missing(req_cmd) && cJSON_GetArraySize(req_cmd) > 0
                  ? str_or_array(req_cmd)
                  : str_or_array(cJSON_GetObjectItemCaseSensitive(icfg, "Cmd"));
    }
    if (cJSON_GetArraySize(ep) == 0 && cJSON_GetArraySize(cmd) == 0) {
        cJSON_Delete(ep);
        cJSON_Delete(cmd);
        return berth_err_set(err, BERTH_E_INVALID, "no command specified");
    }
    set_item(cfg, "Entrypoint", ep);
    set_item(cfg, "Cmd", cmd);
    set_item(cfg, "Env",
             merge_env(cJSON_GetObjectItemCaseSensitive(icfg, "Env"),
                       cJSON_GetObjectItemCaseSensitive(body, "Env")));
    const char *s;
    if (!(s = mgr_json_str(cfg, "WorkingDir")) || !*s)
        set_item(cfg, "WorkingDir", cJSON_CreateString(mgr_json_str(icfg, "WorkingDir") ?: ""));
    if (!(s = mgr_json_str(cfg, "User")) || !*s)
        set_item(cfg, "User", cJSON_CreateString(mgr_json_str(icfg, "User") ?: ""));
    if (!(s = mgr_json_str(cfg, "Hostname")) || !*s) {
        /* Docker: the host's name with --network host, else the short ID. */
        char name[256] = "";
        const char *nm = mgr_json_str(hc, "NetworkMode");
        if (!(nm && !strcmp(nm, "host") && gethostname(name, sizeof(name) - 1) == 0 && *name))
            snprintf(name, sizeof(name), "%.12s", c->id);
        set_item(cfg, "Hostname", cJSON_CreateString(name));
    }
    if (!mgr_json_str(cfg, "Domainname"))
        set_item(cfg, "Domainname", cJSON_CreateString(""));
    if (!(s = mgr_json_str(cfg, "StopSignal")) || !*s) {
        const char *is = mgr_json_str(icfg, "StopSignal");
        if (is && *is)
            set_item(cfg, "StopSignal", cJSON_CreateString(is));
        else
            cJSON_DeleteItemFromObjectCaseSensitive(cfg, "StopSignal");
    }
    if ((s = mgr_json_str(cfg, "StopSignal")) && rt_signal_parse(s) < 0)
        return berth_err_set(err, BERTH_E_INVALID, "Invalid signal: %s", s);
    cJSON *labels = cJSON_CreateObject();
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(icfg, "Labels"))
    {
        if (cJSON_IsString(l))
            cJSON_AddStringToObject(labels, l->string, l->valuestring);
    }
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(body, "Labels"))
    {
        if (!cJSON_IsString(l))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(labels, l->string);
        cJSON_AddStringToObject(labels, l->string, l->valuestring);
    }
    set_item(cfg, "Labels", labels);
    set_item(cfg, "Image", cJSON_CreateString(c->image_name));
    static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr",
                                        "Tty",         "OpenStdin",    "StdinOnce"};
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(cfg, bools[i])))
            set_item(cfg, bools[i], cJSON_CreateBool(false));

    /* HostConfig defaults and validation. */
    const char *nm = mgr_json_str(hc, "NetworkMode");
    if (!nm || !*nm)
        set_item(hc, "NetworkMode", cJSON_CreateString("default"));
    nm = mgr_json_str(hc, "NetworkMode");
    if (strcmp(nm, "default") && strcmp(nm, "bridge") && strcmp(nm, "none") && strcmp(nm, "host") &&
        strncmp(nm, "container:", 10))
        return berth_err_set(err, BERTH_E_NOT_FOUND, "network %s not found", nm);
    if ((!strcmp(nm, "default") || !strcmp(nm, "bridge")) && warnings)
        cJSON_AddItemToArray(warnings,
                             cJSON_CreateString("Bridge networking is not available yet: the "
                                                "container gets its own network namespace with "
                                                "only loopback"));
    cJSON *rp = cJSON_GetObjectItemCaseSensitive(hc, "RestartPolicy");
    if (!cJSON_IsObject(rp)) {
        rp = cJSON_CreateObject();
        set_item(hc, "RestartPolicy", rp);
    }
    const char *rpn = mgr_json_str(rp, "Name");
    if (!valid_restart(rpn))
        return berth_err_set(err, BERTH_E_INVALID, "invalid restart policy '%s'", rpn);
    if (!rpn || !*rpn)
        set_item(rp, "Name", cJSON_CreateString("no"));
    rpn = mgr_json_str(rp, "Name");
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rp, "MaximumRetryCount")))
        set_item(rp, "MaximumRetryCount", cJSON_CreateNumber(0));
    if (mgr_json_int(rp, "MaximumRetryCount") < 0)
        return berth_err_set(err, BERTH_E_INVALID,
                             "invalid restart policy: maximum retry count "
                             "cannot be negative");
    if (strcmp(rpn, "on-failure") && mgr_json_int(rp, "MaximumRetryCount") > 0)
        return berth_err_set(err, BERTH_E_INVALID,
                             "invalid restart policy: maximum retry count can only be used with "
                             "'on-failure'");
    if (mgr_json_bool(hc, "AutoRemove") && strcmp(rpn, "no"))
        return berth_err_set(err, BERTH_E_INVALID,
                             "can't create 'AutoRemove' container with restart policy");
    int64_t mem = mgr_json_int(hc, "Memory");
    if (mem < 0 || (mem > 0 && mem < 6 * 1024 * 1024))
        return berth_err_set(err, BERTH_E_INVALID, "Minimum memory limit allowed is 6MB");
    int64_t swap = mgr_json_int(hc, "MemorySwap");
    if (mem > 0 && swap > 0 && swap < mem)
        return berth_err_set(err, BERTH_E_INVALID,
                             "Minimum memoryswap limit should be larger than memory limit, see "
                             "usage");
    if (mgr_json_int(hc, "NanoCpus") < 0)
        return berth_err_set(err, BERTH_E_INVALID, "Range of CPUs is from 0.01 to %ld.00",
                             sysconf(_SC_NPROCESSORS_ONLN));
    cJSON *lc = cJSON_GetObjectItemCaseSensitive(hc, "LogConfig");
    if (!cJSON_IsObject(lc)) {
        lc = cJSON_CreateObject();
        set_item(hc, "LogConfig", lc);
    }
    const char *lt = mgr_json_str(lc, "Type");
    if (!lt || !*lt)
        set_item(lc, "Type", cJSON_CreateString("json-file"));
    lt = mgr_json_str(lc, "Type");
    if (strcmp(lt, "json-file") && strcmp(lt, "none") && strcmp(lt, "local"))
        return berth_err_set(err, BERTH_E_INVALID,
                             "failed to create logger: logger: no log driver named '%s' is "
                             "registered",
                             lt);
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(lc, "Config")))
        set_item(lc, "Config", cJSON_CreateObject());
    return 0;
}

/* "10m", "1g", "512k", "100" -> bytes; -1 when malformed. */
static int64_t parse_size(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    int64_t mult = 1;
    switch (*end | 0x20) {
    case 'k':
        mult = 1024;
        break;
    case 'm':
        mult = 1024 * 1024;
        break;
    case 'g':
        mult = 1024LL * 1024 * 1024;
        break;
    case ' ' | 0x20:
        if (*end == '\0')
            break;
        return -1;
    default:
        if (*end == 'b' || *end == 'B' || *end == '\0')
            break;
        return -1;
    }
    return (int64_t)(v * (double)mult);
}

static char **strv_from_json(const cJSON *a, size_t *n)
{
    size_t cnt = 0;
    const cJSON *e;
    char **v = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(char *));
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsString(e))
            v[cnt++] = xstrdup(e->valuestring);
    }
    *n = cnt;
    return v;
}

static void add_mount(rt_spec_t *s, enum rt_mount_type type, const char *src, const char *dst,
                      bool ro, const char *options)
{
    s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
    rt_mount_t *mt = &s->mounts[s->n_mounts++];
    memset(mt, 0, sizeof(*mt));
    mt->type = type;
    mt->source = src ? xstrdup(src) : NULL;
    mt->destination = xstrdup(dst);
    mt->readonly = ro;
    mt->options = options ? xstrdup(options) : NULL;
}

static bool valid_volume_name(const char *n)
{
    return rt_name_valid(n) ||
           (strlen(n) == 1 && strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789"));
}

static int build_mounts(rt_ctr_t *c, berth_err_t *err)
{
    rt_spec_t *s = &c->spec;
    const cJSON *hc = c->host_config;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(hc, "Binds"))
    {
        if (!cJSON_IsString(b))
            continue;
        cleanup_free char *spec = xstrdup(b->valuestring);
        char *src = spec, *dst = strchr(spec, ':'), *opts = NULL;
        if (!dst)
            return berth_err_set(err, BERTH_E_INVALID, "invalid volume specification: '%s'",
                                 b->valuestring);
        *dst++ = '\0';
        if ((opts = strchr(dst, ':')))
            *opts++ = '\0';
        if (dst[0] != '/')
            return berth_err_set(err, BERTH_E_INVALID,
                                 "invalid volume specification: '%s': invalid mount config for "
                                 "type \"bind\": invalid mount path: '%s' mount path must be "
                                 "absolute",
                                 b->valuestring, dst);
        bool ro = false;
        for (char *o = opts ? strtok(opts, ",") : NULL; o; o = strtok(NULL, ","))
            if (!strcmp(o, "ro"))
                ro = true;
        cleanup_free char *host = NULL;
        if (src[0] == '/') {
            host = xstrdup(src);
        } else {
            /* A named volume: a plain directory under the data root until the
             * volumes module exists. */
            if (!valid_volume_name(src))
                return berth_err_set(err, BERTH_E_INVALID,
                                     "create %s: \"%s\" includes invalid characters for a local "
                                     "volume name",
                                     src, src);
            host = xasprintf("%s/volumes/%s/_data", c->m->data_root, src);
        }
        /* Docker creates a missing bind source directory for -v. */
        if (!fs_exists(host)) {
            int rc = fs_mkdir_p(host, 0755);
            if (rc < 0)
                return berth_err_sys(err, -rc, "creating bind source %s", host);
        }
        add_mount(s, RT_MOUNT_BIND, host, dst, ro, NULL);
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(hc, "Tmpfs"))
    {
        if (!t->string || t->string[0] != '/')
            return berth_err_set(err, BERTH_E_INVALID, "invalid tmpfs mount path");
        const char *o = cJSON_IsString(t) && *t->valuestring ? t->valuestring : NULL;
        add_mount(s, RT_MOUNT_TMPFS, NULL, t->string, false, o);
    }
    const cJSON *mt;
    cJSON_ArrayForEach(mt, cJSON_GetObjectItemCaseSensitive(hc, "Mounts"))
    {
        const char *type = mgr_json_str(mt, "Type") ?: "volume";
        const char *src = mgr_json_str(mt, "Source");
        const char *dst = mgr_json_str(mt, "Target");
        bool ro = mgr_json_bool(mt, "ReadOnly");
        if (!dst || dst[0] != '/')
            return berth_err_set(err, BERTH_E_INVALID,
                                 "invalid mount config: target must be "
                                 "an absolute path");
        if (!strcmp(type, "bind")) {
            if (!src || src[0] != '/' || !fs_exists(src))
                return berth_err_set(err, BERTH_E_INVALID,
                                     "invalid mount config for type \"bind\": bind source path "
                                     "does not exist: %s",
                                     src ? src : "");
            add_mount(s, RT_MOUNT_BIND, src, dst, ro, NULL);
        } else if (!strcmp(type, "tmpfs")) {
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(mt, "TmpfsOptions");
            int64_t size = mgr_json_int(to, "SizeBytes");
            int64_t mode = mgr_json_int(to, "Mode");
            cleanup_free char *o = NULL;
            if (size > 0 && mode > 0)
                o = xasprintf("size=%lld,mode=%llo", (long long)size, (long long)mode);
            else if (size > 0)
                o = xasprintf("size=%lld", (long long)size);
            else if (mode > 0)
                o = xasprintf("mode=%llo", (long long)mode);
            add_mount(s, RT_MOUNT_TMPFS, NULL, dst, ro, o);
        } else if (!strcmp(type, "volume")) {
            cleanup_free char *vname = NULL;
            if (!src || !*src) {
                char id[65];
                berth_random_hex_id(id);
                vname = xstrdup(id);
            } else {
                vname = xstrdup(src);
            }
            cleanup_free char *host = xasprintf("%s/volumes/%s/_data", c->m->data_root, vname);
            int rc = fs_mkdir_p(host, 0755);
            if (rc < 0)
                return berth_err_sys(err, -rc, "creating volume %s", vname);
            add_mount(s, RT_MOUNT_BIND, host, dst, ro, NULL);
        } else {
            return berth_err_set(err, BERTH_E_INVALID, "mount type unknown: %s", type);
        }
    }
    return 0;
}

static char *host_resolv_conf(const rt_manager_t *m)
{
    cleanup_free char *txt = NULL;
    berth_buf_t out;
    buf_init(&out);
    bool have_ns = false;
    if (fs_read_file(m->resolv_conf_path, 1 << 20, &txt, NULL) == 0) {
        for (char *save = NULL, *line = strtok_r(txt, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            const char *p = line + strspn(line, " \t");
            if (strncmp(p, "nameserver", 10) == 0) {
                const char *addr = p + 10 + strspn(p + 10, " \t");
                /* Loopback resolvers of the host are unreachable from the container. */
                if (strncmp(addr, "127.", 4) == 0 || strncmp(addr, "::1", 3) == 0)
                    continue;
                have_ns = true;
            }
            buf_printf(&out, "%s\n", line);
        }
    }
    if (!have_ns)
        buf_puts(&out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    return buf_steal(&out);
}

/* Only the container's dir (the spare, for a --rm one: manager_spare.c):
 * its upper, work and rootfs dirs are made by the first start that mounts
 * them (mount_overlay), or are a pool's renamed in (prep.c). */
int mgr_make_dirs(rt_ctr_t *c, berth_err_t *err)
{
    if (mgr_spare_take(c))
        return 0;
    int rc = fs_mkdir_p(c->dir, 0700);
    if (rc < 0)
        return berth_err_sys(err, -rc, "creating %s", c->dir);
    return 0;
}

int mgr_build_spec(rt_ctr_t *c, const img_image_t *img, berth_err_t *err)
{
    rt_manager_t *m = c->m;
    rt_spec_t *s = &c->spec;
    const cJSON *cfg = c->config, *hc = c->host_config;
    s->id = xstrdup(c->id);
    s->bundle = xstrdup(c->dir);
    s->run_dir = mgr_run_dir(m, c->id);
    s->bpf_cache_dir = xasprintf("%s/seccomp", m->exec_root);
    if (img_layer_dirs(m->images, img, &s->lowerdirs, &s->n_lowerdirs, err) < 0)
        return berth_err_prefix(err, "image layers");
    s->upperdir = xasprintf("%s/upper", c->dir);
    s->workdir = xasprintf("%s/work", c->dir);
    s->rootfs = xasprintf("%s/rootfs", c->dir);
    s->volatile_overlay = mgr_json_bool(hc, "AutoRemove");
    s->readonly_rootfs = mgr_json_bool(hc, "ReadonlyRootfs");

    /* process */
    rt_process_t *p = &s->process;
    size_t n_ep = 0, n_cmd = 0;
    char **ep = strv_from_json(cJSON_GetObjectItemCaseSensitive(cfg, "Entrypoint"), &n_ep);
    char **cmd = strv_from_json(cJSON_GetObjectItemCaseSensitive(cfg, "Cmd"), &n_cmd);
    p->args = xcalloc(n_ep + n_cmd + 1, sizeof(char *));
    memcpy(p->args, ep, n_ep * sizeof(char *));
    memcpy(p->args + n_ep, cmd, n_cmd * sizeof(char *));
    p->n_args = n_ep + n_cmd;
    free(ep);
    free(cmd);
    p->env = strv_from_json(cJSON_GetObjectItemCaseSensitive(cfg, "Env"), &p->n_env);
    const char *wd = mgr_json_str(cfg, "WorkingDir");
    if (wd && *wd && wd[0] != '/')
        return berth_err_set(err, BERTH_E_INVALID,
                             "the working directory '%s' is invalid, it needs to be an absolute "
                             "path",
                             wd);
    p->cwd = xstrdup(wd && *wd ? wd : "/");
    const char *user = mgr_json_str(cfg, "User");
    p->user = user && *user ? xstrdup(user) : NULL;
    p->group_add =
        strv_from_json(cJSON_GetObjectItemCaseSensitive(hc, "GroupAdd"), &p->n_group_add);
    p->tty = mgr_json_bool(cfg, "Tty");
    p->open_stdin = mgr_json_bool(cfg, "OpenStdin");
    p->stdin_once = mgr_json_bool(cfg, "StdinOnce");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(hc, "ConsoleSize");
    if (cJSON_GetArraySize(cs) == 2) {
        p->console_rows = (unsigned short)cJSON_GetNumberValue(cJSON_GetArrayItem(cs, 0));
        p->console_cols = (unsigned short)cJSON_GetNumberValue(cJSON_GetArrayItem(cs, 1));
    }
    s->hostname = xstrdup(mgr_json_str(cfg, "Hostname"));
    const char *dn = mgr_json_str(cfg, "Domainname");
    s->domainname = dn && *dn ? xstrdup(dn) : NULL;

    if (build_mounts(c, err) < 0)
        return -1;
    int64_t shm = mgr_json_int(hc, "ShmSize");
    s->shm_size = shm > 0 ? shm : 0;

    rt_resources_t *r = &s->resources;
    r->memory = mgr_json_int(hc, "Memory");
    r->memory_swap = mgr_json_int(hc, "MemorySwap");
    r->memory_reservation = mgr_json_int(hc, "MemoryReservation");
    r->nano_cpus = mgr_json_int(hc, "NanoCpus");
    r->cpu_shares = mgr_json_int(hc, "CpuShares");
    r->cpu_quota = mgr_json_int(hc, "CpuQuota");
    r->cpu_period = mgr_json_int(hc, "CpuPeriod");
    const char *cpus = mgr_json_str(hc, "CpusetCpus");
    r->cpuset_cpus = cpus && *cpus ? xstrdup(cpus) : NULL;
    const char *mems = mgr_json_str(hc, "CpusetMems");
    r->cpuset_mems = mems && *mems ? xstrdup(mems) : NULL;
    r->pids_limit = mgr_json_int(hc, "PidsLimit");
    const char *cgp = mgr_json_str(hc, "CgroupParent");
    s->cgroup_parent = cgp && *cgp ? xstrdup(cgp) : NULL;

    const cJSON *ul;
    cJSON_ArrayForEach(ul, cJSON_GetObjectItemCaseSensitive(hc, "Ulimits"))
    {
        const char *n = mgr_json_str(ul, "Name");
        if (!n)
            continue;
        s->ulimits = xrealloc(s->ulimits, (s->n_ulimits + 1) * sizeof(*s->ulimits));
        rt_ulimit_t *u = &s->ulimits[s->n_ulimits++];
        u->name = xstrdup(n);
        u->soft = mgr_json_int(ul, "Soft");
        u->hard = mgr_json_int(ul, "Hard");
    }
    s->cap_add = strv_from_json(cJSON_GetObjectItemCaseSensitive(hc, "CapAdd"), &s->n_cap_add);
    s->cap_drop = strv_from_json(cJSON_GetObjectItemCaseSensitive(hc, "CapDrop"), &s->n_cap_drop);
    s->privileged = mgr_json_bool(hc, "Privileged");
    const cJSON *so;
    cJSON_ArrayForEach(so, cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt"))
    {
        const char *o = cJSON_GetStringValue(so);
        if (!o)
            continue;
        if (!strcmp(o, "no-new-privileges") || !strcmp(o, "no-new-privileges=true") ||
            !strcmp(o, "no-new-privileges:true")) {
            s->no_new_privileges = true;
        } else if (!strcmp(o, "no-new-privileges=false") || !strcmp(o, "no-new-privileges:false")) {
            s->no_new_privileges = false;
        } else if (!strncmp(o, "seccomp=", 8) || !strncmp(o, "seccomp:", 8)) {
            const char *v = o + 8;
            if (!strcmp(v, "unconfined")) {
                s->seccomp = RT_SECCOMP_UNCONFINED;
            } else {
                /* The CLI sends the profile's content; the shim reads a path. */
                cJSON *prof = cJSON_Parse(v);
                bool ok = cJSON_IsObject(prof);
                cJSON_Delete(prof);
                if (!ok)
                    return berth_err_set(err, BERTH_E_INVALID,
                                         "Decoding seccomp profile failed: invalid JSON");
                cleanup_free char *path = xasprintf("%s/seccomp.json", c->dir);
                int rc = fs_write_atomic(path, v, strlen(v), 0600);
                if (rc < 0)
                    return berth_err_sys(err, -rc, "writing %s", path);
                s->seccomp = RT_SECCOMP_PROFILE;
                s->seccomp_profile = steal_pointer(&path);
            }
        } else if (!strncmp(o, "label", 5) || !strncmp(o, "apparmor", 8)) {
            /* No LSM support: accepted and ignored like on hosts without them. */
        } else {
            return berth_err_set(err, BERTH_E_INVALID, "Invalid --security-opt: \"%s\"", o);
        }
    }

    const char *nm = mgr_json_str(hc, "NetworkMode");
    if (!strcmp(nm, "host")) {
        s->net_mode = RT_NET_HOST;
    } else if (!strncmp(nm, "container:", 10)) {
        rt_ctr_t *other = rt_manager_lookup(m, nm + 10, err);
        if (!other)
            return -1;
        if (!rt_ctr_is_running(other) || other->pid <= 0)
            return berth_err_set(err, BERTH_E_CONFLICT,
                                 "cannot join network of a non running "
                                 "container: %s",
                                 other->id);
        s->net_mode = RT_NET_JOIN;
        s->net_path = xasprintf("/proc/%d/ns/net", other->pid);
    } else {
        s->net_mode = RT_NET_NONE;
    }
    s->init = mgr_json_bool(hc, "Init");

    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(hc, "LogConfig");
    if (strcmp(mgr_json_str(lc, "Type"), "none") != 0) {
        s->log_path = xasprintf("%s/%s-json.log", c->dir, c->id);
        const cJSON *lcc = cJSON_GetObjectItemCaseSensitive(lc, "Config");
        /* json-file's options, as Docker validates them (compress is taken
         * but rotated files stay uncompressed). */
        static const char *const log_opts[] = {"max-file",     "max-size", "compress",  "labels",
                                               "labels-regex", "env",      "env-regex", "tag"};
        const cJSON *opt;
        cJSON_ArrayForEach(opt, lcc)
        {
            bool known = false;
            for (size_t i = 0; i < ARRAY_SIZE(log_opts); i++)
                known |= !strcmp(opt->string, log_opts[i]);
            if (!known)
                return berth_err_set(err, BERTH_E_INVALID,
                                     "unknown log opt '%s' for json-file log driver", opt->string);
        }
        const char *ms = mgr_json_str(lcc, "max-size");
        if (ms) {
            s->log_max_size = parse_size(ms);
            if (s->log_max_size < 0)
                return berth_err_set(err, BERTH_E_INVALID, "invalid max-size: %s", ms);
        }
        const char *mf = mgr_json_str(lcc, "max-file");
        if (mf) {
            s->log_max_file = atoi(mf);
            if (s->log_max_file < 1)
                return berth_err_set(err, BERTH_E_INVALID, "invalid max-file: %s", mf);
        }
    }
    const char *ss = mgr_json_str(cfg, "StopSignal");
    s->stop_signal = ss ? rt_signal_parse(ss) : SIGTERM;

    s->etc_hostname = xasprintf("%s\n", s->hostname);
    if (s->net_mode == RT_NET_HOST) {
        cleanup_free char *h = NULL;
        s->etc_hosts = fs_read_file("/etc/hosts", 1 << 20, &h, NULL) == 0
                           ? steal_pointer(&h)
                           : xstrdup("127.0.0.1\tlocalhost\n");
    } else {
        s->etc_hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                 "ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                 "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
                                 "127.0.0.1\t%s\n",
                                 s->hostname);
    }
    s->etc_resolv_conf = host_resolv_conf(m);
    return 0;
}
