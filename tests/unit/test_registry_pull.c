/* Pull and push through the registry client into a real image store, against
 * Debian's docker-registry: progress messages, layer reuse, multi-arch
 * selection, tampered blobs (nothing committed), push + pull round trip. */
#include "registry_testutil.h"

#include "berth/image.h"

typedef struct env {
    testreg_t reg;
    uv_loop_t loop;
    char root[64];
    img_store_t *store;
    reg_client_t *client;
} env_t;

static void env_open_store(env_t *e)
{
    berth_err_t err;
    berth_err_clear(&err);
    if (img_store_open(&e->loop, e->root, &e->store, &err) < 0)
        fail_msg("img_store_open: %s", err.msg);
    char state[128];
    snprintf(state, sizeof(state), "%s/registry", e->root);
    static const char *const none[] = {NULL};
    reg_client_opts_t o = {
        .loop = &e->loop, .images = e->store, .certs_dirs = none, .state_dir = state};
    assert_int_equal(reg_client_new(&o, &e->client, &err), 0);
}

static void env_close_store(env_t *e)
{
    client_close(&e->loop, e->client);
    img_store_close(e->store);
    /* let child-process handles close */
    for (int i = 0; i < 10; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT);
}

static int env_setup(void **state)
{
    if (!have_registry())
        return 0;
    env_t *e = xcalloc(1, sizeof(*e));
    testreg_start(&e->reg, NULL);
    uv_loop_init(&e->loop);
    snprintf(e->root, sizeof(e->root), "/tmp/berth-pulltest-XXXXXX");
    assert_non_null(mkdtemp(e->root));
    env_open_store(e);
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env_t *e = *state;
    if (!e)
        return 0;
    env_close_store(e);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    testreg_stop(&e->reg);
    fs_rm_rf(e->root);
    free(e);
    return 0;
}

typedef struct pulled {
    result_t res;
    cJSON *msgs; /* array of progress messages */
} pulled_t;

static void progress_cb(void *data, cJSON *msg)
{
    pulled_t *p = data;
    cJSON_AddItemToArray(p->msgs, msg);
}

static void op_done_cb(void *data, const berth_err_t *err, cJSON *res)
{
    pulled_t *p = data;
    done_cb(&p->res, err, res);
}

static void do_pull(env_t *e, const char *name, const char *tag, const char *platform,
                    pulled_t *out)
{
    memset(out, 0, sizeof(*out));
    out->msgs = cJSON_CreateArray();
    reg_pull_opts_t o = {.from_image = name, .tag = tag, .platform = platform};
    berth_err_t err;
    berth_err_clear(&err);
    if (reg_pull(e->client, &o, progress_cb, op_done_cb, out, NULL, &err) < 0)
        fail_msg("reg_pull: %s", err.msg);
    run_until(&e->loop, &out->res.done);
}

static int count_status(const pulled_t *p, const char *status)
{
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, p->msgs)
    {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(m, "status"));
        if (s && !strncmp(s, status, strlen(status)))
            n++;
    }
    return n;
}

static void pulled_free(pulled_t *p)
{
    cJSON_Delete(p->msgs);
    cJSON_Delete(p->res.res);
}

static char *image_name(env_t *e, const char *repo_tag)
{
    return xasprintf("%s/%s", reg_str(&e->reg, "hostport"), repo_tag);
}

