/* Minimal leveled logging to stderr with timestamps. */
#include "berth/common.h"

#include <strings.h>

/* Set once from flags at startup; read-only afterwards. */
static enum berth_log_level log_threshold = LOG_LVL_INFO;

void berth_log_set_level(enum berth_log_level lvl)
{
    log_threshold = lvl;
}

int berth_log_parse_level(const char *name)
{
    static const char *names[] = {"debug", "info", "warn", "error", "fatal"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcasecmp(name, names[i]) == 0)
            return (int)i;
    if (strcasecmp(name, "warning") == 0)
        return LOG_LVL_WARN;
    return -1;
}

void berth_log(enum berth_log_level lvl, const char *fmt, ...)
{
    static const char *tags[] = {"debug", "info", "warning", "error", "fatal"};
    if (lvl < log_threshold)
        return;
    char when[48];
    berth_format_time_ns(berth_now_ns(), when, sizeof(when));
    char line[4096];
    int n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"", when, tags[lvl]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 3)
        n = sizeof(line) - 3;
    line[n++] = '"';
    line[n++] = '\n';
    /* One write per line so lines from several processes do not interleave. */
    ssize_t r = write(2, line, (size_t)n);
    (void)r;
}
