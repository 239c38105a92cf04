/* Detach keys on attach streams with a tty (Docker's copyEscapable): the key
 * sequence typed on stdin ends the attachment and leaves the container
 * running. Bytes that start the sequence are held back until it is clear
 * whether they complete it. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

#define DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q"

int api_detach_init(api_detach_t *dk, const char *spec)
{
    memset(dk, 0, sizeof(*dk));
    if (!spec || !*spec)
        spec = DEFAULT_DETACH_KEYS;
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (dk->n == sizeof(dk->keys))
            return -EINVAL;
        if (len == 1) {
            dk->keys[dk->n++] = (unsigned char)*p;
        } else if (len == 6 && !strncasecmp(p, "ctrl-", 5)) {
            unsigned char c = (unsigned char)tolower((unsigned char)p[5]);
            static const char ctl[] = "@[\\]^_";
            const char *at = c ? strchr(ctl, c) : NULL;
            if (c >= 'a' && c <= 'z')
                dk->keys[dk->n++] = (unsigned char)(c - 'a' + 1);
            else if (at)
                dk->keys[dk->n++] = (unsigned char)(at == ctl ? 0 : 27 + (at - ctl - 1));
            else
                return -EINVAL;
        } else {
            return -EINVAL;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return dk->n ? 0 : -EINVAL;
}

bool api_detach_filter(api_detach_t *dk, const char *in, size_t len, berth_buf_t *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)in[i];
        if (b == dk->keys[dk->matched]) {
            if (++dk->matched == dk->n)
                return true;
            continue;
        }
        /* not the sequence after all: the held-back bytes were input */
        if (dk->matched) {
            buf_append(out, dk->keys, dk->matched);
            dk->matched = 0;
            if (b == dk->keys[0]) {
                dk->matched = 1;
                continue;
            }
        }
        buf_append(out, &in[i], 1);
    }
    return false;
}
