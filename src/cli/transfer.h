/* What xtrk push and xtrk pull share. */
#ifndef XTRK_CLI_TRANSFER_H
#define XTRK_CLI_TRANSFER_H

#include "cli.h"

/** Parse `[--json] [--no-source] [--all | -e EXP...] NAME [RUN...]` and push (`push` = 1) or pull; prints the figures. */
int cli_transfer(int argc, char **argv, struct cli *cli, int push, const char *usage);

#endif
