/* runtime internals shared by the shim, the container child and berthd-side helpers. */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/common.h"
#include "berth/runtime.h"

void rt_strv_free(char **v, size_t n);
void rt_process_free(rt_process_t *p);
/* Atomic (rename) state write without fsync (see spec.c). 0 or -errno. */
int rt_state_write_path(const char *path, const rt_state_t *st);
/* Replace path's content atomically for readers (path.tmp + fs_replace),
 * without fsync: for state that need not survive a power loss. 0 or -errno. */
int rt_write_replace(const char *path, const char *data, size_t len);
/* The same with the new file's mode (rt_write_replace: 0600). */
int rt_write_replace_mode(const char *path, const char *data, size_t len, mode_t mode);
/* rt_write_replace for a file only this process reads and writes (berthd's
 * config.v2.json): the replaced content stays as path.tmp and the next
 * rewrite goes over it in place -- no new inode and no freed block per
 * state change (without a journal, ext4 waits for each freed block's
 * discard). Another process reading the file could see a rewrite in
 * progress through a file it opened before two replaces. 0 or -errno. */
int rt_write_rewrite(const char *path, const char *data, size_t len);

/* ---- users (user.c) ------------------------------------------------------- */
typedef struct rt_user {
    uid_t uid;
    gid_t gid;
    gid_t *gids; /* supplementary groups, malloc'd */
    size_t n_gids;
    char *home; /* from passwd, or "/" */
} rt_user_t;

/* Resolve Docker's User string against passwd/group file contents (either may
 * be NULL when the file is missing). Numeric ids need no entry; names must
 * exist. group_add entries are names or numbers. 0 or -1 with err. */
int rt_user_resolve(const char *user, const char *passwd, const char *group, char *const *group_add,
                    size_t n_group_add, rt_user_t *out, berth_err_t *err);
void rt_user_free(rt_user_t *u);

/* ---- capabilities (caps.c) ------------------------------------------------ */
#define RT_CAPS_DEFAULT 0x00000000a80425fbULL
/* "CHOWN" / "CAP_CHOWN" (any case) -> number, -1 when unknown. */
int rt_cap_from_name(const char *name);
unsigned rt_cap_last(void); /* from /proc/sys/kernel/cap_last_cap, fallback 40 */
/* Docker's rules: start from the 14 defaults (all when privileged), apply
 * cap_drop then cap_add ("ALL" allowed in both). */
int rt_caps_compute(char *const *add, size_t n_add, char *const *drop, size_t n_drop,
                    bool privileged, unsigned last_cap, uint64_t *out, berth_err_t *err);
/* In the child: drop the bounding set to `caps`, then after the uid switch set
 * effective/permitted = caps (root) or empty (non-root), inheritable empty. */
int rt_caps_drop_bounding(uint64_t caps, unsigned last_cap);
/* The same, best effort: returns the capabilities dropped (those not in caps
 * that the bounding set no longer holds). */
uint64_t rt_caps_drop_bounding_to(uint64_t caps, unsigned last_cap);
int rt_caps_apply(uint64_t caps, bool keep_effective);
/* Our own permitted set: a container can't get more (e.g. we run in a VM or
 * container with a reduced bounding set). */
uint64_t rt_caps_current(void);

/* ---- seccomp (seccomp.c) --------------------------------------------------- */
/* Build Docker's default profile (profile_json NULL) or a Docker-format JSON
 * profile for the given capability set and write the BPF program to path
 * (atomically). Costs tens of ms: call once per (profile, caps) pair. */
int rt_seccomp_compile(const char *profile_json, uint64_t caps, const char *path, berth_err_t *err);
/* Cache file name for (profile, caps) in dir; malloc'd. */
char *rt_seccomp_cache_path(const char *dir, const char *profile_json, uint64_t caps);
/* Read a compiled program; *prog_out malloc'd, *len in filter instructions. */
int rt_seccomp_read(const char *path, void **prog_out, size_t *len, berth_err_t *err);
/* The program a container with spec s and effective caps runs under: none
 * (*bpf NULL) when privileged or unconfined, else compiled once per profile
 * and caps into the exec root's cache (or s->bpf_cache_dir) and read. */
