/* berth_sha256/berth_sha1: libcrypto loaded on first use gives the standard digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "berth/sha256.h"
#include "http/internal.h"
#include "image/internal.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_known_answers(void **state)
{
    (void)state;
    unsigned char md[BERTH_SHA256_LEN];
    char txt[2 * BERTH_SHA256_LEN + 1];
    berth_sha256("abc", 3, md);
    hex(md, sizeof(md), txt);
    assert_string_equal(txt, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* streaming in pieces == one shot */
    berth_sha256_t h;
    berth_sha256_init(&h);
    berth_sha256_update(&h, "a", 1);
    berth_sha256_update(&h, "bc", 2);
    unsigned char md2[BERTH_SHA256_LEN];
    berth_sha256_final(&h, md2);
    assert_memory_equal(md, md2, sizeof(md));
    char dg[72];
    berth_sha256_digest_str("", 0, dg);
    assert_string_equal(dg,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char img[IMG_DIGEST_LEN];
    img_sha256_digest("", 0, img);
    assert_string_equal(img, dg);
    unsigned char s1[BERTH_SHA1_LEN];
    char t1[2 * BERTH_SHA1_LEN + 1];
    berth_sha1("abc", 3, s1);
    hex(s1, sizeof(s1), t1);
    assert_string_equal(t1, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* RFC 6455 section 1.3 example: SHA-1 + our base64. */
static void test_ws_accept_key(void **state)
{
    (void)state;
    char out[64];
    http_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_known_answers),
                                       cmocka_unit_test(test_ws_accept_key)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
