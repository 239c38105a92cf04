/* libcrypto on demand (see include/berth/sha256.h). The function table is
 * process-wide: filled once, never changed after, and berth code is
 * single-threaded per process. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "berth/common.h"
#include "berth/sha256.h"

static struct {
    bool loaded;
    typeof(EVP_MD_CTX_new) *ctx_new;
    typeof(EVP_MD_CTX_free) *ctx_free;
    typeof(EVP_DigestInit_ex) *init;
    typeof(EVP_DigestUpdate) *update;
    typeof(EVP_DigestFinal_ex) *final;
    typeof(EVP_sha256) *sha256;
    typeof(EVP_sha1) *sha1;
    typeof(EVP_EncodeBlock) *b64_encode;
    typeof(EVP_DecodeBlock) *b64_decode;
} crypto;

static void *sym(void *lib, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "berth: libcrypto lacks %s\n", name);
        abort();
    }
    return p;
}

static void load(void)
{
    if (crypto.loaded)
        return;
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "berth: cannot load libcrypto.so.3: %s\n", dlerror());
        abort();
    }
    crypto.ctx_new = sym(lib, "EVP_MD_CTX_new");
    crypto.ctx_free = sym(lib, "EVP_MD_CTX_free");
    crypto.init = sym(lib, "EVP_DigestInit_ex");
    crypto.update = sym(lib, "EVP_DigestUpdate");
    crypto.final = sym(lib, "EVP_DigestFinal_ex");
    crypto.sha256 = sym(lib, "EVP_sha256");
    crypto.sha1 = sym(lib, "EVP_sha1");
    crypto.b64_encode = sym(lib, "EVP_EncodeBlock");
    crypto.b64_decode = sym(lib, "EVP_DecodeBlock");
    crypto.loaded = true;
}

static void *md_new(const EVP_MD *(*md)(void))
{
    EVP_MD_CTX *ctx = crypto.ctx_new();
    if (!ctx || crypto.init(ctx, md(), NULL) != 1)
        abort(); /* only fails on OOM */
    return ctx;
}

void berth_sha256_init(berth_sha256_t *h)
{
    load();
    h->ctx = md_new(crypto.sha256);
}

void berth_sha256_update(berth_sha256_t *h, const void *data, size_t len)
{
    crypto.update(h->ctx, data, len);
}

void berth_sha256_final(berth_sha256_t *h, unsigned char out[BERTH_SHA256_LEN])
{
    unsigned int n = 0;
    crypto.final(h->ctx, out, &n);
    crypto.ctx_free(h->ctx);
    h->ctx = NULL;
}

void berth_sha256(const void *data, size_t len, unsigned char out[BERTH_SHA256_LEN])
{
    berth_sha256_t h;
    berth_sha256_init(&h);
    berth_sha256_update(&h, data, len);
    berth_sha256_final(&h, out);
}

void berth_sha256_digest_str(const void *data, size_t len, char out[72])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[BERTH_SHA256_LEN];
    berth_sha256(data, len, md);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < BERTH_SHA256_LEN; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[71] = '\0';
}

void berth_sha1(const void *data, size_t len, unsigned char out[BERTH_SHA1_LEN])
{
    load();
    EVP_MD_CTX *ctx = md_new(crypto.sha1);
    unsigned int n = 0;
    crypto.update(ctx, data, len);
    crypto.final(ctx, out, &n);
    crypto.ctx_free(ctx);
}

int berth_base64_encode_block(unsigned char *out, const unsigned char *in, int len)
{
    load();
    return crypto.b64_encode(out, in, len);
}

int berth_base64_decode_block(unsigned char *out, const unsigned char *in, int len)
{
    load();
    return crypto.b64_decode(out, in, len);
}
