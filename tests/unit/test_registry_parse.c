/* Unit tests for the registry client's parsers: WWW-Authenticate challenges,
 * base64 and X-Registry-Auth, references, manifests and platform selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "registry/internal.h"

static void test_challenge_bearer(void **state)
{
    (void)state;
    reg_challenge_t c;
    assert_int_equal(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                         "service=\"registry.docker.io\",scope=\"repository:"
                                         "library/busybox:pull\"",
                                         &c),
                     0);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/busybox:pull");
    assert_null(c.error);
    reg_challenge_free(&c);

    /* Spaces, unquoted values, escapes, unknown params, error= */
    assert_int_equal(reg_challenge_parse("  BEARER  realm = \"http://127.0.0.1:1/t\\\"x\" , "
                                         "foo=bar,error=\"insufficient_scope\", service=reg",
                                         &c),
                     0);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "http://127.0.0.1:1/t\"x");
    assert_string_equal(c.service, "reg");
    assert_string_equal(c.error, "insufficient_scope");
    assert_null(c.scope);
    reg_challenge_free(&c);
}

static void test_challenge_basic_and_bad(void **state)
{
    (void)state;
    reg_challenge_t c;
    assert_int_equal(reg_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
    assert_string_equal(c.scheme, "basic");
    assert_string_equal(c.realm, "Registry Realm");
    reg_challenge_free(&c);
    /* Two challenges: the first wins. */
    assert_int_equal(reg_challenge_parse("Basic realm=\"a\", Bearer realm=\"b\"", &c), 0);
    assert_string_equal(c.scheme, "basic");
    assert_string_equal(c.realm, "a");
    reg_challenge_free(&c);
    assert_int_equal(reg_challenge_parse("", &c), -EINVAL);
    assert_int_equal(reg_challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
    assert_int_equal(reg_challenge_parse(NULL, &c), -EINVAL);
}

static void test_base64(void **state)
{
    (void)state;
    size_t n;
    char *s = reg_base64_decode("e30=", &n);
    assert_string_equal(s, "{}");
    assert_int_equal(n, 2);
    free(s);
    s = reg_base64_decode("e30", &n); /* missing padding */
    assert_string_equal(s, "{}");
    free(s);
    /* URL alphabet and standard alphabet decode the same bytes */
    s = reg_base64_decode("-_8", &n);
    assert_int_equal(n, 2);
    assert_int_equal((unsigned char)s[0], 0xfb);
    assert_int_equal((unsigned char)s[1], 0xff);
    free(s);
    s = reg_base64_decode("+/8=", &n);
    assert_int_equal((unsigned char)s[0], 0xfb);
    free(s);
    assert_null(reg_base64_decode("a", &n));
    assert_null(reg_base64_decode("ab$d", &n));
    char *e = reg_base64_encode("user:pass", 9);
    assert_string_equal(e, "dXNlcjpwYXNz");
    free(e);
    e = reg_base64_encode("ab", 2);
    assert_string_equal(e, "YWI=");
    free(e);
}

static void test_registry_auth_header(void **state)
{
    (void)state;
    reg_auth_t a;
    berth_err_t err;
    berth_err_clear(&err);
    /* {"username":"bob","password":"s3cr?t","serveraddress":"localhost:5000"} in base64url */
    const char *json =
        "{\"username\":\"bob\",\"password\":\"s3cr?t>\",\"serveraddress\":\"localhost:5000\"}";
    char *std = reg_base64_encode(json, strlen(json));
    /* make it URL-safe without padding */
    for (char *p = std; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    char *pad = strchr(std, '=');
    if (pad)
        *pad = '\0';
    assert_int_equal(reg_auth_decode_header(std, &a, &err), 0);
    assert_string_equal(a.username, "bob");
    assert_string_equal(a.password, "s3cr?t>");
    assert_string_equal(a.server_address, "localhost:5000");
    assert_false(reg_auth_empty(&a));
    reg_auth_free(&a);
    free(std);

    /* "auth" field only, key case as Go accepts it */
    const char *json2 = "{\"Auth\":\"dXNlcjpwYTpzcw==\"}";
    char *b = reg_base64_encode(json2, strlen(json2));
    assert_int_equal(reg_auth_decode_header(b, &a, &err), 0);
    assert_string_equal(a.username, "user");
    assert_string_equal(a.password, "pa:ss");
    reg_auth_free(&a);
    free(b);

    assert_int_equal(reg_auth_decode_header("e30=", &a, &err), 0);
    assert_true(reg_auth_empty(&a));
    reg_auth_free(&a);
    assert_int_equal(reg_auth_decode_header(NULL, &a, &err), 0);
    assert_true(reg_auth_empty(&a));

    assert_int_not_equal(reg_auth_decode_header("!!!", &a, &err), 0);
    assert_int_equal(err.status, BERTH_E_INVALID);
    assert_non_null(strstr(err.msg, "X-Registry-Auth"));
    berth_err_clear(&err);
    b = reg_base64_encode("[1,2", 4);
    assert_int_not_equal(reg_auth_decode_header(b, &a, &err), 0);
    assert_non_null(strstr(err.msg, "not JSON"));
    free(b);
}

static void check_ref(const char *in, const char *tag, const char *domain, const char *path,
                      const char *want_tag, const char *digest, const char *familiar)
{
    reg_ref_t r;
    berth_err_t err;
    berth_err_clear(&err);
    assert_int_equal(reg_ref_parse(in, tag, &r, &err), 0);
    assert_string_equal(r.domain, domain);
    assert_string_equal(r.path, path);
    if (want_tag)
        assert_string_equal(r.tag, want_tag);
    else
        assert_null(r.tag);
    if (digest)
        assert_string_equal(r.digest, digest);
    else
        assert_null(r.digest);
    char *f = reg_ref_familiar_name(&r);
    assert_string_equal(f, familiar);
    free(f);
    reg_ref_free(&r);
}

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_reference(void **state)
{
    (void)state;
    check_ref("busybox", NULL, "docker.io", "library/busybox", "latest", NULL, "busybox");
    check_ref("docker.io/library/busybox", "1.36", "docker.io", "library/busybox", "1.36", NULL,
              "busybox");
    check_ref("index.docker.io/user/app:v1", NULL, "docker.io", "user/app", "v1", NULL, "user/app");
    check_ref("localhost:5000/foo", "", "localhost:5000", "foo", "latest", NULL,
              "localhost:5000/foo");
    check_ref("localhost/foo/bar:t", NULL, "localhost", "foo/bar", "t", NULL, "localhost/foo/bar");
    check_ref("127.0.0.1:41234/a/b-c__d.e@" D64, NULL, "127.0.0.1:41234", "a/b-c__d.e", NULL, D64,
              "127.0.0.1:41234/a/b-c__d.e");
    check_ref("busybox", D64, "docker.io", "library/busybox", NULL, D64, "busybox");
    assert_string_equal(reg_ref_api_host(&(reg_ref_t){.domain = "docker.io"}),
                        "registry-1.docker.io");

    reg_ref_t r;
    berth_err_t err;
    const char *bad[] = {"",     "Busybox",     "foo//bar",       "foo/",
                         "-foo", "foo:bad tag", "foo@sha256:123", "a/b:-x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        berth_err_clear(&err);
        assert_int_not_equal(reg_ref_parse(bad[i], NULL, &r, &err), 0);
        assert_int_equal(err.status, BERTH_E_INVALID);
        assert_non_null(strstr(err.msg, "invalid reference format"));
    }
    assert_int_not_equal(reg_ref_parse("busybox", "bad tag", &r, &err), 0);
}

static const char *manifest_v2 =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":"
    "1457,\"digest\":\"" D64 "\"},\"layers\":[{\"mediaType\":\"application/vnd.docker.image."
    "rootfs.diff.tar.gzip\",\"size\":2591575,\"digest\":\"" D64 "\"},{\"mediaType\":"
    "\"application/vnd.oci.image.layer.v1.tar+zstd\",\"size\":10,\"digest\":\"" D64 "\"}]}";

static void test_manifest_image(void **state)
{
    (void)state;
    reg_manifest_t m;
    berth_err_t err;
    berth_err_clear(&err);
    assert_int_equal(reg_manifest_parse(manifest_v2, strlen(manifest_v2), NULL, &m, &err), 0);
    assert_false(m.is_index);
    assert_string_equal(m.media_type, REG_MT_DOCKER_MANIFEST);
    assert_int_equal(m.config.size, 1457);
    assert_int_equal(m.n_layers, 2);
    assert_int_equal(m.layers[0].size, 2591575);
    assert_string_equal(m.layers[1].media_type, REG_MT_OCI_LAYER_ZSTD);
    reg_manifest_free(&m);

    /* OCI manifest without mediaType field: Content-Type decides */
    const char *oci = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":2,"
                      "\"digest\":\"" D64 "\"},\"layers\":[]}";
    assert_int_equal(
        reg_manifest_parse(oci, strlen(oci), REG_MT_OCI_MANIFEST "; charset=utf-8", &m, &err), 0);
    assert_string_equal(m.media_type, REG_MT_OCI_MANIFEST);
    assert_int_equal(m.n_layers, 0);
    reg_manifest_free(&m);
}

static void test_manifest_bad(void **state)
{
    (void)state;
    reg_manifest_t m;
    berth_err_t err;
    const char *cases[] = {
        "not json",
        "[]",
        "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}",
        "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"md5:abc\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"size\":-1,\"digest\":\"" D64 "\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"" D64 "\"},\"layers\":{}}",
        "{\"mediaType\":\"" REG_MT_OCI_INDEX "\",\"manifests\":[{\"size\":1}]}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        berth_err_clear(&err);
        assert_int_not_equal(
            reg_manifest_parse(cases[i], strlen(cases[i]), "application/json", &m, &err), 0);
        assert_true(berth_err_isset(&err));
    }
    berth_err_clear(&err);
    reg_manifest_parse(cases[2], strlen(cases[2]), NULL, &m, &err);
    assert_non_null(strstr(err.msg, "schema 1"));
}

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":["
    "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"sha256:"
    "1111111111111111111111111111111111111111111111111111111111111111\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"sha256:"
    "2222222222222222222222222222222222222222222222222222222222222222\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"sha256:"
    "3333333333333333333333333333333333333333333333333333333333333333\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"sha256:"
    "4444444444444444444444444444444444444444444444444444444444444444\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"size\":1,\"digest\":\"sha256:"
    "5555555555555555555555555555555555555555555555555555555555555555\","
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

static char select_digit(const reg_manifest_t *idx, const char *platform)
{
    char *os, *arch, *variant;
    berth_err_t err;
    berth_err_clear(&err);
    assert_int_equal(reg_platform_parse(platform, &os, &arch, &variant, &err), 0);
    const reg_descriptor_t *d = reg_manifest_select(idx, os, arch, variant, &err);
    free(os);
    free(arch);
    free(variant);
    if (!d) {
        assert_int_equal(err.status, BERTH_E_NOT_FOUND);
        return '-';
    }
    return d->digest[7];
}

static void test_platform_select(void **state)
{
    (void)state;
    reg_manifest_t m;
    berth_err_t err;
    assert_int_equal(reg_manifest_parse(index_json, strlen(index_json), NULL, &m, &err), 0);
    assert_true(m.is_index);
    assert_int_equal(m.n_entries, 5);
    assert_string_equal(m.entries[1].variant, "v7");
    assert_int_equal(select_digit(&m, NULL), '4');
    assert_int_equal(select_digit(&m, "linux/amd64"), '4');
    assert_int_equal(select_digit(&m, "LINUX/X86_64"), '4');
    assert_int_equal(select_digit(&m, "linux/arm64"), '3');
    assert_int_equal(select_digit(&m, "linux/arm64/v8"), '3');
    assert_int_equal(select_digit(&m, "arm64"), '3');
    assert_int_equal(select_digit(&m, "linux/arm/v6"), '1');
    assert_int_equal(select_digit(&m, "linux/arm"), '2');
    assert_int_equal(select_digit(&m, "linux/s390x"), '-');
    assert_int_equal(select_digit(&m, "windows/amd64"), '-');
    reg_manifest_free(&m);

    char *os, *arch, *variant;
    assert_int_not_equal(reg_platform_parse("a/b/c/d", &os, &arch, &variant, &err), 0);
    assert_int_not_equal(reg_platform_parse("/", &os, &arch, &variant, &err), 0);
}

static void test_sha256(void **state)
{
    (void)state;
    char d[72];
    reg_sha256_digest("", 0, d);
    assert_string_equal(d,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_true(reg_digest_valid(d));
    assert_false(reg_digest_valid("sha256:E3b0"));
}

/* Bounded mutation run over the parsers that read registry and client
 * input: flipped, dropped and truncated bytes must give errors, never
 * crashes or leaks (ASan/UBSan builds check that). Deterministic seed. */
static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void mutate(const char *in, berth_buf_t *out, uint32_t *seed)
{
    buf_reset(out);
    buf_puts(out, in);
    int edits = 1 + (int)(rng_next(seed) % 4);
    for (int i = 0; i < edits && out->len > 0; i++) {
        size_t pos = rng_next(seed) % out->len;
        switch (rng_next(seed) % 4) {
        case 0:
            out->data[pos] = (char)(rng_next(seed) & 0xff);
            break;
        case 1:
            memmove(out->data + pos, out->data + pos + 1, out->len - pos);
            out->len--;
            break;
        case 2:
            out->len = pos;
            out->data[pos] = '\0';
            break;
        default:
            out->data[pos] = "{}[]\":,=\\ "[rng_next(seed) % 10];
            break;
        }
    }
}

static void test_mutations(void **state)
{
    (void)state;
    const char *challenge =
        "Bearer realm=\"https://a/t\",service=\"s\",scope=\"repository:x:pull\"";
    uint32_t seed = 0x9e3779b9;
    berth_buf_t m;
    buf_init(&m);
    int ok = 0;
    for (int i = 0; i < 3000; i++) {
        const char *src = i % 3 == 0 ? manifest_v2 : i % 3 == 1 ? index_json : challenge;
        mutate(src, &m, &seed);
        berth_err_t err;
        berth_err_clear(&err);
        reg_manifest_t man;
        if (reg_manifest_parse(m.data, m.len, NULL, &man, &err) == 0) {
            ok++;
            if (man.is_index) {
                const reg_descriptor_t *d = reg_manifest_select(&man, "linux", "amd64", NULL, &err);
                (void)d;
            }
            reg_manifest_free(&man);
        }
        reg_challenge_t c;
        if (reg_challenge_parse(m.data, &c) == 0)
            reg_challenge_free(&c);
        reg_auth_t a;
        if (reg_auth_decode_header(m.data, &a, &err) == 0)
            reg_auth_free(&a);
        char *b64 = reg_base64_encode(m.data, m.len);
        if (reg_auth_decode_header(b64, &a, &err) == 0)
            reg_auth_free(&a);
        free(b64);
        reg_ref_t r;
        if (reg_ref_parse(m.data, NULL, &r, &err) == 0)
            reg_ref_free(&r);
    }
    buf_free(&m);
    /* Some mutants stay valid (e.g. a changed size digit): the run covered both paths. */
    assert_true(ok > 0 && ok < 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_bearer), cmocka_unit_test(test_challenge_basic_and_bad),
        cmocka_unit_test(test_base64),           cmocka_unit_test(test_registry_auth_header),
        cmocka_unit_test(test_reference),        cmocka_unit_test(test_manifest_image),
        cmocka_unit_test(test_manifest_bad),     cmocka_unit_test(test_platform_select),
        cmocka_unit_test(test_sha256),           cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
