/* runtime: capability sets (Docker's defaults, cap_add/cap_drop) and applying
 * them in the container child. */
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

int rt_cap_from_name(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
        if (strcasecmp(cap_names[i], name) == 0)
            return (int)i;
    return -1;
}

unsigned rt_cap_last(void)
{
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0) {
            unsigned v = (unsigned)strtoul(buf, NULL, 10);
            if (v > 0 && v < 64)
                return v;
        }
    }
    return (unsigned)ARRAY_SIZE(cap_names) - 1;
}

static bool is_all(const char *s)
{
    return strcasecmp(s, "ALL") == 0 || strcasecmp(s, "CAP_ALL") == 0;
}

int rt_caps_compute(char *const *add, size_t n_add, char *const *drop, size_t n_drop,
                    bool privileged, unsigned last_cap, uint64_t *out, berth_err_t *err)
{
    uint64_t all = last_cap >= 63 ? ~0ULL : ((1ULL << (last_cap + 1)) - 1);
    if (privileged) {
        *out = all;
        return 0;
    }
    uint64_t caps = RT_CAPS_DEFAULT & all;
    for (size_t i = 0; i < n_drop; i++) {
        if (is_all(drop[i])) {
            caps = 0;
            continue;
        }
        int c = rt_cap_from_name(drop[i]);
        if (c < 0)
            return berth_err_set(err, BERTH_E_INVALID, "unknown capability drop: \"%s\"", drop[i]);
        caps &= ~(1ULL << c);
    }
    for (size_t i = 0; i < n_add; i++) {
        if (is_all(add[i])) {
            caps = all;
            continue;
        }
        int c = rt_cap_from_name(add[i]);
        if (c < 0 || (unsigned)c > last_cap)
            return berth_err_set(err, BERTH_E_INVALID, "unknown capability: \"%s\"", add[i]);
        caps |= 1ULL << c;
    }
    *out = caps;
    return 0;
}

int rt_caps_drop_bounding(uint64_t caps, unsigned last_cap)
{
    for (unsigned c = 0; c <= last_cap; c++) {
        if (caps & (1ULL << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    }
    return 0;
}

uint64_t rt_caps_drop_bounding_to(uint64_t caps, unsigned last_cap)
{
    uint64_t dropped = 0;
    for (unsigned c = 0; c <= last_cap && c < 64; c++)
        if (!(caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
            dropped |= 1ULL << c;
    return dropped;
}

int rt_caps_apply(uint64_t caps, bool keep_effective)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    uint64_t eff = keep_effective ? caps : 0;
    data[0].effective = (uint32_t)eff;
    data[1].effective = (uint32_t)(eff >> 32);
    data[0].permitted = (uint32_t)eff;
    data[1].permitted = (uint32_t)(eff >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    /* Ambient stays empty: Docker only gives non-root users caps via file caps. */
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    return 0;
}

uint64_t rt_caps_current(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) < 0)
        return ~0ULL;
    return (uint64_t)data[1].permitted << 32 | data[0].permitted;
}