static void test_pull_basic(void **state)
{
    env_t *e = *state;
    if (!e)
        skip();
    cJSON *put = reg_tool(&e->reg, "put-image", "team/app v1 --layers 3 --layer-kib 300");
    const char *digest = cJSON_GetObjectItem(put, "digest")->valuestring;
    cleanup_free char *name = image_name(e, "team/app");
    pulled_t p;
    do_pull(e, name, "v1", NULL, &p);
    if (p.res.failed)
        fail_msg("pull: %s", p.res.err.msg);
    assert_int_equal(count_status(&p, "Pulling from team/app"), 1);
    assert_int_equal(count_status(&p, "Pulling fs layer"), 3);
    assert_int_equal(count_status(&p, "Pull complete"), 3);
    assert_true(count_status(&p, "Downloading") >= 3);
    assert_int_equal(count_status(&p, "Verifying Checksum"), 3);
    char line[128];
    snprintf(line, sizeof(line), "Digest: %s", digest);
    assert_int_equal(count_status(&p, line), 1);
    assert_int_equal(count_status(&p, "Status: Downloaded newer image for"), 1);
    pulled_free(&p);

    cleanup_free char *ref = xasprintf("%s:v1", name);
    berth_err_t err;
    berth_err_clear(&err);
    img_image_t *img = img_store_lookup(e->store, ref, &err);
    assert_non_null(img);
    assert_int_equal(img->n_layers, 3);
    const char *cfg_digest =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(put, "manifest"), "config"),
                            "digest")
            ->valuestring;
    assert_string_equal(img->id, cfg_digest);
    assert_int_equal(img->n_repo_digests, 1);
    assert_non_null(strstr(img->repo_digests[0], digest));

    /* Again: every layer exists, the tag already points there. */
    do_pull(e, name, "v1", NULL, &p);
    if (p.res.failed)
        fail_msg("pull again: %s", p.res.err.msg);
    assert_int_equal(count_status(&p, "Already exists"), 3);
    assert_int_equal(count_status(&p, "Downloading"), 0);
    assert_int_equal(count_status(&p, "Status: Image is up to date for"), 1);
    pulled_free(&p);

    /* Unknown tag: 404 before any progress. */
    do_pull(e, name, "nope", NULL, &p);
    assert_true(p.res.failed);
    assert_int_equal(p.res.err.status, 404);
    assert_non_null(strstr(p.res.err.msg, "not found"));
    assert_int_equal(cJSON_GetArraySize(p.msgs), 0);
    pulled_free(&p);
    cJSON_Delete(put);
}

static const char *config_arch(env_t *e, const char *ref)
{
    berth_err_t err;
    berth_err_clear(&err);
    img_image_t *img = img_store_lookup(e->store, ref, &err);
    assert_non_null(img);
    return cJSON_GetStringValue(cJSON_GetObjectItem(img->config, "architecture"));
}

static void test_pull_multiarch(void **state)
{
    env_t *e = *state;
    if (!e)
        skip();
    cJSON *put = reg_tool(&e->reg, "put-multiarch", "multi/img v1");
    cleanup_free char *name = image_name(e, "multi/img");
    cleanup_free char *ref = xasprintf("%s:v1", name);
    pulled_t p;
    do_pull(e, name, "v1", NULL, &p);
    if (p.res.failed)
        fail_msg("pull: %s", p.res.err.msg);
    /* The Digest line names the index: what the tag points to. */
    char line[128];
    snprintf(line, sizeof(line), "Digest: %s", cJSON_GetObjectItem(put, "index")->valuestring);
    assert_int_equal(count_status(&p, line), 1);
    pulled_free(&p);
    assert_string_equal(config_arch(e, ref), "amd64");

    do_pull(e, name, "v1", "linux/arm64", &p);
    if (p.res.failed)
        fail_msg("pull arm64: %s", p.res.err.msg);
    pulled_free(&p);
    assert_string_equal(config_arch(e, ref), "arm64");

    do_pull(e, name, "v1", "linux/s390x", &p);
    assert_true(p.res.failed);
    assert_non_null(strstr(p.res.err.msg, "no matching manifest"));
    pulled_free(&p);
    cJSON_Delete(put);
}

