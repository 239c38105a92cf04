/* Image store end to end on a real loop: default image, save -> load round
 * trip, tag/delete semantics, persistence, bad and hostile archives, ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>

#include "image/internal.h"
#include "image_testutil.h"

typedef struct fx {
    char root[64];
    char root2[80];
    uv_loop_t loop;
    img_store_t *s;
} fx_t;

static int setup(void **state)
{
    fx_t *f = xcalloc(1, sizeof(*f));
    strcpy(f->root, "/tmp/berth-img-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->root2, sizeof(f->root2), "%s/second", f->root);
    uv_loop_init(&f->loop);
    berth_err_t err = {0};
    if (img_store_open(&f->loop, f->root, &f->s, &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    img_store_close(f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    fs_rm_rf(f->root);
    free(f);
    return 0;
}

static size_t count_dir(const char *path)
{
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void default_done(const berth_err_t *err, void *data)
{
    *(int *)data = err ? -1 : 1;
}

static img_image_t *make_default(fx_t *f)
{
    int done = 0;
    assert_int_equal(img_default_image_begin(f->s, default_done, &done), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
    berth_err_t err = {0};
    img_image_t *img = img_store_lookup(f->s, "busybox", &err);
    assert_non_null(img);
    return img;
}

static void test_default_image(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    assert_int_equal(img->n_layers, 1);
    assert_int_equal(img->n_repo_tags, 1);
    assert_string_equal(img->repo_tags[0], "docker.io/library/busybox:latest");
    char **dirs;
    size_t n;
    berth_err_t err = {0};
    assert_int_equal(img_layer_dirs(f->s, img, &dirs, &n, &err), 0);
    assert_int_equal(n, 1);
    char p[512];
    snprintf(p, sizeof(p), "%s/bin/busybox", dirs[0]);
    assert_true(fs_exists(p));
    snprintf(p, sizeof(p), "%s/bin/sh", dirs[0]);
    char target[32] = "";
    assert_int_equal(readlink(p, target, sizeof(target)), 7);
    assert_string_equal(target, "busybox");
    free(dirs[0]);
    free(dirs);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(img->config, "config"), "Cmd");
    assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring, "sh");
    /* lookups: short id, sha256: prefix, full id */
    char short_id[20];
    snprintf(short_id, sizeof(short_id), "%.12s", img->id + 7);
    assert_ptr_equal(img_store_lookup(f->s, short_id, &err), img);
    assert_ptr_equal(img_store_lookup(f->s, img->id, &err), img);
    assert_ptr_equal(img_store_lookup(f->s, img->id + 7, &err), img);
    assert_null(img_store_lookup(f->s, "nope:1", &err));
    assert_int_equal(err.status, 404);
    assert_string_equal(err.msg, "No such image: nope:1");
    /* a second call is a no-op */
    int done = 0;
    assert_int_equal(img_default_image_begin(f->s, default_done, &done), 0);
    assert_int_equal(done, 1);
}

typedef struct collect {
    berth_buf_t buf;
    int done;
    berth_err_t err;
} collect_t;

static int collect_data(img_export_t *ex, const char *buf, size_t len, void *data)
{
    (void)ex;
    collect_t *c = data;
    buf_append(&c->buf, buf, len);
    return 0;
}

static void collect_done(img_export_t *ex, const img_layer_result_t *res, const berth_err_t *err,
                         void *data)
{
    (void)res;
    collect_t *c = data;
    c->done = err ? -1 : 1;
    if (err)
        c->err = *err;
    img_export_free(ex);
}

typedef struct load_out {
    berth_buf_t lines;
    int statuses;
    int done;
    berth_err_t err;
} load_out_t;

static void lo_progress(img_load_t *ld, const char *line, void *data)
{
    (void)ld;
    buf_puts(&((load_out_t *)data)->lines, line);
}

static void lo_status(img_load_t *ld, const cJSON *msg, void *data)
{
    (void)ld;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(msg, "status");
    if (cJSON_IsString(st) && strcmp(st->valuestring, "Loading layer") == 0)
        ((load_out_t *)data)->statuses++;
}