int rt_seccomp_prepare(const rt_spec_t *s, uint64_t caps, void **bpf, size_t *len,
                       berth_err_t *err);
/* Install a program read by rt_seccomp_read (needs no_new_privs or CAP_SYS_ADMIN). */
int rt_seccomp_load(void *prog, size_t len);

/* ---- cgroups (cgroup.c) --------------------------------------------------- */
/* Create the container cgroup(s), write the limits. 0 or -1 with err. */
int rt_cgroup_create(const char *parent, const char *id, const rt_resources_t *res,
                     berth_err_t *err);
/* v1 warm pool: an idle pooled shim puts its pre-cloned init in
 * "<default parent>/.pool-<shim pid>" while idle, so the slow first
 * migration (an RCU grace period, ~1.5 ms here) is off the start path; the
 * start renames it to the container's id in every controller and writes the
 * limits. 0, or -1 with err and the name left as it was. */
#define RT_POOL_CGROUP_PREFIX ".pool-"
int rt_cgroup_adopt(const char *from, const char *id, const rt_resources_t *res, berth_err_t *err);
/* v1, default parent: a finished container's cgroups renamed out of the way
 * ("<default parent>/.gone-<our pid>", into gone) so its id is free at once:
 * once the exit is reported, a restart may make that cgroup again while we
 * still remove these (rt_cgroup_destroy of the gone name; a rename costs far
 * less than an rmdir). 0; -ENOTSUP (v2, a custom parent: gone stays ""); or
 * -errno with nothing moved: destroy the id's (and, to be sure, gone's). */
#define RT_GONE_CGROUP_PREFIX ".gone-"
int rt_cgroup_retire(const char *parent, const char *id, char *gone, size_t gone_len);
/* v1, default parent, a pool shim's container that set no limits: its
 * cgroups renamed to the shim's pool name (pool, "" when not taken) for its
 * next init, instead of removed and made again: an rmdir and a mkdir in six
 * controllers cost ~1 ms of CPU per run here, and every removed memory
 * cgroup lingers in the kernel (a "dying" memcg) until the last page charged
 * to it is freed. Only after a short, small run (bounded CPU time and memory
 * still charged): what the next container shows in stats is then its own
 * (rt_cgroup_recycle_reset zeroes the counters that can be zeroed). 0, or
 * -errno with nothing renamed. */
int rt_cgroup_recycle(const char *id, const char *pool);
/* Zero the recycled cgroups' CPU time and peak memory. */
void rt_cgroup_recycle_reset(const char *pool);
/* rt_resources_t with nothing set: no limit was written to the cgroups. */
bool rt_resources_unset(const rt_resources_t *r);
/* rmdir the pool (and gone) cgroups of pool shims that no longer exist. */
void rt_cgroup_sweep_pool(void);
/* Move pid into every controller's cgroup (v1) / the cgroup (v2). */
int rt_cgroup_enter(const char *parent, const char *id, pid_t pid, berth_err_t *err);
/* v2 only: O_DIRECTORY fd of the cgroup for CLONE_INTO_CGROUP; -errno on v1. */
int rt_cgroup_open_v2(const char *parent, const char *id);
/* The oom_kill counter (v1 memory.oom_control, v2 memory.events). */
bool rt_cgroup_oom_killed(const char *parent, const char *id);
/* Kill what is left (SIGKILL to every pid, bounded retries) and rmdir. */
int rt_cgroup_destroy(const char *parent, const char *id);

/* ---- json-file log (jsonlog.c) -------------------------------------------- */
typedef struct rt_jsonlog {
    int fd;
    char *path;
    int64_t size;
    int64_t max_size;
    int max_file;
    berth_buf_t partial[3]; /* per stream (1, 2): bytes of an unfinished line */
    berth_buf_t line;       /* scratch for one encoded entry */
} rt_jsonlog_t;