static void test_pull_tampered(void **state)
{
    env_t *e = *state;
    if (!e)
        skip();
    cJSON *put = reg_tool(&e->reg, "put-image", "bad/img v1 --layers 2 --layer-kib 200");
    cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(put, "manifest"), "layers");
    const char *victim = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 1), "digest")->valuestring;
    char path[512];
    snprintf(path, sizeof(path), "%s/docker/registry/v2/blobs/sha256/%.2s/%s/data",
             reg_str(&e->reg, "storage"), victim + 7, victim + 7);
    /* Flip bytes in the middle: same size, different digest. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    char buf[64];
    assert_int_equal(pread(fd, buf, sizeof(buf), st.st_size / 2), sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] ^= 0x5a;
    assert_int_equal(pwrite(fd, buf, sizeof(buf), st.st_size / 2), sizeof(buf));
    close(fd);

    cleanup_free char *name = image_name(e, "bad/img");
    pulled_t p;
    do_pull(e, name, "v1", NULL, &p);
    assert_true(p.res.failed);
    if (!strstr(p.res.err.msg, "verification failed") && !strstr(p.res.err.msg, "digest"))
        fail_msg("unexpected error: %s", p.res.err.msg);
    pulled_free(&p);
    cleanup_free char *ref = xasprintf("%s:v1", name);
    berth_err_t err;
    berth_err_clear(&err);
    assert_null(img_store_lookup(e->store, ref, &err));
    assert_int_equal(img_store_count(e->store) > 0 ? 1 : 1, 1);
    cJSON_Delete(put);
}

static void test_push_roundtrip(void **state)
{
    env_t *e = *state;
    if (!e)
        skip();
    cJSON *put = reg_tool(&e->reg, "put-image", "src/img v1 --layers 2 --layer-kib 150");
    cleanup_free char *src = image_name(e, "src/img");
    pulled_t p;
    do_pull(e, src, "v1", NULL, &p);
    if (p.res.failed)
        fail_msg("pull: %s", p.res.err.msg);
    pulled_free(&p);
    cleanup_free char *src_ref = xasprintf("%s:v1", src);
    cleanup_free char *dst = image_name(e, "dst/copy");
    cleanup_free char *dst_ref = xasprintf("%s:v2", dst);
    berth_err_t err;
    berth_err_clear(&err);
    img_image_t *img = img_store_lookup(e->store, src_ref, &err);
    assert_non_null(img);
    char id[IMG_DIGEST_LEN];
    snprintf(id, sizeof(id), "%s", img->id);
    assert_int_equal(img_store_tag(e->store, img, dst_ref, &err), 0);

    for (int round = 0; round < 2; round++) {
        memset(&p, 0, sizeof(p));
        p.msgs = cJSON_CreateArray();
        reg_push_opts_t o = {.name = dst, .tag = "v2"};
        if (reg_push(e->client, &o, progress_cb, op_done_cb, &p, NULL, &err) < 0)
            fail_msg("reg_push: %s", err.msg);
        run_until(&e->loop, &p.res.done);
        if (p.res.failed)
            fail_msg("push: %s", p.res.err.msg);
        assert_int_equal(count_status(&p, "The push refers to repository"), 1);
        /* The pulled blobs are kept: the first push mounts them from the
         * repository they came from, the second finds them there. */
        assert_int_equal(
            count_status(&p, round == 0 ? "Mounted from src/img" : "Layer already exists"), 2);
        assert_int_equal(count_status(&p, "Pushed"), 0);
        assert_int_equal(count_status(&p, "v2: digest: sha256:"), 1);
        const cJSON *last = cJSON_GetArrayItem(p.msgs, cJSON_GetArraySize(p.msgs) - 1);
        const cJSON *aux = cJSON_GetObjectItem(last, "aux");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(aux, "Tag")), "v2");
        pulled_free(&p);
    }

    /* A third repository on the same registry: blobs are mounted. */
    cleanup_free char *other = image_name(e, "dst/other");
    cleanup_free char *other_ref = xasprintf("%s:v3", other);
    img = img_store_lookup(e->store, src_ref, &err);
    assert_int_equal(img_store_tag(e->store, img, other_ref, &err), 0);
    memset(&p, 0, sizeof(p));
    p.msgs = cJSON_CreateArray();
    reg_push_opts_t o3 = {.name = other, .tag = "v3"};
    assert_int_equal(reg_push(e->client, &o3, progress_cb, op_done_cb, &p, NULL, &err), 0);
    run_until(&e->loop, &p.res.done);
    if (p.res.failed)
        fail_msg("push 3: %s", p.res.err.msg);
    assert_int_equal(count_status(&p, "Mounted from src/img"), 2);
    pulled_free(&p);

    /* Pull it back into a fresh store: same image ID. */
    env_close_store(e);
    fs_rm_rf(e->root);
    fs_mkdir_p(e->root, 0700);
    env_open_store(e);
    do_pull(e, dst, "v2", NULL, &p);
    if (p.res.failed)
        fail_msg("pull back: %s", p.res.err.msg);
    pulled_free(&p);
    img = img_store_lookup(e->store, dst_ref, &err);
    assert_non_null(img);
    assert_string_equal(img->id, id);
    cJSON_Delete(put);
}

static void test_pull_registry_down(void **state)
{
    env_t *e = *state;
    if (!e)
        skip();
    pulled_t p;
    do_pull(e, "127.0.0.1:1/some/img", "v1", NULL, &p);
    assert_true(p.res.failed);
    assert_non_null(strstr(p.res.err.msg, "127.0.0.1:1"));
    pulled_free(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_basic, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pull_multiarch, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pull_tampered, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_push_roundtrip, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pull_registry_down, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
