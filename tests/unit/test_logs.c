/* Unit tests for the json-file log reader (src/logs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/logs.h"
#include "runtime/internal.h"

typedef struct {
    char dir[64];
    char path[128];
} fx_t;

static int setup(void **state)
{
    fx_t *f = xcalloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/berth-logs-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/c-json.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    fs_rm_rf(f->dir);
    free(f);
    return 0;
}

/* Seconds since the epoch -> ns, for readable fixtures. */
#define SEC(s) ((int64_t)(s)*1000000000LL)

static void append_entry(const char *path, const char *stream, const char *log_json, int64_t ns)
{
    char ts[64];
    berth_format_time_ns(ns, ts, sizeof(ts));
    cleanup_free char *line =
        xasprintf("{\"log\":\"%s\",\"stream\":\"%s\",\"time\":\"%s\"}\n", log_json, stream, ts);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, line, strlen(line)), 0);
    close(fd);
}

static void append_raw(const char *path, const char *bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(fs_write_all(fd, bytes, strlen(bytes)), 0);
    close(fd);
}

static logs_opts_t raw_opts(void)
{
    return (logs_opts_t){.want_stdout = true, .want_stderr = true, .tail = -1, .raw = true};
}

/* Read everything currently in the file with the given options. */
static char *read_all(const char *path, const logs_opts_t *o, int *last_rc)
{
    logs_reader_t *r = NULL;
    assert_int_equal(logs_reader_open(path, o, &r), 0);
    berth_buf_t out;
    buf_init(&out);
    int rc;
    while ((rc = logs_reader_read(r, &out, 100)) == 1)
        ;
    if (last_rc)
        *last_rc = rc;
    logs_reader_close(r);
    return out.data ? buf_steal(&out) : xstrdup("");
}

static void test_parse_line(void **state)
{
    (void)state;
    logs_entry_t e;
    const char *l = "{\"log\":\"a\\u003cb\\n\",\"stream\":\"stderr\",\"time\":"
                    "\"2026-11-28T13:00:00.000000005Z\"}";
    assert_int_equal(logs_parse_line(l, strlen(l), &e), 0);
    assert_int_equal(e.stream, 2);
    assert_int_equal(e.len, 4);
    assert_memory_equal(e.msg, "a<b\n", 4);
    int64_t want;
    assert_int_equal(berth_parse_time_ns("2026-11-28T13:00:00Z", &want), 0);
    assert_true(e.time_ns == want + 5);
    logs_entry_free(&e);
    assert_int_equal(logs_parse_line("{\"log\":1}", 9, &e), -EINVAL);
    assert_int_equal(logs_parse_line("garbage", 7, &e), -EINVAL);
}

static void test_tail_and_streams(void **state)
{
    fx_t *f = *state;
    for (int i = 0; i < 5; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "line%d\\n", i);
        append_entry(f->path, i % 2 ? "stderr" : "stdout", msg, SEC(1700000000 + i));
    }
    logs_opts_t o = raw_opts();
    cleanup_free char *all = read_all(f->path, &o, NULL);
    assert_string_equal(all, "line0\nline1\nline2\nline3\nline4\n");
    o.tail = 2;
    cleanup_free char *t2 = read_all(f->path, &o, NULL);
    assert_string_equal(t2, "line3\nline4\n");
    o.tail = 0;
    cleanup_free char *t0 = read_all(f->path, &o, NULL);
    assert_string_equal(t0, "");
    o.tail = 100;
    cleanup_free char *t100 = read_all(f->path, &o, NULL);
    assert_string_equal(t100, all);
    o = raw_opts();
    o.want_stdout = false;
    cleanup_free char *err_only = read_all(f->path, &o, NULL);
    assert_string_equal(err_only, "line1\nline3\n");
}

static void test_since_until_timestamps(void **state)
{
    fx_t *f = *state;
    for (int i = 0; i < 4; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "m%d\\n", i);
        append_entry(f->path, "stdout", msg, SEC(1700000000 + 10 * i));
    }
    logs_opts_t o = raw_opts();
    assert_int_equal(logs_parse_time("1700000010", &o.since_ns), 0);
    assert_int_equal(logs_parse_time("2023-11-14T22:13:40Z", &o.until_ns), 0); /* = +20 s */
    int rc = 0;
    cleanup_free char *s = read_all(f->path, &o, &rc);
    assert_string_equal(s, "m1\nm2\n");
    assert_int_equal(rc, 2); /* hit an entry after until */
    o = raw_opts();
    o.tail = 1;
    o.timestamps = true;
    cleanup_free char *ts = read_all(f->path, &o, NULL);
    assert_string_equal(ts, "2023-11-14T22:13:50.000000000Z m3\n");
    long tail;
    assert_int_equal(logs_parse_tail("all", &tail), 0);
    assert_int_equal(tail, -1);
    assert_int_equal(logs_parse_tail("7", &tail), 0);
    assert_int_equal(tail, 7);
    assert_int_equal(logs_parse_tail("x", &tail), -EINVAL);
    int64_t ns;
    assert_int_equal(logs_parse_time("nonsense", &ns), -EINVAL);
}

