/* berth-shim: per-container monitor. Usage (see include/berth/runtime.h):
 *   berth-shim run <runtime.json>    fd 3: primary connection (optional)
 *   berth-shim exec <exec.json>      fd 3: primary connection (optional)
 *   berth-shim pool                  fd 3: primary connection; idles in berthd's
 *                                    warm pool until it is sent the runtime.json path
 *   berth-shim reaper                fd 3: paths (NUL-terminated) to rm -rf
 *   berth-shim zygote                fd 3: requests for pool shims, forked */
#include <fcntl.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/shim.h"

int main(int argc, char **argv)
{
    bool pool = argc == 2 && strcmp(argv[1], "pool") == 0;
    bool reaper = argc == 2 && strcmp(argv[1], "reaper") == 0;
    bool zygote = argc == 2 && strcmp(argv[1], "zygote") == 0;
    if (!pool && !reaper && !zygote &&
        (argc != 3 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "exec") != 0))) {
        fprintf(stderr, "usage: berth-shim run <runtime.json> | exec <exec.json> | pool | reaper | "
                        "zygote\n");
        return 2;
    }
    /* Nothing of our parent's but stdio and the primary connection. */
    syscall(SYS_close_range, 4U, ~0U, 0U);
    int primary = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
    if (primary >= 0)
        fcntl(primary, F_SETFD, FD_CLOEXEC);
    /* Warm-pool and reaper helpers work ahead of need: nice 19, so their
     * setup yields the cores to berthd and starts in progress (a pool shim
     * returns to nice 0 when it is handed a container). Not SCHED_IDLE: they
     * take cgroup and directory locks that a starved holder would keep. */
    if (pool || reaper || zygote)
        setpriority(PRIO_PROCESS, 0, 19);
    if (zygote)
        return primary >= 0 ? rt_shim_main_zygote(primary, argv[1]) : 2;
    if (pool)
        return primary >= 0 ? rt_shim_main_pool(primary) : 2;
    if (reaper)
        return primary >= 0 ? rt_shim_main_reaper(primary) : 2;
    return strcmp(argv[1], "run") == 0 ? rt_shim_main_run(argv[2], primary)
                                       : rt_shim_main_exec(argv[2], primary);
}
