/* xtrk push: copy runs, with every object they reach, to a remote. */
#include "config.h"

#include "transfer.h"

static const char push_usage[] =
	"usage: xtrk push [--json] NAME [RUN...]\n"
	"\n"
	"Copy runs (all of them when none is named) and every object they reach that\n"
	"the remote NAME lacks; objects are made durable before the run refs name them.\n"
	"      --json   print the figures as JSON\n"
	"  -h, --help   show this help\n";

int cmd_push(int argc, char **argv, struct cli *cli)
{
	return cli_transfer(argc, argv, cli, 1, push_usage);
}