static void lo_done(img_load_t *ld, const berth_err_t *err, void *data)
{
    load_out_t *o = data;
    o->done = err ? -1 : 1;
    if (err)
        o->err = *err;
    img_load_free(ld);
}

static int load_bytes(fx_t *f, img_store_t *s, const void *data, size_t len, load_out_t *o)
{
    buf_init(&o->lines);
    img_load_cbs_t cbs = {lo_progress, lo_done, NULL, lo_status};
    img_load_t *ld;
    berth_err_t err = {0};
    assert_int_equal(img_load_begin(s, &cbs, o, &ld, &err), 0);
    /* feed in pieces, as the HTTP body would arrive */
    const char *p = data;
    size_t chunk = 7777;
    for (size_t off = 0; off < len; off += chunk)
        img_load_write(ld, p + off, len - off < chunk ? len - off : chunk);
    img_load_end(ld);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return o->done;
}

static void test_save_load_roundtrip_and_persistence(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    char id[IMG_DIGEST_LEN];
    strcpy(id, img->id);
    collect_t c = {0};
    buf_init(&c.buf);
    img_export_cbs_t cbs = {collect_data, collect_done};
    img_export_t *ex;
    berth_err_t err = {0};
    const char *names[] = {"busybox:latest"};
    assert_int_equal(img_save_begin(f->s, names, 1, &cbs, &c, &ex, &err), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.done, 1);
    assert_true(c.buf.len > 1000000);

    img_store_t *s2;
    assert_int_equal(img_store_open(&f->loop, f->root2, &s2, &err), 0);
    load_out_t o = {0};
    if (load_bytes(f, s2, c.buf.data, c.buf.len, &o) != 1)
        fail_msg("load failed: %s", o.err.msg);
    assert_string_equal(o.lines.data, "Loaded image: busybox:latest\n");
    assert_int_equal(o.statuses, 1); /* one "Loading layer" per layer */
    img_image_t *img2 = img_store_lookup(s2, "busybox", &err);
    assert_non_null(img2);
    assert_string_equal(img2->id, id);
    img_store_close(s2);
    /* reopen: still there, tmp cleaned */
    assert_int_equal(img_store_open(&f->loop, f->root2, &s2, &err), 0);
    img2 = img_store_lookup(s2, "busybox:latest", &err);
    assert_non_null(img2);
    assert_string_equal(img2->id, id);
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s/image/tmp", f->root2);
    assert_int_equal(count_dir(tmp), 0);
    img_store_close(s2);
    buf_free(&c.buf);
    buf_free(&o.lines);
}

static void test_tag_delete(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    char id[IMG_DIGEST_LEN];
    strcpy(id, img->id);
    berth_err_t err = {0};
    assert_int_equal(img_store_tag(f->s, img, "localhost:5000/x/y:t", &err), 0);
    assert_int_equal(img->n_repo_tags, 2);
    cJSON *rep = cJSON_CreateArray();
    assert_int_equal(img_store_delete(f->s, id, false, false, rep, &err), -1);
    assert_int_equal(err.status, 409);
    assert_non_null(strstr(err.msg, "referenced in multiple repositories"));
    berth_err_clear(&err);
    assert_int_equal(img_store_delete(f->s, "localhost:5000/x/y:t", false, false, rep, &err), 0);
    char *txt = cJSON_PrintUnformatted(rep);
    assert_string_equal(txt, "[{\"Untagged\":\"localhost:5000/x/y:t\"}]");
    free(txt);
    cJSON_Delete(rep);
    rep = cJSON_CreateArray();
    assert_int_equal(img_store_delete(f->s, "busybox", false, false, rep, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rep), 3); /* Untagged, Deleted image, Deleted layer */
    assert_string_equal(cJSON_GetArrayItem(rep, 0)->child->valuestring, "busybox:latest");
    assert_string_equal(cJSON_GetArrayItem(rep, 1)->child->valuestring, id);
    cJSON_Delete(rep);
    assert_null(img_store_get(f->s, id));
    char layers[128];
    snprintf(layers, sizeof(layers), "%s/image/layers", f->root);
    assert_int_equal(count_dir(layers), 0);
    assert_int_equal(img_store_delete(f->s, "busybox", false, false, NULL, &err), -1);
    assert_int_equal(err.status, 404);
}

