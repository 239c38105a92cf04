/* berthd configuration: command-line flags (named like dockerd's) and the
 * daemon.json file. Flags override the file. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "daemon/internal.h"

enum {
    SET_HOSTS = 1 << 0,
    SET_DATA_ROOT = 1 << 1,
    SET_EXEC_ROOT = 1 << 2,
    SET_PIDFILE = 1 << 3,
    SET_LOG_LEVEL = 1 << 4,
    SET_GROUP = 1 << 5,
    SET_INSECURE = 1 << 6,
    SET_DOWNLOADS = 1 << 7,
    SET_UPLOADS = 1 << 8,
};

enum {
    OPT_DATA_ROOT = 1000,
    OPT_EXEC_ROOT,
    OPT_PIDFILE,
    OPT_LOG_LEVEL,
    OPT_CONFIG_FILE,
    OPT_GROUP,
    OPT_NO_DEFAULT_IMAGE,
    OPT_ALLOW_TCP,
    OPT_INSECURE_REGISTRY,
    OPT_MAX_DOWNLOADS,
    OPT_MAX_UPLOADS,
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: berthd [OPTIONS]\n\n"
               "A self-sufficient runtime for containers (Docker Engine API " BERTH_API_VERSION
               ").\n\n"
               "Options:\n"
               "  -H, --host list                 Daemon socket(s) to listen on (default "
               "unix:///run/berth.sock)\n"
               "      --allow-insecure-tcp        Permit tcp:// hosts (no TLS, no auth: root for "
               "anyone who connects)\n"
               "      --data-root string          Root of persistent state (default "
               "/var/lib/berth)\n"
               "      --exec-root string          Root of execution state (default /run/berth)\n"
               "  -p, --pidfile string            Path of the pid file (default "
               "<exec-root>/berthd.pid)\n"
               "  -l, --log-level string          debug, info, warn, error, fatal (default info)\n"
               "      --config-file string        Daemon configuration file (default "
               "/etc/berth/daemon.json)\n"
               "  -G, --group string              Group for the Unix socket (default docker)\n"
               "      --insecure-registry list    Registries reached over plain HTTP\n"
               "      --max-concurrent-downloads int  (default 3)\n"
               "      --max-concurrent-uploads int    (default 5)\n"
               "      --no-default-image          Do not load the built-in busybox image\n"
               "  -v, --version                   Print version information and quit\n"
               "  -h, --help                      Print usage\n");
}

static void replace_str(char **slot, const char *value)
{
    free(*slot);
    *slot = value ? xstrdup(value) : NULL;
}

static void list_add(char ***list, size_t *n, const char *value)
{
    *list = xrealloc(*list, (*n + 1) * sizeof(**list));
    (*list)[(*n)++] = xstrdup(value);
}

static void list_clear(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

void berthd_config_free(berthd_config_t *cfg)
{
    list_clear(&cfg->hosts, &cfg->n_hosts);
    list_clear(&cfg->insecure_registries, &cfg->n_insecure_registries);
    free(cfg->data_root);
    free(cfg->exec_root);
    free(cfg->pidfile);
    free(cfg->config_file);
    free(cfg->group);
    memset(cfg, 0, sizeof(*cfg));
}

static int parse_positive(const char *s, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

static const char *json_string(cJSON *o, const char *key, bool *bad)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = true;
        return NULL;
    }
    return v->valuestring;
}

int berthd_config_apply_json(berthd_config_t *cfg, const char *text, unsigned set_mask,
                             berth_err_t *err)
{
    cJSON *o = cJSON_Parse(text);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return berth_err_set(err, BERTH_E_INVALID, "malformed JSON (expected an object)");
    }
    static const char *known[] = {"hosts",
                                  "data-root",
                                  "exec-root",
                                  "pidfile",
                                  "log-level",
                                  "insecure-registries",
                                  "max-concurrent-downloads",
                                  "max-concurrent-uploads",
                                  "group",
                                  "debug"};
    cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok |= strcmp(it->string, known[i]) == 0;
        if (!ok) {
            berth_err_set(err, BERTH_E_INVALID, "unknown key \"%s\"", it->string);
            cJSON_Delete(o);
            return -1;
        }
    }
    bool bad = false;
    const char *s;
    const char *bad_key = NULL;
    if ((s = json_string(o, "data-root", &bad)) && !(set_mask & SET_DATA_ROOT))
        replace_str(&cfg->data_root, s);
    if (bad && !bad_key)
        bad_key = "data-root";
    if ((s = json_string(o, "exec-root", &bad)) && !(set_mask & SET_EXEC_ROOT))
        replace_str(&cfg->exec_root, s);
    if (bad && !bad_key)
        bad_key = "exec-root";
    if ((s = json_string(o, "pidfile", &bad)) && !(set_mask & SET_PIDFILE))
        replace_str(&cfg->pidfile, s);
    if (bad && !bad_key)
        bad_key = "pidfile";
    if ((s = json_string(o, "group", &bad)) && !(set_mask & SET_GROUP))
        replace_str(&cfg->group, s);
    if (bad && !bad_key)
        bad_key = "group";
    if ((s = json_string(o, "log-level", &bad))) {
        int lvl = berth_log_parse_level(s);
        if (lvl < 0) {
            cJSON_Delete(o);
            return berth_err_set(err, BERTH_E_INVALID, "invalid log-level \"%s\"", s);
        }
        if (!(set_mask & SET_LOG_LEVEL))
            cfg->log_level = lvl;
    }
    if (bad && !bad_key)
        bad_key = "log-level";
    cJSON *dbg = cJSON_GetObjectItemCaseSensitive(o, "debug");
    if (dbg && !cJSON_IsBool(dbg) && !bad_key)
        bad_key = "debug";
    else if (cJSON_IsTrue(dbg) && !(set_mask & SET_LOG_LEVEL))
        cfg->log_level = LOG_LVL_DEBUG; /* dockerd's "debug": true */
    static const char *list_keys[] = {"hosts", "insecure-registries"};
    for (size_t k = 0; k < ARRAY_SIZE(list_keys) && !bad_key; k++) {
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, list_keys[k]);
        if (!arr)
            continue;
        if (!cJSON_IsArray(arr)) {
            bad_key = list_keys[k];
            break;
        }
        bool is_hosts = k == 0;
        if ((is_hosts && (set_mask & SET_HOSTS)) || (!is_hosts && (set_mask & SET_INSECURE)))
            continue;
        char ***list = is_hosts ? &cfg->hosts : &cfg->insecure_registries;
        size_t *n = is_hosts ? &cfg->n_hosts : &cfg->n_insecure_registries;
        list_clear(list, n);
        cJSON *v;
        cJSON_ArrayForEach(v, arr)
        {
            if (!cJSON_IsString(v)) {
                bad_key = list_keys[k];
                break;
            }
            list_add(list, n, v->valuestring);
        }
    }
    static const char *int_keys[] = {"max-concurrent-downloads", "max-concurrent-uploads"};
    for (size_t k = 0; k < ARRAY_SIZE(int_keys) && !bad_key; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, int_keys[k]);
        if (!v)
            continue;
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1000) {
            bad_key = int_keys[k];
            break;
        }
        if (k == 0 && !(set_mask & SET_DOWNLOADS))
            cfg->max_concurrent_downloads = v->valueint;
        if (k == 1 && !(set_mask & SET_UPLOADS))
            cfg->max_concurrent_uploads = v->valueint;
    }
    cJSON_Delete(o);
    if (bad_key)
        return berth_err_set(err, BERTH_E_INVALID, "invalid value for \"%s\"", bad_key);
    return 0;
}

