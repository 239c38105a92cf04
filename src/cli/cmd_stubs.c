/* Commands not written yet. */
#include "cli/internal.h"

#define CLI_STUB(fn)                                                                               \
    int fn(cli_t *cli, int argc, char **argv)                                                      \
    {                                                                                              \
        UNUSED(argc);                                                                              \
        fprintf(cli->err, "berth %s: not implemented yet\n", argv[0]);                             \
        return 1;                                                                                  \
    }
CLI_STUB(cli_cmd_run)
CLI_STUB(cli_cmd_create)
CLI_STUB(cli_cmd_start)
CLI_STUB(cli_cmd_ps)
CLI_STUB(cli_cmd_logs)
CLI_STUB(cli_cmd_attach)
CLI_STUB(cli_cmd_exec)
CLI_STUB(cli_cmd_stop)
CLI_STUB(cli_cmd_kill)
CLI_STUB(cli_cmd_restart)
CLI_STUB(cli_cmd_rm)
CLI_STUB(cli_cmd_wait)
CLI_STUB(cli_cmd_top)
CLI_STUB(cli_cmd_stats)
CLI_STUB(cli_cmd_pause)
CLI_STUB(cli_cmd_unpause)
CLI_STUB(cli_cmd_rename)
CLI_STUB(cli_cmd_container_prune)
