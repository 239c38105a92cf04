/* Unit tests for src/common: buffers, time parsing/formatting, bool parsing, fs helpers. */
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "berth/common.h"

static void test_buf(void **state)
{
    (void)state;
    berth_buf_t b;
    buf_init(&b);
    buf_puts(&b, "hello");
    buf_printf(&b, " %d", 42);
    assert_string_equal(b.data, "hello 42");
    buf_consume(&b, 6);
    assert_string_equal(b.data, "42");
    assert_int_equal(b.len, 2);
    buf_free(&b);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    int64_t ns = 0;
    assert_int_equal(berth_parse_time_ns("2026-11-28T13:00:00.123456789Z", &ns), 0);
    char out[48];
    berth_format_time_ns(ns, out, sizeof(out));
    assert_string_equal(out, "2026-11-28T13:00:00.123456789Z");
    assert_int_equal(berth_parse_time_ns("2026-11-28T14:00:00+01:00", &ns), 0);
    berth_format_time_ns(ns, out, sizeof(out));
    assert_string_equal(out, "2026-11-28T13:00:00.000000000Z");
    assert_int_equal(berth_parse_time_ns("1700000000.5", &ns), 0);
    assert_true(ns == 1700000000500000000LL);
    assert_int_not_equal(berth_parse_time_ns("yesterday", &ns), 0);
}

static void test_bool(void **state)
{
    (void)state;
    assert_false(berth_parse_bool("", true));
    assert_false(berth_parse_bool("False", true));
    assert_false(berth_parse_bool("0", true));
    assert_false(berth_parse_bool("NONE", true));
    assert_true(berth_parse_bool("1", false));
    assert_true(berth_parse_bool("True", false));
    assert_true(berth_parse_bool(NULL, true));
}

static void test_fs_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cleanup_free char *sub = xasprintf("%s/a/b/c", dir);
    assert_int_equal(fs_mkdir_p(sub, 0755), 0);
    cleanup_free char *file = xasprintf("%s/f.json", sub);
    assert_int_equal(fs_write_atomic(file, "{}", 2, 0600), 0);
    char *got = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(file, 0, &got, &len), 0);
    assert_int_equal(len, 2);
    assert_string_equal(got, "{}");
    free(got);
    assert_int_equal(fs_read_file(file, 1, &got, &len), -EFBIG);
    assert_int_equal(fs_rm_rf(dir), 0);
    assert_false(fs_exists(dir));
}

static void write_tmp(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* fs_replace: creates the target, replaces it whole, leaves no temp file. */
static void test_fs_replace(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cleanup_free char *file = xasprintf("%s/state.json", dir);
    cleanup_free char *tmp = xasprintf("%s/state.json.tmp", dir);
    write_tmp(tmp, "first");
    assert_int_equal(fs_replace(tmp, file), 0); /* no target yet: plain rename */
    assert_false(fs_exists(tmp));
    write_tmp(tmp, "second, longer");
    assert_int_equal(fs_replace(tmp, file), 0); /* swapped, the old one unlinked */
    assert_false(fs_exists(tmp));
    char *got = NULL;
    size_t len = 0;
    assert_int_equal(fs_read_file(file, 0, &got, &len), 0);
    assert_string_equal(got, "second, longer");
    free(got);
    assert_int_equal(fs_replace(tmp, file), -ENOENT); /* no source */
    assert_int_equal(fs_rm_rf(dir), 0);
}

static void test_human(void **state)
{
    (void)state;
    char out[32];
    berth_human_size(4261000, out, sizeof(out));
    assert_string_equal(out, "4.261MB");
    berth_human_duration(3, out, sizeof(out));
    assert_string_equal(out, "3 seconds");
    berth_human_duration(90, out, sizeof(out));
    assert_string_equal(out, "About a minute");
}

static void test_err(void **state)
{
    (void)state;
    berth_err_t err;
    berth_err_clear(&err);
    assert_false(berth_err_isset(&err));
    assert_int_equal(berth_err_sys(&err, ENOENT, "open %s", "x"), -ENOENT);
    berth_err_prefix(&err, "loading image %s", "y");
    assert_string_equal(err.msg, "loading image y: open x: No such file or directory");
    assert_int_equal(err.status, BERTH_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_bool),       cmocka_unit_test(test_fs_atomic),
        cmocka_unit_test(test_fs_replace), cmocka_unit_test(test_human),
        cmocka_unit_test(test_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
