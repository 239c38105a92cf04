/* runtime: rt_spec_t / rt_exec_spec_t / rt_state_t <-> JSON. The field names
 * are the C names, so the files are easy to read next to runtime.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "berth/runtime.h"
#include "runtime/internal.h"

void rt_frame_header(uint8_t out[RT_FRAME_HEADER_LEN], enum rt_frame_type type, uint32_t len)
{
    out[0] = (uint8_t)type;
    out[1] = out[2] = out[3] = 0;
    out[4] = (uint8_t)(len >> 24);
    out[5] = (uint8_t)(len >> 16);
    out[6] = (uint8_t)(len >> 8);
    out[7] = (uint8_t)len;
}

/* ---- small cJSON helpers ------------------------------------------------- */
static void put_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static void put_int(cJSON *o, const char *k, int64_t v)
{
    if (v)
        cJSON_AddNumberToObject(o, k, (double)v);
}

static void put_bool(cJSON *o, const char *k, bool v)
{
    if (v)
        cJSON_AddBoolToObject(o, k, true);
}

static void put_strv(cJSON *o, const char *k, char *const *v, size_t n)
{
    if (!n)
        return;
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

static char *get_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

static int64_t get_int(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static bool get_bool(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Arrays of strings come back NULL-terminated as well, so args can go to execve. */
static int get_strv(const cJSON *o, const char *k, char ***out, size_t *n, berth_err_t *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    *out = NULL;
    *n = 0;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return berth_err_set(err, BERTH_E_INVALID, "%s: expected an array of strings", k);
    size_t cnt = (size_t)cJSON_GetArraySize(a);
    char **v = xcalloc(cnt + 1, sizeof(*v));
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it)) {
            rt_strv_free(v, i);
            return berth_err_set(err, BERTH_E_INVALID, "%s: expected an array of strings", k);
        }
        v[i++] = xstrdup(it->valuestring);
    }
    *out = v;
    *n = cnt;
    return 0;
}

void rt_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- process --------------------------------------------------------------- */
static cJSON *process_to_json(const rt_process_t *p)
{
    cJSON *o = cJSON_CreateObject();
    put_strv(o, "args", p->args, p->n_args);
    put_strv(o, "env", p->env, p->n_env);
    put_str(o, "cwd", p->cwd);
    put_str(o, "user", p->user);
    put_int(o, "uid", p->uid);
    put_int(o, "gid", p->gid);
    if (p->n_additional_gids) {
        cJSON *a = cJSON_AddArrayToObject(o, "additional_gids");
        for (size_t i = 0; i < p->n_additional_gids; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(p->additional_gids[i]));
    }
    put_strv(o, "group_add", p->group_add, p->n_group_add);
    put_bool(o, "tty", p->tty);
    put_bool(o, "open_stdin", p->open_stdin);
    put_bool(o, "stdin_once", p->stdin_once);
    put_int(o, "console_rows", p->console_rows);
    put_int(o, "console_cols", p->console_cols);
    return o;
}

static int process_from_json(const cJSON *o, rt_process_t *p, berth_err_t *err)
{
    if (!cJSON_IsObject(o))
        return berth_err_set(err, BERTH_E_INVALID, "process: expected an object");
    if (get_strv(o, "args", &p->args, &p->n_args, err) < 0 ||
        get_strv(o, "env", &p->env, &p->n_env, err) < 0 ||
        get_strv(o, "group_add", &p->group_add, &p->n_group_add, err) < 0)
        return -1;
    p->cwd = get_str(o, "cwd");
    p->user = get_str(o, "user");
    p->uid = (uid_t)get_int(o, "uid");
    p->gid = (gid_t)get_int(o, "gid");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "additional_gids");
    if (cJSON_IsArray(a)) {
        size_t n = (size_t)cJSON_GetArraySize(a);
        p->additional_gids = xcalloc(n + 1, sizeof(gid_t));
        const cJSON *it;
        cJSON_ArrayForEach(it, a)
        {
            if (cJSON_IsNumber(it))
                p->additional_gids[p->n_additional_gids++] = (gid_t)it->valuedouble;
        }
    }
    p->tty = get_bool(o, "tty");
    p->open_stdin = get_bool(o, "open_stdin");
    p->stdin_once = get_bool(o, "stdin_once");
    p->console_rows = (unsigned short)get_int(o, "console_rows");
    p->console_cols = (unsigned short)get_int(o, "console_cols");
    return 0;
}

