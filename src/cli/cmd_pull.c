/* xtrk pull: copy runs, with every object they reach, from a remote, verifying all of it. */
#include "config.h"

#include "transfer.h"

static const char pull_usage[] =
	"usage: xtrk pull [--json] [--no-source] NAME [RUN...] [-e EXP]...\n"
	"       xtrk pull [--json] [--no-source] --all NAME\n"
	"\n"
	"Copy runs from the remote NAME (RUN is a revision there: an experiment name\n"
	"alone is its newest run), re-hashing every object and checking every run\n"
	"record, with the source commits this store lacks, each pack checked before\n"
	"use; a bad one refuses the pull, which then changes nothing.\n"
	"  -e, --experiment EXP  every run of EXP there (repeatable; besides any RUN)\n"
	"      --all        every run there (removed runs stay behind); the default\n"
	"                   when neither RUN nor -e is given\n"
	"      --no-source  leave the source commits behind\n"
	"      --json       print the figures as JSON\n"
	"  -h, --help       show this help\n";

int cmd_pull(int argc, char **argv, struct cli *cli)
{
	return cli_transfer(argc, argv, cli, 0, pull_usage);
}
