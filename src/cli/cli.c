/* berth CLI entry: global flags, command dispatch, error reporting. */
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "cli/internal.h"

typedef struct cli_cmd {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} cli_cmd_t;

/* Top-level commands; "image X"/"container X" are mapped below. */
static const cli_cmd_t cli_cmds[] = {
    {"version", cli_cmd_version, "Show the berth version information"},
    {"info", cli_cmd_info, "Display system-wide information"},
    {"images", cli_cmd_images, "List images"},
    {"load", cli_cmd_load, "Load an image from a tar archive or STDIN"},
    {"save", cli_cmd_save, "Save one or more images to a tar archive"},
    {"tag", cli_cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"rmi", cli_cmd_rmi, "Remove one or more images"},
    {"inspect", cli_cmd_inspect, "Return low-level information on objects"},
    {"pull", cli_cmd_pull, "Download an image from a registry"},
    {"push", cli_cmd_push, "Upload an image to a registry"},
    {"login", cli_cmd_login, "Log in to a registry"},
    {"logout", cli_cmd_logout, "Log out from a registry"},
    {"run", cli_cmd_run, "Create and run a new container from an image"},
    {"create", cli_cmd_create, "Create a new container"},
    {"start", cli_cmd_start, "Start one or more stopped containers"},
    {"ps", cli_cmd_ps, "List containers"},
    {"logs", cli_cmd_logs, "Fetch the logs of a container"},
    {"attach", cli_cmd_attach, "Attach to a running container"},
    {"exec", cli_cmd_exec, "Execute a command in a running container"},
    {"stop", cli_cmd_stop, "Stop one or more running containers"},
    {"kill", cli_cmd_kill, "Kill one or more running containers"},
    {"restart", cli_cmd_restart, "Restart one or more containers"},
    {"rm", cli_cmd_rm, "Remove one or more containers"},
    {"wait", cli_cmd_wait, "Block until containers stop, then print their exit codes"},
    {"top", cli_cmd_top, "Display the running processes of a container"},
    {"stats", cli_cmd_stats, "Display container resource usage statistics"},
    {"pause", cli_cmd_pause, "Pause all processes within one or more containers"},
    {"unpause", cli_cmd_unpause, "Unpause all processes within one or more containers"},
    {"rename", cli_cmd_rename, "Rename a container"},
};

/* `berth image <sub>` / `berth container <sub>` */
static const struct {
    const char *group, *sub;
    cli_cmd_fn fn;
} cli_subcmds[] = {
    {"image", "ls", cli_cmd_images},
    {"image", "list", cli_cmd_images},
    {"image", "rm", cli_cmd_rmi},
    {"image", "remove", cli_cmd_rmi},
    {"image", "inspect", cli_cmd_image_inspect},
    {"image", "prune", cli_cmd_image_prune},
    {"image", "load", cli_cmd_load},
    {"image", "save", cli_cmd_save},
    {"image", "tag", cli_cmd_tag},
    {"image", "pull", cli_cmd_pull},
    {"image", "push", cli_cmd_push},
    {"container", "ls", cli_cmd_ps},
    {"container", "list", cli_cmd_ps},
    {"container", "ps", cli_cmd_ps},
    {"container", "run", cli_cmd_run},
    {"container", "create", cli_cmd_create},
    {"container", "start", cli_cmd_start},
    {"container", "logs", cli_cmd_logs},
    {"container", "attach", cli_cmd_attach},
    {"container", "exec", cli_cmd_exec},
    {"container", "stop", cli_cmd_stop},
    {"container", "kill", cli_cmd_kill},
    {"container", "restart", cli_cmd_restart},
    {"container", "rm", cli_cmd_rm},
    {"container", "remove", cli_cmd_rm},
    {"container", "inspect", cli_cmd_container_inspect},
    {"container", "wait", cli_cmd_wait},
    {"container", "top", cli_cmd_top},
    {"container", "stats", cli_cmd_stats},
    {"container", "pause", cli_cmd_pause},
    {"container", "unpause", cli_cmd_unpause},
    {"container", "rename", cli_cmd_rename},
    {"container", "prune", cli_cmd_container_prune},
};