void rt_process_free(rt_process_t *p)
{
    rt_strv_free(p->args, p->n_args);
    rt_strv_free(p->env, p->n_env);
    rt_strv_free(p->group_add, p->n_group_add);
    free(p->cwd);
    free(p->user);
    free(p->additional_gids);
    memset(p, 0, sizeof(*p));
}

/* ---- spec ---------------------------------------------------------------- */
static const char *const seccomp_names[] = {"default", "unconfined", "profile"};
static const char *const net_names[] = {"none", "host", "join"};
static const char *const status_names[] = {"created", "running", "exited"};

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (s && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

void rt_spec_init(rt_spec_t *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->log_max_file = 1;
    spec->seccomp = RT_SECCOMP_DEFAULT;
    spec->net_mode = RT_NET_NONE;
    spec->stop_signal = SIGTERM;
}

void rt_spec_free(rt_spec_t *s)
{
    free(s->id);
    free(s->bundle);
    free(s->run_dir);
    free(s->bpf_cache_dir);
    rt_strv_free(s->lowerdirs, s->n_lowerdirs);
    free(s->upperdir);
    free(s->workdir);
    free(s->rootfs);
    rt_process_free(&s->process);
    free(s->hostname);
    free(s->domainname);
    for (size_t i = 0; i < s->n_mounts; i++) {
        free(s->mounts[i].source);
        free(s->mounts[i].destination);
        free(s->mounts[i].options);
    }
    free(s->mounts);
    free(s->resources.cpuset_cpus);
    free(s->resources.cpuset_mems);
    free(s->cgroup_parent);
    for (size_t i = 0; i < s->n_ulimits; i++)
        free(s->ulimits[i].name);
    free(s->ulimits);
    rt_strv_free(s->cap_add, s->n_cap_add);
    rt_strv_free(s->cap_drop, s->n_cap_drop);
    free(s->seccomp_profile);
    free(s->net_path);
    free(s->log_path);
    free(s->etc_hostname);
    free(s->etc_hosts);
    free(s->etc_resolv_conf);
    memset(s, 0, sizeof(*s));
}

char *rt_spec_to_json(const rt_spec_t *s)
{
    cJSON *o = cJSON_CreateObject();
    put_str(o, "id", s->id);
    put_str(o, "bundle", s->bundle);
    put_str(o, "run_dir", s->run_dir);
    put_str(o, "bpf_cache_dir", s->bpf_cache_dir);
    put_strv(o, "lowerdirs", s->lowerdirs, s->n_lowerdirs);
    put_str(o, "upperdir", s->upperdir);
    put_str(o, "workdir", s->workdir);
    put_str(o, "rootfs", s->rootfs);
    put_bool(o, "volatile_overlay", s->volatile_overlay);
    put_bool(o, "readonly_rootfs", s->readonly_rootfs);
    cJSON_AddItemToObject(o, "process", process_to_json(&s->process));
    put_str(o, "hostname", s->hostname);
    put_str(o, "domainname", s->domainname);
    cJSON *mounts = cJSON_AddArrayToObject(o, "mounts");
    for (size_t i = 0; i < s->n_mounts; i++) {
        const rt_mount_t *m = &s->mounts[i];
        cJSON *mo = cJSON_CreateObject();
        cJSON_AddStringToObject(mo, "type", m->type == RT_MOUNT_TMPFS ? "tmpfs" : "bind");
        put_str(mo, "source", m->source);
        put_str(mo, "destination", m->destination);
        put_bool(mo, "readonly", m->readonly);
        put_str(mo, "options", m->options);
        cJSON_AddItemToArray(mounts, mo);
    }
    put_int(o, "shm_size", s->shm_size);
    cJSON *r = cJSON_AddObjectToObject(o, "resources");
    put_int(r, "memory", s->resources.memory);
    put_int(r, "memory_swap", s->resources.memory_swap);
    put_int(r, "memory_reservation", s->resources.memory_reservation);
    put_int(r, "nano_cpus", s->resources.nano_cpus);
    put_int(r, "cpu_shares", s->resources.cpu_shares);
    put_int(r, "cpu_quota", s->resources.cpu_quota);
    put_int(r, "cpu_period", s->resources.cpu_period);
    put_str(r, "cpuset_cpus", s->resources.cpuset_cpus);
    put_str(r, "cpuset_mems", s->resources.cpuset_mems);
    put_int(r, "pids_limit", s->resources.pids_limit);
    put_str(o, "cgroup_parent", s->cgroup_parent);
    cJSON *ul = cJSON_AddArrayToObject(o, "ulimits");
    for (size_t i = 0; i < s->n_ulimits; i++) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddStringToObject(u, "name", s->ulimits[i].name);
        cJSON_AddNumberToObject(u, "soft", (double)s->ulimits[i].soft);
        cJSON_AddNumberToObject(u, "hard", (double)s->ulimits[i].hard);
        cJSON_AddItemToArray(ul, u);
    }
    put_strv(o, "cap_add", s->cap_add, s->n_cap_add);
    put_strv(o, "cap_drop", s->cap_drop, s->n_cap_drop);
    put_bool(o, "privileged", s->privileged);
    cJSON_AddStringToObject(o, "seccomp", seccomp_names[s->seccomp]);
    put_str(o, "seccomp_profile", s->seccomp_profile);
    put_bool(o, "no_new_privileges", s->no_new_privileges);
    cJSON_AddStringToObject(o, "net_mode", net_names[s->net_mode]);
    put_str(o, "net_path", s->net_path);
    put_bool(o, "init", s->init);
    put_str(o, "log_path", s->log_path);
    put_int(o, "log_max_size", s->log_max_size);
    cJSON_AddNumberToObject(o, "log_max_file", s->log_max_file);
    put_int(o, "stop_signal", s->stop_signal);
    put_str(o, "etc_hostname", s->etc_hostname);
    put_str(o, "etc_hosts", s->etc_hosts);
    put_str(o, "etc_resolv_conf", s->etc_resolv_conf);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out)
        abort();
    return out;
}

