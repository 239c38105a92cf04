/* runtime: container specs, the berth-shim protocol, cgroups and the async
 * helpers berthd uses to start and watch containers.
 *
 * ===================================================================== *
 *  Overview                                                             *
 * ===================================================================== *
 * One container = one rt_spec_t, saved as JSON in the container's bundle dir
 * (rt_spec_save). berthd starts it by spawning one `berth-shim` monitor per
 * container (rt_shim_spawn). The shim:
 *   - creates a cgroup, writes the /etc files, clone3()s the container child
 *     (new pid, mount, uts, ipc, cgroup ns, + net unless host/join);
 *   - the child mounts the rootfs *inside its own mount namespace* (overlay
 *     or plain dir), pivot_roots, sets up /proc /dev /sys, masks paths, drops
 *     capabilities, loads the precompiled seccomp BPF and execs the process.
 *     Nothing is mounted in the host mount namespace, so nothing can be left
 *     mounted on the host when a container or the shim dies;
 *   - holds the container's stdio (pipes, or a pty master when tty), writes
 *     the json-file log, serves attach/resize/kill over a Unix socket, and
 *     writes the exit status + OOM flag to a state file when it ends.
 * The shim runs in its own session (setsid), ignores SIGHUP/SIGPIPE and does
 * not need berthd: if berthd dies, the container keeps running and its output
 * keeps going to the log. A restarted berthd finds it again with
 * rt_shim_connect().
 *
 * ===================================================================== *
 *  Files                                                                *
 * ===================================================================== *
 *   <spec.bundle>/runtime.json    the rt_spec_t (written by berthd)
 *   <spec.bundle>/hostname        \  written by the shim from spec.etc_* just
 *   <spec.bundle>/hosts            > before start (when the string is set) and
 *   <spec.bundle>/resolv.conf     /   bind-mounted into the container
 *   <spec.log_path>               json-file log (usually in the bundle)
 *   <spec.run_dir>/shim.sock      the shim's socket (mode 0600)
 *   <spec.run_dir>/state.json     rt_state_t, rewritten atomically (rename)
 *   <spec.bpf_cache_dir>/<hash>.bpf  compiled seccomp programs, shared by all
 *                                 containers with the same profile + caps
 * run_dir is normally <exec_root>/<id> (tmpfs): it must be short enough for
 * a sun_path (< 100 chars + "/shim.sock").
 *
 * ===================================================================== *
 *  Spawning: argv and fds                                               *
 * ===================================================================== *
 *   berth-shim run <path-to-runtime.json>
 *   berth-shim exec <path-to-exec.json>        (see rt_exec_spec_t)
 * fd 0,1,2: /dev/null (stderr may be a file; the shim logs its own problems
 *           there, one line each).
 * fd 3:     one end of a socketpair(AF_UNIX, SOCK_STREAM): the *primary
 *           connection*. It is already attached (stdout+stderr, and stdin when
 *           process.open_stdin) from the first byte, so no output is lost
 *           between start and attach. Every other fd is closed by the shim.
 * The shim calls setsid() itself; berthd may reap it as a normal child (it
 * exits only after the container is gone and state.json is final).
 *
 * ===================================================================== *
 *  Wire format (primary connection and shim.sock connections)           *
 * ===================================================================== *
 * Frames, both directions: 8-byte header [type u8][0][0][0][len u32 BE] then
 * len payload bytes -- the same header as Docker's multiplexed stream, so
 * output frames can be forwarded to a non-tty client unchanged.
 *   type 0  RT_FRAME_STDIN   client -> shim: bytes for the container's stdin.
 *                            len 0 = close stdin (EOF). Ignored unless the
 *                            process has open_stdin.
 *   type 1  RT_FRAME_STDOUT  shim -> client (tty output is always stdout)
 *   type 2  RT_FRAME_STDERR  shim -> client
 *   type 16 RT_FRAME_REQUEST client -> shim: JSON object, one request:
 *       {"op":"attach","stdin":true,"stdout":true,"stderr":true}
 *       {"op":"resize","rows":24,"cols":80}
 *       {"op":"kill","signal":15}          (to pid 1 of the container)
 *       {"op":"state"}                     (reply carries the rt_state_t JSON)
 *   type 17 RT_FRAME_REPLY   shim -> client: {"ok":true,...} or {"error":"text"}
 *                            one per request, in order.
 *   type 18 RT_FRAME_STARTED shim -> primary connection, exactly once, first:
 *       {"pid":1234}                                 container process exec'd
 *       {"error":"exec: \"foo\": executable file not found in $PATH",
 *        "exit_code":127}                            setup failed; the shim
 *                            then writes state.json (status exited, error
 *                            text, exit_code) and exits. exit_code is 127 for
 *                            not found, 126 for permission denied / not
 *                            executable, 125 for any other setup error.
 *   type 19 RT_FRAME_EXIT    shim -> every attached client, last frame:
 *       {"exit_code":0,"signal":0,"oom_killed":false,"finished_ns":...}
 *                            sent after state.json is final and after all
 *                            output; the shim then closes the connection.
 *                            A pool shim still the child of the berthd whose
 *                            pool it came from adds "pool":true on the
 *                            primary connection: if berthd keeps that
 *                            connection open (rt_shim_callbacks_t.reuse_cb),
 *                            the shim idles in the pool again and reads
 *                            pool messages from it; at EOF it exits.
 * A shim.sock connection starts detached: it sends requests; "attach" turns
 * on output/stdin forwarding for that connection. Only output produced after
 * the attach is forwarded (earlier output is in the log). Control requests
 * (resize, kill) are accepted on attached connections too, including the
 * primary one. Slow readers: the shim never blocks on a client; it queues up
 * to RT_CLIENT_MAX_QUEUE bytes per client and then drops that client.
 *
 * ===================================================================== *
 *  Exit and OOM                                                         *
 * ===================================================================== *
 * When the container's pid 1 exits the shim: drains remaining output to the
 * log and clients, reads the cgroup's oom_kill counter (v1
 * memory.oom_control, v2 memory.events), removes the cgroup, writes
 * state.json (status "exited", exit_code = status or 128+signal, signal,
 * oom_killed, finished_ns), sends RT_FRAME_EXIT, and exits 0 (a pool shim
 * may go back to berthd's pool instead: see RT_FRAME_EXIT). berthd learns
 * the exit without threads either from libuv's child exit callback (it
 * spawned the shim) or from a pidfd (rt_shim_connect after a restart) and
 * then reads state.json: both are wrapped by rt_shim_t's exit_cb.
 *
 * ===================================================================== *
 *  Init, exec and CVE notes                                             *
 * ===================================================================== *
 * --init: the container's pid 1 is a fork of the shim that never execs: it
 * drops every capability, sets no_new_privs and PR_SET_DUMPABLE 0, forwards
 * signals to the user process (pid 2) and reaps zombies. Being non-dumpable,
 * /proc/1/exe (our binary) cannot be opened by container processes without
 * CAP_SYS_PTRACE (not in the default set). Without --init the shim never
 * enters the container: the container's pid 1 is the user's binary.
 * CVE-2019-5736: no process running our binary ever execs into the container
 * rootfs, so no container process has our binary as /proc/self/exe.
 * CVE-2024-21626: every fd except 0-2 is closed (close_range) before exec,
 * and after chdir(cwd) getcwd() must succeed inside the new root.
 * exec: `berth-shim exec <exec.json>` joins the container's namespaces
 * (setns through a pidfd of the container's pid 1) and cgroup, applies the
 * same user/caps/seccomp rules and execs; it uses the same fd 3 primary
 * connection and frames (STARTED, output, EXIT; requests resize/kill), has no
 * listening socket and writes no log. Its final state goes to the exec
 * spec's state_path (e.g. <run_dir>/exec-<exec id>.json).
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "berth/common.h"

/* ---- wire constants ------------------------------------------------------ */
enum rt_frame_type {
    RT_FRAME_STDIN = 0,
    RT_FRAME_STDOUT = 1,
    RT_FRAME_STDERR = 2,
    RT_FRAME_REQUEST = 16,
    RT_FRAME_REPLY = 17,
    RT_FRAME_STARTED = 18,
    RT_FRAME_EXIT = 19,
};
#define RT_FRAME_HEADER_LEN 8
#define RT_FRAME_MAX_PAYLOAD (1u << 20) /* larger frames are a protocol error */
#define RT_CLIENT_MAX_QUEUE (4u << 20)
#define RT_SPEC_FILE "runtime.json"
#define RT_STATE_FILE "state.json"
#define RT_SOCKET_FILE "shim.sock"

