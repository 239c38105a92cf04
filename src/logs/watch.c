/* logs: follow a log file on the loop. inotify (uv_fs_event) on the directory
 * gives low latency and sees the file appear or be replaced by rotation; a
 * slow timer covers filesystems without inotify events. */
#include <libgen.h>
#include <string.h>

#include "berth/logs.h"

#define WATCH_POLL_MS 250

struct logs_watch {
    uv_fs_event_t ev;
    uv_timer_t timer;
    bool has_ev;
    int open_handles;
    bool stopped;
    char *name; /* basename of the log file */
    void (*cb)(void *data);
    void *data;
};

static void closed_cb(uv_handle_t *h)
{
    logs_watch_t *w = h->data;
    if (--w->open_handles == 0) {
        free(w->name);
        free(w);
    }
}

static void ev_cb(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    (void)events;
    logs_watch_t *w = ev->data;
    if (w->stopped || status < 0)
        return;
    /* The directory also holds config files rewritten on state changes. */
    if (filename && strncmp(filename, w->name, strlen(w->name)) != 0)
        return;
    w->cb(w->data);
}

static void timer_cb(uv_timer_t *t)
{
    logs_watch_t *w = t->data;
    if (!w->stopped)
        w->cb(w->data);
}

logs_watch_t *logs_watch_start(uv_loop_t *loop, const char *path, void (*cb)(void *data),
                               void *data)
{
    logs_watch_t *w = xcalloc(1, sizeof(*w));
    w->cb = cb;
    w->data = data;
    cleanup_free char *p1 = xstrdup(path);
    cleanup_free char *p2 = xstrdup(path);
    w->name = xstrdup(basename(p1));
    const char *dir = dirname(p2);
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->open_handles = 1;
    uv_timer_start(&w->timer, timer_cb, WATCH_POLL_MS, WATCH_POLL_MS);
    if (uv_fs_event_init(loop, &w->ev) == 0) {
        w->ev.data = w;
        w->open_handles++;
        w->has_ev = true;
        if (uv_fs_event_start(&w->ev, ev_cb, dir, 0) < 0)
            log_debug("logs: no inotify on %s, polling", dir);
    }
    return w;
}

void logs_watch_stop(logs_watch_t *w)
{
    if (!w || w->stopped)
        return;
    w->stopped = true;
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, closed_cb);
    if (w->has_ev) {
        uv_fs_event_stop(&w->ev);
        uv_close((uv_handle_t *)&w->ev, closed_cb);
    }
}