static int spec_from_cjson(const cJSON *o, rt_spec_t *s, berth_err_t *err)
{
    if (!cJSON_IsObject(o))
        return berth_err_set(err, BERTH_E_INVALID, "runtime spec: expected a JSON object");
    s->id = get_str(o, "id");
    s->bundle = get_str(o, "bundle");
    s->run_dir = get_str(o, "run_dir");
    s->bpf_cache_dir = get_str(o, "bpf_cache_dir");
    if (get_strv(o, "lowerdirs", &s->lowerdirs, &s->n_lowerdirs, err) < 0)
        return -1;
    s->upperdir = get_str(o, "upperdir");
    s->workdir = get_str(o, "workdir");
    s->rootfs = get_str(o, "rootfs");
    s->volatile_overlay = get_bool(o, "volatile_overlay");
    s->readonly_rootfs = get_bool(o, "readonly_rootfs");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "process");
    if (p && process_from_json(p, &s->process, err) < 0)
        return -1;
    s->hostname = get_str(o, "hostname");
    s->domainname = get_str(o, "domainname");
    const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(o, "mounts");
    if (cJSON_IsArray(mounts)) {
        s->mounts = xcalloc((size_t)cJSON_GetArraySize(mounts) + 1, sizeof(rt_mount_t));
        const cJSON *it;
        cJSON_ArrayForEach(it, mounts)
        {
            rt_mount_t *m = &s->mounts[s->n_mounts++];
            char *type = get_str(it, "type");
            m->type = type && strcmp(type, "tmpfs") == 0 ? RT_MOUNT_TMPFS : RT_MOUNT_BIND;
            free(type);
            m->source = get_str(it, "source");
            m->destination = get_str(it, "destination");
            m->readonly = get_bool(it, "readonly");
            m->options = get_str(it, "options");
            if (!m->destination || m->destination[0] != '/')
                return berth_err_set(err, BERTH_E_INVALID,
                                     "mount destination must be an absolute path");
            if (m->type == RT_MOUNT_BIND && (!m->source || m->source[0] != '/'))
                return berth_err_set(err, BERTH_E_INVALID,
                                     "bind mount source must be an absolute path");
        }
    }
    s->shm_size = get_int(o, "shm_size");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "resources");
    if (r) {
        s->resources.memory = get_int(r, "memory");
        s->resources.memory_swap = get_int(r, "memory_swap");
        s->resources.memory_reservation = get_int(r, "memory_reservation");
        s->resources.nano_cpus = get_int(r, "nano_cpus");
        s->resources.cpu_shares = get_int(r, "cpu_shares");
        s->resources.cpu_quota = get_int(r, "cpu_quota");
        s->resources.cpu_period = get_int(r, "cpu_period");
        s->resources.cpuset_cpus = get_str(r, "cpuset_cpus");
        s->resources.cpuset_mems = get_str(r, "cpuset_mems");
        s->resources.pids_limit = get_int(r, "pids_limit");
    }
    s->cgroup_parent = get_str(o, "cgroup_parent");
    const cJSON *ul = cJSON_GetObjectItemCaseSensitive(o, "ulimits");
    if (cJSON_IsArray(ul)) {
        s->ulimits = xcalloc((size_t)cJSON_GetArraySize(ul) + 1, sizeof(rt_ulimit_t));
        const cJSON *it;
        cJSON_ArrayForEach(it, ul)
        {
            rt_ulimit_t *u = &s->ulimits[s->n_ulimits++];
            u->name = get_str(it, "name");
            u->soft = get_int(it, "soft");
            u->hard = get_int(it, "hard");
            if (!u->name)
                return berth_err_set(err, BERTH_E_INVALID, "ulimit without a name");
        }
    }
    if (get_strv(o, "cap_add", &s->cap_add, &s->n_cap_add, err) < 0 ||
        get_strv(o, "cap_drop", &s->cap_drop, &s->n_cap_drop, err) < 0)
        return -1;
    s->privileged = get_bool(o, "privileged");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "seccomp");
    if (sc) {
        int i = name_index(seccomp_names, ARRAY_SIZE(seccomp_names), cJSON_GetStringValue(sc));
        if (i < 0)
            return berth_err_set(err, BERTH_E_INVALID, "unknown seccomp mode");
        s->seccomp = (enum rt_seccomp_mode)i;
    }
    s->seccomp_profile = get_str(o, "seccomp_profile");
    if (s->seccomp == RT_SECCOMP_PROFILE && !s->seccomp_profile)
        return berth_err_set(err, BERTH_E_INVALID, "seccomp profile mode without a profile");
    s->no_new_privileges = get_bool(o, "no_new_privileges");
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "net_mode");
    if (nm) {
        int i = name_index(net_names, ARRAY_SIZE(net_names), cJSON_GetStringValue(nm));
        if (i < 0)
            return berth_err_set(err, BERTH_E_INVALID, "unknown network mode");
        s->net_mode = (enum rt_net_mode)i;
    }
    s->net_path = get_str(o, "net_path");
    if (s->net_mode == RT_NET_JOIN && !s->net_path)
        return berth_err_set(err, BERTH_E_INVALID, "network join mode without a netns path");
    s->init = get_bool(o, "init");
    s->log_path = get_str(o, "log_path");
    s->log_max_size = get_int(o, "log_max_size");
    s->log_max_file = (int)get_int(o, "log_max_file");
    if (s->log_max_file < 1)
        s->log_max_file = 1;
    s->stop_signal = (int)get_int(o, "stop_signal");
    if (!s->stop_signal)
        s->stop_signal = SIGTERM;
    s->etc_hostname = get_str(o, "etc_hostname");
    s->etc_hosts = get_str(o, "etc_hosts");
    s->etc_resolv_conf = get_str(o, "etc_resolv_conf");
    if (!s->id || !s->run_dir || !s->rootfs)
        return berth_err_set(err, BERTH_E_INVALID,
                             "runtime spec: id, run_dir and rootfs are required");
    if (s->n_lowerdirs && (!s->upperdir || !s->workdir))
        return berth_err_set(err, BERTH_E_INVALID, "overlay rootfs needs upperdir and workdir");
    if (!s->process.n_args)
        return berth_err_set(err, BERTH_E_INVALID, "no command specified");
    return 0;
}