int rt_jsonlog_open(rt_jsonlog_t *l, const char *path, int64_t max_size, int max_file);
/* Feed output bytes of a stream (1 stdout, 2 stderr); writes one entry per line,
 * one write(2) per entry. Lines longer than 16 KiB are split like Docker. */
void rt_jsonlog_feed(rt_jsonlog_t *l, int stream, const char *buf, size_t len);
/* Flush unfinished lines (at exit). */
void rt_jsonlog_flush(rt_jsonlog_t *l);
void rt_jsonlog_close(rt_jsonlog_t *l);
/* Encode one entry into out (appends). Exposed for tests. */
void rt_jsonlog_encode(berth_buf_t *out, int stream, const char *buf, size_t len, int64_t ns);

/* ---- container child (container.c, mounts.c) ------------------------------ */
typedef struct rt_child_cfg {
    const rt_spec_t *spec;
    const rt_process_t *process; /* spec->process or an exec's process */
    uint64_t caps;
    unsigned last_cap;
    void *bpf; /* compiled seccomp program or NULL */
    size_t bpf_len;
    int sync_fd;            /* child end: error reports; CLOEXEC so exec closes it */
    int stdio[3];           /* fds to become 0,1,2 (-1 with a tty: the child makes it) */
    bool is_exec;           /* joining an existing container: no mounts */
    bool v1_unshare_cgroup; /* unshare(CLONE_NEWCGROUP) once in the cgroup (v1) */
    /* Already in its final cgroup (a pooled init whose pool cgroup becomes
     * the container's): set up the rootfs while the shim finishes its own
     * work, and wait for the shim's go only before the exec. */
    bool setup_before_go;
    /* Set: stdio[] arrives late; rt_setup_rootfs's before_binds hook (arg:
     * this cfg), so it waits only right before the /etc bind mounts (the
     * shim writes those files first). 0 or -1 with err. */
    int (*await_stdio)(void *cfg, berth_err_t *err);
    bool lo_ready; /* its own netns' lo is up already (a pooled init) */
    /* A pooled init's prepared rootfs that fits the spec (prep.c): wait for
     * the stdio first, then take it if the shim says so (prep_accepted, set
     * by await_stdio), else set up as usual. */
    const char *prepared_rootfs;
    bool prep_accepted;
    /* Capabilities the bounding set lost already (a pooled init, while idle):
     * not dropped again. */
    uint64_t bounding_dropped;
} rt_child_cfg_t;

/* Bring up lo in the current network namespace. 0 or -1 with err. */
int rt_lo_up(berth_err_t *err);

/* Runs in the cloned child; never returns. Reports "<exit code>\n<text>" on
 * sync_fd when it fails. */
__attribute__((noreturn)) void rt_child_main(rt_child_cfg_t *cfg);
/* --init's pid 1: comm "docker-init", cmdline "/sbin/docker-init -- args..."
 * written over our own argv/environ strings (proctitle.c). 0/-errno. */
int rt_init_set_title(char *const *args);
/* Mount everything and pivot_root (new mount namespace). With pty != NULL
 * (Tty) also open a pty in the container's devpts and bind its slave on
 * /dev/console: pty[0] master, pty[1] slave. -1 + err. */
/* before_binds (may be NULL): called right before the /etc and user bind
 * mounts, with arg. */
int rt_setup_rootfs(const rt_spec_t *spec, int pty[2],
                    int (*before_binds)(void *arg, berth_err_t *err), void *arg, berth_err_t *err);
/* A pooled init, ahead of its spec: the standard mounts and masks of the
 * template (rt_prep_template) in our mount namespace; the overlay is
 * overlay_fd (a detached mount its shim made, prep.c) when that is >= 0.
 * -1 + err. */
int rt_rootfs_prepare(const rt_spec_t *tmpl, int overlay_fd, berth_err_t *err);
/* A detached mount (fsmount) of s's overlay: its upper and work dirs made if
 * missing, an earlier volatile mount's marker removed. fd, or -1 + err. */
