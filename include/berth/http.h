/* http: HTTP/1.1 server on libuv + llhttp. Listeners, connections, request
 * parsing (keep-alive, pipelining, chunked bodies, size limits), response
 * writers (whole, chunked streaming), connection hijack (Upgrade: tcp).
 *
 * Contract for handlers:
 *  - The server calls the dispatch callback once per request. The handler must
 *    eventually finish the request with exactly one of: http_reply*(),
 *    http_stream_end(), or (after http_hijack()) http_raw_close(). It may do so
 *    later, from any loop callback.
 *  - If the client goes away first, req->on_abort (if set) runs once; after it
 *    returns, req is freed and must not be touched. A handler holding a req
 *    pointer elsewhere must clear it in on_abort.
 *  - Responses to pipelined requests go out in order; a request is dispatched
 *    only when the previous one on the same connection has finished.
 */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "berth/common.h"

typedef struct http_server http_server_t;
typedef struct http_ring http_ring_t;
typedef struct http_conn http_conn_t;
typedef struct http_req http_req_t;

typedef struct http_kv {
    char *name;
    char *value;
} http_kv_t;

/* Limits; 0 in http_server_opts_t means the default given here. */
#define HTTP_DEFAULT_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_DEFAULT_MAX_BODY_BYTES (16 * 1024 * 1024) /* buffered bodies only */
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS (0)               /* 0 = idle clients may stay */
#define HTTP_DEFAULT_HEADER_TIMEOUT_MS (30 * 1000)     /* slow clients sending headers */

struct http_req {
    http_conn_t *conn;
    void *server_data; /* http_server_opts_t.data (the daemon context) */

    int method;              /* llhttp_method_t (HTTP_GET, HTTP_POST, ...) */
    const char *method_name; /* "GET" */
    char *target;            /* raw request target as sent */
    char *path;              /* percent-decoded path without query and without /vN.N */
    int api_major;           /* from the /vN.N prefix; 0 when the path had none */
    int api_minor;
    http_kv_t *headers; /* names as sent; look up with http_req_header() */
    size_t n_headers;
    http_kv_t *query; /* percent-decoded; repeated keys kept in order */
    size_t n_query;
    bool upgrade;    /* Connection: Upgrade requested (hijack candidate) */
    bool keep_alive; /* the connection may carry another request */

    /* Path parameters filled by the router ({name} segments), in order. */
    char *params[8];
    size_t n_params;

    /* Buffered body (for routes that do not stream their body). */
    berth_buf_t body;

    /* Streaming request body: a handler dispatched with stream_body set
     * (decided by the route callback) receives the body as it arrives.
     * on_body returns 0, or <0 to abort the connection. on_body_end runs once
     * after the last byte. Use http_req_pause_body()/resume for backpressure. */
    bool stream_body;
    int (*on_body)(http_req_t *req, const char *data, size_t len);
    void (*on_body_end)(http_req_t *req);

    /* Raw stream after http_hijack(): bytes from the client, and the client's
     * half-close (EOF on read; the write side stays usable). */
    void (*on_raw_data)(http_req_t *req, const char *data, size_t len);
    void (*on_raw_eof)(http_req_t *req);

    /* Streaming responses: after output had to be queued (pending() > 0),
     * runs once the queue is back under 64 KiB. A producer pauses at any
     * threshold of its choosing and resumes here. */
    void (*on_drain)(http_req_t *req);

    /* The connection closed before the handler finished (see contract). */
    void (*on_abort)(http_req_t *req);

    void *handler_data; /* for the handler's own use */

    /* For the route callback's use: what it decided at header time, for the
     * dispatch callback (the api module keeps its handler here). */
    void (*route_fn)(void);
    unsigned route_flags;
    int route_status; /* 0, or an error status the dispatch callback answers */

    /* Private to the http module: the target, path, headers and query of a
     * usual request live in these inline blocks instead of a dozen small
     * allocations (bigger requests spill to the heap). */
    http_kv_t inline_kv[8];
    size_t arena_used;
    char arena[448]; /* sizeof(http_req_t) stays under glibc's 1 KiB tcache limit */
};

typedef struct http_server_opts {
    uv_loop_t *loop;
    void *data; /* handed to every request as req->server_data */
    /* Called when a request's headers are complete. Decides whether the
     * handler wants the body streamed (set req->stream_body = true); the
     * dispatch callback then runs right away instead of after the body. */
    void (*route)(http_req_t *req);
    /* Called to handle the request (see contract above). */
    void (*dispatch)(http_req_t *req);
    size_t max_header_bytes;
    size_t max_body_bytes;
    unsigned header_timeout_ms;
    /* NULL or "Name: value\r\n..." lines sent with every response (Server,
     * Api-Version); the string must outlive the server. */
    const char *common_headers;
    /* NULL, or the loop's io_uring (http_ring_open): connections then read
     * and write through it, and the loop must be run by http_ring_run. */
    http_ring_t *ring;
    /* NULL, or called with data when the last open connection closes: no
     * client is waiting on us, a moment for work that was put off. */
    void (*on_quiet)(void *data);
} http_server_opts_t;

/* ---- the loop's io_uring ----
 * Connection I/O batched through io_uring: a read and a write syscall per
 * request become one io_uring_enter per loop turn. Open it before the
 * server, run the loop with http_ring_run instead of uv_run, free it after
 * the server is gone. */