enum berthd_parse_result berthd_config_load(berthd_config_t *cfg, int argc, char **argv,
                                            berth_err_t *err)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"data-root", required_argument, NULL, OPT_DATA_ROOT},
        {"exec-root", required_argument, NULL, OPT_EXEC_ROOT},
        {"pidfile", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'l'},
        {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
        {"group", required_argument, NULL, 'G'},
        {"no-default-image", no_argument, NULL, OPT_NO_DEFAULT_IMAGE},
        {"allow-insecure-tcp", no_argument, NULL, OPT_ALLOW_TCP},
        {"insecure-registry", required_argument, NULL, OPT_INSECURE_REGISTRY},
        {"max-concurrent-downloads", required_argument, NULL, OPT_MAX_DOWNLOADS},
        {"max-concurrent-uploads", required_argument, NULL, OPT_MAX_UPLOADS},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LOG_LVL_INFO;
    cfg->max_concurrent_downloads = 3;
    cfg->max_concurrent_uploads = 5;
    unsigned set = 0;
    bool config_explicit = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":H:p:l:G:vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            list_add(&cfg->hosts, &cfg->n_hosts, optarg);
            set |= SET_HOSTS;
            break;
        case OPT_DATA_ROOT:
            replace_str(&cfg->data_root, optarg);
            set |= SET_DATA_ROOT;
            break;
        case OPT_EXEC_ROOT:
            replace_str(&cfg->exec_root, optarg);
            set |= SET_EXEC_ROOT;
            break;
        case 'p':
            replace_str(&cfg->pidfile, optarg);
            set |= SET_PIDFILE;
            break;
        case 'l': {
            int lvl = berth_log_parse_level(optarg);
            if (lvl < 0) {
                berth_err_set(err, BERTH_E_INVALID, "invalid --log-level \"%s\"", optarg);
                return BERTHD_ARGS_ERROR;
            }
            cfg->log_level = lvl;
            set |= SET_LOG_LEVEL;
            break;
        }
        case OPT_CONFIG_FILE:
            replace_str(&cfg->config_file, optarg);
            config_explicit = true;
            break;
        case 'G':
            replace_str(&cfg->group, optarg);
            set |= SET_GROUP;
            break;
        case OPT_NO_DEFAULT_IMAGE:
            cfg->no_default_image = true;
            break;
        case OPT_ALLOW_TCP:
            cfg->allow_tcp = true;
            break;
        case OPT_INSECURE_REGISTRY:
            list_add(&cfg->insecure_registries, &cfg->n_insecure_registries, optarg);
            set |= SET_INSECURE;
            break;
        case OPT_MAX_DOWNLOADS:
        case OPT_MAX_UPLOADS: {
            int v;
            if (parse_positive(optarg, &v) < 0) {
                berth_err_set(err, BERTH_E_INVALID, "invalid value \"%s\" for %s", optarg,
                              argv[optind - 1]);
                return BERTHD_ARGS_ERROR;
            }
            if (ch == OPT_MAX_DOWNLOADS) {
                cfg->max_concurrent_downloads = v;
                set |= SET_DOWNLOADS;
            } else {
                cfg->max_concurrent_uploads = v;
                set |= SET_UPLOADS;
            }
            break;
        }
        case 'v':
            printf("berthd version %s, API %s (min %s)\n", BERTH_VERSION, BERTH_API_VERSION,
                   BERTH_API_MIN_VERSION);
            return BERTHD_ARGS_EXIT_OK;
        case 'h':
            usage(stdout);
            return BERTHD_ARGS_EXIT_OK;
        case ':':
            berth_err_set(err, BERTH_E_INVALID, "flag needs an argument: %s", argv[optind - 1]);
            return BERTHD_ARGS_ERROR;
        default:
            berth_err_set(err, BERTH_E_INVALID, "unknown flag: %s (see berthd --help)",
                          argv[optind - 1]);
            return BERTHD_ARGS_ERROR;
        }
    }
    if (optind < argc) {
        berth_err_set(err, BERTH_E_INVALID, "berthd takes no arguments, got \"%s\"", argv[optind]);
        return BERTHD_ARGS_ERROR;
    }

    if (!cfg->config_file)
        cfg->config_file = xstrdup(BERTHD_DEFAULT_CONFIG_FILE);
    char *text = NULL;
    size_t len = 0;
    int r = fs_read_file(cfg->config_file, 1024 * 1024, &text, &len);
    if (r == 0) {
        if (berthd_config_apply_json(cfg, text, set, err) < 0) {
            free(text);
            berth_err_prefix(err, "config file %s", cfg->config_file);
            return BERTHD_ARGS_ERROR;
        }
        free(text);
    } else if (r != -ENOENT || config_explicit) {
        berth_err_set(err, BERTH_E_INVALID, "config file %s: %s", cfg->config_file, strerror(-r));
        return BERTHD_ARGS_ERROR;
    }

    if (cfg->n_hosts == 0)
        list_add(&cfg->hosts, &cfg->n_hosts, BERTHD_DEFAULT_HOST);
    if (!cfg->data_root)
        cfg->data_root = xstrdup(BERTHD_DEFAULT_DATA_ROOT);
    if (!cfg->exec_root)
        cfg->exec_root = xstrdup(BERTHD_DEFAULT_EXEC_ROOT);
    if (!cfg->pidfile)
        cfg->pidfile = xasprintf("%s/berthd.pid", cfg->exec_root);
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        berthd_host_t h;
        if (berthd_parse_host(cfg->hosts[i], &h, err) < 0)
            return BERTHD_ARGS_ERROR;
        bool tcp = h.is_tcp;
        berthd_host_free(&h);
        if (tcp && !cfg->allow_tcp) {
            berth_err_set(err, BERTH_E_INVALID,
                          "refusing to listen on %s: the API is unauthenticated root access; "
                          "pass --allow-insecure-tcp if you really mean it",
                          cfg->hosts[i]);
            return BERTHD_ARGS_ERROR;
        }
    }
    return BERTHD_ARGS_RUN;
}

