/* runtime: Docker's User string resolved against the rootfs's /etc/passwd and
 * /etc/group text. Pure functions over strings so they are unit-testable and
 * never touch the host's files. */
#include <errno.h>
#include <string.h>

#include "runtime/internal.h"

static bool parse_id(const char *s, unsigned *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > 0x7fffffffUL)
        return false;
    *out = (unsigned)v;
    return true;
}

/* Split a colon-separated line into at most n fields in place. */
static size_t split_fields(char *line, char **f, size_t n)
{
    size_t i = 0;
    f[i++] = line;
    for (char *p = line; *p && i < n; p++)
        if (*p == ':') {
            *p = '\0';
            f[i++] = p + 1;
        }
    return i;
}

/* Iterate over lines of a passwd-like file; cb returns true to stop. */
typedef bool (*line_cb)(char **f, size_t nf, void *ctx);
static void each_entry(const char *text, size_t want, line_cb cb, void *ctx)
{
    if (!text)
        return;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[0] != '#') {
            cleanup_free char *line = xstrndup(p, len);
            char *f[8] = {0};
            size_t nf = split_fields(line, f, want);
            if (cb(f, nf, ctx))
                return;
        }
        p += len + (nl ? 1 : 0);
    }
}

struct pw_find {
    const char *name; /* by name, or */
    unsigned uid;     /* by uid when name NULL */
    bool found;
    unsigned out_uid, out_gid;
    char *home;
    char *user_name;
};

static bool pw_cb(char **f, size_t nf, void *ctx)
{
    struct pw_find *q = ctx;
    unsigned uid, gid;
    if (nf < 4 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return false;
    if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
        return false;
    q->found = true;
    q->out_uid = uid;
    q->out_gid = gid;
    q->home = xstrdup(nf >= 6 && f[5][0] ? f[5] : "/");
    q->user_name = xstrdup(f[0]);
    return true;
}

struct gr_find {
    const char *name;
    bool found;
    unsigned gid;
};

static bool gr_name_cb(char **f, size_t nf, void *ctx)
{
    struct gr_find *q = ctx;
    unsigned gid;
    if (nf < 3 || strcmp(f[0], q->name) != 0 || !parse_id(f[2], &gid))
        return false;
    q->found = true;
    q->gid = gid;
    return true;
}

struct gr_members {
    const char *user;
    rt_user_t *out;
};

static void add_gid(rt_user_t *u, gid_t g)
{
    for (size_t i = 0; i < u->n_gids; i++)
        if (u->gids[i] == g)
            return;
    u->gids = xrealloc(u->gids, (u->n_gids + 1) * sizeof(gid_t));
    u->gids[u->n_gids++] = g;
}

static bool gr_member_cb(char **f, size_t nf, void *ctx)
{
    struct gr_members *q = ctx;
    unsigned gid;
    if (nf < 4 || !parse_id(f[2], &gid))
        return false;
    char *save = NULL;
    for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, q->user) == 0)
            add_gid(q->out, gid);
    return false;
}

static int group_lookup(const char *group_text, const char *g, gid_t *out, berth_err_t *err)
{
    unsigned id;
    if (parse_id(g, &id)) {
        *out = id;
        return 0;
    }
    struct gr_find q = {.name = g};
    each_entry(group_text, 4, gr_name_cb, &q);
    if (!q.found)
        return berth_err_set(err, BERTH_E_INVALID,
                             "unable to find group %s: no matching entries in group file", g);
    *out = q.gid;
    return 0;
}

int rt_user_resolve(const char *user, const char *passwd, const char *group, char *const *group_add,
                    size_t n_group_add, rt_user_t *out, berth_err_t *err)
{
    memset(out, 0, sizeof(*out));
    cleanup_free char *u = xstrdup(user ? user : "");
    char *gpart = strchr(u, ':');
    if (gpart)
        *gpart++ = '\0';
    struct pw_find q = {0};
    unsigned id = 0;
    bool numeric = parse_id(u, &id);
    if (!*u) {
        q.uid = 0;
        numeric = true;
        id = 0;
    }
    if (numeric)
        q.uid = id;
    else
        q.name = u;
    each_entry(passwd, 7, pw_cb, &q);
    if (!q.found && !numeric)
        return berth_err_set(err, BERTH_E_INVALID,
                             "unable to find user %s: no matching entries in passwd file", u);
    out->uid = numeric ? id : q.out_uid;
    out->gid = q.found ? q.out_gid : 0;
    out->home = q.home ? q.home : xstrdup("/");
    if (gpart && *gpart) {
        if (group_lookup(group, gpart, &out->gid, err) < 0)
            goto fail;
    } else if (q.found) {
        /* Supplementary groups only when no explicit group was given, like runc. */
        struct gr_members m = {.user = q.user_name, .out = out};
        each_entry(group, 4, gr_member_cb, &m);
    }
    for (size_t i = 0; i < n_group_add; i++) {
        gid_t g = 0;
        if (group_lookup(group, group_add[i], &g, err) < 0)
            goto fail;
        add_gid(out, g);
    }
    free(q.user_name);
    return 0;
fail:
    free(q.user_name);
    rt_user_free(out);
    return -1;
}

void rt_user_free(rt_user_t *u)
{
    free(u->gids);
    free(u->home);
    memset(u, 0, sizeof(*u));
}
