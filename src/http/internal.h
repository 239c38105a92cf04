/* http internals: server, listener and connection structs shared by the
 * files of src/http/, plus the pure parsing helpers (unit-tested). */
#ifndef BERTH_HTTP_INTERNAL_H
#define BERTH_HTTP_INTERNAL_H

#include <llhttp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "berth/http.h"

/* At most this many queued writes leave in one send. */
#define HTTP_SEND_IOV 16

/* on_drain runs once queued output falls under this again. */
#define HTTP_WRITE_LOW_WATER (64 * 1024)
/* Bytes read ahead of the parser (pipelined requests) before reading stops. */
#define HTTP_READ_AHEAD_SLACK (64 * 1024)
#define HTTP_READ_BUF_SIZE (64 * 1024)

typedef union http_stream_handle {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
} http_stream_handle_t;

typedef struct http_listener {
    http_stream_handle_t h; /* first member: the handle's data points back here too */
    http_server_t *srv;
    char *unix_path; /* removed on close, if it is still our socket */
    dev_t unix_dev;
    ino_t unix_ino;
    struct http_listener *next;
} http_listener_t;

struct http_server {
    http_server_opts_t opts; /* with defaults filled in */
    http_listener_t *listeners;
    http_conn_t *conns; /* doubly linked list of live connections */
    size_t n_conns;
    size_t closing_handles; /* listeners + connections waiting for close callbacks */
    bool closing;
    void (*done_cb)(void *data);
    void *done_data;
    /* One read buffer for every connection: libuv calls alloc and read back
     * to back, and we copy what the parser does not consume, so idle
     * connections own no buffer at all. */
    char read_buf[HTTP_READ_BUF_SIZE];
    /* Whole replies are laid out here and written from here (see reply_parts). */
    berth_buf_t reply_scratch;
    berth_buf_t json_scratch; /* small JSON documents are printed here */
};

enum http_parse_state {
    HTTP_PS_IDLE,    /* between requests */
    HTTP_PS_HEADERS, /* request line / headers arriving */
    HTTP_PS_BODY,    /* headers done, body arriving */
    HTTP_PS_DONE,    /* whole message parsed; waiting for the handler to finish */
};

struct http_conn {
    http_stream_handle_t h;
    uv_timer_t header_timer; /* slow clients while headers arrive */
    uv_timer_t defer_timer;  /* 0 ms timer: work that must not run in a caller's stack */
    http_server_t *srv;
    http_conn_t *prev, *next;
    int open_handles; /* freed when the last close callback ran */

    llhttp_t parser;
    berth_buf_t in; /* bytes read but not yet parsed (or raw bytes after a hijack) */

    http_req_t *req; /* the request being parsed or handled; one at a time */
    enum http_parse_state ps;
    berth_buf_t hname, hvalue; /* header pieces being collected */
    size_t header_bytes;
    int err_status; /* set by parser callbacks: 413 / 431 / 400 */
    const char *err_msg;

    size_t write_queued; /* bytes handed to uv_write (or the ring), not yet written */
    unsigned writes_inflight;

    /* io_uring path (srv->opts.ring): the fd is still owned by the libuv handle
     * above (closed by uv_close), which never reads or writes it. */
    int fd;
    unsigned ring_ops;                     /* ops in the ring that point at us */
    struct http_write *sendq, *sendq_tail; /* one send in the ring at a time: keeps order */
    /* The send in the ring gathers the queue's first writes (sendmsg). */
    struct iovec send_iov[HTTP_SEND_IOV];
    struct msghdr send_msg;
    http_conn_t *send_next; /* on the ring's list of connections to send for */
    bool send_listed;
    bool send_in_ring;

    bool dispatched;      /* the handler owns req */
    bool dispatch_now;    /* parser asks the feed loop to dispatch */
    bool body_end_now;    /* parser asks the feed loop to run on_body_end */
    bool in_feed;         /* inside conn_feed: do not re-enter */
    bool use_ring;        /* I/O through srv->opts.ring */
    bool recv_armed;      /* a multishot recv is in the ring */
    bool recv_cancelling; /* ... and its cancel is on the way */
    bool reading;         /* uv_read_start active (ring: a recv is wanted) */
    bool read_full;       /* reading stopped: too much read ahead */
    bool read_eof;        /* client half-closed (or closed) its side */
    bool body_paused;     /* handler asked for backpressure on its body */
    bool raw;             /* hijacked */
    bool close_after_write;
    bool failed; /* write error seen inside a handler's call: close from the defer timer */
    bool closing;
    bool drain_wanted;
    bool http10;          /* the current request is HTTP/1.0: keep-alive must be explicit */
    bool ws;              /* raw mode speaks RFC 6455 frames */
    bool ws_close_sent;   /* our close frame went out */
    bool ws_eof_reported; /* on_raw_eof ran (client close frame or EOF) */
};

