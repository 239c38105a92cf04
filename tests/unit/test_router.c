/* Unit tests for the API router, filters and request-target parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "api/internal.h"
#include "http/internal.h"

static int hits;

static void h_a(berthd_t *d, http_req_t *req)
{
    (void)d;
    (void)req;
    hits = 1;
}
static void h_b(berthd_t *d, http_req_t *req)
{
    (void)d;
    (void)req;
    hits = 2;
}
static void h_c(berthd_t *d, http_req_t *req)
{
    (void)d;
    (void)req;
    hits = 3;
}
static void h_d(berthd_t *d, http_req_t *req)
{
    (void)d;
    (void)req;
    hits = 4;
}

/* A request as the server would hand it over after the headers. */
static http_req_t *mkreq(const char *method, const char *target)
{
    http_req_t *req = calloc(1, sizeof(*req));
    req->method_name = method;
    req->target = xstrdup(target);
    assert_int_equal(http_parse_target(req, target), 0);
    return req;
}

static api_router_t *test_router(void)
{
    api_router_t *r = api_router_new();
    api_route(r, "GET", "/images/json", h_a, 0);
    api_route(r, "GET", "/images/{name*}/json", h_b, 0);
    api_route(r, "POST", "/images/{name*}/push", h_c, API_ROUTE_STREAM_BODY);
    api_route(r, "DELETE", "/images/{name*}", h_d, 0);
    api_route(r, "GET", "/containers/{id}/json", h_a, 0);
    api_route(r, "POST", "/containers/{id}/start", h_b, 0);
    return r;
}

static void test_match_literal_and_params(void **state)
{
    (void)state;
    api_router_t *r = test_router();
    unsigned flags = 99;
    bool mm = true;
    http_req_t *req = mkreq("GET", "/v1.44/images/json?all=1");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_a);
    assert_int_equal(flags, 0);
    assert_int_equal(req->n_params, 0);
    http_req_free(req);

    req = mkreq("GET", "/containers/abc123/json");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_a);
    assert_int_equal(req->n_params, 1);
    assert_string_equal(req->params[0], "abc123");
    http_req_free(req);
    api_router_free(r);
}

static void test_match_greedy(void **state)
{
    (void)state;
    api_router_t *r = test_router();
    unsigned flags = 0;
    bool mm = false;
    http_req_t *req = mkreq("POST", "/v1.44/images/localhost:5000/foo/push?tag=latest");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_c);
    assert_int_equal(flags, API_ROUTE_STREAM_BODY);
    assert_string_equal(req->params[0], "localhost:5000/foo");
    http_req_free(req);

    req = mkreq("GET", "/images/a/b/c/json");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_b);
    assert_string_equal(req->params[0], "a/b/c");
    http_req_free(req);

    /* Percent-encoded slashes in a name decode before matching. */
    req = mkreq("DELETE", "/images/docker.io%2Flibrary%2Fbusybox:latest");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_d);
    assert_string_equal(req->params[0], "docker.io/library/busybox:latest");
    http_req_free(req);

    /* "json" alone is the list route, never an image called json. */
    req = mkreq("GET", "/images/json");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_a);
    http_req_free(req);
    api_router_free(r);
}

static void test_not_found_and_method(void **state)
{
    (void)state;
    api_router_t *r = test_router();
    unsigned flags = 0;
    bool mm = true;
    http_req_t *req = mkreq("GET", "/nope");
    assert_null(api_router_match(r, req, &flags, &mm));
    assert_false(mm);
    http_req_free(req);

    req = mkreq("DELETE", "/containers/x/start");
    assert_null(api_router_match(r, req, &flags, &mm));
    assert_true(mm);
    http_req_free(req);

    /* HEAD falls back to GET routes. */
    req = mkreq("HEAD", "/containers/x/json");
    assert_ptr_equal(api_router_match(r, req, &flags, &mm), h_a);
    http_req_free(req);

    /* One segment params never swallow slashes. */
    req = mkreq("GET", "/containers/a/b/json");
    assert_null(api_router_match(r, req, &flags, &mm));
    http_req_free(req);
    api_router_free(r);
}

static void test_version_prefix(void **state)
{
    (void)state;
    int maj = -1, min = -1;
    assert_int_equal(http_version_prefix("/v1.44/info", &maj, &min), 6);
    assert_int_equal(maj, 1);
    assert_int_equal(min, 44);
    assert_int_equal(http_version_prefix("/v1.24", &maj, &min), 6);
    assert_int_equal(min, 24);
    assert_int_equal(http_version_prefix("/v2/x", &maj, &min), 3);
    assert_int_equal(maj, 2);
    assert_int_equal(min, 0);
    assert_int_equal(http_version_prefix("/volumes", &maj, &min), 0);
    assert_int_equal(http_version_prefix("/v1.x/info", &maj, &min), 0);
    assert_int_equal(http_version_prefix("/v1.44abc", &maj, &min), 0);

    http_req_t *req = mkreq("GET", "/v1.41/containers/json");
    assert_string_equal(req->path, "/containers/json");
    assert_int_equal(http_req_api_version(req), 141);
    http_req_free(req);
    req = mkreq("GET", "/_ping");
    assert_int_equal(req->api_major, 0);
    assert_int_equal(http_req_api_version(req), 144);
    http_req_free(req);
    req = mkreq("GET", "/v1.44");
    assert_string_equal(req->path, "/");
    http_req_free(req);
}

