/* Unit tests for src/cli: flag parsing, tables, templates, JSON output, sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "cli/internal.h"

static void test_flags_basic(void **state)
{
    (void)state;
    bool all = false, quiet = false;
    const char *format = NULL;
    long n = 0;
    cli_strv_t filters = {0};
    cli_flag_t flags[] = {
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {'q', "quiet", CLI_FLAG_BOOL, &quiet, false},
        {0, "format", CLI_FLAG_STRING, &format, false},
        {'f', "filter", CLI_FLAG_LIST, &filters, false},
        {'n', "last", CLI_FLAG_INT, &n, false},
        CLI_FLAGS_END,
    };
    char *argv[] = {"images",   "-aq", "x",     "--format=json", "-f", "a=1",
                    "--filter", "b=2", "-fc=3", "-n5",           "y",  "--",
                    "-z",       NULL};
    int npos;
    char **pos;
    berth_err_t err = {0};
    assert_int_equal(cli_flags_parse(flags, 13, argv, true, &npos, &pos, &err), 0);
    assert_true(all);
    assert_true(quiet);
    assert_string_equal(format, "json");
    assert_int_equal(filters.n, 3);
    assert_string_equal(filters.v[0], "a=1");
    assert_string_equal(filters.v[1], "b=2");
    assert_string_equal(filters.v[2], "c=3");
    assert_int_equal(n, 5);
    assert_int_equal(npos, 3);
    assert_string_equal(pos[0], "x");
    assert_string_equal(pos[1], "y");
    assert_string_equal(pos[2], "-z");
    free(pos);
    cli_strv_free(&filters);
}

static void test_flags_not_interspersed(void **state)
{
    (void)state;
    bool detach = false, tty = false;
    cli_flag_t flags[] = {
        {'d', "detach", CLI_FLAG_BOOL, &detach, false},
        {'t', "tty", CLI_FLAG_BOOL, &tty, false},
        CLI_FLAGS_END,
    };
    /* run: flags after the image belong to the container command. */
    char *argv[] = {"run", "-d", "busybox", "ls", "-t", NULL};
    int npos;
    char **pos;
    berth_err_t err = {0};
    assert_int_equal(cli_flags_parse(flags, 5, argv, false, &npos, &pos, &err), 0);
    assert_true(detach);
    assert_false(tty);
    assert_int_equal(npos, 3);
    assert_string_equal(pos[0], "busybox");
    assert_string_equal(pos[2], "-t");
    free(pos);
}

static void test_flags_errors(void **state)
{
    (void)state;
    bool all = false;
    const char *fmt = NULL;
    long n = 0;
    cli_flag_t flags[] = {
        {'a', "all", CLI_FLAG_BOOL, &all, false},
        {0, "format", CLI_FLAG_STRING, &fmt, false},
        {'n', "last", CLI_FLAG_INT, &n, false},
        CLI_FLAGS_END,
    };
    int npos;
    char **pos;
    berth_err_t err = {0};
    char *a1[] = {"images", "--bogus", NULL};
    assert_int_equal(cli_flags_parse(flags, 2, a1, true, &npos, &pos, &err), -1);
    assert_string_equal(err.msg, "unknown flag: --bogus");
    free(pos);
    char *a2[] = {"images", "-az", NULL};
    assert_int_equal(cli_flags_parse(flags, 2, a2, true, &npos, &pos, &err), -1);
    assert_string_equal(err.msg, "unknown shorthand flag: 'z' in -az");
    free(pos);
    char *a3[] = {"images", "--format", NULL};
    assert_int_equal(cli_flags_parse(flags, 2, a3, true, &npos, &pos, &err), -1);
    assert_string_equal(err.msg, "flag needs an argument: --format");
    free(pos);
    char *a4[] = {"ps", "-n", "x", NULL};
    assert_int_equal(cli_flags_parse(flags, 3, a4, true, &npos, &pos, &err), -1);
    assert_non_null(strstr(err.msg, "invalid argument \"x\""));
    free(pos);
    char *a5[] = {"ps", "--help", NULL};
    assert_int_equal(cli_flags_parse(flags, 2, a5, true, &npos, &pos, &err), 1);
    free(pos);
    char *a6[] = {"ps", "--all=false", NULL};
    all = true;
    assert_int_equal(cli_flags_parse(flags, 2, a6, true, &npos, &pos, &err), 0);
    assert_false(all);
    free(pos);
}

