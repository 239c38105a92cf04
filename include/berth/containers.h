/* containers: berthd's container manager (src/runtime/manager*.c).
 *
 * Owns every container record: IDs, names, the Docker-shaped config and host
 * config, state, the live shim handle, attached streams, waiters, stop timers
 * and restart policies. Everything runs on the daemon's loop; nothing here
 * blocks for long (the shim does the container setup).
 *
 * On disk, per container, under <data_root>/containers/<id>/:
 *   config.v2.json   ID, Name, Created, Image, Config, State, RestartCount ...
 *   hostconfig.json  HostConfig as accepted at create (normalised)
 *   runtime.json     the rt_spec_t handed to the shim (runtime.h)
 *   <id>-json.log    json-file log written by the shim
 *   upper/ work/     overlay dirs; hostname hosts resolv.conf written by the shim
 * Each file is written atomically. The shim's live files are in
 * <exec_root>/<id> (run_dir): shim.sock, state.json.
 *
 * Rules:
 *  - Functions taking berth_err_t return 0 (or a pointer) on success and <0
 *    (NULL) with err set; err->status carries Docker's HTTP status.
 *  - rt_ctr_t pointers stay valid until the container is removed; holders of a
 *    pointer across loop iterations must register as a sink or waiter (both are
 *    told before removal) or look the container up again by ID.
 *  - Callbacks never run from inside the call that registered them, except
 *    where said.
 */
#ifndef BERTH_CONTAINERS_H
#define BERTH_CONTAINERS_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "berth/common.h"
#include "berth/runtime.h"

typedef struct rt_manager rt_manager_t;
typedef struct rt_ctr rt_ctr_t;
typedef struct img_store img_store_t;

typedef struct rt_manager_opts {
    uv_loop_t *loop;
    const char *data_root;        /* containers/ lives below it */
    const char *exec_root;        /* shim run dirs */
    const char *shim_path;        /* berth-shim binary */
    img_store_t *images;          /* may be NULL in unit tests (create then fails 404) */
    const char *resolv_conf_path; /* NULL = /etc/resolv.conf (tests override) */
    /* Lifecycle events for GET /events (may be NULL): action is Docker's
     * ("create", "start", "die", "oom", "kill", "stop", "pause", "unpause",
     * "rename", "restart", "destroy"); exit_code is meaningful for "die",
     * signal for "kill". c is valid during the call. */
    void (*event_cb)(void *data, const rt_ctr_t *c, const char *action, int exit_code, int signal);
    void *event_data;
    /* Pre-spawned idle berth-shims kept ready (already exec'd and linked);
     * a start takes one and the pool refills after the loop turn. 0 = none. */
    int shim_pool;
} rt_manager_opts_t;

/* Open: create dirs, load every container, re-adopt live shims, record exits
 * that happened while berthd was down, then apply restart policies. */
int rt_manager_open(const rt_manager_opts_t *opts, rt_manager_t **out, berth_err_t *err);
/* Detach from every shim (containers keep running), cancel timers, answer
 * waiters/sinks with nothing more, free. */
void rt_manager_close(rt_manager_t *m);
size_t rt_manager_count(const rt_manager_t *m, size_t *running, size_t *paused, size_t *stopped);
/* Images (and maybe their layers) were removed: the warm pool drops the
 * rootfs it prepared ahead, so no removed layer stays mounted. */
void rt_manager_images_removed(rt_manager_t *m);
/* No API client is connected: the warm pool refills (and a spare container
 * dir is made) now rather than competing with a client's next steps for the
 * CPU. */
void rt_manager_quiet(rt_manager_t *m);

/* berthd module hooks (src/daemon/daemon.c's module table): open with
 * d->images already set, the shim binary next to berthd (or $BERTH_SHIM). */
typedef struct berthd berthd_t;
int rt_manager_daemon_open(berthd_t *d, berth_err_t *err);
void rt_manager_daemon_close(berthd_t *d);