static void test_delete_by_id_same_repository(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    char id[IMG_DIGEST_LEN];
    strcpy(id, img->id);
    berth_err_t err = {0};
    assert_int_equal(img_store_tag(f->s, img, "busybox:other", &err), 0);
    cJSON *rep = cJSON_CreateArray();
    /* both tags are in one repository: Docker removes them all without force */
    assert_int_equal(img_store_delete(f->s, id + 7, false, false, rep, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rep), 4); /* 2 Untagged, image, layer */
    assert_null(img_store_get(f->s, id));
    cJSON_Delete(rep);
}

static int usage_hook(void *data, const char *image_id, char *container_id)
{
    (void)image_id;
    strcpy(container_id, "c0ffee0000000000000000000000000000000000000000000000000000000000");
    return *(int *)data;
}

static void test_delete_in_use(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    char id[IMG_DIGEST_LEN];
    strcpy(id, img->id);
    int use = IMG_USED_STOPPED;
    img_store_set_in_use_hook(f->s, usage_hook, &use);
    berth_err_t err = {0};
    assert_int_equal(img_store_delete(f->s, "busybox", false, false, NULL, &err), -1);
    assert_int_equal(err.status, 409);
    assert_non_null(strstr(err.msg,
                           "unable to remove repository reference \"busybox\" (must "
                           "force) - container c0ffee000000 is using its referenced image"));
    berth_err_clear(&err);
    assert_int_equal(img_store_delete(f->s, id, false, false, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "being used by stopped container c0ffee000000"));
    use = IMG_USED_RUNNING;
    berth_err_clear(&err);
    assert_int_equal(img_store_delete(f->s, id, true, false, NULL, &err), -1);
    assert_non_null(
        strstr(err.msg, "(cannot be forced) - image is being used by running container"));
    use = IMG_USED_STOPPED;
    cJSON *rep = cJSON_CreateArray();
    assert_int_equal(img_store_delete(f->s, id, true, false, rep, &err), 0);
    /* forced: untagged, but kept for the stopped container */
    assert_int_equal(cJSON_GetArraySize(rep), 1);
    assert_non_null(img_store_get(f->s, id));
    cJSON_Delete(rep);
    /* prune skips images in use */
    rep = cJSON_CreateArray();
    int64_t rec;
    assert_int_equal(img_store_prune(f->s, true, NULL, NULL, rep, &rec, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rep), 0);
    use = IMG_UNUSED;
    assert_int_equal(img_store_prune(f->s, true, NULL, NULL, rep, &rec, &err), 0);
    assert_null(img_store_get(f->s, id));
    cJSON_Delete(rep);
}

static void test_prune_dangling(void **state)
{
    fx_t *f = *state;
    img_image_t *img = make_default(f);
    char id[IMG_DIGEST_LEN];
    strcpy(id, img->id);
    berth_err_t err = {0};
    cJSON *rep = cJSON_CreateArray();
    int64_t rec = 0;
    assert_int_equal(img_store_prune(f->s, false, NULL, NULL, rep, &rec, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rep), 0);
    assert_int_equal(img_store_untag(f->s, "busybox", &err), 0);
    assert_int_equal(img_store_prune(f->s, false, NULL, NULL, rep, &rec, &err), 0);
    assert_true(rec > 1000000);
    assert_null(img_store_get(f->s, id));
    cJSON_Delete(rep);
}