int rt_spec_from_json(const char *json, rt_spec_t *spec, berth_err_t *err)
{
    rt_spec_init(spec);
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return berth_err_set(err, BERTH_E_INVALID, "runtime spec: invalid JSON");
    int rc = spec_from_cjson(o, spec, err);
    cJSON_Delete(o);
    if (rc < 0)
        rt_spec_free(spec);
    return rc;
}

int rt_spec_save(const rt_spec_t *spec, berth_err_t *err)
{
    if (!spec->bundle)
        return berth_err_set(err, BERTH_E_INVALID, "runtime spec has no bundle dir");
    cleanup_free char *json = rt_spec_to_json(spec);
    cleanup_free char *path = xasprintf("%s/%s", spec->bundle, RT_SPEC_FILE);
    /* A volatile (--rm) container does not outlive a crash worth keeping:
     * rename keeps readers safe, fsync would only cost milliseconds. */
    int rc = spec->volatile_overlay ? rt_write_replace(path, json, strlen(json))
                                    : fs_write_atomic(path, json, strlen(json), 0600);
    if (rc < 0)
        return berth_err_sys(err, -rc, "writing %s", path);
    return 0;
}

int rt_spec_load(const char *path, rt_spec_t *spec, berth_err_t *err)
{
    cleanup_free char *json = NULL;
    int rc = fs_read_file(path, 16 << 20, &json, NULL);
    if (rc < 0) {
        rt_spec_init(spec);
        return berth_err_sys(err, -rc, "reading %s", path);
    }
    if (rt_spec_from_json(json, spec, err) < 0)
        return berth_err_prefix(err, "%s", path);
    return 0;
}

