/* xtrk review: run metadata checked for completeness; exit 1 when anything is found (for CI). */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/review.h"

static const char usage[] =
	"usage: xtrk review [--where EXPR] [--ignore KIND]... [--json]\n"
	"\n"
	"Check the runs' metadata for completeness, the periodic governance review:\n"
	"each run (those EXPR selects, or all) missing its seed, its source commit,\n"
	"run from a dirty source, with untracked files not captured, with a dataset\n"
	"of unknown provenance; each run standing in a stage with no note, no valid\n"
	"approval for it, or failing that stage's policy as the config says it today.\n"
	"One line per finding: run, experiment, kind and what is missing.\n"
	"Exit status 1 when there is any finding, 0 when none, 2 on a usage error.\n"
	"\n"
	"      --where EXPR   only the runs matching EXPR (as log --where)\n"
	"      --ignore KIND  do not report KIND (repeatable): no-seed, no-source,\n"
	"                     dirty-source, untracked-files, data-no-source,\n"
	"                     staged-no-note, staged-no-approval, policy\n"
	"      --json         print {runs, findings: [{run, experiment, kind, message}]}\n"
	"  -h, --help         show this help\n";

enum { OPT_JSON = 256, OPT_WHERE, OPT_IGNORE };

int cmd_review(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "ignore", required_argument, NULL, OPT_IGNORE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_review_options o = { NULL, NULL, 0 };
	const char **ignore = calloc((size_t)argc + 1, sizeof(*ignore));
	xtrk_repo *repo = NULL;
	json_t *doc = NULL, *f;
	size_t i, nf;
	int c, json = 0, err, status = EXIT_OK;

	if (!ignore)
		return cli_fail(xtrk_error_oom());
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = 1; break;
		case OPT_WHERE: o.where = optarg; break;
		case OPT_IGNORE: ignore[o.nignore++] = optarg; break;
		case 'h': fputs(usage, stdout); goto done;
		default: status = cli_usage_error(usage, "unknown option"); goto done;
		}
	}
	o.ignore = ignore;
	if (argc != optind) {
		status = cli_usage_error(usage, "review takes no arguments (select runs with --where)");
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;
	if ((err = xtrk_review(&doc, repo, &o)) < 0) {
		status = err == XTRK_EINVALID ? (cli_fail(err), EXIT_USAGE) : cli_fail(err);
		goto done;
	}
	cli_warnings();
	nf = json_array_size(json_object_get(doc, "findings"));
	if (json) {
		cli_print_json(doc);
	} else {
		json_array_foreach(json_object_get(doc, "findings"), i, f)
			printf("%.12s %s %s: %s\n", json_string_value(json_object_get(f, "run")),
				cli_esc(json_string_value(json_object_get(f, "experiment"))),
				json_string_value(json_object_get(f, "kind")), cli_esc(json_string_value(json_object_get(f, "message"))));
		printf("review: %lld run%s, %zu finding%s\n", (long long)json_integer_value(json_object_get(doc, "runs")),
			json_integer_value(json_object_get(doc, "runs")) == 1 ? "" : "s", nf, nf == 1 ? "" : "s");
	}
	status = nf ? EXIT_ERROR : EXIT_OK;
done:
	free(ignore);
	json_decref(doc);
	xtrk_repo_free(repo);
	return status;
}
