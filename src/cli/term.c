/* Terminal handling and the attach/exec stream pump: raw mode restored on
 * every exit path, SIGWINCH -> resize, signals forwarded to the container,
 * detach keys, multiplexed output split to stdout/stderr. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>

#include "cli/internal.h"

/* The saved terminal state has to be reachable from atexit(), which takes no
 * argument: the one piece of process-wide state in the CLI, set once. */
static struct termios cli_saved_termios;
static bool cli_termios_saved;

static void cli_term_restore_atexit(void)
{
    cli_term_restore();
}

void cli_term_restore(void)
{
    if (cli_termios_saved) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &cli_saved_termios);
        cli_termios_saved = false;
    }
}

int cli_term_raw(void)
{
    if (!isatty(STDIN_FILENO))
        return 0;
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) < 0)
        return -errno;
    if (!cli_termios_saved) {
        cli_saved_termios = t;
        cli_termios_saved = true;
        static bool registered;
        if (!registered)
            atexit(cli_term_restore_atexit);
        registered = true;
    }
    /* Fully raw like docker: the container's tty already emits \r\n. */
    cfmakeraw(&t);
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
        return -errno;
    return 0;
}

bool cli_term_size(int *h, int *w)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
        return false;
    *h = ws.ws_row;
    *w = ws.ws_col;
    return *h > 0 && *w > 0;
}

int cli_parse_detach_keys(const char *spec, unsigned char *out, size_t cap)
{
    size_t n = 0;
    const char *p = spec;
    if (!*p)
        return -1;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (n >= cap)
            return -1;
        if (len == 1) {
            out[n++] = (unsigned char)p[0];
        } else if (len == 6 && !strncmp(p, "ctrl-", 5)) {
            char ch = p[5];
            if (ch >= 'a' && ch <= 'z')
                out[n++] = (unsigned char)(ch - 'a' + 1);
            else if (ch == '@')
                out[n++] = 0;
            else if (ch >= '[' && ch <= '_')
                out[n++] = (unsigned char)(ch - '[' + 27);
            else
                return -1;
        } else {
            return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return (int)n;
}

static int out_frame_cb(void *opaque, int stream, const char *data, size_t len)
{
    UNUSED(opaque);
    int fd = stream == 2 || stream == 3 ? STDERR_FILENO : STDOUT_FILENO;
    return fs_write_all(fd, data, len) < 0 ? -1 : 0;
}

static void resize(cli_t *cli, const cli_io_t *io)
{
    int h, w;
    if (!io->tty || !io->resize_path || !cli_term_size(&h, &w))
        return;
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cleanup_free char *path = xasprintf("%s?h=%d&w=%d", io->resize_path, h, w);
    if (c)
        client_json(c, "POST", path, NULL, NULL, NULL, &err);
}

static void forward_signal(cli_t *cli, const cli_io_t *io, int sig)
{
    if (!io->kill_path)
        return;
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    /* By name, like the docker CLI ("INT"); the number if glibc has none. */
    const char *name = sigabbrev_np(sig);
    cleanup_free char *path = name ? xasprintf("%s?signal=%s", io->kill_path, name)
                                   : xasprintf("%s?signal=%d", io->kill_path, sig);
    if (c && client_json(c, "POST", path, NULL, NULL, NULL, &err) < 0)
        log_debug("forwarding signal %d: %s", sig, err.msg);
}

void cli_io_signals(cli_t *cli, const cli_io_t *io);

int cli_io_pump(cli_t *cli, cli_io_t *io)
{
    unsigned char keys[16];
    int nkeys = cli_parse_detach_keys(io->detach_keys ? io->detach_keys : "ctrl-p,ctrl-q", keys,
                                      sizeof(keys));
    if (nkeys < 0)
        nkeys = 0;
    size_t matched = 0;
    client_demux_t dm;
    client_demux_init(&dm, out_frame_cb, NULL);

    int sfd = io->sigfd;
    int rc = 0;
    if (io->early.len) {
        int r = io->tty ? fs_write_all(STDOUT_FILENO, io->early.data, io->early.len)
                        : client_demux_feed(&dm, io->early.data, io->early.len);
        buf_reset(&io->early);
        if (r < 0) {
            rc = -1;
            goto out;
        }
    }
    bool stdin_open = io->send_stdin;
    if (!stdin_open)
        shutdown(io->conn, SHUT_WR); /* tell the daemon we send nothing */
    resize(cli, io);
    char *buf = xmalloc(65536);
    for (;;) {
        struct pollfd pfd[3] = {
            {.fd = io->conn, .events = POLLIN},
            {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
            {.fd = sfd, .events = POLLIN},
        };
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        if (pfd[2].revents & POLLIN)
            cli_io_signals(cli, io);
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(io->conn, buf, 65536);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* the stream ended: the process is gone */
            int r = io->tty ? fs_write_all(STDOUT_FILENO, buf, (size_t)n)
                            : client_demux_feed(&dm, buf, (size_t)n);
            if (r < 0) {
                rc = -1;
                break;
            }
        }
        if (stdin_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buf, 65536);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                stdin_open = false;
                shutdown(io->conn, SHUT_WR);
                continue;
            }
            /* Detach keys (tty only, like docker): hold back a partial match,
             * release it when the sequence breaks. */
            size_t start = 0;
            bool detach = false;
            berth_buf_t send_buf;
            buf_init(&send_buf);
            for (ssize_t i = 0; io->tty && nkeys > 0 && i < n; i++) {
                unsigned char ch = (unsigned char)buf[i];
                if (ch == keys[matched]) {
                    matched++;
                    if (matched == (size_t)nkeys) {
                        detach = true;
                        break;
                    }
                } else {
                    if (matched)
                        buf_append(&send_buf, keys, matched);
                    matched = ch == keys[0] ? 1 : 0;
                    if (!matched)
                        buf_append(&send_buf, &ch, 1);
                }
                start = (size_t)i + 1;
            }
            if (!io->tty || nkeys == 0)
                buf_append(&send_buf, buf, (size_t)n);
            else if (!detach && start < (size_t)n)
                buf_append(&send_buf, buf + start, (size_t)n - start);
            int r = send_buf.len ? fs_write_all(io->conn, send_buf.data, send_buf.len) : 0;
            buf_free(&send_buf);
            if (detach) {
                rc = 1;
                break;
            }
            if (r < 0) {
                stdin_open = false;
                continue;
            }
        }
    }
    free(buf);
out:
    return rc;
}

int cli_signals_block(sigset_t *old)
{
    sigset_t mask;
    sigemptyset(&mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaddset(&mask, sigs[i]);
    sigprocmask(SIG_BLOCK, &mask, old);
    return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

void cli_signals_restore(int sfd, const sigset_t *old)
{
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, old, NULL);
}

void cli_io_signals(cli_t *cli, const cli_io_t *io)
{
    struct signalfd_siginfo si;
    while (io->sigfd >= 0 && read(io->sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGWINCH)
            resize(cli, io);
        else if (io->sig_proxy)
            forward_signal(cli, io, (int)si.ssi_signo);
    }
}
