/* runtime: entry points of the berth-shim binary (berth-shim_main.c). */
#ifndef BERTH_RUNTIME_SHIM_H
#define BERTH_RUNTIME_SHIM_H

/* Both return the process exit status; primary_fd is fd 3 or -1. */
int rt_shim_main_run(const char *spec_path, int primary_fd);
int rt_shim_main_exec(const char *exec_path, int primary_fd);
/* Warm-pool mode: block on primary_fd for a RT_POOL_GO message (u32 length
 * in host order + runtime.json path), then continue as rt_shim_main_run.
 * EOF first (berthd shrank the pool or shut down) -> exit 0. Dies with
 * berthd (PR_SET_PDEATHSIG) until it has been handed a container. */
int rt_shim_main_pool(int primary_fd);
/* Reaper mode (reaper.c): remove each NUL-terminated absolute path read from
 * fd (rm -rf, same filesystem only) until EOF. */
int rt_shim_main_reaper(int fd);
/* Zygote mode (zygote.c): fork a pool shim (rt_shim_main_pool on the fd
 * sent) for each request on fd, until EOF; mode_arg is argv[1], retitled
 * "pool" in the forks. */
int rt_shim_main_zygote(int fd, char *mode_arg);

#endif
