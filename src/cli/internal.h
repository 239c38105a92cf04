/* cli: the berth command line. Private interfaces shared by the files in src/cli. */
#ifndef BERTH_CLI_INTERNAL_H
#define BERTH_CLI_INTERNAL_H

#include <signal.h>

#include <cjson/cJSON.h>

#include "berth/client.h"
#include "berth/common.h"

/* Exit codes like docker's: 125 for usage errors (bad flags). */
#define CLI_EXIT_USAGE 125

typedef struct cli {
    client_t client;
    bool connected; /* client initialised */
    const char *host_flag;
    const char *config_dir; /* --config / $DOCKER_CONFIG, may be NULL */
    FILE *out;
    FILE *err;
} cli_t;

/* ---- flags ------------------------------------------------------------------
 * Docker/cobra-like: -x, -xVALUE, -x VALUE, -abc (bool shorts), --long,
 * --long=VALUE, --long VALUE, "--" ends flags. */
enum cli_flag_type { CLI_FLAG_BOOL, CLI_FLAG_STRING, CLI_FLAG_LIST, CLI_FLAG_INT };

typedef struct cli_strv {
    const char **v;
    size_t n;
} cli_strv_t;

typedef struct cli_flag {
    char shortname;       /* 0 for none */
    const char *longname; /* without dashes; NULL for none */
    enum cli_flag_type type;
    void *ptr; /* bool *, const char **, cli_strv_t *, long * */
    bool set;  /* filled by the parser */
} cli_flag_t;

#define CLI_FLAGS_END                                                                              \
    {                                                                                              \
        0, NULL, CLI_FLAG_BOOL, NULL, false                                                        \
    }

/* Parse argv[1..] (argv[0] is the command). Positional arguments are stored
 * in *pos (pointers into argv; free the array) and counted in *npos. With
 * interspersed false, parsing stops at the first positional (run, exec).
 * Returns 0, 1 when --help/-h was given, or -1 with err->msg set to cobra's
 * text ("unknown flag: --x"). */
int cli_flags_parse(cli_flag_t *flags, int argc, char **argv, bool interspersed, int *npos,
                    char ***pos, berth_err_t *err);
void cli_strv_free(cli_strv_t *sv);

/* ---- output ------------------------------------------------------------------ */
/* A table in docker's tabwriter layout (minwidth 10, padding 3; the last
 * column is not padded). */
typedef struct cli_table {
    size_t ncols;
    char **cells; /* row-major */
    size_t nrows;
} cli_table_t;

void cli_table_init(cli_table_t *t, size_t ncols);
/* Add a row of ncols strings (copied). */
void cli_table_add(cli_table_t *t, const char *const *cells);
/* Render into out; returns the text (caller frees) when out is NULL. */
char *cli_table_render(const cli_table_t *t);
void cli_table_free(cli_table_t *t);

typedef struct cli_column {
    const char *key;    /* field name in the row objects: "ID" */
    const char *header; /* "IMAGE ID" */
} cli_column_t;

/* Print rows (flat objects of strings) the docker way for a --format value:
 * NULL/"" or "table" -> table of default columns; "json" -> one JSON object
 * per line, keys sorted; "table TEMPLATE" -> table from a template; other ->
 * template per row. Templates know {{.Field}}, {{json .}}, {{json .Field}}
 * and \t \n escapes. */
void cli_print_rows(FILE *out, const char *format, const cli_column_t *cols, size_t ncols,
                    cJSON *const *rows, size_t nrows);
/* Render one template against a JSON value (for inspect -f). Nested fields
 * (.Config.Cmd) work. Caller frees. */
char *cli_template_render(const char *tmpl, const cJSON *value);
/* Pretty JSON with 4-space indentation like docker's inspect. Caller frees. */
char *cli_json_pretty(const cJSON *j);
/* Unformatted JSON with object keys sorted (Go's map encoding). Caller frees. */
char *cli_json_sorted(const cJSON *j);

