/* Replays the HTTP fuzz corpus (tests/fuzz/corpus/http) through the fuzz
 * harness, plus a few thousand deterministic mutations of it, under the
 * sanitizers of the test build: a regression net between real fuzz runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <libgen.h>

#include "../fuzz/fuzz_http.c"

typedef struct corpus {
    berth_buf_t *items;
    size_t n;
} corpus_t;

static void load_corpus(corpus_t *c)
{
    char *self = xstrdup(__FILE__);
    char *dir = xasprintf("%s/../fuzz/corpus/http", dirname(self));
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(fs_read_file(path, 1 << 20, &text, &len), 0);
        c->items = xrealloc(c->items, (c->n + 1) * sizeof(*c->items));
        buf_init(&c->items[c->n]);
        buf_append(&c->items[c->n], text, len);
        c->n++;
        free(text);
        free(path);
    }
    closedir(d);
    free(dir);
    free(self);
    assert_true(c->n >= 5);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_corpus_and_mutations(void **state)
{
    (void)state;
    corpus_t c = {0};
    load_corpus(&c);
    for (size_t i = 0; i < c.n; i++)
        LLVMFuzzerTestOneInput((const uint8_t *)c.items[i].data, c.items[i].len);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    berth_buf_t m;
    buf_init(&m);
    for (int iter = 0; iter < 1500; iter++) {
        const berth_buf_t *src = &c.items[rng_next(&seed) % c.n];
        buf_reset(&m);
        buf_append(&m, src->data, src->len);
        int edits = 1 + (int)(rng_next(&seed) % 6);
        for (int k = 0; k < edits && m.len > 0; k++) {
            size_t pos = rng_next(&seed) % m.len;
            switch (rng_next(&seed) % 4) {
            case 0:
                m.data[pos] = (char)rng_next(&seed);
                break;
            case 1:
                memmove(m.data + pos, m.data + pos + 1, m.len - pos - 1);
                m.len--;
                break;
            case 2: { /* splice another corpus item in */
                const berth_buf_t *o = &c.items[rng_next(&seed) % c.n];
                size_t take = rng_next(&seed) % (o->len + 1);
                berth_buf_t t;
                buf_init(&t);
                buf_append(&t, m.data, pos);
                buf_append(&t, o->data, take);
                buf_append(&t, m.data + pos, m.len - pos);
                buf_free(&m);
                m = t;
                break;
            }
            default: /* truncate */
                m.len = pos;
                break;
            }
        }
        LLVMFuzzerTestOneInput((const uint8_t *)(m.data ? m.data : ""), m.len);
    }
    buf_free(&m);
    for (size_t i = 0; i < c.n; i++)
        buf_free(&c.items[i]);
    free(c.items);
    print_message("%zu requests dispatched\n", fz_dispatched);
    assert_true(fz_dispatched > 200);
    fuzz_ctx_t *ctx = fuzz_ctx();
    assert_int_equal(http_server_connection_count(ctx->srv), 0);
    fuzz_ctx_close(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_and_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
