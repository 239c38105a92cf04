/* client: a small blocking Docker Engine API client shared by the berth CLI,
 * the compose tool, tests and benches. One request at a time per client_t; a
 * kept-alive connection is reused and silently re-opened when the daemon has
 * closed it. Hijacked requests (attach, exec start) get their own connection.
 * Not for use inside berthd's loop: every call blocks. */
#ifndef BERTH_CLIENT_H
#define BERTH_CLIENT_H

#include <cjson/cJSON.h>

#include "berth/common.h"

#define CLIENT_DEFAULT_HOST "unix:///run/berth.sock"

typedef struct client {
    char *host;           /* "unix:///path" or "tcp://host:port" as given */
    char *unix_path;      /* set for unix hosts */
    char *tcp_host;       /* set for tcp hosts */
    char *tcp_port;       /* set for tcp hosts */
    char api_version[16]; /* "1.44": every path gets "/v1.44" in front */
    int fd;               /* kept-alive connection or -1 */
    bool negotiated;      /* the daemon takes api_version (see client_negotiate) */
} client_t;

/* Pick the daemon address: flag (-H) if set, else $BERTH_HOST, else
 * $DOCKER_HOST, else CLIENT_DEFAULT_HOST. Never NULL. */
const char *client_host_from_env(const char *flag);

/* Parse host ("unix:///p", "tcp://h:p", "/abs/path" = unix); 0 or -1 with err
 * set. Does not connect. */
int client_init(client_t *c, const char *host, berth_err_t *err);
void client_close(client_t *c);

/* Version negotiation like the docker CLI: HEAD /_ping, then use the lower
 * of our API version and the daemon's API-Version header (kept when the
 * header is missing). 0, or -1 with err set when the daemon is unreachable.
 * Called on demand: client_do first tries our own version and negotiates
 * only when the daemon answers 400 "client version ... is too new" (one
 * round trip less per command); streams and bodies read from an fd, which
 * cannot be replayed, negotiate first. */
int client_negotiate(client_t *c, berth_err_t *err);

/* Extra request headers: NULL-terminated array of "Name: value" lines. */
typedef int (*client_data_cb)(void *opaque, const char *data, size_t len);

typedef struct client_req {
    const char *method;
    const char *path;         /* "/images/json?all=1": the version prefix is added */
    bool unversioned;         /* send path as is (/_ping) */
    const char *content_type; /* for body / body_fd */
    const void *body;         /* whole body (Content-Length), may be NULL */
    size_t body_len;
    int body_fd; /* >= 0: stream this fd as a chunked body; set -1 otherwise */
    const char *const *headers;
    /* When set, 2xx response body bytes go here as they arrive instead of into
     * resp->body (error bodies are always collected). A non-zero return stops
     * the request: client_do returns -1 with err "aborted". */
    client_data_cb on_data;
    void *opaque;
} client_req_t;

typedef struct client_resp {
    int status;
    char *content_type; /* may be NULL */
    char *api_version;  /* API-Version header, may be NULL */
    berth_buf_t body;   /* collected body (NUL-terminated when non-empty) */
} client_resp_t;

void client_req_init(client_req_t *req, const char *method, const char *path);
void client_resp_free(client_resp_t *resp);

/* Send a request and read the whole response. 0 when a response arrived
 * (whatever its status), -1 with err set on connection or protocol failure. */
int client_do(client_t *c, const client_req_t *req, client_resp_t *resp, berth_err_t *err);

/* The daemon's error text for a response: "message" of a JSON body, else the
 * body itself trimmed, else the status line text. Caller frees. */
char *client_resp_error_message(const client_resp_t *resp);

/* Convenience for JSON APIs: sends body_json (may be NULL; not consumed) and
 * returns 0 for status < 400 with *out set to the parsed body (NULL for an
 * empty body or when out is NULL), or -1 with err->msg = the daemon's message
 * and err->status = the HTTP status (0 for transport errors). status_out, when
 * given, receives the HTTP status. */
int client_json(client_t *c, const char *method, const char *path, const cJSON *body_json,
                cJSON **out, int *status_out, berth_err_t *err);

