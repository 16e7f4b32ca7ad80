/* What xtrk push and xtrk pull share. */
#ifndef XTRK_CLI_TRANSFER_H
#define XTRK_CLI_TRANSFER_H

#include "cli.h"

/** Parse `[--json] NAME [RUN...]` and push (`push` = 1) or pull those runs; prints the figures. */
int cli_transfer(int argc, char **argv, struct cli *cli, int push, const char *usage);

#endif
