/* SHA-256 (and the SHA-1 of the WebSocket handshake, base64) through libcrypto,
 * loaded with dlopen at the first hash: berthd does not map libcrypto until
 * it needs it. Failing to load it aborts, like running out of memory: it is
 * a hard dependency of the package. */
#ifndef BERTH_SHA256_H
#define BERTH_SHA256_H

#include <stddef.h>

#define BERTH_SHA256_LEN 32
#define BERTH_SHA1_LEN 20

typedef struct berth_sha256 {
    void *ctx; /* EVP_MD_CTX */
} berth_sha256_t;

void berth_sha256_init(berth_sha256_t *h);
void berth_sha256_update(berth_sha256_t *h, const void *data, size_t len);
/* Writes the digest and frees the context. */
void berth_sha256_final(berth_sha256_t *h, unsigned char out[BERTH_SHA256_LEN]);
void berth_sha256(const void *data, size_t len, unsigned char out[BERTH_SHA256_LEN]);
/* "sha256:<64 hex>" into out (72 bytes incl. NUL). */
void berth_sha256_digest_str(const void *data, size_t len, char out[72]);
void berth_sha1(const void *data, size_t len, unsigned char out[BERTH_SHA1_LEN]);
/* EVP_EncodeBlock / EVP_DecodeBlock of the same libcrypto: the CLI needs
 * base64 only for registry auth, so it does not link libcrypto (its
 * relocation cost ~3 ms on every `berth` start). */
int berth_base64_encode_block(unsigned char *out, const unsigned char *in, int len);
int berth_base64_decode_block(unsigned char *out, const unsigned char *in, int len);

#endif
