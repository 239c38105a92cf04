/* Output formatting: docker-style tables, --format templates and JSON, sizes
 * and durations. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli/internal.h"

/* ---- tables -------------------------------------------------------------------- */
void cli_table_init(cli_table_t *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

void cli_table_add(cli_table_t *t, const char *const *cells)
{
    t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

void cli_table_free(cli_table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* Display width: count UTF-8 code points, not bytes. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

char *cli_table_render(const cli_table_t *t)
{
    /* Go's tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) as docker uses it:
     * column width = max(10, widest cell + 3); the last cell is not padded. */
    size_t *width = xcalloc(t->ncols ? t->ncols : 1, sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c + 1 < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]) + 3;
            if (w < 10)
                w = 10;
            if (w > width[c])
                width[c] = w;
        }
    berth_buf_t b;
    buf_init(&b);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            buf_puts(&b, cell);
            if (c + 1 < t->ncols)
                for (size_t pad = text_width(cell); pad < width[c]; pad++)
                    buf_append(&b, " ", 1);
        }
        buf_append(&b, "\n", 1);
    }
    free(width);
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

/* ---- JSON ---------------------------------------------------------------------- */
static int cmp_item_names(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static void json_print(berth_buf_t *b, const cJSON *j, int indent, bool sorted)
{
    if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
        bool obj = cJSON_IsObject(j);
        size_t n = (size_t)cJSON_GetArraySize(j);
        if (n == 0) {
            buf_puts(b, obj ? "{}" : "[]");
            return;
        }
        const cJSON **items = xmalloc(n * sizeof(*items));
        size_t i = 0;
        for (const cJSON *it = j->child; it; it = it->next)
            items[i++] = it;
        if (obj && sorted)
            qsort(items, n, sizeof(*items), cmp_item_names);
        buf_puts(b, obj ? "{" : "[");
        for (i = 0; i < n; i++) {
            if (i)
                buf_puts(b, ",");
            if (indent >= 0) {
                buf_puts(b, "\n");
                for (int s = 0; s < (indent + 1) * 4; s++)
                    buf_append(b, " ", 1);
            }
            if (obj) {
                cJSON *key = cJSON_CreateString(items[i]->string ? items[i]->string : "");
                char *ks = cJSON_PrintUnformatted(key);
                buf_puts(b, ks);
                buf_puts(b, indent >= 0 ? ": " : ":");
                free(ks);
                cJSON_Delete(key);
            }
            json_print(b, items[i], indent >= 0 ? indent + 1 : -1, sorted);
        }
        if (indent >= 0) {
            buf_puts(b, "\n");
            for (int s = 0; s < indent * 4; s++)
                buf_append(b, " ", 1);
        }
        buf_puts(b, obj ? "}" : "]");
        free(items);
        return;
    }
    if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
        fabs(j->valuedouble) < 9.007199254740992e15) {
        buf_printf(b, "%lld", (long long)j->valuedouble);
        return;
    }
    if (cJSON_IsString(j) && sorted) {
        /* Go's encoder escapes <, > and & (docker's --format json output). */
        cJSON *copy = cJSON_Duplicate(j, false);
        char *enc = cJSON_PrintUnformatted(copy);
        cJSON_Delete(copy);
        for (const char *p = enc; p && *p; p++) {
            if (*p == '<')
                buf_puts(b, "\\u003c");
            else if (*p == '>')
                buf_puts(b, "\\u003e");
            else if (*p == '&')
                buf_puts(b, "\\u0026");
            else
                buf_append(b, p, 1);
        }
        free(enc);
        return;
    }
    /* Scalars: cJSON's own encoding (string escapes, numbers). */
    cJSON *copy = cJSON_Duplicate(j, false);
    char *s = cJSON_PrintUnformatted(copy);
    buf_puts(b, s ? s : "null");
    free(s);
    cJSON_Delete(copy);
}

