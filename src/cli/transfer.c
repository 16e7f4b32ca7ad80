/* What push and pull share: options, revisions, figures. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "transfer.h"
#include "xtrk/errors.h"
#include "xtrk/remote.h"

int cli_transfer(int argc, char **argv, struct cli *cli, int push, const char *usage)
{
	enum { OPT_ALL = 256, OPT_NO_SOURCE };
	static const struct option opts[] = {
		{ "experiment", required_argument, NULL, 'e' },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "no-source", no_argument, NULL, OPT_NO_SOURCE },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_sync_options o;
	xtrk_sync_stats st;
	xtrk_repo *repo = NULL;
	struct strlist exps = { NULL, 0, 0 };
	int c, json = 0, err = 0, status;
	char human[32], src_human[32];

	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': strlist_push(&exps, optarg); break;
		case OPT_ALL: o.all = 1; break;
		case OPT_NO_SOURCE: o.no_source = 1; break;
		case 'j': json = 1; break;
		case 'h': strlist_free(&exps); fputs(usage, stdout); return EXIT_OK;
		default: strlist_free(&exps); return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind >= argc) {
		strlist_free(&exps);
		return cli_usage_error(usage, "name the remote");
	}
	if (o.all && (exps.n || optind + 1 < argc)) {
		strlist_free(&exps);
		return cli_usage_error(usage, "--all takes every run: name no RUN and no -e EXP with it");
	}
	o.revs = (const char *const *)argv + optind + 1;
	o.nrevs = (size_t)(argc - optind - 1);
	o.experiments = exps.items;
	o.nexperiments = exps.n;
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK) {
		strlist_free(&exps);
		return status;
	}
	err = push ? xtrk_push(&st, repo, argv[optind], &o) : xtrk_pull(&st, repo, argv[optind], &o);
	if (err < 0) {
		status = cli_fail(err);
	} else {
		cli_warnings();
		if (json) {
			json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "remote", argv[optind], "runs",
				(json_int_t)st.runs, "runs_new", (json_int_t)st.runs_new, "objects_new",
				(json_int_t)st.objects_new, "bytes_new", (json_int_t)st.bytes_new, "sources_new",
				(json_int_t)st.sources_new, "source_bytes_new", (json_int_t)st.source_bytes_new,
				"sources_missing", (json_int_t)st.sources_missing);
			cli_print_json(j);
			json_decref(j);
		}
		cli_human_bytes(human, sizeof(human), st.bytes_new);
		cli_human_bytes(src_human, sizeof(src_human), st.source_bytes_new);
		fprintf(stderr, "%s %s: %zu run%s (%zu new), %zu object%s copied (%s), %zu source commit%s (%s)\n",
			push ? "pushed to" : "pulled from", argv[optind], st.runs, st.runs == 1 ? "" : "s", st.runs_new,
			st.objects_new, st.objects_new == 1 ? "" : "s", human, st.sources_new, st.sources_new == 1 ? "" : "s",
			src_human);
		status = EXIT_OK;
	}
	strlist_free(&exps);
	xtrk_repo_free(repo);
	return status;
}