static void print_main_usage(FILE *f)
{
    fprintf(f, "\nUsage:  berth [OPTIONS] COMMAND\n\nA tiny Docker-compatible container engine\n"
               "\nOptions:\n"
               "      --config string   Location of client config files\n"
               "  -H, --host string     Daemon socket to connect to\n"
               "  -v, --version         Print version information and quit\n"
               "\nCommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(cli_cmds); i++)
        fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
    fprintf(f, "\nManagement Commands:\n  container  Manage containers\n"
               "  image      Manage images\n"
               "\nRun 'berth COMMAND --help' for more information on a command.\n");
}

void cli_print_err(cli_t *cli, const berth_err_t *err)
{
    if (err->status)
        fprintf(cli->err, "Error response from daemon: %s\n", err->msg);
    else
        fprintf(cli->err, "%s\n", err->msg);
}

client_t *cli_client(cli_t *cli, berth_err_t *err)
{
    if (!cli->connected) {
        if (client_init(&cli->client, client_host_from_env(cli->host_flag), err) < 0)
            return NULL;
        cli->connected = true;
        /* The API version is negotiated on demand (client_do). */
    }
    return &cli->client;
}

int cli_usage_error(cli_t *cli, const char *cmd, const berth_err_t *err)
{
    fprintf(cli->err, "%s\nSee 'berth %s --help'.\n", err->msg, cmd);
    return CLI_EXIT_USAGE;
}

bool cli_parse(cli_t *cli, const char *cmd, const char *usage, cli_flag_t *flags, int argc,
               char **argv, bool interspersed, int *npos, char ***pos, int *rc)
{
    berth_err_t err = {0};
    int r = cli_flags_parse(flags, argc, argv, interspersed, npos, pos, &err);
    if (r == 0)
        return true;
    free(*pos);
    *pos = NULL;
    if (r < 0) {
        *rc = cli_usage_error(cli, cmd, &err);
        return false;
    }
    fprintf(cli->out, "\nUsage:  berth %s %s\n\nOptions:\n", cmd, usage);
    for (cli_flag_t *f = flags; f->ptr; f++) {
        if (f->shortname && f->longname)
            fprintf(cli->out, "  -%c, --%s\n", f->shortname, f->longname);
        else if (f->longname)
            fprintf(cli->out, "      --%s\n", f->longname);
        else
            fprintf(cli->out, "  -%c\n", f->shortname);
    }
    *rc = 0;
    return false;
}

char *cli_filters_query(const cli_strv_t *filters)
{
    if (!filters->n)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; i < filters->n; i++) {
        const char *f = filters->v[i];
        const char *eq = strchr(f, '=');
        cleanup_free char *key = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
        const char *val = eq ? eq + 1 : "";
        cJSON *m = cJSON_GetObjectItemCaseSensitive(j, key);
        if (!m)
            m = cJSON_AddObjectToObject(j, key);
        if (!cJSON_GetObjectItemCaseSensitive(m, val))
            cJSON_AddBoolToObject(m, val, true);
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char *enc = client_urlencode(s);
    free(s);
    return enc;
}

bool cli_confirm(cli_t *cli, const char *question)
{
    fprintf(cli->out, "%s [y/N] ", question);
    fflush(cli->out);
    char line[64];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    line[strcspn(line, "\r\n")] = '\0';
    return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

int cli_args_error(cli_t *cli, const char *cmd, const char *what)
{
    fprintf(cli->err, "\"berth %s\" requires %s.\nSee 'berth %s --help'.\n", cmd, what, cmd);
    return 1;
}

int cli_main(int argc, char **argv)
{
    cli_t cli = {.out = stdout, .err = stderr};
    /* A daemon closing a connection must give EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    /* Global flags come before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-H") || !strcmp(a, "--host")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n", a);
                return CLI_EXIT_USAGE;
            }
            cli.host_flag = argv[++i];
        } else if (!strncmp(a, "--host=", 7)) {
            cli.host_flag = a + 7;
        } else if (!strncmp(a, "-H", 2)) {
            cli.host_flag = a + 2;
        } else if (!strcmp(a, "--config")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "flag needs an argument: --config\nSee 'berth --help'.\n");
                return CLI_EXIT_USAGE;
            }
            cli.config_dir = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            cli.config_dir = a + 9;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
            printf("berth version %s, API %s\n", BERTH_VERSION, BERTH_API_VERSION);
            return 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_main_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-D") || !strcmp(a, "--debug")) {
            continue;
        } else {
            fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        print_main_usage(stderr);
        return 0;
    }
    int rc = -1;
    const char *name = argv[i];
    int cargc = argc - i;
    char **cargv = argv + i;
    if ((!strcmp(name, "image") || !strcmp(name, "container")) && cargc >= 2) {
        for (size_t k = 0; k < ARRAY_SIZE(cli_subcmds); k++)
            if (!strcmp(cli_subcmds[k].group, name) && !strcmp(cli_subcmds[k].sub, cargv[1])) {
                rc = cli_subcmds[k].fn(&cli, cargc - 1, cargv + 1);
                goto out;
            }
        fprintf(stderr, "berth: '%s %s' is not a berth command.\nSee 'berth --help'\n", name,
                cargv[1]);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    for (size_t k = 0; k < ARRAY_SIZE(cli_cmds); k++)
        if (!strcmp(cli_cmds[k].name, name)) {
            rc = cli_cmds[k].fn(&cli, cargc, cargv);
            goto out;
        }
    if (!strcmp(name, "image") || !strcmp(name, "container")) {
        fprintf(stderr, "\nUsage:  berth %s COMMAND\n\nManage %ss\n", name, name);
        rc = 0;
        goto out;
    }
    fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'\n", name);
    rc = CLI_EXIT_USAGE;
out:
    fflush(stdout);
    if (cli.connected)
        client_close(&cli.client);
    return rc;
}