/* "4.26MB" with the given significant digits (docker uses 3 for images). */
void cli_human_size(double bytes, int precision, char *out, size_t len);
/* "2 weeks ago" from a unix time. */
void cli_time_ago(int64_t unix_s, char *out, size_t len);
/* Parse "512m", "1g", "100k", "42" to bytes; -1 on error. */
int64_t cli_parse_bytes(const char *s);
/* Short (12 hex) form of an ID, without "sha256:". Returns a static-free
 * copy in out. */
void cli_short_id(const char *id, char *out, size_t len);

/* Binary units like docker's BytesSize: "1.5GiB". */
void cli_human_size_binary(double bytes, char *out, size_t len);
/* Go's time.Time String() of a unix time in local time (CreatedAt fields). */
void cli_format_created(int64_t unix_s, char *out, size_t len);
/* The string at obj.key, "" when missing or not a string. */
const char *cli_jstr(const cJSON *obj, const char *key);

/* ---- image references ------------------------------------------------------ */
/* Whether the first len bytes (a reference's first path component) name a
 * registry host: it has a dot or a port, or is "localhost". */
bool cli_ref_has_host(const char *ref, size_t len);
/* Split NAME[:TAG|@DIGEST]: *tag is NULL when absent, *digest tells @.
 * Caller frees *name and *tag. */
void cli_split_ref(const char *ref, char **name, char **tag, bool *digest);

/* ---- errors ------------------------------------------------------------------ */
/* "Error response from daemon: <msg>" for daemon errors (err->status set),
 * else the message as is. */
void cli_print_err(cli_t *cli, const berth_err_t *err);
/* Connect lazily; -1 with err set on a bad host. */
client_t *cli_client(cli_t *cli, berth_err_t *err);

/* ---- commands (argv[0] is the command name) --------------------------------- */
typedef int (*cli_cmd_fn)(cli_t *cli, int argc, char **argv);
int cli_usage_error(cli_t *cli, const char *cmd, const berth_err_t *err);
/* Parse a command's flags; on false the command returns *rc (help: 0, bad
 * flags: 125 with cobra's message). usage: "[OPTIONS] IMAGE [IMAGE...]". */
bool cli_parse(cli_t *cli, const char *cmd, const char *usage, cli_flag_t *flags, int argc,
               char **argv, bool interspersed, int *npos, char ***pos, int *rc);
/* Build a filters query value from "k=v" strings: {"k":{"v":true}}.
 * Returns NULL for none. Caller frees (url-encoded). */
char *cli_filters_query(const cli_strv_t *filters);
/* Ask "[y/N]" on the terminal; true for y/yes. */
bool cli_confirm(cli_t *cli, const char *question);
/* "\"docker tag\" requires exactly 2 arguments." -> exit 1 */
int cli_args_error(cli_t *cli, const char *cmd, const char *what);

int cli_cmd_version(cli_t *cli, int argc, char **argv);
int cli_cmd_info(cli_t *cli, int argc, char **argv);
int cli_cmd_images(cli_t *cli, int argc, char **argv);
int cli_cmd_load(cli_t *cli, int argc, char **argv);
int cli_cmd_save(cli_t *cli, int argc, char **argv);
int cli_cmd_tag(cli_t *cli, int argc, char **argv);
int cli_cmd_rmi(cli_t *cli, int argc, char **argv);
int cli_cmd_image_inspect(cli_t *cli, int argc, char **argv);
int cli_cmd_inspect(cli_t *cli, int argc, char **argv);
int cli_cmd_image_prune(cli_t *cli, int argc, char **argv);
int cli_cmd_pull(cli_t *cli, int argc, char **argv);
int cli_cmd_push(cli_t *cli, int argc, char **argv);
int cli_cmd_login(cli_t *cli, int argc, char **argv);
int cli_cmd_logout(cli_t *cli, int argc, char **argv);
int cli_cmd_run(cli_t *cli, int argc, char **argv);
int cli_cmd_create(cli_t *cli, int argc, char **argv);
int cli_cmd_start(cli_t *cli, int argc, char **argv);
int cli_cmd_ps(cli_t *cli, int argc, char **argv);
int cli_cmd_logs(cli_t *cli, int argc, char **argv);
int cli_cmd_attach(cli_t *cli, int argc, char **argv);
int cli_cmd_exec(cli_t *cli, int argc, char **argv);
int cli_cmd_stop(cli_t *cli, int argc, char **argv);
int cli_cmd_kill(cli_t *cli, int argc, char **argv);
int cli_cmd_restart(cli_t *cli, int argc, char **argv);
int cli_cmd_rm(cli_t *cli, int argc, char **argv);
int cli_cmd_wait(cli_t *cli, int argc, char **argv);
int cli_cmd_top(cli_t *cli, int argc, char **argv);
int cli_cmd_stats(cli_t *cli, int argc, char **argv);
int cli_cmd_pause(cli_t *cli, int argc, char **argv);
int cli_cmd_unpause(cli_t *cli, int argc, char **argv);
int cli_cmd_rename(cli_t *cli, int argc, char **argv);
int cli_cmd_container_inspect(cli_t *cli, int argc, char **argv);
int cli_cmd_container_prune(cli_t *cli, int argc, char **argv);

