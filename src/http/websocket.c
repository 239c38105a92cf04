/* WebSocket (RFC 6455) on top of the raw mode: the upgrade handshake, frame
 * decoding of client input (masked, possibly fragmented; control frames
 * answered here) and framing of our output. Docker uses it for
 * /containers/{id}/attach/ws: every client data frame is stdin, output goes
 * out as binary frames. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "berth/sha256.h"
#include "http/internal.h"

/* Bigger client frames close the connection (1009): stdin never needs them. */
#define WS_MAX_FRAME (1024 * 1024)

void http_ws_accept_key(const char *key, char out[64])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[BERTH_SHA1_LEN + 1] = {0}; /* padded to a multiple of 3 */
    char *joined = xasprintf("%s%s", key, guid);
    berth_sha1(joined, strlen(joined), d);
    free(joined);
    /* base64 of 20 bytes: 7 groups of 3, the last one padded with one '=' (28 chars + NUL) */
    char *o = out;
    for (int i = 0; i < 21; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = b64[v & 63];
    }
    out[27] = '=';
    out[28] = '\0';
}

int http_ws_send_frame(http_conn_t *c, int opcode, const void *data, size_t len)
{
    char *frame = xmalloc(len + 10);
    size_t h = 0;
    frame[h++] = (char)(0x80 | (opcode & 0x0f)); /* FIN: we never fragment */
    if (len < 126) {
        frame[h++] = (char)len;
    } else if (len <= 0xffff) {
        frame[h++] = 126;
        frame[h++] = (char)(len >> 8);
        frame[h++] = (char)len;
    } else {
        frame[h++] = 127;
        for (int i = 7; i >= 0; i--)
            frame[h++] = (char)((uint64_t)len >> (8 * i));
    }
    if (len)
        memcpy(frame + h, data, len);
    if (opcode == 0x8)
        c->ws_close_sent = true;
    return http_conn_write_owned(c, frame, h + len);
}

static bool header_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t tl = strlen(token);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t trimmed = n;
        while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p += n;
    }
    return false;
}

int http_ws_upgrade(http_req_t *req)
{
    if (!req || !req->conn || req->conn->req != req)
        return -EINVAL;
    http_conn_t *c = req->conn;
    const char *key = http_req_header(req, "Sec-WebSocket-Key");
    const char *version = http_req_header(req, "Sec-WebSocket-Version");
    if (strcmp(req->method_name, "GET") != 0 ||
        !header_has_token(http_req_header(req, "Upgrade"), "websocket") ||
        !header_has_token(http_req_header(req, "Connection"), "upgrade") || !key ||
        strlen(key) != 24 || !version || strcmp(version, "13") != 0)
        return -EINVAL;
    char accept[64];
    http_ws_accept_key(key, accept);
    berth_buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
               accept);
    if (c->srv->opts.common_headers)
        buf_puts(&b, c->srv->opts.common_headers);
    buf_puts(&b, "\r\n");
    size_t total = b.len;
    int r = http_conn_write_owned(c, buf_steal(&b), total);
    if (r < 0)
        return r;
    c->raw = true;
    c->ws = true;
    if (c->in.len > 0)
        http_conn_defer(c);
    http_conn_update_reading(c);
    return 0;
}

/* The client said goodbye (close frame): like a half-close, the handler may
 * still send what it has; its http_raw_close() sends our close frame. */
static void ws_peer_closed(http_conn_t *c)
{
    if (c->req && !c->ws_eof_reported) {
        c->ws_eof_reported = true;
        if (c->req->on_raw_eof)
            c->req->on_raw_eof(c->req);
    }
}

static void ws_fail(http_conn_t *c, unsigned code)
{
    unsigned char payload[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    if (!c->ws_close_sent)
        http_ws_send_frame(c, 0x8, payload, 2);
    buf_reset(&c->in);
    http_conn_abort_after_writes(c);
}

void http_ws_process(http_conn_t *c)
{
    while (!c->closing && c->req && !c->body_paused && !c->ws_eof_reported) {
        const unsigned char *p = (const unsigned char *)c->in.data;
        size_t avail = c->in.len;
        if (avail < 2)
            return;
        int opcode = p[0] & 0x0f;
        bool masked = (p[1] & 0x80) != 0;
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4)
                return;
            len = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | p[2 + i];
            h = 10;
        }
        if (!masked || (p[0] & 0x70)) {
            ws_fail(c, 1002); /* clients must mask; no extensions were agreed */
            return;
        }
        if (len > WS_MAX_FRAME || (opcode >= 0x8 && len > 125)) {
            ws_fail(c, 1009);
            return;
        }
        if (avail < h + 4 + len)
            return;
        const unsigned char *mask = p + h;
        unsigned char *payload = (unsigned char *)c->in.data + h + 4;
        for (uint64_t i = 0; i < len; i++)
            payload[i] ^= mask[i & 3];
        size_t frame_len = h + 4 + (size_t)len;
        switch (opcode) {
        case 0x0: /* continuation */
        case 0x1: /* text */
        case 0x2: /* binary: all of them are stdin */
            if (len > 0 && c->req->on_raw_data) {
                /* Copy out: the handler may pause, write or close. */
                char *copy = xmalloc((size_t)len);
                memcpy(copy, payload, (size_t)len);
                buf_consume(&c->in, frame_len);
                c->req->on_raw_data(c->req, copy, (size_t)len);
                free(copy);
                continue;
            }
            break;
        case 0x8:
            buf_consume(&c->in, frame_len);
            ws_peer_closed(c);
            return;
        case 0x9: { /* ping -> pong with the same payload */
            unsigned char copy[125];
            memcpy(copy, payload, (size_t)len);
            buf_consume(&c->in, frame_len);
            http_ws_send_frame(c, 0xA, copy, (size_t)len);
            continue;
        }
        case 0xA: /* pong */
            break;
        default:
            ws_fail(c, 1002);
            return;
        }
        buf_consume(&c->in, frame_len);
    }
}