/* ---- exec spec ----------------------------------------------------------- */
void rt_exec_spec_free(rt_exec_spec_t *x)
{
    free(x->id);
    free(x->container_id);
    free(x->spec_path);
    free(x->state_path);
    rt_process_free(&x->process);
    memset(x, 0, sizeof(*x));
}

char *rt_exec_spec_to_json(const rt_exec_spec_t *x)
{
    cJSON *o = cJSON_CreateObject();
    put_str(o, "id", x->id);
    put_str(o, "container_id", x->container_id);
    put_str(o, "spec_path", x->spec_path);
    put_str(o, "state_path", x->state_path);
    cJSON_AddItemToObject(o, "process", process_to_json(&x->process));
    put_bool(o, "privileged", x->privileged);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out)
        abort();
    return out;
}

int rt_exec_spec_from_json(const char *json, rt_exec_spec_t *x, berth_err_t *err)
{
    memset(x, 0, sizeof(*x));
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return berth_err_set(err, BERTH_E_INVALID, "exec spec: invalid JSON");
    }
    x->id = get_str(o, "id");
    x->container_id = get_str(o, "container_id");
    x->spec_path = get_str(o, "spec_path");
    x->state_path = get_str(o, "state_path");
    x->privileged = get_bool(o, "privileged");
    int rc = 0;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "process");
    if (!p || process_from_json(p, &x->process, err) < 0)
        rc = berth_err_isset(err) ? -1 : berth_err_set(err, BERTH_E_INVALID, "exec: no process");
    else if (!x->id || !x->spec_path || !x->state_path || !x->process.n_args)
        rc = berth_err_set(err, BERTH_E_INVALID,
                           "exec spec: id, spec_path, state_path and args are required");
    cJSON_Delete(o);
    if (rc < 0)
        rt_exec_spec_free(x);
    return rc;
}