void berthd_host_free(berthd_host_t *h)
{
    free(h->path);
    free(h->addr);
    memset(h, 0, sizeof(*h));
}

int berthd_parse_host(const char *spec, berthd_host_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (strncmp(spec, "unix://", 7) == 0 || spec[0] == '/') {
        const char *path = spec[0] == '/' ? spec : spec + 7;
        if (path[0] != '/')
            return berth_err_set(err, BERTH_E_INVALID, "invalid host %s: need an absolute path",
                                 spec);
        out->path = xstrdup(path);
        return 0;
    }
    if (strncmp(spec, "tcp://", 6) == 0) {
        const char *hp = spec + 6;
        const char *colon = strrchr(hp, ':');
        if (!colon || colon == hp)
            return berth_err_set(err, BERTH_E_INVALID, "invalid host %s: need tcp://HOST:PORT",
                                 spec);
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (*end != '\0' && strcmp(end, "/") != 0)
            port = -1;
        if (port < 1 || port > 65535)
            return berth_err_set(err, BERTH_E_INVALID, "invalid port in host %s", spec);
        size_t hl = (size_t)(colon - hp);
        if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']')
            out->addr = xstrndup(hp + 1, hl - 2);
        else
            out->addr = xstrndup(hp, hl);
        out->port = (int)port;
        out->is_tcp = true;
        return 0;
    }
    return berth_err_set(err, BERTH_E_INVALID,
                         "invalid host %s: use unix:///path or tcp://127.0.0.1:PORT", spec);
}