/* Entry point used by berth_main.c: returns the process exit code. */
int cli_main(int argc, char **argv);

/* Send req, show its JSON message stream (docker's jsonmessage display) on
 * out, and return the exit code: 0, 1 or an errorDetail code. quiet shows
 * nothing but errors. */
int cli_show_json_stream(cli_t *cli, client_req_t *req, bool quiet, FILE *out);
/* Pull ref (default tag latest) showing progress on out; exit code. */
int cli_pull_image(cli_t *cli, const char *ref, const char *platform, FILE *out);

/* ---- terminal and attached streams ------------------------------------------ */
/* Raw mode on stdin (no-op when not a tty); restored by cli_term_restore and
 * at exit. 0 or -errno. */
int cli_term_raw(void);
void cli_term_restore(void);
bool cli_term_size(int *h, int *w);
/* "ctrl-p,ctrl-q" -> {0x10, 0x11}; returns the count or -1 on a bad spec. */
int cli_parse_detach_keys(const char *spec, unsigned char *out, size_t cap);

typedef struct cli_io {
    int conn;          /* hijacked connection */
    berth_buf_t early; /* stream bytes that came with the 101 */
    bool tty;          /* raw stream; else multiplexed */
    bool send_stdin;   /* copy stdin to the connection */
    bool sig_proxy;    /* forward signals through kill_path */
    const char *detach_keys;
    const char *resize_path; /* "/containers/<id>/resize" or "/exec/<id>/resize" */
    const char *kill_path;   /* "/containers/<id>/kill" */
    int sigfd;               /* from cli_signals_block, or -1 */
} cli_io_t;

/* Block the signals a foreground container gets (INT, TERM, HUP, QUIT,
 * USR1, USR2, WINCH) and return a signalfd for them (-1 on failure). */
int cli_signals_block(sigset_t *old);
void cli_signals_restore(int sfd, const sigset_t *old);
/* Handle pending signals: WINCH resizes, others are forwarded (sig_proxy). */
void cli_io_signals(cli_t *cli, const cli_io_t *io);

/* Copy between the terminal and the connection until the stream ends (0),
 * the user detaches (1) or an error (-1). */
int cli_io_pump(cli_t *cli, cli_io_t *io);

/* ---- registry auth (config.json) ---------------------------------------------- */
/* Registry key for a reference: "docker.io/library/x" -> "https://index.docker.io/v1/",
 * "localhost:5000/x" -> "localhost:5000". Caller frees. */
char *cli_registry_of_ref(const char *ref);
/* Path of config.json for the config dir (NULL: $DOCKER_CONFIG or ~/.docker). */
char *cli_config_path(const char *config_dir);
/* Read auths.<server>.auth; 0 with *user and *pass set, -1 when absent. */
int cli_config_get_auth(const char *path, const char *server, char **user, char **pass);
/* Set (user != NULL) or remove auths.<server> keeping every other key. 0 or -errno. */
int cli_config_set_auth(const char *path, const char *server, const char *user, const char *pass);

#endif
