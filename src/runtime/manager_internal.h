/* Container manager internals shared by src/runtime/manager*.c. */
#ifndef BERTH_RUNTIME_MANAGER_INTERNAL_H
#define BERTH_RUNTIME_MANAGER_INTERNAL_H

#include "berth/containers.h"
#include "berth/image.h"

struct rt_ctr_sink {
    struct rt_ctr_sink *next;
    rt_ctr_t *c;
    bool want_stdout, want_stderr;
    rt_ctr_sink_cbs_t cbs;
    void *data;
};

struct rt_ctr_waiter {
    struct rt_ctr_waiter *next;
    rt_ctr_t *c;
    enum rt_wait_cond cond;
    rt_ctr_wait_cb cb;
    void *data;
};

/* A pending stop/restart/remove completion. */
typedef struct ctr_pending {
    struct ctr_pending *next;
    rt_ctr_done_cb cb;
    void *data;
} ctr_pending_t;

struct rt_ctr {
    rt_manager_t *m;
    char id[65];
    char *name; /* without '/' */
    char image_id[IMG_DIGEST_LEN];
    char *image_name; /* as the client gave it */
    int64_t created_ns;
    cJSON *config;      /* Docker Config (merged with the image) */
    cJSON *host_config; /* Docker HostConfig */
    char *dir;          /* <data_root>/containers/<id> */
    rt_spec_t spec;

    /* state */
    enum rt_ctr_status status;
    pid_t pid;
    int exit_code;
    bool oom_killed;
    char *error;
    int64_t started_ns, finished_ns;
    int restart_count;
    bool has_been_started;
    bool manually_stopped; /* stop/kill by the user: no restart (always restarts on daemon start) */
    bool remove_pending;   /* force-remove or AutoRemove once the process is gone */
    bool stopping;
    bool starting;
    bool fresh; /* created by this berthd and never spawned: no stale cgroup/socket to clean */
    /* Its dirs, runtime.json and config files are on disk. A --rm create
     * answers first and writes them on the next loop turn (persist_timer),
     * or at the latest when it starts (mgr_persist). */
    bool persisted;
    uv_timer_t *persist_timer;

    rt_shim_t *shim;
    /* stdin that arrived before the shim exists (attach precedes start) */
    berth_buf_t stdin_early;
    bool stdin_early_eof;
    struct rt_ctr_sink *sinks;
    struct rt_ctr_waiter *waiters;
    ctr_pending_t *stop_done;  /* run when the process exits */
    ctr_pending_t *start_done; /* run when started (or failed) */
    uv_timer_t *stop_timer;    /* SIGKILL after the stop timeout */
    uv_timer_t *restart_timer; /* restart policy backoff */
    int64_t restart_delay_ms;
    bool restart_after_stop; /* rt_ctr_restart in progress */
    /* Its pool shim went back to the pool waiting for its removal: its
     * upper and work dirs go back to it (rt_pool_resume_prep). */
    pid_t returned_shim;
};

struct rt_exec {
    struct rt_exec *next;
    rt_manager_t *m;
    char id[65];
    char ctr_id[65];
    cJSON *process_config; /* ProcessConfig for inspect */
    rt_exec_spec_t spec;
    char *json_path;
    bool tty, attach_stdin, attach_stdout, attach_stderr, detach_keys_set;
    bool running, started, finished;
    int exit_code;
    pid_t pid;
    rt_shim_t *shim;
    rt_ctr_sink_cbs_t cbs;
    void *data;
    bool has_cbs;
    int64_t finished_ns;
};

struct rt_manager {
    uv_loop_t *loop;
    char *data_root;
    char *containers_dir;
    char *exec_root;
    char *shim_path;
    char *resolv_conf_path;
    img_store_t *images;
    rt_ctr_t **ctrs; /* unordered */
    size_t n_ctrs, cap_ctrs;
    struct rt_exec *execs;
    void (*event_cb)(void *data, const rt_ctr_t *c, const char *action, int exit_code, int sig);
    void *event_data;
    struct rt_pool *pool;           /* warm berth-shims; NULL = disabled */
    struct mgr_trash *trash;        /* rm -rf children for removed container dirs */
    struct mgr_leftover *leftovers; /* of removed containers: cleaned next turn */
    uv_timer_t *leftovers_timer;    /* (NULL until first needed) */
    int reaper_fd, reaper_pidfd;    /* the reaper helper (reaper.c), -1 until needed */
    bool spare_ready;               /* <containers>/.spare is there (manager_spare.c) */
    bool spare_off;                 /* making one failed: not tried again */
    bool closing;
};

