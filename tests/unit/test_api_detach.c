/* Unit tests for the detach-key filter of tty attach streams (src/api/detach.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/internal.h"

static void test_parse(void **state)
{
    (void)state;
    api_detach_t dk;
    assert_int_equal(api_detach_init(&dk, NULL), 0);
    assert_int_equal(dk.n, 2);
    assert_int_equal(dk.keys[0], 0x10);
    assert_int_equal(dk.keys[1], 0x11);
    assert_int_equal(api_detach_init(&dk, "a,ctrl-@,ctrl-[,CTRL-_,ctrl-x"), 0);
    assert_int_equal(dk.n, 5);
    const unsigned char want[] = {'a', 0, 27, 31, 24};
    assert_memory_equal(dk.keys, want, sizeof(want));
    assert_int_equal(api_detach_init(&dk, "ctrl-1"), -EINVAL);
    assert_int_equal(api_detach_init(&dk, "abc"), -EINVAL);
    assert_int_equal(api_detach_init(&dk, ","), -EINVAL);
}

static void test_filter(void **state)
{
    (void)state;
    api_detach_t dk;
    berth_buf_t out;
    buf_init(&out);
    assert_int_equal(api_detach_init(&dk, NULL), 0);
    /* a lone ctrl-p is input once the next byte shows it was not the sequence */
    assert_false(api_detach_filter(&dk, "ab\x10", 3, &out));
    assert_int_equal(out.len, 2);
    assert_false(api_detach_filter(&dk, "c", 1, &out));
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data,
                        "ab\x10"
                        "c",
                        4);
    /* ctrl-p ctrl-p ctrl-q: the first is input, the rest detaches */
    buf_reset(&out);
    assert_true(api_detach_filter(&dk, "x\x10\x10\x11rest", 8, &out));
    assert_int_equal(out.len, 2);
    assert_memory_equal(out.data, "x\x10", 2);
    /* the sequence split over two reads */
    assert_int_equal(api_detach_init(&dk, "ctrl-x,q"), 0);
    buf_reset(&out);
    assert_false(api_detach_filter(&dk, "hi\x18", 3, &out));
    assert_true(api_detach_filter(&dk, "q", 1, &out));
    assert_int_equal(out.len, 2);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