/* Hijack: send req with "Connection: Upgrade" and "Upgrade: tcp" on a fresh
 * connection. On 101 (or 200 from old daemons) returns 0 with *fd_out the raw
 * socket (caller closes) and *early holding stream bytes that arrived together
 * with the headers. Any other status: -1 with the daemon's message in err. */
int client_hijack(client_t *c, const client_req_t *req, int *fd_out, berth_buf_t *early,
                  berth_err_t *err);

/* Deferred responses (docker run's wait): send req on a fresh connection and
 * return once the response headers are in (resp->status set; an error body
 * is read fully). Later, client_stream_finish reads the rest of the body into
 * resp->body. The daemon's order of events is kept: the request has been
 * accepted before anything else is sent. */
typedef struct client_stream client_stream_t;
int client_stream_open(client_t *c, const client_req_t *req, client_stream_t **out,
                       client_resp_t *resp, berth_err_t *err);
int client_stream_finish(client_stream_t *s, berth_err_t *err);
void client_stream_close(client_stream_t *s);
/* The connection, to poll for readability before client_stream_finish. */
int client_stream_fd(const client_stream_t *s);

/* ---- newline-delimited JSON streams (pull, push, load, build, events) ---- */
typedef int (*client_json_line_cb)(void *opaque, cJSON *msg);
typedef struct client_json_lines {
    berth_buf_t pending;
    client_json_line_cb cb;
    void *opaque;
} client_json_lines_t;

void client_json_lines_init(client_json_lines_t *jl, client_json_line_cb cb, void *opaque);
/* Feed raw bytes; calls cb for every complete non-empty line that parses as
 * JSON (the cb does not own msg). A non-zero cb return is passed back. */
int client_json_lines_feed(client_json_lines_t *jl, const char *data, size_t len);
/* Flush a last line without newline. */
int client_json_lines_finish(client_json_lines_t *jl);
void client_json_lines_free(client_json_lines_t *jl);
/* A client_data_cb that feeds a client_json_lines_t (opaque). */
int client_json_lines_data_cb(void *opaque, const char *data, size_t len);

/* ---- multiplexed stream demux (attach/logs/exec without tty) -------------
 * Frames: [type, 0, 0, 0, size (big-endian u32)] + payload; type 0 stdin,
 * 1 stdout, 2 stderr, 3 system error. */
typedef int (*client_frame_cb)(void *opaque, int stream, const char *data, size_t len);
typedef struct client_demux {
    unsigned char hdr[8];
    size_t hdr_len;   /* header bytes collected so far */
    size_t remaining; /* payload bytes left in the current frame */
    int stream;
    client_frame_cb cb;
    void *opaque;
} client_demux_t;

void client_demux_init(client_demux_t *dm, client_frame_cb cb, void *opaque);
/* Feed bytes in any split; payload pieces are delivered as they come (a frame
 * may reach cb in several calls). Returns the first non-zero cb result, or
 * -EPROTO for an unknown stream type. */
int client_demux_feed(client_demux_t *dm, const char *data, size_t len);

/* ---- auth helpers --------------------------------------------------------- */
/* base64 of "user:pass" (docker config.json "auth"). Caller frees. */
char *client_auth_encode(const char *user, const char *pass);
/* Decode a config.json "auth" value; 0 or -1. Caller frees *user and *pass. */
int client_auth_decode(const char *auth, char **user, char **pass);
/* X-Registry-Auth header value: base64url (padded) of {"username","password",
 * "serveraddress"}; "e30=" ({}) when user is NULL. Caller frees. */
char *client_registry_auth_header(const char *user, const char *pass, const char *server);

/* Standard (url=false) or URL-safe base64 with padding. Caller frees. */
char *client_base64(const void *data, size_t len, bool url);
/* Decodes standard or URL-safe, padded or not; NULL on bad input. */
unsigned char *client_base64_decode(const char *s, size_t *out_len);

/* Percent-encode for a query value. Caller frees. */
char *client_urlencode(const char *s);

#endif