/* manager.c */
void mgr_event(rt_ctr_t *c, const char *action, int exit_code, int sig);
int mgr_save(rt_ctr_t *c);                     /* config.v2.json + hostconfig.json */
void mgr_forget(rt_manager_t *m, rt_ctr_t *c); /* drop from the table and free */
void mgr_ctr_free(rt_ctr_t *c);
bool mgr_name_taken(rt_manager_t *m, const char *name, rt_ctr_t **owner);
void mgr_add(rt_manager_t *m, rt_ctr_t *c);

/* manager_config.c */
/* Merge the create body with the image config into c->config/host_config and
 * build c->spec. */
int mgr_build_config(rt_ctr_t *c, const cJSON *body, const img_image_t *img, cJSON *warnings,
                     berth_err_t *err);
int mgr_build_spec(rt_ctr_t *c, const img_image_t *img, berth_err_t *err);
/* The container dir (its upper/work/rootfs dirs come with the first start's
 * mount, mount_overlay). */
int mgr_make_dirs(rt_ctr_t *c, berth_err_t *err);
/* Write what a create writes, now (no-op when done). 0 or -1 with err. */
int mgr_persist(rt_ctr_t *c, berth_err_t *err);
/* Stop and free a container's timer (NULL-safe; *t becomes NULL). */
void mgr_timer_free(uv_timer_t **t);
/* manager_spare.c: a container dir made ahead for --rm creates. init: at
 * open (a crash's leftover removed); make: when quiet (no-op if there is
 * one); take: rename it to c->dir (a --rm create, false if not used). */
void mgr_spare_init(rt_manager_t *m);
void mgr_spare_make(rt_manager_t *m);
bool mgr_spare_take(rt_ctr_t *c);
/* A removed --rm container's trash dir made the spare when there is none
 * (its dirs and any failure's rest to mgr_trash_spawn); false when not
 * tried, and the trash is still the caller's. */
bool mgr_spare_from_trash(rt_manager_t *m, const char *trash);
/* Its upper dir moved into its work dir, and that renamed to slot (a pool
 * shim's to take: rt_prep_take_recycled); false when not (left in place). */
bool mgr_prep_from_trash(const char *trash, const char *slot);
/* A removed --rm container's trash waits for the next turn: that makes the
 * spare (manager_life.c). */
bool mgr_leftovers_make_spare(const rt_manager_t *m);
/* mgr_persist on the next loop turn (manager_life.c). */
void mgr_persist_later(rt_ctr_t *c);
char *mgr_run_dir(const rt_manager_t *m, const char *id);
int64_t mgr_json_int(const cJSON *o, const char *key);
const char *mgr_json_str(const cJSON *o, const char *key);
bool mgr_json_bool(const cJSON *o, const char *key);

/* manager_life.c */
void mgr_adopt(rt_ctr_t *c); /* after load: reconnect or record the exit */
void mgr_apply_restart_on_boot(rt_ctr_t *c);
void mgr_ctr_cancel_all(rt_ctr_t *c); /* shutdown: detach shim, stop timers */
void mgr_notify_removed(rt_ctr_t *c);
void mgr_exec_free_all(rt_manager_t *m);
/* Delete a container dir without blocking the loop, in two steps: rename it
 * aside (instant; returns the new path, or NULL after removing in place when
 * the rename failed), then mgr_trash_spawn removes that path: inline when it
 * is small (a few dozen entries), else in an rm child. */
char *mgr_trash_rename(rt_manager_t *m, const char *dir, const char *id);
void mgr_trash_spawn(rt_manager_t *m, const char *trash);
void mgr_trash_close_all(rt_manager_t *m);
/* Clean what removed containers left (cgroup, run dir, trash) now. */
void mgr_leftovers_close(rt_manager_t *m);
/* Queue rm -rf path to the reaper helper (spawned on first use). 0, or -1
 * when it cannot take it (the caller removes it another way). */
int mgr_reap(rt_manager_t *m, const char *path);
void mgr_reaper_close(rt_manager_t *m);

#endif
