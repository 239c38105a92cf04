/* Reference parsing and normalisation, checked against Docker's behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "berth/image.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_normalise_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *full, *familiar;
    } cases[] = {
        {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
        {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
        {"foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
        {"localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"},
        {"localhost/x", "localhost/x:latest", "localhost/x:latest"},
        {"example.com/a/b/c:v1.2-rc_3", "example.com/a/b/c:v1.2-rc_3",
         "example.com/a/b/c:v1.2-rc_3"},
        {"my-reg.io:443/a__b/c.d", "my-reg.io:443/a__b/c.d:latest",
         "my-reg.io:443/a__b/c.d:latest"},
        {"busybox@" D64, "docker.io/library/busybox@" D64, "busybox@" D64},
        {"busybox:1@" D64, "docker.io/library/busybox:1@" D64, "busybox:1@" D64},
        {"a---b", "docker.io/library/a---b:latest", "a---b:latest"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        img_ref_t r;
        berth_err_t err = {0};
        int rc = img_ref_parse(cases[i].in, &r, &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].in, err.msg);
        char *full = img_ref_string(&r);
        char *fam = img_ref_familiar(&r);
        assert_string_equal(full, cases[i].full);
        assert_string_equal(fam, cases[i].familiar);
        free(full);
        free(fam);
        img_ref_free(&r);
    }
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "Busybox",
        "foo/Bar",
        "busybox:",
        ":tag",
        "busybox:-x",
        "a//b",
        "-a",
        "a-",
        "a_-b",
        "busybox@sha256:abc",
        "busybox@md5:0123",
        "a:b:c",
        "/busybox",
        "busybox/",
        "localhost:port/x",
        "a..b",
        "exa_mple.com/x/y",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        img_ref_t r;
        berth_err_t err = {0};
        if (img_ref_parse(bad[i], &r, &err) == 0)
            fail_msg("accepted invalid reference '%s'", bad[i]);
        assert_int_equal(err.status, BERTH_E_INVALID);
        assert_non_null(strstr(err.msg, "invalid"));
    }
    img_ref_t r;
    berth_err_t err = {0};
    assert_int_equal(img_ref_parse("Busybox", &r, &err), -1);
    assert_string_equal(err.msg,
                        "invalid reference format: repository name (Busybox) must be lowercase");
    berth_err_clear(&err);
    assert_int_equal(img_ref_parse("a b", &r, &err), -1);
    assert_string_equal(err.msg, "invalid reference format");
}

static void test_no_default_tag(void **state)
{
    (void)state;
    img_ref_t r;
    berth_err_t err = {0};
    assert_int_equal(img_ref_parse_no_default("busybox", &r, &err), 0);
    assert_null(r.tag);
    char *s = img_ref_familiar(&r);
    assert_string_equal(s, "busybox");
    free(s);
    img_ref_free(&r);
    s = img_ref_familiarize("docker.io/library/busybox:latest");
    assert_string_equal(s, "busybox:latest");
    free(s);
}

static void test_ids_and_chain(void **state)
{
    (void)state;
    assert_true(img_is_full_id(D64));
    assert_true(img_is_full_id(D64 + 7));
    assert_false(img_is_full_id("sha256:0123"));
    assert_true(img_digest_valid(D64));
    assert_false(img_digest_valid(
        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    char out[IMG_DIGEST_LEN];
    img_sha256_digest("", 0, out);
    assert_string_equal(out,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    img_chain_id(NULL, D64, out);
    assert_string_equal(out, D64);
    char expect[IMG_DIGEST_LEN];
    const char *txt = D64 " " D64;
    img_sha256_digest(txt, strlen(txt), expect);
    img_chain_id(D64, D64, out);
    assert_string_equal(out, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_table),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_no_default_tag),
        cmocka_unit_test(test_ids_and_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