int rt_overlay_open(const rt_spec_t *s, berth_err_t *err);
/* The rest for a spec that fits (rt_prep_fits): /etc binds and pivot_root
 * into the prepared rootfs. -1 + err. */
int rt_rootfs_enter_prepared(const rt_spec_t *spec, const char *rootfs, berth_err_t *err);

/* ---- a rootfs prepared ahead by a pooled init (prep.c) --------------------- */
typedef struct rt_prep {
    /* <containers>/.pool-<shim pid>: the prefix of its dirs "<dir>-upper"
     * and "<dir>-work" (siblings of the container dirs: renamed into a
     * container's without leaving an empty parent to remove). */
    char *dir;
    bool volatile_overlay;
    char **lowerdirs;
    size_t n_lowerdirs;
    /* rt_prep_identify: which directories the layers were when the prep was
     * asked for (an image removed and loaded again has its layers at the
     * same paths), or NULL. */
    struct file_handle **layer_ids;
} rt_prep_t;
#define RT_PREP_DIR_PREFIX ".pool-"
/* berthd -> idle pool shim: u32 length + payload (< RT_POOL_MSG_MAX); a
 * payload starting with this is a prep request (the rest: rt_prep_encode),
 * else the start's runtime.json path. */
#define RT_POOL_PREP_TAG 'P'
#define RT_POOL_MSG_MAX 4096
/* "<volatile 0|1>\n<dir>\n<lowerdir>..." and back (-EINVAL on garbage). */
char *rt_prep_encode(const rt_prep_t *p);
int rt_prep_decode(const char *text, rt_prep_t *p);
void rt_prep_free(rt_prep_t *p);
/* "<dir>-<name>" (name: "upper" or "work"). */
char *rt_prep_path(const rt_prep_t *p, const char *name);
/* Where prepared rootfses are mounted: <containers>/.pool-rootfs, one dir
 * for all (each init mounts in a mount namespace of its own); made on
 * demand, removed only by berthd's start-up sweep. */
char *rt_prep_rootfs(const rt_prep_t *p);
/* Remove a pool's dirs (rm -rf: its init's mounts live in another mount
 * namespace and do not stand in the way). */
void rt_prep_remove(const char *dir);
/* Rename an upper and a work dir to to_upper and to_work (neither may
 * exist), both or neither (the upper dir back on a failure). */
bool rt_prep_move_dirs(const char *upper, const char *work, const char *to_upper,
                       const char *to_work);
/* Recycled upper and work dirs: a removed --rm container's, over the same
 * layers, at <containers>/.pool-recycled-<hash of the layer dirs> (its work
 * dir, holding its upper dir: berthd puts them there, mgr_prep_from_trash),
 * taken by the next
 * pool shim preparing a rootfs over those layers instead of making new ones
 * (and the /etc bind targets in them): on this kind of disk each inode made
 * and removed costs. The path, malloc'd. */
char *rt_prep_recycled_path(const char *containers_dir, char *const *lowerdirs, size_t n);
/* Take the recycled dirs for p ("<dir>-upper" and "-work"), if any and if
 * they hold just what a prepared upper holds (etc/ with the three empty
 * bind targets; what the container wrote elsewhere rules it out: removed).
 * True when taken. */
bool rt_prep_take_recycled(const rt_prep_t *p);
/* Take the dirs berthd gave back to this pool shim ("<dir>-upper" and
 * "-work": its last --rm container's, rt_pool_resume_prep) if they hold
 * just what a prepared upper holds; anything else there is removed. True
 * when taken. */
bool rt_prep_take_returned(const rt_prep_t *p);
/* The overlay a pool shim mounted (detached, fsmount) for the rootfs it
 * last prepared, kept from one --rm container to the next while their
 * upper and work dirs come back to it untouched: the next prepared rootfs
 * is that same mount, not a new one (a new overlay mount makes and removes
 * a handful of inodes in the work dir, each dear on a busy disk). */
