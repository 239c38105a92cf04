/* Container manager: the table of containers, names, lookup, persistence,
 * create and remove. Lifecycle (start/stop/exit/restart) is in manager_life.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "runtime/internal.h"
#include "runtime/manager_internal.h"

static const char *const status_names[] = {
    [RT_CTR_CREATED] = "created", [RT_CTR_RUNNING] = "running",
    [RT_CTR_PAUSED] = "paused",   [RT_CTR_RESTARTING] = "restarting",
    [RT_CTR_EXITED] = "exited",   [RT_CTR_REMOVING] = "removing",
    [RT_CTR_DEAD] = "dead",
};

const char *rt_ctr_status_name(enum rt_ctr_status s)
{
    return (size_t)s < ARRAY_SIZE(status_names) ? status_names[s] : "dead";
}

static int status_from_name(const char *s)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(status_names); i++)
        if (strcmp(s, status_names[i]) == 0)
            return (int)i;
    return RT_CTR_EXITED;
}

/* ---- accessors ---- */
const char *rt_ctr_id(const rt_ctr_t *c)
{
    return c->id;
}
const char *rt_ctr_name(const rt_ctr_t *c)
{
    return c->name;
}
enum rt_ctr_status rt_ctr_status(const rt_ctr_t *c)
{
    return c->status;
}
bool rt_ctr_is_running(const rt_ctr_t *c)
{
    return c->status == RT_CTR_RUNNING || c->status == RT_CTR_PAUSED ||
           c->status == RT_CTR_RESTARTING;
}
bool rt_ctr_tty(const rt_ctr_t *c)
{
    return mgr_json_bool(c->config, "Tty");
}
bool rt_ctr_open_stdin(const rt_ctr_t *c)
{
    return mgr_json_bool(c->config, "OpenStdin");
}
int rt_ctr_exit_code(const rt_ctr_t *c)
{
    return c->exit_code;
}
pid_t rt_ctr_pid(const rt_ctr_t *c)
{
    return rt_ctr_is_running(c) ? c->pid : 0;
}
const char *rt_ctr_log_path(const rt_ctr_t *c)
{
    return c->spec.log_path;
}
const char *rt_ctr_image_id(const rt_ctr_t *c)
{
    return c->image_id;
}
const cJSON *rt_ctr_config(const rt_ctr_t *c)
{
    return c->config;
}
const cJSON *rt_ctr_host_config(const rt_ctr_t *c)
{
    return c->host_config;
}
const rt_spec_t *rt_ctr_spec(const rt_ctr_t *c)
{
    return &c->spec;
}
const char *rt_ctr_cgroup_parent(const rt_ctr_t *c)
{
    return c->spec.cgroup_parent ? c->spec.cgroup_parent : "berth";
}

void mgr_event(rt_ctr_t *c, const char *action, int exit_code, int sig)
{
    if (c->m->event_cb && !c->m->closing)
        c->m->event_cb(c->m->event_data, c, action, exit_code, sig);
}

/* ---- table ---- */
void mgr_add(rt_manager_t *m, rt_ctr_t *c)
{
    if (m->n_ctrs == m->cap_ctrs) {
        m->cap_ctrs = m->cap_ctrs ? m->cap_ctrs * 2 : 16;
        m->ctrs = xrealloc(m->ctrs, m->cap_ctrs * sizeof(*m->ctrs));
    }
    m->ctrs[m->n_ctrs++] = c;
}

void mgr_ctr_free(rt_ctr_t *c)
{
    mgr_timer_free(&c->persist_timer);
    free(c->name);
    free(c->image_name);
    cJSON_Delete(c->config);
    cJSON_Delete(c->host_config);
    free(c->dir);
    free(c->error);
    rt_spec_free(&c->spec);
    buf_free(&c->stdin_early);
    free(c);
}

void mgr_forget(rt_manager_t *m, rt_ctr_t *c)
{
    for (size_t i = 0; i < m->n_ctrs; i++)
        if (m->ctrs[i] == c) {
            m->ctrs[i] = m->ctrs[--m->n_ctrs];
            break;
        }
    mgr_ctr_free(c);
}

