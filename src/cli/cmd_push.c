/* xtrk push: copy runs, with every object they reach, to a remote. */
#include "config.h"

#include "transfer.h"

static const char push_usage[] =
	"usage: xtrk push [--json] [--no-source] NAME [RUN...] [-e EXP]...\n"
	"       xtrk push [--json] [--no-source] --all NAME\n"
	"\n"
	"Copy runs to the remote NAME with every object they reach that it lacks, and\n"
	"the git commits they record (with history) as a source pack, so a colleague\n"
	"can check them out without the git repository. Objects and source are made\n"
	"durable before the run refs name them; tags naming the runs go along.\n"
	"  -e, --experiment EXP  every run of EXP (repeatable; besides any RUN)\n"
	"      --all        every run (removed runs stay behind); the default when\n"
	"                   neither RUN nor -e is given\n"
	"      --no-source  leave the source commits behind\n"
	"      --json       print the figures as JSON\n"
	"  -h, --help       show this help\n";

int cmd_push(int argc, char **argv, struct cli *cli)
{
	return cli_transfer(argc, argv, cli, 1, push_usage);
}
