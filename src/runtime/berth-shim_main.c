/* berth-shim: per-container monitor. Usage (see include/berth/runtime.h):
 *   berth-shim run <runtime.json>    fd 3: primary connection (optional)
 *   berth-shim exec <exec.json>      fd 3: primary connection (optional)
 *   berth-shim pool                  fd 3: primary connection; idles in berthd's
 *                                    warm pool until it is sent the runtime.json path */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/shim.h"

int main(int argc, char **argv)
{
    bool pool = argc == 2 && strcmp(argv[1], "pool") == 0;
    if (!pool && (argc != 3 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "exec") != 0))) {
        fprintf(stderr, "usage: berth-shim run <runtime.json> | exec <exec.json> | pool\n");
        return 2;
    }
    /* Nothing of our parent's but stdio and the primary connection. */
    syscall(SYS_close_range, 4U, ~0U, 0U);
    int primary = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
    if (primary >= 0)
        fcntl(primary, F_SETFD, FD_CLOEXEC);
    if (pool)
        return primary >= 0 ? rt_shim_main_pool(primary) : 2;
    return strcmp(argv[1], "run") == 0 ? rt_shim_main_run(argv[2], primary)
                                       : rt_shim_main_exec(argv[2], primary);
}