/* Exit codes for setup failures, as Docker reports them. */
#define RT_EXIT_SETUP_FAILED 125
#define RT_EXIT_NOT_EXECUTABLE 126
#define RT_EXIT_NOT_FOUND 127

/* Encode a frame header into out[8]. */
void rt_frame_header(uint8_t out[RT_FRAME_HEADER_LEN], enum rt_frame_type type, uint32_t len);

/* ---- the container spec -------------------------------------------------- */
enum rt_mount_type { RT_MOUNT_BIND, RT_MOUNT_TMPFS };

typedef struct rt_mount {
    enum rt_mount_type type;
    char *source;      /* host path (bind); ignored for tmpfs */
    char *destination; /* absolute path inside the container, resolved in the rootfs */
    bool readonly;
    char *options; /* tmpfs: "size=64m,mode=1777" (mount data); bind: NULL */
} rt_mount_t;

typedef struct rt_ulimit {
    char *name; /* Docker names: "nofile", "nproc", "core", "memlock", "stack", ... */
    int64_t soft;
    int64_t hard; /* -1 = unlimited */
} rt_ulimit_t;

typedef struct rt_process {
    char **args; /* argv, NULL-terminated too; args[0] looked up in PATH if it has no '/' */
    size_t n_args;
    char **env; /* "K=V"; PATH gets Docker's default when missing; HOSTNAME and HOME added */
    size_t n_env;
    char *cwd; /* absolute; created if missing; NULL/"" = "/" */
    /* Docker's User: "", "name", "uid", "name:group", "uid:gid". When set it is
     * resolved inside the rootfs (/etc/passwd, /etc/group) and overrides
     * uid/gid/additional_gids; supplementary groups come from /etc/group. */
    char *user;
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids;
    size_t n_additional_gids;
    char **group_add; /* --group-add: names (resolved in the rootfs) or numbers */
    size_t n_group_add;
    bool tty;
    bool open_stdin;
    bool stdin_once; /* close stdin when the first attached client closes it */
    unsigned short console_rows, console_cols; /* initial tty size, 0 = leave default */
} rt_process_t;

