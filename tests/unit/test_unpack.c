/* Layer unpack: whiteouts, path safety against hostile tars, digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/internal.h"
#include "image_testutil.h"

typedef struct fixture {
    char base[64];
    char dest[128];
    char outside[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = xcalloc(1, sizeof(*f));
    strcpy(f->base, "/tmp/berth-unpack-XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->dest, sizeof(f->dest), "%s/layer", f->base);
    snprintf(f->outside, sizeof(f->outside), "%s/outside", f->base);
    mkdir(f->dest, 0755);
    mkdir(f->outside, 0755);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fs_rm_rf(f->base);
    free(f);
    return 0;
}

static ssize_t buf_read(void *ctx, void *out, size_t len)
{
    berth_buf_t *b = ctx;
    size_t n = len < b->len ? len : b->len;
    memcpy(out, b->data, n);
    buf_consume(b, n);
    return (ssize_t)n;
}

static int unpack_members(fixture_t *f, const tar_member_t *m, size_t n, bool gzip,
                          img_layer_result_t *res, berth_err_t *err, char tar_digest[72])
{
    berth_buf_t b;
    buf_init(&b);
    tar_build(m, n, gzip, &b);
    if (tar_digest)
        img_sha256_digest(b.data, b.len, tar_digest);
    int r = img_unpack_stream(buf_read, &b, f->dest, NULL, NULL, res, err);
    buf_free(&b);
    return r;
}

static void test_regular_and_digests(void **state)
{
    fixture_t *f = *state;
    tar_member_t m[] = {
        {"etc/", AE_IFDIR, NULL, 0755},
        {"etc/hostname", AE_IFREG, "box\n", 0640},
        {"bin/sh", AE_IFLNK, "/bin/busybox", 0777},
        {"etc/hn2", 0, "etc/hostname", 0},
    };
    img_layer_result_t res;
    berth_err_t err = {0};
    char plain[72];
    assert_int_equal(unpack_members(f, m, 4, false, &res, &err, plain), 0);
    assert_string_equal(res.diff_id, plain);
    assert_string_equal(res.digest, plain);
    assert_int_equal(res.size, 4);
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/etc/hostname", f->dest);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_nlink, 2);
    snprintf(p, sizeof(p), "%s/bin/sh", f->dest);
    char target[64] = "";
    assert_int_equal(readlink(p, target, sizeof(target)), 12);
    assert_string_equal(target, "/bin/busybox");
}

static void test_gzip_digest_differs(void **state)
{
    fixture_t *f = *state;
    tar_member_t m[] = {{"a", AE_IFREG, "hello", 0644}};
    img_layer_result_t res;
    berth_err_t err = {0};
    char gz[72];
    assert_int_equal(unpack_members(f, m, 1, true, &res, &err, gz), 0);
    assert_string_equal(res.digest, gz);
    /* diff_id is the hash of the uncompressed tar */
    berth_buf_t b;
    buf_init(&b);
    tar_build(m, 1, false, &b);
    char plain[72];
    img_sha256_digest(b.data, b.len, plain);
    buf_free(&b);
    assert_string_equal(res.diff_id, plain);
    assert_string_not_equal(res.diff_id, res.digest);
}

static void test_whiteouts(void **state)
{
    fixture_t *f = *state;
    tar_member_t m[] = {
        {"dir/", AE_IFDIR, NULL, 0755},
        {"dir/.wh..wh..opq", AE_IFREG, "", 0644},
        {"etc/.wh.passwd", AE_IFREG, "", 0644},
    };
    img_layer_result_t res;
    berth_err_t err = {0};
    assert_int_equal(unpack_members(f, m, 3, false, &res, &err, NULL), 0);
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/etc/passwd", f->dest);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    snprintf(p, sizeof(p), "%s/etc/.wh.passwd", f->dest);
    assert_int_equal(lstat(p, &st), -1);
    snprintf(p, sizeof(p), "%s/dir", f->dest);
    char v[4] = "";
    assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    snprintf(p, sizeof(p), "%s/dir/.wh..wh..opq", f->dest);
    assert_int_equal(lstat(p, &st), -1);
}

static void expect_rejected(fixture_t *f, const tar_member_t *m, size_t n, const char *needle)
{
    img_layer_result_t res;
    berth_err_t err = {0};
    assert_int_equal(unpack_members(f, m, n, false, &res, &err, NULL), -1);
    assert_int_equal(err.status, BERTH_E_INVALID);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not mention '%s'", err.msg, needle);
    /* nothing written next to the layer */
    char p[256];
    snprintf(p, sizeof(p), "%s/pwned", f->outside);
    assert_false(fs_exists(p));
    snprintf(p, sizeof(p), "%s/pwned", f->base);
    assert_false(fs_exists(p));
}

static void test_traversal_rejected(void **state)
{
    tar_member_t m[] = {{"../pwned", AE_IFREG, "x", 0644}};
    expect_rejected(*state, m, 1, "escapes the layer");
    tar_member_t m2[] = {{"a/../../pwned", AE_IFREG, "x", 0644}};
    expect_rejected(*state, m2, 1, "escapes the layer");
}