/* ---- lookup ---- */
/* Docker's rules: full ID, exact name (with or without '/'), unique ID prefix.
 * NULL with 404 "No such container: x" or 400 for an ambiguous prefix. */
rt_ctr_t *rt_manager_lookup(rt_manager_t *m, const char *name_or_id, berth_err_t *err);
/* Snapshot of all containers, newest first; caller frees the array only. */
rt_ctr_t **rt_manager_list(rt_manager_t *m, size_t *n);

/* ---- create ---- */
/* body: the POST /containers/create JSON (Config at top level + HostConfig).
 * name: NULL/"" for a generated one. Returns the container; warnings (cJSON
 * array of strings, may be NULL) get Docker's create warnings. */
rt_ctr_t *rt_manager_create(rt_manager_t *m, const char *name, const cJSON *body, cJSON *warnings,
                            berth_err_t *err);

/* ---- accessors ---- */
enum rt_ctr_status {
    RT_CTR_CREATED,
    RT_CTR_RUNNING,
    RT_CTR_PAUSED,
    RT_CTR_RESTARTING,
    RT_CTR_EXITED,
    RT_CTR_REMOVING,
    RT_CTR_DEAD,
};
const char *rt_ctr_id(const rt_ctr_t *c);
const char *rt_ctr_name(const rt_ctr_t *c); /* without the leading '/' */
enum rt_ctr_status rt_ctr_status(const rt_ctr_t *c);
const char *rt_ctr_status_name(enum rt_ctr_status s); /* "running" ... */
bool rt_ctr_is_running(const rt_ctr_t *c);            /* running, paused or restarting */
bool rt_ctr_tty(const rt_ctr_t *c);
bool rt_ctr_open_stdin(const rt_ctr_t *c);
int rt_ctr_exit_code(const rt_ctr_t *c);
pid_t rt_ctr_pid(const rt_ctr_t *c);
const char *rt_ctr_log_path(const rt_ctr_t *c); /* NULL when logging is off */
const char *rt_ctr_image_id(const rt_ctr_t *c);
const cJSON *rt_ctr_config(const rt_ctr_t *c);      /* Docker Config object */
const cJSON *rt_ctr_host_config(const rt_ctr_t *c); /* Docker HostConfig object */
const rt_spec_t *rt_ctr_spec(const rt_ctr_t *c);
const char *rt_ctr_cgroup_parent(const rt_ctr_t *c);
/* Docker JSON shapes: GET /containers/{id}/json and one /containers/json item. */
cJSON *rt_ctr_inspect_json(const rt_ctr_t *c, bool size);
cJSON *rt_ctr_summary_json(const rt_ctr_t *c);

/* ---- lifecycle ---- */
typedef void (*rt_ctr_done_cb)(rt_ctr_t *c, const berth_err_t *err, void *data);
/* Spawn the shim. Returns 0 when the shim was spawned; done_cb (may be NULL)
 * runs once the container process runs or setup failed (err set: 400/500 with
 * the setup error text, exit code recorded). -1 + err when the container is
 * already running (err->status 304), removing, or the spawn failed (then
 * done_cb never runs). */
int rt_ctr_start(rt_ctr_t *c, rt_ctr_done_cb done_cb, void *data, berth_err_t *err);
/* Send sig (0 = StopSignal), wait timeout_s (<0 = StopTimeout or 10), then
 * SIGKILL; done_cb once the container is stopped. -1 + 304 when not running. */
int rt_ctr_stop(rt_ctr_t *c, int sig, int timeout_s, rt_ctr_done_cb done_cb, void *data,
                berth_err_t *err);
/* Restart: stop (if running) then start; done_cb after the start. */
int rt_ctr_restart(rt_ctr_t *c, int timeout_s, rt_ctr_done_cb done_cb, void *data,
                   berth_err_t *err);