typedef struct rt_resources {
    int64_t memory;             /* bytes, 0 = unlimited */
    int64_t memory_swap;        /* bytes incl. memory; 0 = 2x memory (Docker); -1 = unlimited */
    int64_t memory_reservation; /* bytes, 0 = unset */
    int64_t nano_cpus;          /* 1e9 = one CPU; 0 = unlimited */
    int64_t cpu_shares;         /* 0 = default (1024) */
    int64_t cpu_quota;          /* us, 0 = unset (nano_cpus wins when set) */
    int64_t cpu_period;         /* us, 0 = default 100000 */
    char *cpuset_cpus;          /* "0-1", NULL = inherit */
    char *cpuset_mems;
    int64_t pids_limit; /* 0 or -1 = unlimited */
} rt_resources_t;

enum rt_seccomp_mode { RT_SECCOMP_DEFAULT, RT_SECCOMP_UNCONFINED, RT_SECCOMP_PROFILE };
enum rt_net_mode {
    RT_NET_NONE, /* own netns, only lo (up) -- also the base for bridge networks */
    RT_NET_HOST, /* host netns */
    RT_NET_JOIN, /* setns into net_path: "/proc/<pid>/ns/net" (container:<x>) or a
                    netns bind mount prepared by the network module (bridge mode) */
};

