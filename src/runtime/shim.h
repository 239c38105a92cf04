/* runtime: entry points of the berth-shim binary (berth-shim_main.c). */
#ifndef BERTH_RUNTIME_SHIM_H
#define BERTH_RUNTIME_SHIM_H

/* Both return the process exit status; primary_fd is fd 3 or -1. */
int rt_shim_main_run(const char *spec_path, int primary_fd);
int rt_shim_main_exec(const char *exec_path, int primary_fd);

#endif
