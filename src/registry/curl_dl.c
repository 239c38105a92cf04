/* libcurl on demand (see curl_dl.h). The table is process-wide: filled once
 * on the loop's thread and never changed after, like curl's own global init. */
#include <dlfcn.h>
#include <stdlib.h>

#include "registry/curl_dl.h"

static struct {
    bool loaded;
    reg_curl_api_t api;
} curl_lib;

const reg_curl_api_t *reg_curl(void)
{
    return &curl_lib.api;
}

#define SYM(lib, field, name)                                                                      \
    do {                                                                                           \
        if (!(*(void **)&api.field = dlsym(lib, name)))                                            \
            return berth_err_set(err, BERTH_E_INTERNAL, "registry support: %s lacks %s", #lib,     \
                                 name);                                                            \
    } while (0)

int reg_curl_load(berth_err_t *err)
{
    if (curl_lib.loaded)
        return 0;
    const char *name = getenv("BERTH_LIBCURL");
    if (!name || !*name)
        name = "libcurl.so.4";
    /* Handles stay open for the life of the process (as a linked library would). */
    void *libcurl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!libcurl)
        return berth_err_set(err, BERTH_E_INTERNAL, "registry support unavailable: %s", dlerror());
    void *libssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    void *libcrypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!libssl || !libcrypto)
        return berth_err_set(err, BERTH_E_INTERNAL, "registry support unavailable: %s", dlerror());
    reg_curl_api_t api;
    SYM(libcurl, global_init, "curl_global_init");
    SYM(libcurl, easy_init, "curl_easy_init");
    SYM(libcurl, easy_cleanup, "curl_easy_cleanup");
    SYM(libcurl, easy_setopt, "curl_easy_setopt");
    SYM(libcurl, easy_getinfo, "curl_easy_getinfo");
    SYM(libcurl, easy_pause, "curl_easy_pause");
    SYM(libcurl, easy_strerror, "curl_easy_strerror");
    SYM(libcurl, multi_init, "curl_multi_init");
    SYM(libcurl, multi_cleanup, "curl_multi_cleanup");
    SYM(libcurl, multi_setopt, "curl_multi_setopt");
    SYM(libcurl, multi_add_handle, "curl_multi_add_handle");
    SYM(libcurl, multi_remove_handle, "curl_multi_remove_handle");
    SYM(libcurl, multi_assign, "curl_multi_assign");
    SYM(libcurl, multi_info_read, "curl_multi_info_read");
    SYM(libcurl, multi_socket_action, "curl_multi_socket_action");
    SYM(libcurl, multi_strerror, "curl_multi_strerror");
    SYM(libcurl, slist_append, "curl_slist_append");
    SYM(libcurl, slist_free_all, "curl_slist_free_all");
    SYM(libssl, ssl_ctx_get_cert_store, "SSL_CTX_get_cert_store");
    SYM(libcrypto, pem_read_x509, "PEM_read_X509");
    SYM(libcrypto, x509_store_add_cert, "X509_STORE_add_cert");
    SYM(libcrypto, x509_free, "X509_free");
    SYM(libcrypto, err_clear_error, "ERR_clear_error");
    if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return berth_err_set(err, BERTH_E_INTERNAL, "registry support: curl_global_init failed");
    curl_lib.api = api;
    curl_lib.loaded = true;
    return 0;
}
