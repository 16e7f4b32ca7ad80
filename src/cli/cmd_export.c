/* xtrk export: machine-readable summaries of runs (show --json's records, or CSV with flattened columns). */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runlist.h"

static const char usage[] =
	"usage: xtrk export [--format json|csv] [-e EXP] [--where EXPR] [--sort [-]KEY] [-n N]\n"
	"                   [--columns K1,K2,...] [--packages]\n"
	"\n"
	"Write every matching run for reviewers and other tools: JSON is an array of\n"
	"the runs as 'xtrk show --json' prints them; CSV has one row per run and one\n"
	"column per flattened field (params.lr, metrics.acc, env.gpus.0.cuda,\n"
	"models[model.pt].bytes: a name that holds anything but letters, digits and\n"
	"_-/:@+ is written in brackets, see xtrk-export(1)).\n"
	"\n"
	"      --format FMT       json (default) or csv\n"
	"  -e, --experiment EXP   only runs of this experiment\n"
	"  -w, --where EXPR       only runs that match (see xtrk-log(1))\n"
	"  -s, --sort [-]KEY      order by a field (default: newest first)\n"
	"  -n, --max-count N      at most N runs (the first N after --where and --sort)\n"
	"      --columns LIST     CSV: only these fields\n"
	"      --packages         CSV: a column for each package of the environment\n"
	"                         (env.python.packages.*, left out by default)\n"
	"  -h, --help             show this help\n";

enum { OPT_FORMAT = 256, OPT_COLUMNS, OPT_PACKAGES };

int cmd_export(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "experiment", required_argument, NULL, 'e' },
		{ "where", required_argument, NULL, 'w' },
		{ "sort", required_argument, NULL, 's' },
		{ "max-count", required_argument, NULL, 'n' },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "packages", no_argument, NULL, OPT_PACKAGES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct runlist o = { NULL, NULL, NULL, -1, "json", NULL, 1 };
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "e:w:s:n:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT: o.format = optarg; break;
		case 'e': o.experiment = optarg; break;
		case 'w': o.where = optarg; break;
		case 's': o.sort = optarg; break;
		case 'n':
			if (cli_parse_ll(optarg, &o.max) < 0 || o.max < 0)
				return cli_usage_error(usage, "-n takes a whole number, not '%s'", optarg);
			break;
		case OPT_COLUMNS: o.columns = optarg; break;
		case OPT_PACKAGES: o.packages = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if (strcmp(o.format, "json") && strcmp(o.format, "csv"))
		return cli_usage_error(usage, "--format must be json or csv, not '%s'", o.format);
	return runlist_run(&o, cli);
}