typedef struct rt_spec {
    char *id;      /* full 64-hex container id */
    char *bundle;  /* container dir (persistent): runtime.json, etc files, log */
    char *run_dir; /* per-container dir under the exec root: shim.sock, state.json */
    char
        *bpf_cache_dir; /* shared dir for compiled seccomp programs; NULL = <run_dir>/.. /seccomp */

    /* rootfs plan: overlay when n_lowerdirs > 0 (mounted on `rootfs` inside the
     * container's mount ns), else `rootfs` is a plain directory used as is. */
    char **lowerdirs; /* top -> bottom, as in overlay's lowerdir= */
    size_t n_lowerdirs;
    char *upperdir;
    char *workdir;
    char *rootfs;          /* merged mount point (overlay) or the rootfs dir */
    bool volatile_overlay; /* overlay "volatile": skip syncs; for --rm containers */
    bool readonly_rootfs;

    rt_process_t process;
    char *hostname;
    char *domainname;

    rt_mount_t *mounts; /* applied in order after the standard mounts */
    size_t n_mounts;
    int64_t shm_size; /* /dev/shm bytes, 0 = 64 MiB */

    rt_resources_t resources;
    char *cgroup_parent; /* NULL = "berth" */
    rt_ulimit_t *ulimits;
    size_t n_ulimits;

    char **cap_add; /* "NET_ADMIN" or "CAP_NET_ADMIN", "ALL" */
    size_t n_cap_add;
    char **cap_drop;
    size_t n_cap_drop;
    bool privileged; /* all caps, no seccomp, no masked/ro paths, /sys rw */
    enum rt_seccomp_mode seccomp;
    char *seccomp_profile; /* RT_SECCOMP_PROFILE: path of a Docker-format JSON profile */
    bool no_new_privileges;

    enum rt_net_mode net_mode;
    char *net_path; /* RT_NET_JOIN */

    bool init; /* tiny reaping init as pid 1, see above */

    char *log_path;       /* json-file log; NULL = no logging (--log-driver none) */
    int64_t log_max_size; /* bytes, 0 = unlimited */
    int log_max_file;     /* files kept incl. the current one, >= 1 */

    int stop_signal; /* for berthd's stop; 0 = SIGTERM. The shim does not use it */

    /* Contents of the generated files; NULL = do not mount that file. */
    char *etc_hostname;
    char *etc_hosts;
    char *etc_resolv_conf;
} rt_spec_t;

/* Zero a spec and set defaults (log_max_file 1, seccomp default, ...). */
void rt_spec_init(rt_spec_t *spec);
void rt_spec_free(rt_spec_t *spec);
/* JSON round trip (cJSON). to_json returns a malloc'd string. */
char *rt_spec_to_json(const rt_spec_t *spec);
int rt_spec_from_json(const char *json, rt_spec_t *spec, berth_err_t *err);
/* Save to <bundle>/runtime.json (atomic) / load from a path. */
int rt_spec_save(const rt_spec_t *spec, berth_err_t *err);
int rt_spec_load(const char *path, rt_spec_t *spec, berth_err_t *err);

/* ---- exec ---------------------------------------------------------------- */
typedef struct rt_exec_spec {
    char *id;             /* exec id */
    char *container_id;   /* the container */
    char *spec_path;      /* the container's runtime.json (caps, seccomp, rootfs, env) */
    char *state_path;     /* where the exec's final rt_state_t goes */
    rt_process_t process; /* user "" = the container's user */
    bool privileged;
} rt_exec_spec_t;

void rt_exec_spec_free(rt_exec_spec_t *x);
char *rt_exec_spec_to_json(const rt_exec_spec_t *x);
int rt_exec_spec_from_json(const char *json, rt_exec_spec_t *x, berth_err_t *err);

/* ---- state file ------------------------------------------------------------ */
enum rt_status { RT_STATUS_CREATED, RT_STATUS_RUNNING, RT_STATUS_EXITED };

typedef struct rt_state {
    enum rt_status status;
    pid_t shim_pid;
    pid_t pid;     /* container pid 1 in the host pid namespace; 0 if never started */
    int exit_code; /* status, 128+signal when killed, 125-127 on setup errors */
    int signal;    /* terminating signal, 0 */
    bool oom_killed;
    int64_t started_ns;
    int64_t finished_ns;
    char error[512]; /* setup error text, "" */
} rt_state_t;

/* Read <run_dir>/state.json (or any state path for rt_state_read_path). */
int rt_state_read(const char *run_dir, rt_state_t *st, berth_err_t *err);
int rt_state_read_path(const char *path, rt_state_t *st, berth_err_t *err);
char *rt_state_to_json(const rt_state_t *st);
int rt_state_from_json(const char *json, rt_state_t *st, berth_err_t *err);

/* ---- berthd side: async shim handle (libuv) ---------------------------------
 * One rt_shim_t per live shim connection. Callbacks run on the loop. Rules:
 *   started_cb exactly once (or never when spawn/connect itself fails): pid > 0
 *     on success, else pid 0 with error text and exit_code (125/126/127).
 *   output_cb for each stdout/stderr chunk (stream 1 or 2) while attached.
 *   exit_cb exactly once, when the shim has exited (state.json final) and all
 *     output was delivered; st is the final state (read from state.json; if
 *     that is missing/corrupt: exited, exit_code 255, error set).
 *   After exit_cb the handle closes itself and is freed: do not touch it.
 * rt_shim_detach(): stop listening (berthd shutting down / container forgets
 * it); the shim keeps running; no more callbacks; freed asynchronously. */