bool mgr_name_taken(rt_manager_t *m, const char *name, rt_ctr_t **owner)
{
    for (size_t i = 0; i < m->n_ctrs; i++)
        if (strcmp(m->ctrs[i]->name, name) == 0) {
            if (owner)
                *owner = m->ctrs[i];
            return true;
        }
    return false;
}

void rt_manager_images_removed(rt_manager_t *m)
{
    if (m)
        rt_pool_images_removed(m->pool);
}

void rt_manager_quiet(rt_manager_t *m)
{
    if (!m)
        return;
    rt_pool_kick(m->pool);
    mgr_spare_make(m);
}

size_t rt_manager_count(const rt_manager_t *m, size_t *running, size_t *paused, size_t *stopped)
{
    size_t r = 0, p = 0, s = 0;
    for (size_t i = 0; i < m->n_ctrs; i++) {
        enum rt_ctr_status st = m->ctrs[i]->status;
        if (st == RT_CTR_PAUSED)
            p++;
        else if (st == RT_CTR_RUNNING || st == RT_CTR_RESTARTING)
            r++;
        else
            s++;
    }
    if (running)
        *running = r;
    if (paused)
        *paused = p;
    if (stopped)
        *stopped = s;
    return m->n_ctrs;
}

rt_ctr_t *rt_manager_lookup(rt_manager_t *m, const char *q, berth_err_t *err)
{
    if (!q || !*q) {
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such container: %s", q ? q : "");
        return NULL;
    }
    for (size_t i = 0; i < m->n_ctrs; i++)
        if (strcmp(m->ctrs[i]->id, q) == 0)
            return m->ctrs[i];
    const char *name = q[0] == '/' ? q + 1 : q;
    rt_ctr_t *owner = NULL;
    if (mgr_name_taken(m, name, &owner))
        return owner;
    size_t qlen = strlen(q);
    rt_ctr_t *found = NULL;
    if (qlen <= 64 && strspn(q, "0123456789abcdef") == qlen) {
        for (size_t i = 0; i < m->n_ctrs; i++)
            if (strncmp(m->ctrs[i]->id, q, qlen) == 0) {
                if (found) {
                    berth_err_set(err, BERTH_E_INVALID,
                                  "Multiple IDs found with provided prefix: %s", q);
                    return NULL;
                }
                found = m->ctrs[i];
            }
    }
    if (!found)
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such container: %s", q);
    return found;
}

static int cmp_created_desc(const void *a, const void *b)
{
    const rt_ctr_t *x = *(rt_ctr_t *const *)a, *y = *(rt_ctr_t *const *)b;
    return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

rt_ctr_t **rt_manager_list(rt_manager_t *m, size_t *n)
{
    rt_ctr_t **v = xcalloc(m->n_ctrs + 1, sizeof(*v));
    if (m->n_ctrs) { /* m->ctrs is NULL before the first container (UBSan) */
        memcpy(v, m->ctrs, m->n_ctrs * sizeof(*v));
        qsort(v, m->n_ctrs, sizeof(*v), cmp_created_desc);
    }
    *n = m->n_ctrs;
    return v;
}

/* ---- persistence ---- */
/* State changes (start, exit, rename) are frequent and on the loop: write a
 * temp file and rename it (atomic for readers and for a berthd crash) without
 * fsync. A power loss may lose the latest state change; on restart the shims'
 * state files and adoption put the truth back. Create uses the fsync'ed
 * fs_write_atomic, except for --rm containers: they are removed at exit anyway
 * and losing one to a power cut is harmless, so their create skips the fsyncs. */
static int save_files(rt_ctr_t *c, bool create)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", c->id);
    cleanup_free char *slash = xasprintf("/%s", c->name);
    cJSON_AddStringToObject(o, "Name", slash);
    cJSON_AddNumberToObject(o, "CreatedNs", (double)c->created_ns);
    cJSON_AddStringToObject(o, "Image", c->image_id);
    cJSON_AddStringToObject(o, "ImageName", c->image_name ? c->image_name : "");
    cJSON_AddItemToObject(o, "Config", cJSON_Duplicate(c->config, true));
    cJSON *st = cJSON_AddObjectToObject(o, "State");
    cJSON_AddStringToObject(st, "Status", rt_ctr_status_name(c->status));
    cJSON_AddNumberToObject(st, "Pid", c->pid);
    cJSON_AddNumberToObject(st, "ExitCode", c->exit_code);
    cJSON_AddBoolToObject(st, "OOMKilled", c->oom_killed);
    cJSON_AddStringToObject(st, "Error", c->error ? c->error : "");
    cJSON_AddNumberToObject(st, "StartedNs", (double)c->started_ns);
    cJSON_AddNumberToObject(st, "FinishedNs", (double)c->finished_ns);
    cJSON_AddBoolToObject(st, "HasBeenStarted", c->has_been_started);
    cJSON_AddBoolToObject(st, "ManuallyStopped", c->manually_stopped);
    cJSON_AddNumberToObject(o, "RestartCount", c->restart_count);
    cleanup_free char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cleanup_free char *path = xasprintf("%s/config.v2.json", c->dir);
    bool durable = create && !mgr_json_bool(c->host_config, "AutoRemove");
    int rc = durable ? fs_write_atomic(path, txt, strlen(txt), 0600)
                     : rt_write_rewrite(path, txt, strlen(txt));
    /* HostConfig never changes after create. */
    if (rc == 0 && create) {
        cleanup_free char *htxt = cJSON_PrintUnformatted(c->host_config);
        cleanup_free char *hpath = xasprintf("%s/hostconfig.json", c->dir);
        rc = durable ? fs_write_atomic(hpath, htxt, strlen(htxt), 0600)
                     : rt_write_replace(hpath, htxt, strlen(htxt));
    }
    if (rc < 0)
        log_error("saving container %.12s: %s", c->id, strerror(-rc));
    return rc;
}

