/* runtime: the pooled container init, cloned by a pool shim ahead of its
 * spec (shim.c clones it and hands it its start; shim_pre_child.c is its
 * side). Private to the berth-shim sources. */
#ifndef BERTH_RUNTIME_SHIM_PRE_H
#define BERTH_RUNTIME_SHIM_PRE_H

#include "runtime/internal.h"

/* Shim -> pre-cloned child messages: a tag, a mode byte, one '0'/'1' per
 * stdio fd present, then text; the present stdio fds ride along
 * (SCM_RIGHTS).
 *   "C" mode path   its runtime.json; mode 'E': early (it is in its final
 *                   cgroup: set up at once; its stdio follows in an "S"),
 *                   '-': stdio attached, wait for the go before any setup
 *   "S" mode        its stdio, sent once the /etc files it binds exist; mode
 *                   'P': its prepared rootfs is the container's (prep.c)
 *   "P" '-' text    while idle: prepare a rootfs (rt_prep_encode's text) */
#define PRE_CFG_TAG 'C'
#define PRE_STDIO_TAG 'S'
#define PRE_PREP_TAG 'P'
#define PRE_HDR 5

/* One shim -> init message (the tag, mode, stdio fds that are >= 0, text). */
int rt_pre_send(int sock, char tag, char mode, const int stdio[3], const char *text,
                berth_err_t *err);
/* The pre-cloned init, in the child of the clone: idle work (lo up, the
 * bounding set, "P" preparations) until its spec, then rt_child_main. */
__attribute__((noreturn)) void rt_pre_child_main(int sync);

#endif
