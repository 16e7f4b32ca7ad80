/* xtrk fsck: check that every object is whole and every reference resolves; exit 3 on any problem. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/fsck.h"
#include "xtrk/index.h"

static const char usage[] =
	"usage: xtrk fsck [--read-data] [--rebuild-index] [-q]\n"
	"\n"
	"Check the store: object headers and sizes, every ref and everything runs\n"
	"reach; with --read-data, every object's content is re-hashed against its ID.\n"
	"Problems are printed on stdout, one a line; the exit status is 3 when any.\n"
	"\n"
	"      --read-data   re-hash every object (reads the whole store)\n"
	"      --rebuild-index  throw the run index away and build it again from the runs\n"
	"  -q, --quiet       no summary on stderr\n"
	"  -h, --help        show this help\n";

enum { OPT_READ_DATA = 256, OPT_REBUILD };

static void on_problem(const char *id, const char *what, void *payload)
{
	(void)payload;
	if (id)
		printf("error: %s: %s\n", cli_esc(id), cli_esc(what));
	else
		printf("error: %s\n", cli_esc(what));
}

int cmd_fsck(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, OPT_READ_DATA },
		{ "rebuild-index", no_argument, NULL, OPT_REBUILD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_fsck_options o = { 0, on_problem, NULL };
	xtrk_fsck_result r;
	xtrk_repo *repo = NULL;
	int c, quiet = 0, rebuild = 0, err, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_READ_DATA: o.read_data = 1; break;
		case OPT_REBUILD: rebuild = 1; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_fsck(&r, repo, &o)) < 0) {
		status = cli_fail(err);
		goto done;
	}
	fflush(stdout);
	if (!quiet)
		fprintf(stderr, "checked %zu object%s and %zu run%s%s: %zu problem%s\n", r.objects,
			r.objects == 1 ? "" : "s", r.runs, r.runs == 1 ? "" : "s",
			o.read_data ? " (content re-hashed)" : "", r.problems, r.problems == 1 ? "" : "s");
	if (!quiet && r.partial_runs)
		fprintf(stderr, "note: %zu run%s imported without data files (bundle --no-data): those files are not "
			"expected here\n", r.partial_runs, r.partial_runs == 1 ? "" : "s");
	if (!quiet && r.temp_files)
		fprintf(stderr, "note: %zu temporary file%s from interrupted writes in .xtrk/objects/tmp (harmless)\n",
			r.temp_files, r.temp_files == 1 ? "" : "s");
	status = r.problems ? EXIT_CHECK : EXIT_OK;
	if (rebuild) {
		size_t runs = 0;
		if ((err = xtrk_index_rebuild(repo, &runs)) < 0) {
			status = cli_fail(err);
			goto done;
		}
		if (!quiet)
			fprintf(stderr, "rebuilt the run index: %zu run%s\n", runs, runs == 1 ? "" : "s");
	}
done:
	xtrk_repo_free(repo);
	return status;
}
