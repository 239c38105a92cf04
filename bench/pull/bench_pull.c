/* bench_pull: the registry client and image store on one libuv loop, as
 * berthd runs them, without the HTTP API in between. Pulls an image into a
 * fresh data root, optionally pushes it to another name, and prints timings
 * and the peak RSS as one JSON line.
 *
 * usage: bench_pull DATA_ROOT IMAGE:TAG [PUSH_NAME:TAG] */
#include <string.h>

#include "berth/image.h"
#include "berth/registry.h"

typedef struct run {
    bool done;
    bool failed;
    char msg[1024];
    size_t messages;
} run_t;

static double now_s(void);

static void progress_cb(void *data, cJSON *msg)
{
    ((run_t *)data)->messages++;
    /* BENCH_VERBOSE=1: every progress message with a timestamp on stderr */
    if (getenv("BENCH_VERBOSE")) {
        char *text = cJSON_PrintUnformatted(msg);
        fprintf(stderr, "%.3f %s\n", now_s(), text);
        free(text);
    }
    cJSON_Delete(msg);
}

static void done_cb(void *data, const berth_err_t *err, cJSON *res)
{
    run_t *r = data;
    r->done = true;
    if (err) {
        r->failed = true;
        snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
    }
    cJSON_Delete(res);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void split_tag(const char *s, char **name, char **tag)
{
    const char *slash = strrchr(s, '/');
    const char *colon = strrchr(slash ? slash : s, ':');
    *name = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
    *tag = xstrdup(colon ? colon + 1 : "latest");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DATA_ROOT IMAGE:TAG [PUSH_NAME:TAG]\n", argv[0]);
        return 2;
    }
    uv_loop_t *loop = uv_default_loop();
    img_store_t *store;
    reg_client_t *client;
    berth_err_t err;
    berth_err_clear(&err);
    if (img_store_open(loop, argv[1], &store, &err) < 0) {
        fprintf(stderr, "store: %s\n", err.msg);
        return 1;
    }
    cleanup_free char *state = xasprintf("%s/registry", argv[1]);
    reg_client_opts_t o = {.loop = loop, .images = store, .state_dir = state};
    if (reg_client_new(&o, &client, &err) < 0) {
        fprintf(stderr, "client: %s\n", err.msg);
        return 1;
    }
    cleanup_free char *name = NULL, *tag = NULL;
    split_tag(argv[2], &name, &tag);
    run_t pull = {0};
    reg_pull_opts_t po = {.from_image = name, .tag = tag};
    double t0 = now_s();
    if (reg_pull(client, &po, progress_cb, done_cb, &pull, NULL, &err) < 0) {
        fprintf(stderr, "pull: %s\n", err.msg);
        return 1;
    }
    while (!pull.done)
        uv_run(loop, UV_RUN_ONCE);
    double pull_s = now_s() - t0;
    if (pull.failed) {
        fprintf(stderr, "pull: %s\n", pull.msg);
        return 1;
    }
    long rss_pull = peak_rss_kb();
    double push_s = -1;
    if (argc > 3) {
        cleanup_free char *pname = NULL, *ptag = NULL;
        split_tag(argv[3], &pname, &ptag);
        img_image_t *img = img_store_lookup(store, argv[2], &err);
        if (!img || img_store_tag(store, img, argv[3], &err) < 0) {
            fprintf(stderr, "tag: %s\n", err.msg);
            return 1;
        }
        run_t push = {0};
        reg_push_opts_t pu = {.name = pname, .tag = ptag};
        t0 = now_s();
        if (reg_push(client, &pu, progress_cb, done_cb, &push, NULL, &err) < 0) {
            fprintf(stderr, "push: %s\n", err.msg);
            return 1;
        }
        while (!push.done)
            uv_run(loop, UV_RUN_ONCE);
        push_s = now_s() - t0;
        if (push.failed) {
            fprintf(stderr, "push: %s\n", push.msg);
            return 1;
        }
    }
    printf("{\"pull_s\": %.3f, \"push_s\": %.3f, \"peak_rss_kb_after_pull\": %ld, "
           "\"peak_rss_kb\": %ld, \"pull_messages\": %zu}\n",
           pull_s, push_s, rss_pull, peak_rss_kb(), pull.messages);
    reg_client_close(client, NULL, NULL);
    img_store_close(store);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
