/* xtrk pull: copy runs, with every object they reach, from a remote, verifying all of it. */
#include "config.h"

#include "transfer.h"

static const char pull_usage[] =
	"usage: xtrk pull [--json] NAME [RUN...]\n"
	"\n"
	"Copy runs from the remote NAME (all of them when none is named; RUN is a\n"
	"revision there), re-hashing every object and checking every run record.\n"
	"      --json   print the figures as JSON\n"
	"  -h, --help   show this help\n";

int cmd_pull(int argc, char **argv, struct cli *cli)
{
	return cli_transfer(argc, argv, cli, 0, pull_usage);
}
