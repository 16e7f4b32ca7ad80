/* xtrk report: one self-contained HTML file showing runs: their table, their step series as charts, tags and notes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "runlist.h"
#include "xtrk/errors.h"
#include "xtrk/fs.h"
#include "xtrk/report.h"
#include "xtrk/revision.h"

static const char usage[] =
	"usage: xtrk report [-o FILE] [--columns K1,K2,...] [--title TEXT] [--points N | --all-points]\n"
	"                   [RUN... | [-e EXPERIMENT] [--where EXPR]]\n"
	"\n"
	"Write one HTML file that shows runs with no server and no network: a\n"
	"sortable, filterable table of the runs, every step series overlaid across\n"
	"runs as charts (exact values on hover), their tags, messages and notes.\n"
	"Without RUN: every run (of EXPERIMENT; matching EXPR), newest first.\n"
	"RUN is an ID, a unique ID prefix, a tag, an experiment (its newest run) or NAME~N.\n"
	"\n"
	"  -o, --output FILE     the file to write (default report.html; - for stdout),\n"
	"                        replaced whole when complete\n"
	"  -e, --experiment NAME only the runs of experiment NAME\n"
	"      --where EXPR      only runs matching EXPR (as log --where)\n"
	"      --columns LIST    the table's columns, e.g. id,params.lr,metrics.acc\n"
	"      --title TEXT      the page's title (default: xtrk report)\n"
	"      --points N        the series points the file keeps, all runs together\n"
	"                        (default 2000000): each run keeps its share, a longer\n"
	"                        line as the lowest and highest point of each stretch\n"
	"      --all-points      keep every logged point, however large the file\n"
	"  -h, --help            show this help\n";

enum { OPT_WHERE = 256, OPT_COLUMNS, OPT_TITLE, OPT_POINTS, OPT_ALL_POINTS };

/* The page into `path` (whole or not at all), or to stdout for "-". */
static int write_out(const char *path, const xtrk_buf *page)
{
	if (!strcmp(path, "-"))
		return xtrk_write_all(1, page->ptr, page->size, "stdout");
	return xtrk_file_replace(path, page->ptr, page->size);
}

int cmd_report(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "experiment", required_argument, NULL, 'e' },
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "points", required_argument, NULL, OPT_POINTS },
		{ "all-points", no_argument, NULL, OPT_ALL_POINTS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_report_options o = { 0 };
	xtrk_repo *repo = NULL;
	xtrk_oid *runs = NULL;
	xtrk_buf page = XTRK_BUF_INIT;
	const char *output = "report.html";
	size_t n = 0;
	int c, err = 0, status = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'e': o.experiment = optarg; break;
		case OPT_WHERE: o.where = optarg; break;
		case OPT_COLUMNS: o.columns = optarg; break;
		case OPT_TITLE: o.title = optarg; break;
		case OPT_POINTS: {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-' || v < 1000 || v > 1000000000ULL)
				return cli_usage_error(usage, "--points takes a number from 1000 to 1000000000");
			if (o.file_points == SIZE_MAX)
				return cli_usage_error(usage, "give --points or --all-points, not both");
			o.file_points = (size_t)v;
			break;
		}
		case OPT_ALL_POINTS:
			if (o.file_points && o.file_points != SIZE_MAX)
				return cli_usage_error(usage, "give --points or --all-points, not both");
			o.file_points = SIZE_MAX;
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (!*output)
		return cli_usage_error(usage, "--output needs a file name");
	if (optind < argc && (o.experiment || o.where))
		return cli_usage_error(usage, "give RUNs or -e/--where, not both");
	if ((status = runlist_check_where(o.where)) != EXIT_OK)
		return status;
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (optind < argc && !(runs = calloc((size_t)(argc - optind), sizeof(*runs)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (int a = optind; a < argc; a++) {
		int dup = 0;
		if ((err = xtrk_run_resolve(&runs[n], repo, argv[a])) < 0)
			goto done;
		for (size_t k = 0; k < n; k++)
			dup |= xtrk_oid_cmp(&runs[k], &runs[n]) == 0;
		n += !dup; /* a run named twice is shown once */
	}
	o.runs = runs;
	o.nruns = n;
	if ((err = xtrk_report_html(&page, repo, &o)) < 0)
		goto done;
	cli_warnings();
	err = write_out(output, &page);
done:
	if (err == XTRK_EINVALID)
		status = (cli_warnings(), fprintf(stderr, "xtrk: error: %s\n", cli_esc(xtrk_error_last())), EXIT_USAGE);
	else if (err < 0)
		status = cli_fail(err);
	xtrk_buf_dispose(&page);
	free(runs);
	xtrk_repo_free(repo);
	return status;
}