typedef struct rt_prep_overlay {
    int fd; /* the detached mount, or -1 */
    bool volatile_overlay;
    dev_t dev[3]; /* its upper dir, work dir, and the work dir's "work" */
    ino_t ino[3];
    struct file_handle **layer_ids; /* its layers (rt_prep_identify) */
    size_t n_layers;
} rt_prep_overlay_t;
void rt_prep_overlay_init(rt_prep_overlay_t *o);
void rt_prep_overlay_drop(rt_prep_overlay_t *o);
/* For p, whose dirs pool_prep holds (identified): a detached mount of its
 * overlay for the init to attach, a copy of o's when o is mounted over
 * these very dirs and layers, else of a new one (o keeps it). fd, or -1 +
 * err. */
int rt_prep_overlay_for(const rt_prep_t *p, rt_prep_overlay_t *o, berth_err_t *err);
/* Remove every kept one (berthd's stop; its start sweeps every .pool-*).
 * One for layers since removed is harmless: its name (their dirs' paths)
 * only comes back with those very layers, and it is checked at the take. */
void rt_prep_sweep_recycled(const char *containers_dir);
/* Would a start of s have mounted just what p prepared? */
bool rt_prep_fits(const rt_spec_t *s, const rt_prep_t *p);
/* Record the layer dirs' identities (file handles); -1 if the filesystem
 * cannot tell. Are s's layers still those very directories? */
int rt_prep_identify(rt_prep_t *p);
bool rt_prep_same_layers(const rt_prep_t *p, const rt_spec_t *s);
/* The spec the prepared mounts are made from (borrows p's strings). */
void rt_prep_template(const rt_prep_t *p, rt_spec_t *t);
void rt_prep_template_free(rt_spec_t *t);
/* Replace p's layers (and volatile flag) by those of s. */
void rt_prep_set_layers(rt_prep_t *p, const rt_spec_t *s);

/* ---- the container's terminal (console.c) ---------------------------------- */
/* The sync socket's message carrying the pty master (error reports start
 * with a digit). */
#define RT_PTY_TAG 'P'
/* Open a pty through the ptmx at path inside rootfd (checked to be a devpts
 * ptmx), unlocked, window size from p; fds[0] master, fds[1] slave (both
 * CLOEXEC, not a controlling tty yet). -1 + err. */
int rt_pty_open_in(int rootfd, const char *ptmx, const rt_process_t *p, int fds[2],
                   berth_err_t *err);
/* fdpass.c: len bytes with fd attached (none if fd < 0); bytes sent or
 * -errno (MSG_NOSIGNAL always). Receive: one message, *fd the first fd that
 * came with it (CLOEXEC; any other is closed) or -1; bytes, 0 at EOF, -errno. */
ssize_t rt_send_with_fd(int sock, const void *data, size_t len, int fd, int flags);
ssize_t rt_recv_with_fd(int sock, void *buf, size_t len, int flags, int *fd);
/* Child -> shim: RT_PTY_TAG with the master fd attached. 0/-errno. */
int rt_pty_send_master(int sock, int master);
/* Shim side of the sync socket: one message into buf; *fd an fd that came
 * with it (CLOEXEC) or -1. Bytes read, 0 at EOF, -errno. */
ssize_t rt_sync_recv(int sock, char *buf, size_t len, int *fd);
/* Write "<code>\n<text>" and _exit(code). */
__attribute__((noreturn)) void rt_child_fail(int sync_fd, int code, const berth_err_t *err);

/* ---- shim processes and the warm pool (shim_client.c, shim_pool.c) -------- */
/* posix_spawn `shim_path mode [arg]` with fd 3 = one end of a socketpair:
 * *fd the other end (CLOEXEC), *pidfd watches the shim; extra_env (NULL or
 * "NAME=value") added to our environment. 0 or -1 + err. */
int rt_shim_spawn_proc(const char *shim_path, const char *mode, const char *arg,
                       const char *extra_env, pid_t *pid, int *pidfd, int *fd, berth_err_t *err);
/* An rt_shim_t over a spawned shim; takes pidfd, fd and state_path. */
rt_shim_t *rt_shim_wrap(uv_loop_t *loop, pid_t pid, int pidfd, int fd, char *state_path,
                        const rt_shim_callbacks_t *cbs, void *data, berth_err_t *err);