int rt_ctr_kill(rt_ctr_t *c, int sig, berth_err_t *err); /* 409 when not running */
int rt_ctr_pause(rt_ctr_t *c, bool pause, berth_err_t *err);
int rt_ctr_resize(rt_ctr_t *c, unsigned rows, unsigned cols, berth_err_t *err);
int rt_ctr_rename(rt_ctr_t *c, const char *new_name, berth_err_t *err);
/* Remove: 409 "You cannot remove a running container ..." unless force (then
 * SIGKILL first; the removal finishes asynchronously, done_cb after). Without
 * a running process the removal is immediate and done_cb runs before return. */
int rt_ctr_remove(rt_ctr_t *c, bool force, bool volumes, rt_ctr_done_cb done_cb, void *data,
                  berth_err_t *err);
/* Signal name ("TERM", "SIGKILL") or number -> number; -1 when invalid. */
int rt_signal_parse(const char *s);

/* ---- streams (attach) ----
 * A sink receives the container's output from the moment it is attached
 * (earlier output is in the log) and is told when the process exits or the
 * container goes away (close_cb; the sink is unregistered before it runs). */
typedef struct rt_ctr_sink rt_ctr_sink_t;
typedef struct rt_ctr_sink_cbs {
    void (*output_cb)(void *data, int stream, const char *buf, size_t len);
    void (*close_cb)(void *data, int exit_code);
} rt_ctr_sink_cbs_t;
rt_ctr_sink_t *rt_ctr_attach(rt_ctr_t *c, bool want_stdout, bool want_stderr,
                             const rt_ctr_sink_cbs_t *cbs, void *data);
/* Unregister (no callbacks after). */
void rt_ctr_detach(rt_ctr_sink_t *s);
/* Stdin from an attached client; len 0 = the client closed its stdin (closes
 * the container's stdin when StdinOnce). 0 or -errno (-EPIPE not running). */
int rt_ctr_write_stdin(rt_ctr_t *c, const void *buf, size_t len);

/* ---- waiters ---- */
enum rt_wait_cond { RT_WAIT_NOT_RUNNING, RT_WAIT_NEXT_EXIT, RT_WAIT_REMOVED };
typedef struct rt_ctr_waiter rt_ctr_waiter_t;
/* cb(exit_code, error text or NULL, data) once. May run before this returns
 * when the condition already holds (not-running on a stopped container); then
 * NULL is returned. */
typedef void (*rt_ctr_wait_cb)(int exit_code, const char *error, void *data);
rt_ctr_waiter_t *rt_ctr_wait(rt_ctr_t *c, enum rt_wait_cond cond, rt_ctr_wait_cb cb, void *data);
void rt_ctr_wait_cancel(rt_ctr_waiter_t *w);

/* ---- exec ---- */
typedef struct rt_exec rt_exec_t;
/* body: POST /containers/{id}/exec JSON. 409 when the container is not running. */
rt_exec_t *rt_exec_create(rt_ctr_t *c, const cJSON *body, berth_err_t *err);
rt_exec_t *rt_manager_exec_lookup(rt_manager_t *m, const char *id, berth_err_t *err);
const char *rt_exec_id(const rt_exec_t *x);
bool rt_exec_tty(const rt_exec_t *x);
bool rt_exec_attach_stdin(const rt_exec_t *x);
cJSON *rt_exec_inspect_json(const rt_exec_t *x);
/* Start: sink callbacks receive output and the exit; started_cb reports the
 * spawn result. 409 when already started. */
int rt_exec_start(rt_exec_t *x, const rt_ctr_sink_cbs_t *cbs, void *data, berth_err_t *err);
/* Drop the stream callbacks (client went away); the process keeps running. */
void rt_exec_detach_stream(rt_exec_t *x);
int rt_exec_write_stdin(rt_exec_t *x, const void *buf, size_t len);
int rt_exec_resize(rt_exec_t *x, unsigned rows, unsigned cols, berth_err_t *err);

/* ---- names ---- */
/* "adjective_surname" into out (>= 64 bytes). */
void rt_name_generate(char out[64]);
bool rt_name_valid(const char *name);

#endif
