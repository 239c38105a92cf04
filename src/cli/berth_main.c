/* berth: the command line client. */
#include "cli/internal.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