int mgr_save(rt_ctr_t *c)
{
    /* not on disk yet: mgr_persist writes the current state */
    return c->persisted ? save_files(c, false) : 0;
}

int mgr_persist(rt_ctr_t *c, berth_err_t *err)
{
    if (c->persisted)
        return 0;
    if (mgr_make_dirs(c, err) < 0 || rt_spec_save(&c->spec, err) < 0)
        goto fail;
    if (save_files(c, true) < 0) {
        berth_err_set(err, BERTH_E_INTERNAL, "saving container state");
        goto fail;
    }
    c->persisted = true;
    return 0;
fail:
    fs_rm_rf(c->dir);
    return -1;
}

static rt_ctr_t *load_one(rt_manager_t *m, const char *id, berth_err_t *err)
{
    cleanup_free char *dir = xasprintf("%s/%s", m->containers_dir, id);
    cleanup_free char *path = xasprintf("%s/config.v2.json", dir);
    cleanup_free char *txt = NULL;
    int rc = fs_read_file(path, 16 << 20, &txt, NULL);
    if (rc < 0) {
        berth_err_sys(err, -rc, "reading %s", path);
        return NULL;
    }
    cJSON *o = cJSON_Parse(txt);
    if (!o) {
        berth_err_set(err, BERTH_E_INTERNAL, "%s: invalid JSON", path);
        return NULL;
    }
    cleanup_free char *hpath = xasprintf("%s/hostconfig.json", dir);
    cleanup_free char *htxt = NULL;
    cJSON *hc = fs_read_file(hpath, 16 << 20, &htxt, NULL) == 0 ? cJSON_Parse(htxt) : NULL;
    rt_ctr_t *c = xcalloc(1, sizeof(*c));
    c->m = m;
    rt_spec_init(&c->spec);
    snprintf(c->id, sizeof(c->id), "%s", id);
    const char *name = mgr_json_str(o, "Name");
    c->name = xstrdup(name && name[0] == '/' ? name + 1 : (name ? name : id));
    c->created_ns = mgr_json_int(o, "CreatedNs");
    snprintf(c->image_id, sizeof(c->image_id), "%s", mgr_json_str(o, "Image") ?: "");
    c->image_name = xstrdup(mgr_json_str(o, "ImageName") ?: "");
    c->config = cJSON_DetachItemFromObject(o, "Config");
    if (!c->config)
        c->config = cJSON_CreateObject();
    c->host_config = hc ? hc : cJSON_CreateObject();
    c->dir = steal_pointer(&dir);
    const cJSON *st = cJSON_GetObjectItem(o, "State");
    c->status = status_from_name(mgr_json_str(st, "Status"));
    c->pid = (pid_t)mgr_json_int(st, "Pid");
    c->exit_code = (int)mgr_json_int(st, "ExitCode");
    c->oom_killed = mgr_json_bool(st, "OOMKilled");
    const char *e = mgr_json_str(st, "Error");
    c->error = e && *e ? xstrdup(e) : NULL;
    c->started_ns = mgr_json_int(st, "StartedNs");
    c->finished_ns = mgr_json_int(st, "FinishedNs");
    c->has_been_started = mgr_json_bool(st, "HasBeenStarted");
    c->manually_stopped = mgr_json_bool(st, "ManuallyStopped");
    c->restart_count = (int)mgr_json_int(o, "RestartCount");
    cJSON_Delete(o);
    cleanup_free char *spath = xasprintf("%s/%s", c->dir, RT_SPEC_FILE);
    if (rt_spec_load(spath, &c->spec, err) < 0) {
        rt_spec_init(&c->spec); /* rt_spec_load freed it */
        mgr_ctr_free(c);
        return NULL;
    }
    c->persisted = true;
    return c;
}