static void test_load_garbage_and_hostile(void **state)
{
    fx_t *f = *state;
    load_out_t o = {0};
    const char garbage[] = "definitely not a tarball, just words words words words words";
    assert_int_equal(load_bytes(f, f->s, garbage, sizeof(garbage), &o), -1);
    assert_int_equal(o.err.status, 400);
    buf_free(&o.lines);

    /* docker-archive whose layer tries ../escape */
    berth_buf_t layer;
    buf_init(&layer);
    tar_member_t lm[] = {{"../escape", AE_IFREG, "x", 0644}};
    tar_build(lm, 1, false, &layer);
    char diff[IMG_DIGEST_LEN];
    img_sha256_digest(layer.data, layer.len, diff);
    char *cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                          "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                          diff);
    char *layer_txt = xstrndup(layer.data, layer.len);
    (void)layer_txt;
    const char *manifest = "[{\"Config\":\"c.json\",\"RepoTags\":[\"evil:1\"],"
                           "\"Layers\":[\"l/layer.tar\"]}]";
    berth_buf_t outer;
    buf_init(&outer);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open(a, &outer, NULL, tb_write_cb2, NULL);
    struct {
        const char *name;
        const char *data;
        size_t len;
    } members[] = {{"c.json", cfg, strlen(cfg)},
                   {"l/layer.tar", layer.data, layer.len},
                   {"manifest.json", manifest, strlen(manifest)}};
    for (size_t i = 0; i < 3; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, members[i].name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)members[i].len);
        archive_write_header(a, e);
        archive_write_data(a, members[i].data, members[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    memset(&o, 0, sizeof(o));
    assert_int_equal(load_bytes(f, f->s, outer.data, outer.len, &o), -1);
    assert_non_null(strstr(o.err.msg, "escapes the layer"));
    char p[128];
    snprintf(p, sizeof(p), "%s/image/tmp", f->root);
    assert_int_equal(count_dir(p), 0);
    snprintf(p, sizeof(p), "%s/image/layers", f->root);
    assert_int_equal(count_dir(p), 0);
    assert_int_equal(img_store_count(f->s), 0);
    free(cfg);
    free(layer_txt);
    buf_free(&layer);
    buf_free(&outer);
    buf_free(&o.lines);
}

typedef struct ing_out {
    int done;
    img_layer_result_t res;
    berth_err_t err;
} ing_out_t;

static void ing_done(img_ingest_t *ing, const img_layer_result_t *res, const berth_err_t *err,
                     void *data)
{
    (void)ing;
    ing_out_t *o = data;
    o->done = err ? -1 : 1;
    if (res)
        o->res = *res;
    if (err)
        o->err = *err;
}

static void test_ingest_gzip(void **state)
{
    fx_t *f = *state;
    berth_buf_t gz, plain;
    buf_init(&gz);
    buf_init(&plain);
    tar_member_t m[] = {{"hello.txt", AE_IFREG, "hello world\n", 0644}};
    tar_build(m, 1, true, &gz);
    tar_build(m, 1, false, &plain);
    char want_digest[IMG_DIGEST_LEN], want_diff[IMG_DIGEST_LEN];
    img_sha256_digest(gz.data, gz.len, want_digest);
    img_sha256_digest(plain.data, plain.len, want_diff);
    img_ingest_t *ing;
    ing_out_t o = {0};
    berth_err_t err = {0};
    assert_int_equal(img_ingest_begin(f->s, want_digest, ing_done, &o, &ing, &err), 0);
    for (size_t off = 0; off < gz.len; off += 10)
        assert_int_equal(
            img_ingest_write(ing, gz.data + off, gz.len - off < 10 ? gz.len - off : 10), 0);
    img_ingest_end(ing);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    if (o.done != 1)
        fail_msg("ingest failed: %s", o.err.msg);
    assert_string_equal(o.res.digest, want_digest);
    assert_string_equal(o.res.diff_id, want_diff);
    char chain[IMG_DIGEST_LEN];
    assert_int_equal(img_ingest_commit(ing, NULL, chain, &err), 0);
    img_ingest_free(ing);
    assert_string_equal(chain, want_diff);
    assert_true(img_store_has_layer(f->s, chain));
    /* a wrong expected digest fails and leaves nothing */
    memset(&o, 0, sizeof(o));
    const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert_int_equal(img_ingest_begin(f->s, wrong, ing_done, &o, &ing, &err), 0);
    img_ingest_write(ing, gz.data, gz.len);
    img_ingest_end(ing);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(o.done, -1);
    assert_non_null(strstr(o.err.msg, "digest mismatch"));
    img_ingest_free(ing);
    char p[128];
    snprintf(p, sizeof(p), "%s/image/tmp", f->root);
    assert_int_equal(count_dir(p), 0);
    buf_free(&gz);
    buf_free(&plain);
}

static void test_blob_verification(void **state)
{
    fx_t *f = *state;
    berth_err_t err = {0};
    char dg[IMG_DIGEST_LEN];
    assert_int_equal(img_blob_put(f->s, NULL, "abc", 3, dg, &err), 0);
    assert_true(img_blob_exists(f->s, dg));
    const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    assert_int_equal(img_blob_put(f->s, wrong, "abc", 3, NULL, &err), -1);
    assert_int_equal(err.status, 400);
    assert_false(img_blob_exists(f->s, wrong));
    /* corrupt on disk -> read refuses */
    char p[256];
    snprintf(p, sizeof(p), "%s/image/blobs/sha256/%s", f->root, dg + 7);
    fs_write_atomic(p, "abd", 3, 0644);
    char *data;
    size_t len;
    berth_err_clear(&err);
    assert_int_equal(img_blob_get(f->s, dg, &data, &len, &err), -1);
    assert_non_null(strstr(err.msg, "corrupt"));
}

static void test_close_with_running_load(void **state)
{
    fx_t *f = *state;
    load_out_t o = {0};
    buf_init(&o.lines);
    img_load_cbs_t cbs = {lo_progress, lo_done, NULL, lo_status};
    img_load_t *ld;
    berth_err_t err = {0};
    assert_int_equal(img_load_begin(f->s, &cbs, &o, &ld, &err), 0);
    img_load_write(ld, "partial", 7);
    img_store_close(f->s);
    f->s = NULL;
    assert_int_equal(o.done, -1);
    assert_string_equal(o.err.msg, "image store closed");
    uv_run(&f->loop, UV_RUN_DEFAULT); /* reaps the killed helper */
    buf_free(&o.lines);
}

static void test_open_cleans_leftovers(void **state)
{
    fx_t *f = *state;
    img_store_close(f->s);
    char p[256];
    snprintf(p, sizeof(p), "%s/image/tmp/abc/diff", f->root);
    assert_int_equal(fs_mkdir_p(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/image/tmp/abc/diff/file", f->root);
    assert_int_equal(fs_write_atomic(p, "x", 1, 0600), 0);
    char junk1[256], junk2[256];
    snprintf(junk1, sizeof(junk1), "%s/image/images/%064d.tmp-AbCdEf", f->root, 0);
    snprintf(junk2, sizeof(junk2), "%s/image/repositories.json.tmp-123456", f->root);
    assert_int_equal(fs_write_atomic(junk1, "{", 1, 0600), 0);
    assert_int_equal(fs_write_atomic(junk2, "{", 1, 0600), 0);
    berth_err_t err = {0};
    assert_int_equal(img_store_open(&f->loop, f->root, &f->s, &err), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_false(fs_exists(junk1));
    assert_false(fs_exists(junk2));
    snprintf(p, sizeof(p), "%s/image/tmp", f->root);
    assert_int_equal(count_dir(p), 0);
    snprintf(p, sizeof(p), "%s/image", f->root);
    /* blobs, images, layers, tmp: no stale dirs left */
    assert_int_equal(count_dir(p), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load_roundtrip_and_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tag_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_dangling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_by_id_same_repository, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_garbage_and_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blob_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_running_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_cleans_leftovers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