static void test_multiplexed_frame(void **state)
{
    fx_t *f = *state;
    append_entry(f->path, "stderr", "oops\\n", SEC(1700000000));
    logs_opts_t o = raw_opts();
    o.raw = false;
    cleanup_free char *s = read_all(f->path, &o, NULL);
    const unsigned char want[] = {2, 0, 0, 0, 0, 0, 0, 5, 'o', 'o', 'p', 's', '\n'};
    assert_memory_equal(s, want, sizeof(want));
}

/* A torn line is held back until complete; garbage lines are skipped. */
static void test_partial_and_garbage(void **state)
{
    fx_t *f = *state;
    append_entry(f->path, "stdout", "a\\n", SEC(1700000000));
    append_raw(f->path, "not json at all\n");
    char ts[64];
    berth_format_time_ns(SEC(1700000001), ts, sizeof(ts));
    cleanup_free char *line =
        xasprintf("{\"log\":\"b\\n\",\"stream\":\"stdout\",\"time\":\"%s\"}\n", ts);
    size_t half = strlen(line) / 2;
    cleanup_free char *first = xstrndup(line, half);
    append_raw(f->path, first);

    logs_opts_t o = raw_opts();
    logs_reader_t *r = NULL;
    assert_int_equal(logs_reader_open(f->path, &o, &r), 0);
    berth_buf_t out;
    buf_init(&out);
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "a\n");
    append_raw(f->path, line + half);
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "a\nb\n");
    logs_reader_close(r);
    buf_free(&out);
}

/* Following across rotation (file renamed away, new file at the path) and a
 * log that does not exist yet. */
static void test_rotation_and_missing(void **state)
{
    fx_t *f = *state;
    logs_opts_t o = raw_opts();
    logs_reader_t *r = NULL;
    assert_int_equal(logs_reader_open(f->path, &o, &r), 0);
    berth_buf_t out;
    buf_init(&out);
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_int_equal(out.len, 0);
    append_entry(f->path, "stdout", "one\\n", SEC(1700000000));
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "one\n");
    append_entry(f->path, "stdout", "two\\n", SEC(1700000001));
    cleanup_free char *rotated = xasprintf("%s.1", f->path);
    assert_int_equal(rename(f->path, rotated), 0);
    append_entry(f->path, "stdout", "three\\n", SEC(1700000002));
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "one\ntwo\nthree\n");
    logs_reader_close(r);
    buf_free(&out);
}

/* The shim's rotation (log -> log.1 -> log.2): a read without tail shows the
 * retained files oldest first, and tail counts lines across files. */
static void test_read_across_rotated_files(void **state)
{
    fx_t *f = *state;
    cleanup_free char *p1 = xasprintf("%s.1", f->path);
    cleanup_free char *p2 = xasprintf("%s.2", f->path);
    const char *files[] = {p2, p1, f->path};
    for (int i = 0; i < 6; i++) {
        char msg[16];
        snprintf(msg, sizeof(msg), "l%d\\n", i);
        append_entry(files[i / 2], "stdout", msg, SEC(1700000000 + i));
    }
    logs_opts_t o = raw_opts();
    cleanup_free char *all = read_all(f->path, &o, NULL);
    assert_string_equal(all, "l0\nl1\nl2\nl3\nl4\nl5\n");
    o.tail = 3;
    cleanup_free char *t3 = read_all(f->path, &o, NULL);
    assert_string_equal(t3, "l3\nl4\nl5\n");
    o.tail = 4;
    cleanup_free char *t4 = read_all(f->path, &o, NULL);
    assert_string_equal(t4, "l2\nl3\nl4\nl5\n");
    o.tail = 5;
    cleanup_free char *t5 = read_all(f->path, &o, NULL);
    assert_string_equal(t5, "l1\nl2\nl3\nl4\nl5\n");
    o.tail = 100;
    cleanup_free char *t100 = read_all(f->path, &o, NULL);
    assert_string_equal(t100, all);
    /* an empty live file right after a rotation */
    cleanup_free char *p3 = xasprintf("%s.3", f->path);
    assert_int_equal(rename(p2, p3), 0);
    assert_int_equal(rename(p1, p2), 0);
    assert_int_equal(rename(f->path, p1), 0);
    append_raw(f->path, "");
    o.tail = 1;
    cleanup_free char *t1 = read_all(f->path, &o, NULL);
    assert_string_equal(t1, "l5\n");
}