typedef struct rt_shim rt_shim_t;

typedef struct rt_shim_callbacks {
    void (*started_cb)(rt_shim_t *shim, pid_t pid, int exit_code, const char *error, void *data);
    void (*output_cb)(rt_shim_t *shim, int stream, const char *buf, size_t len, void *data);
    void (*exit_cb)(rt_shim_t *shim, const rt_state_t *st, void *data);
    /* NULL, or asked right before exit_cb when the shim offers to go back to
     * the warm pool: 0 when it took the shim (pid, its pidfd and a
     * connection fd are then the callee's), else -1 (nothing taken). */
    int (*reuse_cb)(pid_t pid, int pidfd, int fd, void *data);
} rt_shim_callbacks_t;

/* Spawn `shim_path run <bundle>/runtime.json` (spec must be saved first).
 * NULL + err on failure (no callbacks then). */
rt_shim_t *rt_shim_spawn(uv_loop_t *loop, const char *shim_path, const rt_spec_t *spec,
                         const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err);
/* Spawn `shim_path exec <exec.json path>`; same callbacks (output for the exec). */
rt_shim_t *rt_shim_spawn_exec(uv_loop_t *loop, const char *shim_path, const char *exec_json_path,
                              const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err);
/* After a berthd restart: connect to <run_dir>/shim.sock, attach (stdout,
 * stderr, stdin) and watch the shim's pid through a pidfd. started_cb is not
 * called. If the shim is already gone, NULL + err (read state.json instead). */
rt_shim_t *rt_shim_connect(uv_loop_t *loop, const char *run_dir, const rt_shim_callbacks_t *cbs,
                           void *data, berth_err_t *err);
/* Queue stdin bytes; len 0 closes the container's stdin. 0 or -errno. */
int rt_shim_write_stdin(rt_shim_t *shim, const void *buf, size_t len);
int rt_shim_resize(rt_shim_t *shim, unsigned rows, unsigned cols);
int rt_shim_kill(rt_shim_t *shim, int sig);
pid_t rt_shim_pid(const rt_shim_t *shim);
void rt_shim_detach(rt_shim_t *shim);

/* Blocking one-shot request over <run_dir>/shim.sock (short; for kill/resize
 * when berthd holds no handle). reply may be NULL. 0 or -errno. */
int rt_shim_request(const char *run_dir, const char *request_json, char **reply);

/* ---- cgroups ----------------------------------------------------------------
 * v1 (hybrid host): <mnt>/<ctrl>/<parent>/<id> for memory, cpu,cpuacct,
 * cpuset, pids, freezer. v2: <mnt>/<parent>/<id>. */
typedef struct rt_stats {
    uint64_t memory_usage; /* bytes (v1 usage - inactive_file, like docker stats) */
    uint64_t memory_limit; /* bytes; host memory when unlimited */
    uint64_t memory_cache;
    uint64_t cpu_usage_ns;        /* total */
    uint64_t cpu_user_ns;         /* user part */
    uint64_t cpu_system_ns;       /* system part */
    uint64_t system_cpu_usage_ns; /* host-wide, from /proc/stat, for docker's % */
    unsigned online_cpus;
    uint64_t pids_current;
    uint64_t pids_limit; /* 0 = unlimited */
} rt_stats_t;

int rt_cgroup_version(void); /* 1 or 2, for /info CgroupVersion */
int rt_cgroup_stats(const char *parent, const char *id, rt_stats_t *out, berth_err_t *err);
/* Freeze/thaw all processes of the container (pause/unpause). Waits until the
 * freezer reports FROZEN (bounded, a few ms). */
int rt_cgroup_freeze(const char *parent, const char *id, bool freeze, berth_err_t *err);
/* Pids in the container's cgroup (docker top). *out malloc'd. */
int rt_cgroup_pids(const char *parent, const char *id, pid_t **out, size_t *n, berth_err_t *err);

/* After a crash (shim gone, state not exited or leftovers): kill what is left
 * in the cgroup, remove the cgroup, the run_dir socket/state, and a stale
 * overlay "volatile" marker. Safe to call on a clean container. */
int rt_cleanup(const rt_spec_t *spec, berth_err_t *err);

#endif