char *cli_json_pretty(const cJSON *j)
{
    berth_buf_t b;
    buf_init(&b);
    json_print(&b, j, 0, false);
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

char *cli_json_sorted(const cJSON *j)
{
    berth_buf_t b;
    buf_init(&b);
    json_print(&b, j, -1, true);
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

/* ---- templates ----------------------------------------------------------------- */
static const cJSON *lookup_path(const cJSON *v, const char *path, size_t len)
{
    /* path: ".A.B" or "." */
    size_t i = 0;
    while (i < len && v) {
        if (path[i] != '.')
            return NULL;
        i++;
        size_t start = i;
        while (i < len && path[i] != '.')
            i++;
        if (i == start)
            continue; /* "." alone */
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(i - start), path + start);
        v = cJSON_GetObjectItemCaseSensitive(v, name);
    }
    return v;
}

/* Go's fmt %v for template output: strings raw, numbers plain, arrays [a b]. */
static void value_print(berth_buf_t *b, const cJSON *v)
{
    if (!v) {
        buf_puts(b, "<no value>"); /* missing field, like a Go map miss */
    } else if (cJSON_IsNull(v)) {
        buf_puts(b, "<nil>");
    } else if (cJSON_IsString(v)) {
        buf_puts(b, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        buf_puts(b, "[");
        for (const cJSON *it = v->child; it; it = it->next) {
            if (it != v->child)
                buf_puts(b, " ");
            value_print(b, it);
        }
        buf_puts(b, "]");
    } else if (cJSON_IsObject(v)) {
        buf_puts(b, "map[");
        for (const cJSON *it = v->child; it; it = it->next) {
            if (it != v->child)
                buf_puts(b, " ");
            buf_printf(b, "%s:", it->string);
            value_print(b, it);
        }
        buf_puts(b, "]");
    } else {
        json_print(b, v, -1, true);
    }
}

char *cli_template_render(const char *tmpl, const cJSON *value)
{
    berth_buf_t b;
    buf_init(&b);
    const char *p = tmpl;
    while (*p) {
        if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
            buf_puts(&b, p[1] == 't' ? "\t" : "\n");
            p += 2;
            continue;
        }
        if (p[0] == '{' && p[1] == '{') {
            const char *end = strstr(p + 2, "}}");
            if (end) {
                const char *s = p + 2;
                while (s < end && isspace((unsigned char)*s))
                    s++;
                const char *e = end;
                while (e > s && isspace((unsigned char)e[-1]))
                    e--;
                bool json = false;
                if ((size_t)(e - s) > 5 && !strncmp(s, "json ", 5)) {
                    json = true;
                    s += 5;
                    while (s < e && isspace((unsigned char)*s))
                        s++;
                }
                const cJSON *v = lookup_path(value, s, (size_t)(e - s));
                if (json) {
                    if (v)
                        json_print(&b, v, -1, true);
                    else
                        buf_puts(&b, "null");
                } else {
                    value_print(&b, v);
                }
                p = end + 2;
                continue;
            }
        }
        buf_append(&b, p, 1);
        p++;
    }
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

static const char *header_for(const cli_column_t *cols, size_t ncols, const char *key)
{
    for (size_t i = 0; i < ncols; i++)
        if (!strcmp(cols[i].key, key))
            return cols[i].header;
    return NULL;
}

/* Table from a template: each "\t"-separated part becomes a column; the
 * header is the column header of the field the part names. */
static void print_table_template(FILE *out, const char *tmpl, const cli_column_t *cols,
                                 size_t ncols, cJSON *const *rows, size_t nrows)
{
    /* Headers: render the template against an object whose fields are the
     * header texts (unknown fields get their upper-cased name). */
    cJSON *hdr = cJSON_CreateObject();
    for (const char *p = tmpl; (p = strstr(p, "{{")); p += 2) {
        const char *end = strstr(p, "}}");
        if (!end)
            break;
        const char *s = p + 2;
        while (s < end && (isspace((unsigned char)*s) || *s == '.'))
            s++;
        char key[128];
        size_t n = 0;
        while (s < end && !isspace((unsigned char)*s) && n + 1 < sizeof(key))
            key[n++] = *s++;
        key[n] = '\0';
        const char *h = header_for(cols, ncols, key);
        char upper[128];
        for (size_t i = 0; i <= n; i++)
            upper[i] = (char)toupper((unsigned char)key[i]);
        if (!cJSON_GetObjectItemCaseSensitive(hdr, key))
            cJSON_AddStringToObject(hdr, key, h ? h : upper);
    }
    berth_buf_t all;
    buf_init(&all);
    for (size_t r = 0; r <= nrows; r++) {
        char *line = cli_template_render(tmpl, r == 0 ? hdr : rows[r - 1]);
        buf_puts(&all, line);
        buf_puts(&all, "\n");
        free(line);
    }
    cJSON_Delete(hdr);
    /* Split on tabs into a table. */
    size_t maxcols = 1;
    for (const char *p = all.data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t cnt = 1;
        for (const char *q = p; q < nl; q++)
            cnt += *q == '\t';
        if (cnt > maxcols)
            maxcols = cnt;
        p = nl + 1;
    }
    cli_table_t t;
    cli_table_init(&t, maxcols);
    const char **cells = xcalloc(maxcols, sizeof(char *));
    for (char *p = all.data; p && *p;) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        size_t c = 0;
        for (char *q = p;; c++) {
            char *tab = strchr(q, '\t');
            if (tab)
                *tab = '\0';
            cells[c] = q;
            if (!tab)
                break;
            q = tab + 1;
        }
        for (c++; c < maxcols; c++)
            cells[c] = "";
        cli_table_add(&t, cells);
        p = nl + 1;
    }
    free(cells);
    char *text = cli_table_render(&t);
    fputs(text, out);
    free(text);
    cli_table_free(&t);
    buf_free(&all);
}

void cli_print_rows(FILE *out, const char *format, const cli_column_t *cols, size_t ncols,
                    cJSON *const *rows, size_t nrows)
{
    if (!format || !*format || !strcmp(format, "table")) {
        cli_table_t t;
        cli_table_init(&t, ncols);
        const char **cells = xcalloc(ncols, sizeof(char *));
        for (size_t c = 0; c < ncols; c++)
            cells[c] = cols[c].header;
        cli_table_add(&t, cells);
        for (size_t r = 0; r < nrows; r++) {
            for (size_t c = 0; c < ncols; c++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(rows[r], cols[c].key);
                cells[c] = cJSON_IsString(v) ? v->valuestring : "";
            }
            cli_table_add(&t, cells);
        }
        free(cells);
        char *text = cli_table_render(&t);
        fputs(text, out);
        free(text);
        cli_table_free(&t);
        return;
    }
    if (!strcmp(format, "json"))
        format = "{{json .}}";
    if (!strncmp(format, "table ", 6)) {
        print_table_template(out, format + 6, cols, ncols, rows, nrows);
        return;
    }
    for (size_t r = 0; r < nrows; r++) {
        char *line = cli_template_render(format, rows[r]);
        fprintf(out, "%s\n", line);
        free(line);
    }
}

/* ---- sizes and times ------------------------------------------------------------- */
void cli_human_size(double bytes, int precision, char *out, size_t len)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    size_t u = 0;
    while (bytes >= 1000.0 && u + 1 < ARRAY_SIZE(units)) {
        bytes /= 1000.0;
        u++;
    }
    snprintf(out, len, "%.*g%s", precision, bytes, units[u]);
}

