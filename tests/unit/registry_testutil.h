/* Helpers for registry unit tests: start Debian's docker-registry through
 * tests/integration/registrytools.py, put content in it, run the loop. */
#ifndef REGISTRY_TESTUTIL_H
#define REGISTRY_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "registry/client.h"

#define PYTHON "/usr/bin/python3"
/* tests/unit/<this file> -> tests/integration/registrytools.py */
static inline const char *tools_path(void)
{
    static char path[4096];
    if (!path[0]) {
        snprintf(path, sizeof(path), "%s", __FILE__);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        strncat(path, "/../integration/registrytools.py", sizeof(path) - strlen(path) - 1);
    }
    return path;
}
#define TOOLS tools_path()

/* ---- a registry child ---- */
typedef struct testreg {
    pid_t pid;
    int stdin_fd;
    char dir[64];
    cJSON *info; /* {"hostport", "url", "ca", "storage"} */
} testreg_t;

static inline bool have_registry(void)
{
    return access("/usr/bin/docker-registry", X_OK) == 0 && access(PYTHON, X_OK) == 0;
}

static inline const char *reg_str(testreg_t *r, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(r->info, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline void testreg_start(testreg_t *r, const char *const *extra)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/berth-regtest-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    const char *argv[16] = {PYTHON, TOOLS, "serve", r->dir};
    int n = 4;
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(PYTHON, (char **)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    r->stdin_fd = in[1];
    char line[4096];
    size_t len = 0;
    while (len < sizeof(line) - 1) {
        ssize_t k = read(out[0], line + len, 1);
        if (k <= 0 || line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    close(out[0]);
    r->info = cJSON_Parse(line);
    if (!r->info)
        fail_msg("registrytools serve printed: %s", line);
}

static inline void testreg_stop(testreg_t *r)
{
    close(r->stdin_fd);
    int st;
    waitpid(r->pid, &st, 0);
    cJSON_Delete(r->info);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

/* Run "registrytools.py <cmd> <url> <args>" and parse its JSON output. */
static inline cJSON *reg_tool(testreg_t *r, const char *cmd_name, const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s %s %s %s %s %s%s", PYTHON, tools_path(), cmd_name,
             reg_str(r, "url"), args, reg_str(r, "ca") ? "--ca " : "",
             reg_str(r, "ca") ? reg_str(r, "ca") : "");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    berth_buf_t b;
    buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&b, tmp, n);
    assert_int_equal(pclose(f), 0);
    cJSON *j = cJSON_Parse(b.data ? b.data : "");
    if (!j)
        fail_msg("%s printed: %s", cmd, b.data ? b.data : "");
    buf_free(&b);
    return j;
}

static inline char *put_image(testreg_t *r, const char *repo, const char *tag, const char *user)
{
    char args[1024];
    snprintf(args, sizeof(args), "%s %s --layers 2 --layer-kib 100 %s%s", repo, tag,
             user ? "--user " : "", user ? user : "");
    cJSON *j = reg_tool(r, "put-image", args);
    char *d = xstrdup(cJSON_GetObjectItem(j, "digest")->valuestring);
    cJSON_Delete(j);
    return d;
}

/* ---- loop helpers ---- */
typedef struct result {
    bool done;
    berth_err_t err;
    bool failed;
    cJSON *res;
} result_t;

static inline void done_cb(void *data, const berth_err_t *err, cJSON *res)
{
    result_t *r = data;
    r->done = true;
    if (err) {
        r->failed = true;
        r->err = *err;
    }
    r->res = res;
}

static inline void run_until(uv_loop_t *loop, bool *flag)
{
    uint64_t start = uv_now(loop);
    while (!*flag && uv_now(loop) - start < 30000)
        uv_run(loop, UV_RUN_ONCE);
    assert_true(*flag);
}

static inline reg_client_t *client_new(uv_loop_t *loop, const char *const *certs_dirs)
{
    static const char *const none[] = {NULL};
    reg_client_opts_t o = {.loop = loop, .certs_dirs = certs_dirs ? certs_dirs : none};
    reg_client_t *c = NULL;
    berth_err_t err;
    assert_int_equal(reg_client_new(&o, &c, &err), 0);
    return c;
}

static inline void closed_cb(void *data)
{
    *(bool *)data = true;
}

static inline void client_close(uv_loop_t *loop, reg_client_t *c)
{
    bool closed = false;
    reg_client_close(c, closed_cb, &closed);
    run_until(loop, &closed);
}

#endif