/* 0/-errno (-ENOTSUP, -EINVAL, -EPERM ...: the kernel cannot or may not;
 * serve with libuv streams then). */
int http_ring_open(uv_loop_t *loop, http_ring_t **out);
/* uv_run(UV_RUN_DEFAULT), waiting in the ring: returns when the loop has
 * nothing left to do (and no ring op is in flight) or after http_ring_stop.
 * 0/-errno. */
int http_ring_run(http_ring_t *r);
/* uv_run(UV_RUN_NOWAIT) plus one submit and reap of the ring (tests that
 * play client and server on one thread). */
void http_ring_run_nowait(http_ring_t *r);
/* The ring's uv_stop (uv_stop alone does not end http_ring_run). */
void http_ring_stop(http_ring_t *r);
void http_ring_free(http_ring_t *r);

/* Create a server; listeners are added with http_server_listen_*. 0/-errno. */
int http_server_new(const http_server_opts_t *opts, http_server_t **out);
/* Listen on a Unix socket path (unlinks a stale socket first), chmod mode,
 * chown to gid when gid >= 0. 0/-errno. */
int http_server_listen_unix(http_server_t *srv, const char *path, mode_t mode, gid_t gid);
/* Listen on TCP host:port (the daemon warns loudly; no TLS). 0/-errno. */
int http_server_listen_tcp(http_server_t *srv, const char *host, int port);
/* Serve an already connected stream socket (socket activation, socketpairs
 * in tests and fuzzers); the server owns fd from now on, even on error.
 * 0/-errno. */
int http_server_adopt_fd(http_server_t *srv, int fd);
/* Stop accepting, close every connection (aborting their requests), free the
 * server once all handles closed; done_cb(data) runs after that. */
void http_server_close(http_server_t *srv, void (*done_cb)(void *data), void *data);
size_t http_server_connection_count(const http_server_t *srv);

/* ---- request accessors ---- */
const char *http_req_header(const http_req_t *req, const char *name); /* case-insensitive */
const char *http_req_query(const http_req_t *req, const char *key);   /* first value or NULL */
bool http_req_query_bool(const http_req_t *req, const char *key, bool dflt);
/* Integer query value; dflt when absent; -EINVAL in *err_out when malformed. */
long long http_req_query_int(const http_req_t *req, const char *key, long long dflt, int *err_out);
/* API version of the request as major*100+minor (1.44 -> 144); the server's
 * default when the path had no prefix. */
int http_req_api_version(const http_req_t *req);
/* Stop/start reading from the connection (backpressure for streamed bodies). */
void http_req_pause_body(http_req_t *req);
void http_req_resume_body(http_req_t *req);

/* ---- whole responses (each finishes the request) ---- */
/* extra_headers: NULL or "Name: value\r\n..." lines appended as-is. */
void http_reply(http_req_t *req, int status, const char *content_type, const void *body, size_t len,
                const char *extra_headers);
/* Takes ownership of json; Content-Type: application/json exactly. */
void http_reply_json(http_req_t *req, int status, cJSON *json);
/* {"message": "..."} with Content-Type application/json. */
void http_reply_error(http_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* From a berth_err_t: status from err->status (500 if unset). */
void http_reply_berth_err(http_req_t *req, const berth_err_t *err);
/* No body (204, 304, 200 with Content-Length: 0). */
void http_reply_status(http_req_t *req, int status);

/* ---- streaming responses (chunked) ---- */
/* Sends status + headers and flushes them at once. 0/-errno. */
int http_stream_begin(http_req_t *req, int status, const char *content_type,
                      const char *extra_headers);
/* Queue one chunk. 0, or -EPIPE when the client is gone (on_abort will run). */
int http_stream_write(http_req_t *req, const void *data, size_t len);
/* cJSON_PrintUnformatted(json) + "\r\n" as one chunk; takes ownership. */
int http_stream_write_json(http_req_t *req, cJSON *json);
size_t http_stream_pending(const http_req_t *req); /* bytes queued, not yet written */
/* Terminating chunk; finishes the request (the connection may be reused). */
void http_stream_end(http_req_t *req);

/* ---- hijack (Upgrade: tcp and raw streams) ---- */
/* Send "HTTP/1.1 101 UPGRADED" with Content-Type, Connection: Upgrade and
 * Upgrade: tcp in a write of its own (or "200 OK" raw when the request did
 * not ask to upgrade: docker-py's non-upgrade attach), then switch the
 * connection to raw mode: bytes the client already sent after the request go
 * to on_raw_data. 0/-errno. */
int http_hijack(http_req_t *req, const char *content_type);
int http_raw_write(http_req_t *req, const void *data, size_t len); /* 0/-EPIPE */

/* WebSocket upgrade (RFC 6455, e.g. /containers/{id}/attach/ws): checks the
 * handshake headers and answers 101 with Sec-WebSocket-Accept; -EINVAL when
 * the request is not a valid websocket upgrade (reply 400 yourself). Then the
 * raw API applies with framing done for you: on_raw_data gets the payload of
 * every client data frame (text or binary), on_raw_eof the client's close
 * frame (or EOF), http_raw_write sends one binary frame, http_raw_close sends
 * a close frame (1000) and closes. Pings are answered here. */
int http_ws_upgrade(http_req_t *req);
size_t http_raw_pending(const http_req_t *req);
/* Flush queued output, then close the connection; finishes the request. */
void http_raw_close(http_req_t *req);

/* Reason phrase for a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