int rt_manager_open(const rt_manager_opts_t *opts, rt_manager_t **out, berth_err_t *err)
{
    rt_manager_t *m = xcalloc(1, sizeof(*m));
    m->reaper_fd = m->reaper_pidfd = -1;
    m->loop = opts->loop;
    m->data_root = xstrdup(opts->data_root);
    m->containers_dir = xasprintf("%s/containers", opts->data_root);
    m->exec_root = xstrdup(opts->exec_root);
    m->shim_path = xstrdup(opts->shim_path ? opts->shim_path : "berth-shim");
    m->resolv_conf_path =
        xstrdup(opts->resolv_conf_path ? opts->resolv_conf_path : "/etc/resolv.conf");
    m->images = opts->images;
    m->event_cb = opts->event_cb;
    m->event_data = opts->event_data;
    m->pool = rt_pool_new(m->loop, m->shim_path, m->containers_dir, opts->shim_pool);
    int rc = fs_mkdir_p(m->containers_dir, 0700);
    if (rc == 0)
        rc = fs_mkdir_p(m->exec_root, 0700);
    if (rc < 0) {
        berth_err_sys(err, -rc, "creating %s", m->containers_dir);
        rt_manager_close(m);
        return -1;
    }
    DIR *d = opendir(m->containers_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, ".trash-", 7) == 0 ||
            strncmp(de->d_name, RT_PREP_DIR_PREFIX, strlen(RT_PREP_DIR_PREFIX)) == 0) {
            /* a removal interrupted by a daemon exit; a rootfs prepared by
             * an idle pooled shim of an earlier berthd (prep.c) */
            cleanup_free char *t = xasprintf("%s/%s", m->containers_dir, de->d_name);
            fs_rm_rf(t);
            continue;
        }
        if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
            continue;
        berth_err_t lerr = {0};
        rt_ctr_t *c = load_one(m, de->d_name, &lerr);
        if (!c) {
            log_warn("skipping container %.12s: %s", de->d_name, lerr.msg);
            continue;
        }
        mgr_add(m, c);
    }
    if (d)
        closedir(d);
    mgr_spare_init(m);
    /* Adopt after everything is loaded so restart policies see the whole table. */
    size_t n = m->n_ctrs;
    for (size_t i = 0; i < n && i < m->n_ctrs; i++)
        mgr_adopt(m->ctrs[i]);
    for (size_t i = 0; i < m->n_ctrs; i++)
        mgr_apply_restart_on_boot(m->ctrs[i]);
    *out = m;
    return 0;
}

void rt_manager_close(rt_manager_t *m)
{
    if (!m)
        return;
    m->closing = true;
    mgr_exec_free_all(m);
    mgr_leftovers_close(m);
    mgr_trash_close_all(m);
    mgr_reaper_close(m);
    rt_pool_free(m->pool);
    if (m->containers_dir)
        rt_prep_sweep_recycled(m->containers_dir);
    for (size_t i = 0; i < m->n_ctrs; i++) {
        mgr_ctr_cancel_all(m->ctrs[i]);
        mgr_ctr_free(m->ctrs[i]);
    }
    free(m->ctrs);
    free(m->data_root);
    free(m->containers_dir);
    free(m->exec_root);
    free(m->shim_path);
    free(m->resolv_conf_path);
    free(m);
}

