/* xtrk log: list runs, newest first, selected with the query language, as a table, JSON or CSV. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runlist.h"

static const char usage[] =
	"usage: xtrk log [-e EXP] [--where EXPR] [--sort [-]KEY] [-n N]\n"
	"                [--format table|json|csv] [--json] [--columns K1,K2,...]\n"
	"\n"
	"List runs, newest first, from the run index.\n"
	"\n"
	"  -e, --experiment EXP   only runs of this experiment\n"
	"  -w, --where EXPR       only runs that match, e.g.\n"
	"                         'params.lr < 0.01 and metrics.acc >= 0.9 and tags contains \"baseline\"'\n"
	"                         (operators == != < <= > >= ~ contains and or not; see xtrk-log(1))\n"
	"  -s, --sort [-]KEY      order by a field, '-' for descending; runs without it go last\n"
	"  -n, --max-count N      at most N runs\n"
	"      --format FMT       table (default), json (an array of runs) or csv\n"
	"      --json             the same as --format json\n"
	"      --columns LIST     fields to show, e.g. id,params.lr,metrics.acc\n"
	"  -h, --help             show this help\n";

enum { OPT_FORMAT = 256, OPT_JSON, OPT_COLUMNS };

int cmd_log(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "experiment", required_argument, NULL, 'e' },
		{ "where", required_argument, NULL, 'w' },
		{ "sort", required_argument, NULL, 's' },
		{ "max-count", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct runlist o = { NULL, NULL, NULL, -1, "table", NULL, 0 };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "e:w:s:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': o.experiment = optarg; break;
		case 'w': o.where = optarg; break;
		case 's': o.sort = optarg; break;
		case 'n':
			if (cli_parse_ll(optarg, &o.max) < 0 || o.max < 0)
				return cli_usage_error(usage, "-n takes a whole number, not '%s'", optarg);
			break;
		case OPT_FORMAT: o.format = optarg; break;
		case OPT_JSON: o.format = "json"; break;
		case OPT_COLUMNS: o.columns = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (strcmp(o.format, "table") && strcmp(o.format, "json") && strcmp(o.format, "csv"))
		return cli_usage_error(usage, "--format must be table, json or csv, not '%s'", o.format);
	if (o.sort && (!*o.sort || !strcmp(o.sort, "-")))
		return cli_usage_error(usage, "--sort needs a field, e.g. -metrics.acc");
	return runlist_run(&o, cli);
}