/* ---- state ----------------------------------------------------------------- */
char *rt_state_to_json(const rt_state_t *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status_names[st->status]);
    cJSON_AddNumberToObject(o, "shim_pid", st->shim_pid);
    cJSON_AddNumberToObject(o, "pid", st->pid);
    cJSON_AddNumberToObject(o, "exit_code", st->exit_code);
    cJSON_AddNumberToObject(o, "signal", st->signal);
    cJSON_AddBoolToObject(o, "oom_killed", st->oom_killed);
    /* ns timestamps exceed a double's 53 bits: write them as raw integers. */
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)st->started_ns);
    cJSON_AddRawToObject(o, "started_ns", num);
    snprintf(num, sizeof(num), "%lld", (long long)st->finished_ns);
    cJSON_AddRawToObject(o, "finished_ns", num);
    cJSON_AddStringToObject(o, "error", st->error);
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!out)
        abort();
    return out;
}

/* cJSON keeps numbers as doubles; read ns values from the text. Our own
 * writer emits each key once at the top level. */
static int64_t raw_ns(const char *json, const char *key)
{
    const char *p = strstr(json, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

int rt_state_from_json(const char *json, rt_state_t *st, berth_err_t *err)
{
    memset(st, 0, sizeof(*st));
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return berth_err_set(err, BERTH_E_INTERNAL, "state file: invalid JSON");
    }
    int i = name_index(status_names, ARRAY_SIZE(status_names),
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "status")));
    st->status = i < 0 ? RT_STATUS_CREATED : (enum rt_status)i;
    st->shim_pid = (pid_t)get_int(o, "shim_pid");
    st->pid = (pid_t)get_int(o, "pid");
    st->exit_code = (int)get_int(o, "exit_code");
    st->signal = (int)get_int(o, "signal");
    st->oom_killed = get_bool(o, "oom_killed");
    st->started_ns = raw_ns(json, "\"started_ns\":");
    st->finished_ns = raw_ns(json, "\"finished_ns\":");
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
    if (e)
        snprintf(st->error, sizeof(st->error), "%s", e);
    cJSON_Delete(o);
    return 0;
}

int rt_state_read_path(const char *path, rt_state_t *st, berth_err_t *err)
{
    cleanup_free char *json = NULL;
    int rc = fs_read_file(path, 1 << 16, &json, NULL);
    if (rc < 0) {
        memset(st, 0, sizeof(*st));
        return berth_err_sys(err, -rc, "reading %s", path);
    }
    if (rt_state_from_json(json, st, err) < 0)
        return berth_err_prefix(err, "%s", path);
    return 0;
}

int rt_state_read(const char *run_dir, rt_state_t *st, berth_err_t *err)
{
    cleanup_free char *path = xasprintf("%s/%s", run_dir, RT_STATE_FILE);
    return rt_state_read_path(path, st, err);
}

int rt_write_replace(const char *path, const char *data, size_t len)
{
    return rt_write_replace_mode(path, data, len, 0600);
}

/* path.tmp gets data, then takes path's place. keep_spare: the replaced
 * content stays as path.tmp, to be written over in place next time (see
 * rt_write_rewrite); else it goes (fs_replace). Only a regular file (or
 * nothing) is ever swapped out: a rename over a device node or a dir would
 * take it away. */
static int write_and_swap(const char *path, const char *data, size_t len, mode_t mode,
                          bool keep_spare)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return -EINVAL;
    cleanup_free char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = fs_write_all(fd, data, len);
    if (rc == 0 && ftruncate(fd, (off_t)len) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && !keep_spare)
        rc = fs_replace(tmp, path);
    else if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) < 0)
        rc = rename(tmp, path) < 0 ? -errno : 0; /* nothing to exchange with yet */
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int rt_write_replace_mode(const char *path, const char *data, size_t len, mode_t mode)
{
    return write_and_swap(path, data, len, mode, false);
}

int rt_write_rewrite(const char *path, const char *data, size_t len)
{
    return write_and_swap(path, data, len, 0600, true);
}

/* The state file lives in the exec root: the rename gives atomicity; an fsync
 * would only cost time (a state left by a crash is re-read and checked). */
int rt_state_write_path(const char *path, const rt_state_t *st)
{
    cleanup_free char *json = rt_state_to_json(st);
    return rt_write_replace(path, json, strlen(json));
}