static void test_table_layout(void **state)
{
    (void)state;
    cli_table_t t;
    cli_table_init(&t, 3);
    const char *h[] = {"REPOSITORY", "TAG", "SIZE"};
    const char *r1[] = {"busybox", "latest", "4.26MB"};
    const char *r2[] = {"localhost:5000/some/long", "v1", "1B"};
    cli_table_add(&t, h);
    cli_table_add(&t, r1);
    cli_table_add(&t, r2);
    char *s = cli_table_render(&t);
    /* Column width: max(10, widest + 3); no padding after the last column. */
    assert_string_equal(s, "REPOSITORY                 TAG       SIZE\n"
                           "busybox                    latest    4.26MB\n"
                           "localhost:5000/some/long   v1        1B\n");
    free(s);
    cli_table_free(&t);
}

static void test_rows_formats(void **state)
{
    (void)state;
    static const cli_column_t cols[] = {{"ID", "IMAGE ID"}, {"Tag", "TAG"}};
    cJSON *rows[2];
    for (int i = 0; i < 2; i++) {
        rows[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(rows[i], "Tag", i ? "v2" : "latest");
        cJSON_AddStringToObject(rows[i], "ID", i ? "bbb" : "aaa");
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_print_rows(f, "json", cols, 2, rows, 2);
    fclose(f);
    /* Keys sorted like Go's map encoding. */
    assert_string_equal(buf,
                        "{\"ID\":\"aaa\",\"Tag\":\"latest\"}\n{\"ID\":\"bbb\",\"Tag\":\"v2\"}\n");
    free(buf);
    f = open_memstream(&buf, &len);
    cli_print_rows(f, "{{.ID}}:{{.Tag}}", cols, 2, rows, 2);
    fclose(f);
    assert_string_equal(buf, "aaa:latest\nbbb:v2\n");
    free(buf);
    f = open_memstream(&buf, &len);
    cli_print_rows(f, "table {{.Tag}}\\t{{.ID}}", cols, 2, rows, 2);
    fclose(f);
    assert_string_equal(buf, "TAG       IMAGE ID\nlatest    aaa\nv2        bbb\n");
    free(buf);
    for (int i = 0; i < 2; i++)
        cJSON_Delete(rows[i]);
}

static void test_template_and_pretty(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"Id\":\"x\",\"Config\":{\"Cmd\":[\"sh\",\"-c\"],\"Tty\":false},"
                           "\"Size\":1234567,\"Empty\":{},\"L\":[]}");
    char *s = cli_template_render("{{.Id}} {{.Config.Cmd}} {{json .Config.Cmd}} {{.Size}} "
                                  "{{.Config.Tty}} {{.Nope}}",
                                  j);
    assert_string_equal(s, "x [sh -c] [\"sh\",\"-c\"] 1234567 false <no value>");
    free(s);
    s = cli_json_pretty(j);
    assert_string_equal(s, "{\n    \"Id\": \"x\",\n    \"Config\": {\n        \"Cmd\": [\n"
                           "            \"sh\",\n            \"-c\"\n        ],\n"
                           "        \"Tty\": false\n    },\n    \"Size\": 1234567,\n"
                           "    \"Empty\": {},\n    \"L\": []\n}");
    free(s);
    cJSON_Delete(j);
}

static void test_sizes(void **state)
{
    (void)state;
    char b[32];
    cli_human_size(4261234, 3, b, sizeof(b));
    assert_string_equal(b, "4.26MB");
    cli_human_size(999, 3, b, sizeof(b));
    assert_string_equal(b, "999B");
    cli_human_size(1234, 4, b, sizeof(b));
    assert_string_equal(b, "1.234kB");
    cli_human_size(0, 3, b, sizeof(b));
    assert_string_equal(b, "0B");
    assert_int_equal(cli_parse_bytes("512m"), 512LL * 1024 * 1024);
    assert_int_equal(cli_parse_bytes("1g"), 1024LL * 1024 * 1024);
    assert_int_equal(cli_parse_bytes("100k"), 102400);
    assert_int_equal(cli_parse_bytes("42"), 42);
    assert_int_equal(cli_parse_bytes("1.5GB"), 1536LL * 1024 * 1024);
    assert_int_equal(cli_parse_bytes("12x"), -1);
    assert_int_equal(cli_parse_bytes(""), -1);
    cli_short_id("sha256:0123456789abcdef0123", b, sizeof(b));
    assert_string_equal(b, "0123456789ab");
    int64_t now = berth_now_ns() / 1000000000LL;
    cli_time_ago(now - 120, b, sizeof(b));
    assert_string_equal(b, "2 minutes ago");
}

static void test_config_auth(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-test-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/sub/config.json", dir);
    /* Start from a config written by someone else: its other keys survive. */
    char *sub = xasprintf("%s/sub", dir);
    assert_int_equal(fs_mkdir_p(sub, 0700), 0);
    const char *orig = "{\"auths\":{\"other.io\":{\"auth\":\"eDp5\"}},\"psFormat\":\"x\"}";
    assert_int_equal(fs_write_atomic(path, orig, strlen(orig), 0600), 0);
    assert_int_equal(cli_config_set_auth(path, "localhost:5000", "me", "p:w"), 0);
    char *user, *pass;
    assert_int_equal(cli_config_get_auth(path, "localhost:5000", &user, &pass), 0);
    assert_string_equal(user, "me");
    assert_string_equal(pass, "p:w");
    free(user);
    free(pass);
    /* Lookup by hostname matches a key stored with a scheme. */
    assert_int_equal(cli_config_get_auth(path, "https://other.io/v1/", &user, &pass), 0);
    assert_string_equal(user, "x");
    assert_string_equal(pass, "y");
    free(user);
    free(pass);
    char *data;
    size_t len;
    assert_int_equal(fs_read_file(path, 1 << 20, &data, &len), 0);
    cJSON *j = cJSON_Parse(data);
    assert_string_equal(cJSON_GetObjectItem(j, "psFormat")->valuestring, "x");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "auths"), "localhost:5000"),
                            "auth")
            ->valuestring,
        "bWU6cDp3");
    cJSON_Delete(j);
    free(data);
    assert_int_equal(cli_config_set_auth(path, "localhost:5000", NULL, NULL), 0);
    assert_int_equal(cli_config_get_auth(path, "localhost:5000", &user, &pass), -1);
    assert_int_equal(cli_config_set_auth(path, "localhost:5000", NULL, NULL), -ENOENT);
    /* A config we cannot parse is never overwritten. */
    assert_int_equal(fs_write_atomic(path, "{bad", 4, 0600), 0);
    assert_int_equal(cli_config_set_auth(path, "a", "b", "c"), -EINVAL);

    char *r = cli_registry_of_ref("busybox");
    assert_string_equal(r, "https://index.docker.io/v1/");
    free(r);
    r = cli_registry_of_ref("docker.io/library/busybox");
    assert_string_equal(r, "https://index.docker.io/v1/");
    free(r);
    r = cli_registry_of_ref("localhost:5000/a/b");
    assert_string_equal(r, "localhost:5000");
    free(r);
    r = cli_registry_of_ref("user/repo");
    assert_string_equal(r, "https://index.docker.io/v1/");
    free(r);
    fs_rm_rf(dir);
    free(path);
    free(sub);
}

static void test_detach_keys(void **state)
{
    (void)state;
    unsigned char k[8];
    assert_int_equal(cli_parse_detach_keys("ctrl-p,ctrl-q", k, sizeof(k)), 2);
    assert_int_equal(k[0], 0x10);
    assert_int_equal(k[1], 0x11);
    assert_int_equal(cli_parse_detach_keys("a,ctrl-@,ctrl-[", k, sizeof(k)), 3);
    assert_int_equal(k[0], 'a');
    assert_int_equal(k[1], 0);
    assert_int_equal(k[2], 27);
    assert_int_equal(cli_parse_detach_keys("ctrl-", k, sizeof(k)), -1);
    assert_int_equal(cli_parse_detach_keys("abc", k, sizeof(k)), -1);
    assert_int_equal(cli_parse_detach_keys("", k, sizeof(k)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_basic),  cmocka_unit_test(test_flags_not_interspersed),
        cmocka_unit_test(test_flags_errors), cmocka_unit_test(test_table_layout),
        cmocka_unit_test(test_rows_formats), cmocka_unit_test(test_template_and_pretty),
        cmocka_unit_test(test_sizes),        cmocka_unit_test(test_config_auth),
        cmocka_unit_test(test_detach_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