/* A follower that fell behind by more than one rotation still reads every
 * retained file once, in order. */
static void test_follow_through_several_rotations(void **state)
{
    fx_t *f = *state;
    cleanup_free char *p1 = xasprintf("%s.1", f->path);
    cleanup_free char *p2 = xasprintf("%s.2", f->path);
    append_entry(f->path, "stdout", "a\\n", SEC(1700000000));
    logs_opts_t o = raw_opts();
    logs_reader_t *r = NULL;
    assert_int_equal(logs_reader_open(f->path, &o, &r), 0);
    berth_buf_t out;
    buf_init(&out);
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "a\n");
    append_entry(f->path, "stdout", "b\\n", SEC(1700000001));
    assert_int_equal(rename(f->path, p1), 0); /* rotation 1 */
    append_entry(f->path, "stdout", "c\\n", SEC(1700000002));
    assert_int_equal(rename(p1, p2), 0); /* rotation 2 */
    assert_int_equal(rename(f->path, p1), 0);
    append_entry(f->path, "stdout", "d\\n", SEC(1700000003));
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    assert_string_equal(out.data, "a\nb\nc\nd\n");
    /* our file rotated out of existence: go on with the oldest retained one */
    append_entry(f->path, "stdout", "e\\n", SEC(1700000004));
    assert_int_equal(rename(p1, p2), 0); /* drops the file holding c */
    assert_int_equal(rename(f->path, p1), 0);
    append_entry(f->path, "stdout", "f\\n", SEC(1700000005));
    assert_int_equal(rename(p1, p2), 0); /* drops the file we were reading (d, e) */
    assert_int_equal(rename(f->path, p1), 0);
    append_entry(f->path, "stdout", "g\\n", SEC(1700000006));
    assert_int_equal(logs_reader_read(r, &out, 1 << 20), 0);
    /* d, e were still readable through our open fd; f and g follow */
    assert_string_equal(out.data, "a\nb\nc\nd\ne\nf\ng\n");
    logs_reader_close(r);
    buf_free(&out);
}

/* The real writer (max-size, max-file 3) interleaved with a follower reading
 * at every step and at every fifth (two rotations in between): nothing lost
 * or repeated. */
static void test_follow_real_writer(void **state)
{
    fx_t *f = *state;
    for (int every = 1; every <= 5; every += 4) {
        fs_rm_rf(f->dir);
        assert_int_equal(mkdir(f->dir, 0700), 0);
        rt_jsonlog_t l;
        assert_int_equal(rt_jsonlog_open(&l, f->path, 300, 3), 0);
        logs_opts_t o = raw_opts();
        logs_reader_t *r = NULL;
        assert_int_equal(logs_reader_open(f->path, &o, &r), 0);
        berth_buf_t out, want;
        buf_init(&out);
        buf_init(&want);
        for (int i = 0; i < 200; i++) {
            char line[32];
            int n = snprintf(line, sizeof(line), "line %d\n", i);
            rt_jsonlog_feed(&l, i % 3 == 0 ? 2 : 1, line, (size_t)n);
            buf_append(&want, line, (size_t)n);
            if (i % every == 0)
                while (logs_reader_read(r, &out, 1 << 20) == 1)
                    ;
        }
        while (logs_reader_read(r, &out, 1 << 20) == 1)
            ;
        assert_int_equal(out.len, want.len);
        assert_memory_equal(out.data, want.data, want.len);
        cleanup_free char *p3 = xasprintf("%s.3", f->path);
        assert_true(access(p3, F_OK) < 0); /* max-file 3 keeps log, log.1, log.2 */
        /* a fresh reader sees what is retained: the end of the sequence */
        cleanup_free char *again = read_all(f->path, &o, NULL);
        size_t alen = strlen(again);
        assert_true(alen > 0 && alen < want.len);
        assert_memory_equal(again, want.data + want.len - alen, alen);
        logs_reader_close(r);
        rt_jsonlog_close(&l);
        buf_free(&out);
        buf_free(&want);
    }
}

static void watch_cb(void *data)
{
    (*(int *)data)++;
}

static void stop_loop_cb(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void test_watch_fires(void **state)
{
    fx_t *f = *state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    int fired = 0;
    logs_watch_t *w = logs_watch_start(&loop, f->path, watch_cb, &fired);
    append_entry(f->path, "stdout", "x\\n", SEC(1700000000));
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, stop_loop_cb, 100, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(fired >= 1); /* inotify, before the 250 ms poll */
    logs_watch_stop(w);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test_setup_teardown(test_tail_and_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_until_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiplexed_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_across_rotated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_through_several_rotations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_real_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_fires, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