static void test_symlink_escape_rejected(void **state)
{
    fixture_t *f = *state;
    char target[160];
    snprintf(target, sizeof(target), "%s", f->outside);
    tar_member_t m[] = {
        {"link", AE_IFLNK, target, 0777},
        {"link/pwned", AE_IFREG, "x", 0644},
    };
    expect_rejected(f, m, 2, "symlink");
    tar_member_t m2[] = {
        {"up", AE_IFLNK, "..", 0777},
        {"up/pwned", AE_IFREG, "x", 0644},
    };
    expect_rejected(f, m2, 2, "symlink");
}

static void test_symlink_final_component_replaced(void **state)
{
    /* A file entry over an existing symlink replaces the link, never writes through it. */
    fixture_t *f = *state;
    char target[160];
    snprintf(target, sizeof(target), "%s/pwned", f->outside);
    tar_member_t m[] = {
        {"x", AE_IFLNK, target, 0777},
        {"x", AE_IFREG, "data", 0644},
    };
    img_layer_result_t res;
    berth_err_t err = {0};
    assert_int_equal(unpack_members(f, m, 2, false, &res, &err, NULL), 0);
    assert_false(fs_exists(target));
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/x", f->dest);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_hardlink_escape_rejected(void **state)
{
    tar_member_t m[] = {{"h", 0, "../../../etc/passwd", 0}};
    expect_rejected(*state, m, 1, "escapes the layer");
    fixture_t *f = *state;
    tar_member_t m2[] = {
        {"l", AE_IFLNK, "/etc", 0777},
        {"h", 0, "l/passwd", 0},
    };
    expect_rejected(f, m2, 2, "symlink");
}

static void test_absolute_path_stays_inside(void **state)
{
    fixture_t *f = *state;
    char abs[200];
    snprintf(abs, sizeof(abs), "%s/pwned", f->outside);
    tar_member_t m[] = {{abs, AE_IFREG, "x", 0644}};
    img_layer_result_t res;
    berth_err_t err = {0};
    assert_int_equal(unpack_members(f, m, 1, false, &res, &err, NULL), 0);
    assert_false(fs_exists(abs));
    char p[400];
    snprintf(p, sizeof(p), "%s%s", f->dest, abs);
    assert_true(fs_exists(p));
}

static void test_garbage_rejected(void **state)
{
    fixture_t *f = *state;
    berth_buf_t b;
    buf_init(&b);
    buf_puts(&b, "this is not a tar archive at all, just some text that goes on and on");
    img_layer_result_t res;
    berth_err_t err = {0};
    assert_int_equal(img_unpack_stream(buf_read, &b, f->dest, NULL, NULL, &res, &err), -1);
    assert_int_equal(err.status, BERTH_E_INVALID);
    buf_free(&b);
}

static void test_expected_digest_mismatch(void **state)
{
    fixture_t *f = *state;
    berth_buf_t b;
    buf_init(&b);
    tar_member_t m[] = {{"a", AE_IFREG, "x", 0644}};
    tar_build(m, 1, false, &b);
    img_layer_result_t res;
    berth_err_t err = {0};
    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(img_unpack_stream(buf_read, &b, f->dest, wrong, NULL, &res, &err), -1);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    buf_free(&b);
}

/* Cheap robustness check: mutated archives must fail cleanly, never crash
 * (ASan/UBSan builds) nor write outside the layer. */
static void test_mutated_archives(void **state)
{
    fixture_t *f = *state;
    char target[160];
    snprintf(target, sizeof(target), "%s", f->outside);
    tar_member_t m[] = {
        {"d/", AE_IFDIR, NULL, 0755},       {"d/file", AE_IFREG, "some content here", 0644},
        {"d/link", AE_IFLNK, target, 0777}, {"d/hl", 0, "d/file", 0},
        {"d/.wh.gone", AE_IFREG, "", 0644},
    };
    unsigned seed = 12345;
    for (int gz = 0; gz < 2; gz++) {
        berth_buf_t orig;
        buf_init(&orig);
        tar_build(m, 5, gz, &orig);
        for (int iter = 0; iter < 150; iter++) {
            berth_buf_t b;
            buf_init(&b);
            buf_append(&b, orig.data, orig.len);
            int flips = 1 + (int)(rand_r(&seed) % 8);
            for (int k = 0; k < flips; k++)
                b.data[rand_r(&seed) % b.len] ^= (char)(1 << (rand_r(&seed) % 8));
            if (rand_r(&seed) % 4 == 0)
                b.len = rand_r(&seed) % b.len;
            fs_rm_rf(f->dest);
            mkdir(f->dest, 0755);
            img_layer_result_t res;
            berth_err_t err = {0};
            int r = img_unpack_stream(buf_read, &b, f->dest, NULL, NULL, &res, &err);
            assert_true(r == 0 || (r == -1 && err.msg[0]));
            buf_free(&b);
        }
        buf_free(&orig);
    }
    DIR *d = opendir(f->outside);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_regular_and_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_digest_differs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traversal_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escape_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_final_component_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hardlink_escape_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_path_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_digest_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutated_archives, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