void cli_time_ago(int64_t unix_s, char *out, size_t len)
{
    int64_t now = berth_now_ns() / 1000000000LL;
    char d[64];
    berth_human_duration(now - unix_s, d, sizeof(d));
    snprintf(out, len, "%s ago", d);
}

int64_t cli_parse_bytes(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    int64_t mul = 1;
    if (*end) {
        switch (tolower((unsigned char)*end)) {
        case 'b':
            mul = 1;
            break;
        case 'k':
            mul = 1024;
            break;
        case 'm':
            mul = 1024 * 1024;
            break;
        case 'g':
            mul = 1024LL * 1024 * 1024;
            break;
        case 't':
            mul = 1024LL * 1024 * 1024 * 1024;
            break;
        default:
            return -1;
        }
        end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return -1;
    }
    return (int64_t)(v * (double)mul);
}

void cli_short_id(const char *id, char *out, size_t len)
{
    if (!id)
        id = "";
    const char *colon = strchr(id, ':');
    if (colon)
        id = colon + 1;
    snprintf(out, len, "%.12s", id);
}

void cli_human_size_binary(double bytes, char *out, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    size_t u = 0;
    while (bytes >= 1024.0 && u + 1 < ARRAY_SIZE(units)) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(out, len, "%.4g%s", bytes, units[u]);
}

void cli_format_created(int64_t unix_s, char *out, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
}

const char *cli_jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

bool cli_ref_has_host(const char *ref, size_t len)
{
    return memchr(ref, '.', len) || memchr(ref, ':', len) ||
           (len == 9 && !strncmp(ref, "localhost", 9));
}

void cli_split_ref(const char *ref, char **name, char **tag, bool *digest)
{
    const char *at = strchr(ref, '@');
    *digest = at != NULL;
    if (at) {
        *name = xstrndup(ref, (size_t)(at - ref));
        *tag = xstrdup(at + 1);
        return;
    }
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(ref, ':');
    if (colon && (!slash || colon > slash)) {
        *name = xstrndup(ref, (size_t)(colon - ref));
        *tag = xstrdup(colon + 1);
    } else {
        *name = xstrdup(ref);
        *tag = NULL;
    }
}