static void test_query(void **state)
{
    (void)state;
    http_req_t *req = mkreq("GET", "/x?b=1&a=hello+world&c=%7B%22k%22%3A1%7D&a=two&flag&z=");
    assert_int_equal(req->n_query, 6);
    assert_string_equal(http_req_query(req, "a"), "hello world");
    assert_string_equal(http_req_query(req, "c"), "{\"k\":1}");
    assert_string_equal(http_req_query(req, "flag"), "");
    assert_null(http_req_query(req, "missing"));
    assert_true(http_req_query_bool(req, "b", false));
    assert_false(http_req_query_bool(req, "flag", true)); /* "" is false */
    assert_false(http_req_query_bool(req, "z", true));
    assert_true(http_req_query_bool(req, "missing", true));
    int e = 0;
    assert_int_equal(http_req_query_int(req, "b", 7, &e), 1);
    assert_int_equal(e, 0);
    assert_int_equal(http_req_query_int(req, "missing", 7, &e), 7);
    assert_int_equal(http_req_query_int(req, "a", 7, &e), 7);
    assert_int_equal(e, -EINVAL);
    http_req_free(req);

    const char *falsy[] = {"0", "no", "FALSE", "None", "false"};
    for (size_t i = 0; i < ARRAY_SIZE(falsy); i++)
        assert_false(berth_parse_bool(falsy[i], true));
    assert_true(berth_parse_bool("True", false));
    assert_true(berth_parse_bool("1", false));
}

static void test_percent_decode(void **state)
{
    (void)state;
    char *s = http_percent_decode("a%20b+c%2f", 10, false);
    assert_string_equal(s, "a b+c/");
    free(s);
    s = http_percent_decode("a+b", 3, true);
    assert_string_equal(s, "a b");
    free(s);
    assert_null(http_percent_decode("%zz", 3, false));
    assert_null(http_percent_decode("abc%2", 5, false));
    assert_null(http_percent_decode("a%00b", 5, false)); /* no embedded NULs */
    http_req_t req;
    memset(&req, 0, sizeof(req));
    assert_int_equal(http_parse_target(&req, "/x?a=%G1"), -EINVAL);
    assert_int_equal(http_parse_target(&req, "http://host/x"), -EINVAL);
}

static void test_filters(void **state)
{
    (void)state;
    berth_err_t err;
    berth_err_clear(&err);
    cJSON *f = api_parse_filters(
        "{\"label\":{\"a=b\":true,\"c\":true},\"dangling\":{\"true\":true}}", &err);
    assert_non_null(f);
    cJSON *label = cJSON_GetObjectItem(f, "label");
    assert_int_equal(cJSON_GetArraySize(label), 2);
    assert_string_equal(cJSON_GetArrayItem(label, 0)->valuestring, "a=b");
    assert_string_equal(cJSON_GetArrayItem(label, 1)->valuestring, "c");
    cJSON_Delete(f);

    f = api_parse_filters("{\"label\":[\"com.docker.compose.project=x\"],\"status\":[]}", &err);
    assert_non_null(f);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(f, "label"), 0)->valuestring,
                        "com.docker.compose.project=x");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f, "status")), 0);
    cJSON_Delete(f);

    f = api_parse_filters(NULL, &err);
    assert_non_null(f);
    assert_int_equal(cJSON_GetArraySize(f), 0);
    cJSON_Delete(f);

    assert_null(api_parse_filters("{not json", &err));
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "invalid filter"));
    berth_err_clear(&err);
    assert_null(api_parse_filters("{\"label\":\"x\"}", &err));
    berth_err_clear(&err);
    assert_null(api_parse_filters("{\"label\":[1]}", &err));
    berth_err_clear(&err);
    assert_null(api_parse_filters("[1]", &err));
}

static void test_build_router_has_system_routes(void **state)
{
    (void)state;
    api_router_t *r = api_build_router();
    unsigned flags = 0;
    bool mm = false;
    http_req_t *req = mkreq("HEAD", "/_ping");
    assert_non_null(api_router_match(r, req, &flags, &mm));
    http_req_free(req);
    req = mkreq("GET", "/v1.44/version");
    assert_non_null(api_router_match(r, req, &flags, &mm));
    http_req_free(req);
    api_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_literal_and_params),
        cmocka_unit_test(test_match_greedy),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_version_prefix),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_build_router_has_system_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
