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
#include "xtrk/run.h"

int cli_transfer(int argc, char **argv, struct cli *cli, int push, const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_sync_stats st;
	xtrk_repo *repo = NULL;
	xtrk_oid *ids = NULL;
	int c, json = 0, err = 0, status;
	size_t n = 0;
	char human[32];

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(usage, "name the remote");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (push) {
		if (!(ids = calloc((size_t)argc, sizeof(*ids)))) {
			err = xtrk_error_oom();
			goto done;
		}
		for (int i = optind + 1; i < argc && err == 0; i++)
			err = xtrk_run_resolve(&ids[n++], repo, argv[i]);
		if (err == 0)
			err = xtrk_push(&st, repo, argv[optind], ids, n);
	} else {
		err = xtrk_pull(&st, repo, argv[optind], (const char *const *)argv + optind + 1, (size_t)(argc - optind - 1));
	}
done:
	if (err < 0) {
		status = cli_fail(err);
	} else {
		cli_warnings();
		if (json) {
			json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I}", "remote", argv[optind], "runs", (json_int_t)st.runs,
				"runs_new", (json_int_t)st.runs_new, "objects_new", (json_int_t)st.objects_new,
				"bytes_new", (json_int_t)st.bytes_new);
			cli_print_json(j);
			json_decref(j);
		}
		cli_human_bytes(human, sizeof(human), st.bytes_new);
		fprintf(stderr, "%s %s: %zu run%s (%zu new), %zu object%s copied (%s)\n", push ? "pushed to" : "pulled from",
			argv[optind], st.runs, st.runs == 1 ? "" : "s", st.runs_new, st.objects_new,
			st.objects_new == 1 ? "" : "s", human);
		status = EXIT_OK;
	}
	free(ids);
	xtrk_repo_free(repo);
	return status;
}
