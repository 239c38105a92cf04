/* Ids, time formatting and parsing, Docker-style human output. */
#include "berth/common.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

void berth_random_hex_id(char out[65])
{
    unsigned char raw[32];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* no entropy source: nothing sane to do */
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[64] = '\0';
}

int64_t berth_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void berth_format_time_ns(int64_t ns, char *out, size_t out_len)
{
    time_t secs = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    if (frac < 0) {
        frac += 1000000000L;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, out_len, "%s.%09ldZ", base, frac);
}

int berth_parse_time_ns(const char *s, int64_t *out_ns)
{
    if (!s || !*s)
        return -EINVAL;
    /* Unix seconds with optional fraction (docker logs --since 1700000000.5). */
    const char *p = s;
    bool all_numeric = true;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '.' && *p != '-')
            all_numeric = false;
    if (all_numeric) {
        char *end;
        long long secs = strtoll(s, &end, 10);
        int64_t frac_ns = 0;
        if (*end == '.') {
            int64_t scale = 100000000LL;
            for (end++; isdigit((unsigned char)*end); end++, scale /= 10)
                frac_ns += (*end - '0') * scale;
        }
        if (*end)
            return -EINVAL;
        *out_ns = (int64_t)secs * 1000000000LL + frac_ns;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -EINVAL;
    int64_t frac_ns = 0;
    if (*rest == '.') {
        int64_t scale = 100000000LL;
        for (rest++; isdigit((unsigned char)*rest); rest++, scale /= 10)
            frac_ns += (*rest - '0') * scale;
    }
    int64_t offset = 0;
    if (*rest == 'Z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
            return -EINVAL;
        offset = (hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
        rest += 6;
    }
    if (*rest)
        return -EINVAL;
    time_t secs = timegm(&tm);
    *out_ns = ((int64_t)secs - offset) * 1000000000LL + frac_ns;
    return 0;
}

bool berth_parse_bool(const char *s, bool dflt)
{
    if (!s)
        return dflt;
    static const char *falses[] = {"", "0", "no", "false", "none"};
    for (size_t i = 0; i < ARRAY_SIZE(falses); i++)
        if (strcasecmp(s, falses[i]) == 0)
            return false;
    return true;
}

void berth_human_duration(int64_t seconds, char *out, size_t out_len)
{
    if (seconds < 1)
        snprintf(out, out_len, "Less than a second");
    else if (seconds == 1)
        snprintf(out, out_len, "1 second");
    else if (seconds < 60)
        snprintf(out, out_len, "%lld seconds", (long long)seconds);
    else if (seconds / 60 == 1)
        snprintf(out, out_len, "About a minute");
    else if (seconds < 3600)
        snprintf(out, out_len, "%lld minutes", (long long)(seconds / 60));
    else if ((seconds + 1800) / 3600 == 1)
        snprintf(out, out_len, "About an hour");
    else if (seconds < 48 * 3600)
        snprintf(out, out_len, "%lld hours", (long long)((seconds + 1800) / 3600));
    else if (seconds < 7 * 24 * 3600 * 2)
        snprintf(out, out_len, "%lld days", (long long)(seconds / 86400));
    else if (seconds < 30 * 24 * 3600 * 3)
        snprintf(out, out_len, "%lld weeks", (long long)(seconds / (7 * 86400)));
    else if (seconds < 365 * 24 * 3600 * 2)
        snprintf(out, out_len, "%lld months", (long long)(seconds / (30 * 86400)));
    else
        snprintf(out, out_len, "%lld years", (long long)(seconds / (365 * 86400)));
}

void berth_human_size(int64_t bytes, char *out, size_t out_len)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1000.0;
        u++;
    }
    /* Go's units.HumanSize: %.4g */
    snprintf(out, out_len, "%.4g%s", v, units[u]);
}

void berth_spawnattr_init(posix_spawnattr_t *attr, short flags)
{
    posix_spawnattr_init(attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(attr, &all);
    posix_spawnattr_setsigmask(attr, &none);
    posix_spawnattr_setflags(attr, flags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}
