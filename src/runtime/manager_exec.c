/* Container manager: exec instances (docker exec) run by `berth-shim exec`. */
#include <errno.h>
#include <string.h>

#include "runtime/manager_internal.h"

static void exec_free(struct rt_exec *x)
{
    if (x->shim)
        rt_shim_detach(x->shim);
    cJSON_Delete(x->process_config);
    rt_exec_spec_free(&x->spec);
    if (x->json_path)
        unlink(x->json_path);
    free(x->json_path);
    free(x);
}

void mgr_exec_free_all(rt_manager_t *m)
{
    while (m->execs) {
        struct rt_exec *x = m->execs;
        m->execs = x->next;
        exec_free(x);
    }
}

/* Finished execs of containers that no longer exist are dropped lazily. */
static void exec_gc(rt_manager_t *m)
{
    for (struct rt_exec **pp = &m->execs; *pp;) {
        struct rt_exec *x = *pp;
        if (!x->running && (x->finished || !x->started) &&
            !rt_manager_lookup(m, x->ctr_id, &(berth_err_t){0})) {
            *pp = x->next;
            exec_free(x);
        } else {
            pp = &x->next;
        }
    }
}

static char **strv_dup_json(const cJSON *a, size_t *n)
{
    char **v = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(char *));
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsString(e))
            v[k++] = xstrdup(e->valuestring);
    }
    *n = k;
    return v;
}

