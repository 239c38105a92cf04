/* Command-line flag parsing with cobra/pflag's syntax and error texts. */
#include <errno.h>
#include <string.h>

#include "cli/internal.h"

void cli_strv_free(cli_strv_t *sv)
{
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

static int flag_assign(cli_flag_t *f, const char *value, const char *shown, berth_err_t *err)
{
    f->set = true;
    switch (f->type) {
    case CLI_FLAG_BOOL:
        if (!value) {
            *(bool *)f->ptr = true;
        } else if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "t") ||
                   !strcmp(value, "TRUE") || !strcmp(value, "True")) {
            *(bool *)f->ptr = true;
        } else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "f") ||
                   !strcmp(value, "FALSE") || !strcmp(value, "False")) {
            *(bool *)f->ptr = false;
        } else {
            return berth_err_set(err, 0,
                                 "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: "
                                 "parsing \"%s\": invalid syntax",
                                 value, shown, value);
        }
        return 0;
    case CLI_FLAG_STRING:
        *(const char **)f->ptr = value;
        return 0;
    case CLI_FLAG_LIST: {
        cli_strv_t *sv = f->ptr;
        sv->v = xrealloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
        sv->v[sv->n++] = value;
        sv->v[sv->n] = NULL;
        return 0;
    }
    case CLI_FLAG_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || !*value || *end)
            return berth_err_set(err, 0,
                                 "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: "
                                 "parsing \"%s\": invalid syntax",
                                 value, shown, value);
        *(long *)f->ptr = v;
        return 0;
    }
    }
    return 0;
}

static cli_flag_t *find_long(cli_flag_t *flags, const char *name, size_t len)
{
    for (cli_flag_t *f = flags; f->ptr; f++)
        if (f->longname && strlen(f->longname) == len && !strncmp(f->longname, name, len))
            return f;
    return NULL;
}

static cli_flag_t *find_short(cli_flag_t *flags, char c)
{
    for (cli_flag_t *f = flags; f->ptr; f++)
        if (f->shortname == c)
            return f;
    return NULL;
}

int cli_flags_parse(cli_flag_t *flags, int argc, char **argv, bool interspersed, int *npos,
                    char ***pos, berth_err_t *err)
{
    *npos = 0;
    *pos = xcalloc((size_t)argc + 1, sizeof(char *));
    int i = 1;
    for (; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') { /* positional ("-" is stdin) */
            (*pos)[(*npos)++] = a;
            if (!interspersed) {
                i++;
                break;
            }
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            cli_flag_t *f = find_long(flags, name, nlen);
            if (!f) {
                if (nlen == 4 && !strncmp(name, "help", 4))
                    return 1;
                return berth_err_set(err, 0, "unknown flag: --%.*s", (int)nlen, name);
            }
            char shown[128];
            snprintf(shown, sizeof(shown), "--%s", f->longname);
            const char *value = eq ? eq + 1 : NULL;
            if (!value && f->type != CLI_FLAG_BOOL) {
                if (i + 1 >= argc)
                    return berth_err_set(err, 0, "flag needs an argument: --%s", f->longname);
                value = argv[++i];
            }
            if (flag_assign(f, value, shown, err) < 0)
                return -1;
            continue;
        }
        /* -abc: bool shorts may be grouped; a value flag takes the rest. */
        for (char *p = a + 1; *p; p++) {
            cli_flag_t *f = find_short(flags, *p);
            if (!f) {
                if (*p == 'h')
                    return 1;
                return berth_err_set(err, 0, "unknown shorthand flag: '%c' in %s", *p, a);
            }
            char shown[128];
            if (f->longname)
                snprintf(shown, sizeof(shown), "-%c, --%s", f->shortname, f->longname);
            else
                snprintf(shown, sizeof(shown), "-%c", f->shortname);
            if (f->type == CLI_FLAG_BOOL) {
                const char *value = NULL;
                if (p[1] == '=') {
                    value = p + 2;
                    if (flag_assign(f, value, shown, err) < 0)
                        return -1;
                    break;
                }
                flag_assign(f, NULL, shown, err);
                continue;
            }
            const char *value;
            if (p[1] == '=')
                value = p + 2;
            else if (p[1])
                value = p + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return berth_err_set(err, 0, "flag needs an argument: '%c' in -%c", *p, *p);
            if (flag_assign(f, value, shown, err) < 0)
                return -1;
            break;
        }
    }
    for (; i < argc; i++)
        (*pos)[(*npos)++] = argv[i];
    return 0;
}
