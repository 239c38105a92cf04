/* runtime: the process title of the --init process. pid 1 of an --init
 * container is a fork of berth-shim that never execs, so without this its
 * /proc/1/cmdline would read "berth-shim run <data-root>/containers/<id>/
 * runtime.json": wrong for `ps` and a leak of host paths into the container.
 * It is made to look like Docker's (tini at /sbin/docker-init):
 * "/sbin/docker-init -- <cmd> <args>", comm "docker-init".
 *
 * PR_SET_MM_ARG_START would let us point cmdline at new memory, but it needs
 * CAP_SYS_RESOURCE, which we may not have; instead the argv strings and the
 * environment strings after them (init needs neither any more) are
 * overwritten in place. The kernel's cmdline reader returns the argv area
 * as is when its last byte is NUL; when that byte is not NUL it returns one
 * string reaching into the environment area (setproctitle(3) style). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/prctl.h>

#include "runtime/internal.h"

/* arg_start, arg_end, env_start, env_end: fields 48-51 of /proc/self/stat. */
static int title_area(uintptr_t *arg_start, uintptr_t *arg_end, uintptr_t *env_end)
{
    cleanup_free char *stat = NULL;
    if (fs_read_file("/proc/self/stat", 1 << 16, &stat, NULL) < 0)
        return -errno;
    const char *p = strrchr(stat, ')'); /* comm may hold spaces */
    if (!p)
        return -EINVAL;
    p += 2; /* field 3 */
    for (int field = 3; field < 48 && *p; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EINVAL;
        p++;
    }
    uintmax_t as, ae, es, ee;
    if (sscanf(p, "%ju %ju %ju %ju", &as, &ae, &es, &ee) != 4 || ae <= as || ee < es)
        return -EINVAL;
    *arg_start = (uintptr_t)as;
    *arg_end = (uintptr_t)ae;
    /* The environment only counts when it follows argv directly. */
    *env_end = es == ae ? (uintptr_t)ee : (uintptr_t)ae;
    return 0;
}

int rt_init_set_title(char *const *args)
{
    prctl(PR_SET_NAME, "docker-init", 0, 0, 0);
    berth_buf_t t;
    buf_init(&t);
    buf_puts(&t, "/sbin/docker-init");
    buf_append(&t, "", 1);
    buf_puts(&t, "--");
    buf_append(&t, "", 1);
    for (size_t i = 0; args && args[i]; i++) {
        buf_puts(&t, args[i]);
        buf_append(&t, "", 1);
    }
    uintptr_t as = 0, ae = 0, ee = 0; /* set by title_area() on success */
    int rc = title_area(&as, &ae, &ee);
    if (rc < 0) {
        buf_free(&t);
        return rc;
    }
    char *area = (char *)as;
    size_t argv_len = ae - as, total = ee - as;
    if (t.len <= argv_len) {
        /* Fits: NUL-separated like a real argv; trailing NULs read as nothing
         * to ps (procps and busybox strip them). */
        memcpy(area, t.data, t.len);
        memset(area + t.len, 0, argv_len - t.len);
    } else {
        /* One space-joined string over argv and the environment, cut to fit;
         * the last argv byte is then not NUL, which selects that mode. */
        size_t n = t.len - 1 < total - 1 ? t.len - 1 : total - 1;
        for (size_t i = 0; i < n; i++)
            area[i] = t.data[i] ? t.data[i] : ' ';
        memset(area + n, 0, total - n);
    }
    buf_free(&t);
    return 0;
}