/* A queued write: the bytes are copied into data[] or owned. */
typedef struct http_write {
    uv_write_t w; /* libuv path */
    http_conn_t *conn;
    struct http_write *next; /* ring path: the connection's send queue */
    size_t len;
    size_t off;   /* ring path: bytes already sent */
    bool in_ring; /* ring path: the send in flight covers it */
    char *owned;  /* NULL when the bytes live in data[] */
    char data[];
} http_write_t;

/* server.c */
/* Input from the connection; data NULL means EOF. */
void http_conn_on_read(http_conn_t *c, const char *data, size_t len);
void http_conn_on_read_error(http_conn_t *c);
/* Drop one hold on a closing connection (a closed handle, a finished ring
 * op); the last one frees it. */
void http_conn_release(http_conn_t *c);
void http_conn_finish_req(http_conn_t *c);
void http_conn_defer(http_conn_t *c);
void http_conn_close(http_conn_t *c);
/* Abort the request (on_abort), then close once queued output is written
 * (a last word, like a websocket close frame, still goes out). */
void http_conn_abort_after_writes(http_conn_t *c);
void http_conn_update_reading(http_conn_t *c);
void http_req_free(http_req_t *req);
http_req_t *http_req_new(http_conn_t *c);

/* response.c: queue bytes (copied). 0 or -EPIPE (the connection is going). */
int http_conn_write(http_conn_t *c, const void *data, size_t len);
/* Like http_conn_write but takes ownership of a malloc'd buffer. */
int http_conn_write_owned(http_conn_t *c, char *data, size_t len);
/* A server-made error reply on a request that was never dispatched; closes after. */
void http_conn_reply_error_close(http_conn_t *c, int status, const char *msg);

/* A send SQE finished: res bytes written, or -errno. */
void http_conn_on_sent(http_conn_t *c, int res);
/* Free writes still queued on a closing connection (not the one in the ring). */
void http_conn_drop_writes(http_conn_t *c);

/* ring.c: io_uring transport (see the top of ring.c). */
/* Arm or cancel c's recv to match c->reading. */
void http_ring_update_recv(http_ring_t *r, http_conn_t *c);
/* c has queued writes: send them (gathered, prepared at the end of the loop
 * turn, so what a turn writes leaves in one send). */
void http_ring_want_send(http_ring_t *r, http_conn_t *c);
/* Cancel every op of a closing connection. */
void http_ring_cancel_conn(http_ring_t *r, http_conn_t *c);

/* websocket.c */
/* Raw-mode input of a websocket connection is in c->in: decode the frames
 * there, deliver payloads to on_raw_data, answer pings and close frames. */
void http_ws_process(http_conn_t *c);
/* Send one frame (opcode 0x1 text, 0x2 binary, 0x8 close, 0xA pong). */
int http_ws_send_frame(http_conn_t *c, int opcode, const void *data, size_t len);
/* The Sec-WebSocket-Accept value for a key: base64(sha1(key + GUID)). */
void http_ws_accept_key(const char *key, char out[64]);

/* parse.c: pure helpers. */
/* Percent-decode in place semantics: returns a new string or NULL on a bad
 * escape (or an embedded NUL); plus_space turns '+' into ' ' (query strings). */
char *http_percent_decode(const char *s, size_t len, bool plus_space);
/* Request-lifetime strings: from req->arena when they fit, else the heap;
 * http_req_release_str() frees only the heap ones. */
char *http_req_alloc_str(http_req_t *req, size_t size);
char *http_req_strndup(http_req_t *req, const char *s, size_t n);
void http_req_release_str(http_req_t *req, char *p);
/* Split a request target into path and query, decode both, strip /vN.N.
 * 0, or -EINVAL on a malformed target. */
int http_parse_target(http_req_t *req, const char *target);
/* If path starts with /v<major>[.<minor>] followed by '/' or end, return the
 * length of that prefix and fill major/minor; 0 otherwise. */
size_t http_version_prefix(const char *path, int *major, int *minor);
void http_req_add_header(http_req_t *req, const char *name, size_t nlen, const char *value,
                         size_t vlen);

#endif