/* Up to `size` idle `berth-shim pool` processes, spawned ahead of need so a
 * start skips the shim's spawn, exec and dynamic linking. Idle shims are not
 * containers (no run dir, no state): they are never listed, never adopted,
 * die with berthd (PDEATHSIG) and are killed and reaped by rt_pool_free. */
typedef struct rt_pool rt_pool_t;
/* NULL if size <= 0; idle shims prepare rootfs dirs in containers_dir. */
rt_pool_t *rt_pool_new(uv_loop_t *loop, const char *shim_path, const char *containers_dir,
                       int size);
/* Like rt_shim_spawn (p not NULL), through an idle shim when there is one (then the pool
 * refills a little later, see shim_pool.c), else a fresh spawn. */
rt_shim_t *rt_pool_spawn(rt_pool_t *p, const rt_spec_t *spec, const rt_shim_callbacks_t *cbs,
                         void *data, berth_err_t *err);
int rt_pool_idle(const rt_pool_t *p); /* idle shims right now */
/* Do the pool's idle shims prepare rootfses over s's layers (prep.c)? */
bool rt_pool_prepares(const rt_pool_t *p, const rt_spec_t *s);
/* No API client is connected: refill now rather than after the post-take
 * delay. */
void rt_pool_kick(rt_pool_t *p);
/* A pool shim whose container exited offers to idle again (reuse_cb): 0 when
 * the pool has room and took it (pid, pidfd and fd are the pool's), else -1.
 * defer_prep: its container is being removed; its prep request waits for
 * rt_pool_resume_prep, which may give it that container's dirs. */
int rt_pool_return(rt_pool_t *p, pid_t pid, int pidfd, int fd, bool defer_prep);
/* The container of returned shim pid is removed (its dir renamed to trash,
 * or trash NULL): its upper and work dirs go back to that shim as its next
 * prepared rootfs's, if the pool prepares the same layers (layers_slot:
 * rt_prep_recycled_path of the container's layers), and its prep request
 * goes. The shim may still have their overlay mounted (prep.c): they go to
 * no other. True when they were given. */
bool rt_pool_resume_prep(rt_pool_t *p, pid_t pid, const char *trash, const char *layers_slot);
/* Kill and reap every idle shim; the struct goes once its handles closed. */
void rt_pool_free(rt_pool_t *p);
/* Images were removed: idle shims with a prepared rootfs go (they would hold
 * removed layers), and refills prepare nothing until the next pooled start. */
void rt_pool_images_removed(rt_pool_t *p);

/* For idle pooled shims and their pre-cloned inits (prefault.c): once fd
 * has stayed quiet for RT_PREFAULT_IDLE_MS, fault in the stack and the code
 * pages the start path will touch (a first touch costs ~13 us per page in
 * this VM) and keep freed heap. Skipped when fd becomes readable first: the
 * start is already here. */
#define RT_PREFAULT_IDLE_MS 20
void rt_prefault_when_idle(int fd);

/* berthd's side of the zygote (zygote.c): ask it for a pool shim whose end
 * of its socketpair with berthd is shim_fd (non-blocking); read one answer:
 * 0 with the shim's pid and pidfd, or with *pid = -errno of a failed fork;
 * else -EAGAIN (none yet), -EPIPE (the zygote is gone), -errno. */
int rt_zygote_request(int zygote_fd, int shim_fd);
int rt_zygote_reply(int zygote_fd, pid_t *pid, int *pidfd);

/* ---- raw syscalls ----------------------------------------------------------- */
pid_t rt_clone3(uint64_t flags, int *pidfd, int cgroup_fd);
int rt_pidfd_open(pid_t pid);
int rt_pidfd_send_signal(int pidfd, int sig);
int rt_pivot_root(const char *new_root, const char *put_old);
/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). */
int rt_openat_in_root(int rootfd, const char *path, int flags, mode_t mode);
int rt_close_range_cloexec(unsigned from);

#endif
