/* libcurl (and the few OpenSSL calls of the CA hook) loaded with dlopen at
 * the first registry request, so berthd does not map libcurl, libssl and
 * their ~40 dependencies until someone pulls or pushes. Include this after
 * <curl/curl.h> in the files that call curl: the curl_* names below become
 * calls through the loaded table. Call reg_curl_load() first. */
#ifndef BERTH_REGISTRY_CURL_DL_H
#define BERTH_REGISTRY_CURL_DL_H

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "berth/common.h"

typedef struct reg_curl_api {
    typeof(curl_global_init) *global_init;
    typeof(curl_easy_init) *easy_init;
    typeof(curl_easy_cleanup) *easy_cleanup;
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    typeof(curl_easy_pause) *easy_pause;
    typeof(curl_easy_strerror) *easy_strerror;
    typeof(curl_multi_init) *multi_init;
    typeof(curl_multi_cleanup) *multi_cleanup;
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    typeof(curl_multi_add_handle) *multi_add_handle;
    typeof(curl_multi_remove_handle) *multi_remove_handle;
    typeof(curl_multi_assign) *multi_assign;
    typeof(curl_multi_info_read) *multi_info_read;
    typeof(curl_multi_socket_action) *multi_socket_action;
    typeof(curl_multi_strerror) *multi_strerror;
    typeof(curl_slist_append) *slist_append;
    typeof(curl_slist_free_all) *slist_free_all;
    typeof(SSL_CTX_get_cert_store) *ssl_ctx_get_cert_store;
    typeof(PEM_read_X509) *pem_read_x509;
    typeof(X509_STORE_add_cert) *x509_store_add_cert;
    typeof(X509_free) *x509_free;
    typeof(ERR_clear_error) *err_clear_error;
} reg_curl_api_t;

/* Load once (curl_global_init runs then); 0 or -1 with err naming what is
 * missing. $BERTH_LIBCURL overrides the library name (tests). */
int reg_curl_load(berth_err_t *err);
/* The loaded table; only valid after reg_curl_load() succeeded. */
const reg_curl_api_t *reg_curl(void);

#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_init (reg_curl()->easy_init)
#define curl_easy_cleanup (reg_curl()->easy_cleanup)
#define curl_easy_setopt (reg_curl()->easy_setopt)
#define curl_easy_getinfo (reg_curl()->easy_getinfo)
#define curl_easy_pause (reg_curl()->easy_pause)
#define curl_easy_strerror (reg_curl()->easy_strerror)
#define curl_multi_init (reg_curl()->multi_init)
#define curl_multi_cleanup (reg_curl()->multi_cleanup)
#define curl_multi_setopt (reg_curl()->multi_setopt)
#define curl_multi_add_handle (reg_curl()->multi_add_handle)
#define curl_multi_remove_handle (reg_curl()->multi_remove_handle)
#define curl_multi_assign (reg_curl()->multi_assign)
#define curl_multi_info_read (reg_curl()->multi_info_read)
#define curl_multi_socket_action (reg_curl()->multi_socket_action)
#define curl_multi_strerror (reg_curl()->multi_strerror)
#define curl_slist_append (reg_curl()->slist_append)
#define curl_slist_free_all (reg_curl()->slist_free_all)
#define SSL_CTX_get_cert_store (reg_curl()->ssl_ctx_get_cert_store)
#define PEM_read_X509 (reg_curl()->pem_read_x509)
#define X509_STORE_add_cert (reg_curl()->x509_store_add_cert)
#define X509_free (reg_curl()->x509_free)
#define ERR_clear_error (reg_curl()->err_clear_error)

#endif
