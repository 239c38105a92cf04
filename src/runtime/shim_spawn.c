/* runtime: start a berth-shim process in one of its modes (berthd's pool,
 * zygote and reaper). Apart from the libuv side (shim_client.c): the shim
 * binary's own reaper mode links this, and nothing of libuv. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"

int rt_shim_spawn_proc(const char *shim_path, const char *mode, const char *arg,
                       const char *extra_env, pid_t *pid_out, int *pidfd_out, int *fd_out,
                       berth_err_t *err)
{
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return berth_err_sys(err, errno, "socketpair");
    char *args[] = {(char *)shim_path, (char *)mode, (char *)arg, NULL};
    /* posix_spawn (clone(CLONE_VM|CLONE_VFORK) in glibc) rather than
     * uv_spawn's fork: no copy of berthd's page tables and no copy-on-write
     * faults in berthd afterwards, which is most of a spawn's cost in a VM.
     * The exit is watched through a pidfd, reaped in pidfd_cb. */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, sp[1], 3); /* clears CLOEXEC, even if sp[1] == 3 */
    /* setsid: survives berthd's session going away */
    berth_spawnattr_init(&attr, POSIX_SPAWN_SETSID);
    char **envp = environ;
    cleanup_free char **more_env = NULL;
    if (extra_env) {
        size_t n = 0;
        while (environ[n])
            n++;
        more_env = xcalloc(n + 2, sizeof(char *));
        memcpy(more_env, environ, n * sizeof(char *));
        more_env[n] = (char *)extra_env;
        envp = more_env;
    }
    pid_t pid;
    int rc = posix_spawn(&pid, shim_path, &fa, &attr, args, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sp[1]);
    int pidfd = rc == 0 ? rt_pidfd_open(pid) : -1;
    if (rc == 0 && pidfd < 0) {
        rc = -pidfd;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (rc != 0) {
        close(sp[0]);
        return berth_err_set(err, BERTH_E_INTERNAL, "starting %s: %s", shim_path, strerror(rc));
    }
    *pid_out = pid;
    *pidfd_out = pidfd;
    *fd_out = sp[0];
    return 0;
}