rt_exec_t *rt_exec_create(rt_ctr_t *c, const cJSON *body, berth_err_t *err)
{
    rt_manager_t *m = c->m;
    exec_gc(m);
    if (c->status == RT_CTR_PAUSED) {
        berth_err_set(err, BERTH_E_CONFLICT,
                      "Container %s is paused, unpause the container before exec", c->id);
        return NULL;
    }
    if (c->status != RT_CTR_RUNNING || !c->pid) {
        berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
        return NULL;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(body, "Cmd");
    if (cJSON_GetArraySize(cmd) == 0) {
        berth_err_set(err, BERTH_E_INVALID, "No exec command specified");
        return NULL;
    }
    struct rt_exec *x = xcalloc(1, sizeof(*x));
    x->m = m;
    berth_random_hex_id(x->id);
    snprintf(x->ctr_id, sizeof(x->ctr_id), "%s", c->id);
    x->tty = mgr_json_bool(body, "Tty");
    x->attach_stdin = mgr_json_bool(body, "AttachStdin");
    x->attach_stdout = mgr_json_bool(body, "AttachStdout");
    x->attach_stderr = mgr_json_bool(body, "AttachStderr");
    rt_exec_spec_t *s = &x->spec;
    s->id = xstrdup(x->id);
    s->container_id = xstrdup(c->id);
    s->spec_path = xasprintf("%s/%s", c->dir, RT_SPEC_FILE);
    s->state_path = xasprintf("%s/exec-%s.json", c->spec.run_dir, x->id);
    x->json_path = xasprintf("%s/exec-%s.spec.json", c->spec.run_dir, x->id);
    s->privileged = mgr_json_bool(body, "Privileged");
    rt_process_t *p = &s->process;
    p->args = strv_dup_json(cmd, &p->n_args);
    /* Container env, then the exec's own entries (later ones win in execve). */
    size_t n1 = 0, n2 = 0;
    char **e1 = strv_dup_json(cJSON_GetObjectItemCaseSensitive(c->config, "Env"), &n1);
    char **e2 = strv_dup_json(cJSON_GetObjectItemCaseSensitive(body, "Env"), &n2);
    p->env = xcalloc(n1 + n2 + 1, sizeof(char *));
    memcpy(p->env, e1, n1 * sizeof(char *));
    memcpy(p->env + n1, e2, n2 * sizeof(char *));
    p->n_env = n1 + n2;
    free(e1);
    free(e2);
    const char *wd = mgr_json_str(body, "WorkingDir");
    p->cwd = xstrdup(wd && *wd ? wd : c->spec.process.cwd ? c->spec.process.cwd : "/");
    const char *user = mgr_json_str(body, "User");
    if (!user || !*user)
        user = c->spec.process.user;
    p->user = user && *user ? xstrdup(user) : NULL;
    p->tty = x->tty;
    p->open_stdin = x->attach_stdin;
    p->stdin_once = true;
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(body, "ConsoleSize");
    if (cJSON_GetArraySize(cs) == 2) {
        p->console_rows = (unsigned short)cJSON_GetNumberValue(cJSON_GetArrayItem(cs, 0));
        p->console_cols = (unsigned short)cJSON_GetNumberValue(cJSON_GetArrayItem(cs, 1));
    }
    cJSON *pc = cJSON_CreateObject();
    cJSON_AddBoolToObject(pc, "tty", x->tty);
    cJSON_AddStringToObject(pc, "entrypoint", p->args[0]);
    cJSON *args = cJSON_AddArrayToObject(pc, "arguments");
    for (size_t i = 1; i < p->n_args; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(p->args[i]));
    cJSON_AddBoolToObject(pc, "privileged", s->privileged);
    cJSON_AddStringToObject(pc, "user", p->user ? p->user : "");
    x->process_config = pc;
    x->next = m->execs;
    m->execs = x;
    return x;
}

rt_exec_t *rt_manager_exec_lookup(rt_manager_t *m, const char *id, berth_err_t *err)
{
    for (struct rt_exec *x = m->execs; x; x = x->next)
        if (!strcmp(x->id, id))
            return x;
    berth_err_set(err, BERTH_E_NOT_FOUND, "No such exec instance: %s", id);
    return NULL;
}

const char *rt_exec_id(const rt_exec_t *x)
{
    return x->id;
}
bool rt_exec_tty(const rt_exec_t *x)
{
    return x->tty;
}
bool rt_exec_attach_stdin(const rt_exec_t *x)
{
    return x->attach_stdin;
}

cJSON *rt_exec_inspect_json(const rt_exec_t *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", x->id);
    cJSON_AddBoolToObject(o, "Running", x->running);
    if (x->finished)
        cJSON_AddNumberToObject(o, "ExitCode", x->exit_code);
    else
        cJSON_AddNullToObject(o, "ExitCode");
    cJSON_AddItemToObject(o, "ProcessConfig", cJSON_Duplicate(x->process_config, true));
    cJSON_AddBoolToObject(o, "OpenStdin", x->attach_stdin);
    cJSON_AddBoolToObject(o, "OpenStderr", x->attach_stderr);
    cJSON_AddBoolToObject(o, "OpenStdout", x->attach_stdout);
    cJSON_AddBoolToObject(o, "CanRemove", false);
    cJSON_AddStringToObject(o, "ContainerID", x->ctr_id);
    cJSON_AddStringToObject(o, "DetachKeys", "");
    cJSON_AddNumberToObject(o, "Pid", x->running ? x->pid : 0);
    return o;
}

static void x_started(rt_shim_t *shim, pid_t pid, int exit_code, const char *error, void *data)
{
    (void)shim;
    struct rt_exec *x = data;
    if (pid > 0) {
        x->pid = pid;
        return;
    }
    x->exit_code = exit_code;
    /* Docker prints the OCI error on the stream for a failed exec. */
    if (x->has_cbs && error && x->cbs.output_cb) {
        cleanup_free char *msg = xasprintf("OCI runtime exec failed: %s\r\n", error);
        x->cbs.output_cb(x->data, RT_FRAME_STDOUT, msg, strlen(msg));
    }
}

static void x_output(rt_shim_t *shim, int stream, const char *buf, size_t len, void *data)
{
    (void)shim;
    struct rt_exec *x = data;
    if (x->has_cbs && x->cbs.output_cb)
        x->cbs.output_cb(x->data, stream, buf, len);
}

static void x_exit(rt_shim_t *shim, const rt_state_t *st, void *data)
{
    (void)shim;
    struct rt_exec *x = data;
    x->shim = NULL;
    x->running = false;
    x->finished = true;
    x->exit_code = st->exit_code;
    x->finished_ns = berth_now_ns();
    unlink(x->spec.state_path);
    if (x->json_path)
        unlink(x->json_path);
    if (x->has_cbs) {
        x->has_cbs = false;
        if (x->cbs.close_cb)
            x->cbs.close_cb(x->data, x->exit_code);
    }
}

static const rt_shim_callbacks_t exec_cbs = {
    .started_cb = x_started,
    .output_cb = x_output,
    .exit_cb = x_exit,
};

int rt_exec_start(rt_exec_t *x, const rt_ctr_sink_cbs_t *cbs, void *data, berth_err_t *err)
{
    if (x->started)
        return berth_err_set(err, BERTH_E_CONFLICT, "Error: Exec command %s has already run",
                             x->id);
    rt_ctr_t *c = rt_manager_lookup(x->m, x->ctr_id, err);
    if (!c)
        return -1;
    if (c->status != RT_CTR_RUNNING)
        return berth_err_set(err, BERTH_E_CONFLICT, "Container %s is not running", c->id);
    cleanup_free char *json = rt_exec_spec_to_json(&x->spec);
    int rc = fs_write_atomic(x->json_path, json, strlen(json), 0600);
    if (rc < 0)
        return berth_err_sys(err, -rc, "writing %s", x->json_path);
    x->shim = rt_shim_spawn_exec(x->m->loop, x->m->shim_path, x->json_path, &exec_cbs, x, err);
    if (!x->shim)
        return berth_err_prefix(err, "starting exec %.12s", x->id);
    x->started = true;
    x->running = true;
    if (cbs) {
        x->cbs = *cbs;
        x->data = data;
        x->has_cbs = true;
    }
    return 0;
}

void rt_exec_detach_stream(rt_exec_t *x)
{
    x->has_cbs = false;
}

int rt_exec_write_stdin(rt_exec_t *x, const void *buf, size_t len)
{
    if (!x->shim)
        return -EPIPE;
    return rt_shim_write_stdin(x->shim, buf, len);
}

int rt_exec_resize(rt_exec_t *x, unsigned rows, unsigned cols, berth_err_t *err)
{
    if (!x->shim)
        return berth_err_set(err, BERTH_E_CONFLICT, "Exec %s is not running", x->id);
    int rc = rt_shim_resize(x->shim, rows, cols);
    if (rc < 0)
        return berth_err_sys(err, -rc, "resizing exec %.12s", x->id);
    return 0;
}