/* ---- create ---- */
rt_ctr_t *rt_manager_create(rt_manager_t *m, const char *name, const cJSON *body, cJSON *warnings,
                            berth_err_t *err)
{
    if (!cJSON_IsObject(body)) {
        berth_err_set(err, BERTH_E_INVALID,
                      "config cannot be empty in order to create a container");
        return NULL;
    }
    const char *image = mgr_json_str(body, "Image");
    if (!image || !*image) {
        berth_err_set(err, BERTH_E_INVALID, "no command specified");
        return NULL;
    }
    char gen[64];
    if (name && *name) {
        if (name[0] == '/')
            name++;
        if (!rt_name_valid(name)) {
            berth_err_set(err, BERTH_E_INVALID,
                          "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                          name);
            return NULL;
        }
        rt_ctr_t *owner = NULL;
        if (mgr_name_taken(m, name, &owner)) {
            berth_err_set(err, BERTH_E_CONFLICT,
                          "Conflict. The container name \"/%s\" is already in use by container "
                          "\"%s\". You have to remove (or rename) that container to be able to "
                          "reuse that name.",
                          name, owner->id);
            return NULL;
        }
    } else {
        do
            rt_name_generate(gen);
        while (mgr_name_taken(m, gen, NULL));
        name = gen;
    }
    if (!m->images) {
        berth_err_set(err, BERTH_E_NOT_FOUND, "No such image: %s", image);
        return NULL;
    }
    img_image_t *img = img_store_lookup(m->images, image, err);
    if (!img)
        return NULL;

    rt_ctr_t *c = xcalloc(1, sizeof(*c));
    c->m = m;
    rt_spec_init(&c->spec);
    do
        berth_random_hex_id(c->id);
    while (rt_manager_lookup(m, c->id, &(berth_err_t){0}) != NULL);
    c->name = xstrdup(name);
    c->image_name = xstrdup(image);
    snprintf(c->image_id, sizeof(c->image_id), "%s", img->id);
    c->created_ns = berth_now_ns();
    c->status = RT_CTR_CREATED;
    c->dir = xasprintf("%s/%s", m->containers_dir, c->id);

    if (mgr_build_config(c, body, img, warnings, err) < 0 || mgr_build_spec(c, img, err) < 0)
        goto fail;
    /* A --rm container's files are written after the answer (next loop
     * turn, or its start, whichever comes first): ~0.5 ms of directory and
     * file creation that the client would otherwise wait for. Their create
     * is not fsync'ed anyway (save_files). */
    bool later = mgr_json_bool(c->host_config, "AutoRemove");
    if (!later && mgr_persist(c, err) < 0)
        goto fail;
    c->fresh = true;
    mgr_add(m, c);
    if (later)
        mgr_persist_later(c);
    log_info("container %.12s created (%s)", c->id, c->name);
    mgr_event(c, "create", 0, 0);
    return c;
fail:
    mgr_ctr_free(c);
    return NULL;
}

/* ---- rename ---- */
int rt_ctr_rename(rt_ctr_t *c, const char *new_name, berth_err_t *err)
{
    if (!new_name || !*new_name)
        return berth_err_set(err, BERTH_E_INVALID, "Neither old nor new names may be empty");
    if (new_name[0] == '/')
        new_name++;
    if (!rt_name_valid(new_name))
        return berth_err_set(err, BERTH_E_INVALID,
                             "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                             "allowed",
                             new_name);
    if (strcmp(new_name, c->name) == 0)
        return berth_err_set(err, BERTH_E_INVALID,
                             "Renaming a container with the same name as its current name");
    rt_ctr_t *owner = NULL;
    if (mgr_name_taken(c->m, new_name, &owner))
        return berth_err_set(err, BERTH_E_CONFLICT,
                             "Conflict. The container name \"/%s\" is already in use by container "
                             "\"%s\". You have to remove (or rename) that container to be able to "
                             "reuse that name.",
                             new_name, owner->id);
    free(c->name);
    c->name = xstrdup(new_name);
    mgr_save(c);
    mgr_event(c, "rename", 0, 0);
    return 0;
}
