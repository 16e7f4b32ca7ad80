/* xtrk stage: move a run into a stage of its experiment, or list stages and their history. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xtrk/errors.h"
#include "xtrk/refs.h"
#include "xtrk/removed.h"
#include "xtrk/stages.h"

static const char usage[] =
	"usage: xtrk stage RUN NAME [-m WHY]\n"
	"       xtrk stage --list [EXPERIMENT] [--json]\n"
	"\n"
	"Move a run into a stage (candidate, staging, production, archived or any name):\n"
	"a record appended to the run, never edited.  A run's stage is the one its last\n"
	"move names.  When .xtrk/config has a [stage \"NAME\"] policy, the move is refused\n"
	"(exit status 2) unless the run has enough valid approvals (xtrk approve) from the\n"
	"policy's role and meets its require expression.\n"
	"With --list, the current stage of each staged run and its history: who, when,\n"
	"why, and the approvals.\n"
	"\n"
	"  -m, --message WHY    why the run moves\n"
	"      --list           list stages (of one experiment, or all)\n"
	"      --json           list as JSON\n"
	"  -h, --help           show this help\n";

enum { OPT_JSON = 256, OPT_LIST };

static int list(xtrk_repo *repo, const char *experiment, int json)
{
	xtrk_run_ref *refs = NULL;
	size_t n = 0;
	json_t *out = json ? json_array() : NULL;
	int err;

	if ((err = xtrk_refs_list_runs(&refs, &n, repo, experiment)) < 0)
		return err;
	for (size_t i = 0; i < n && err == 0; i++) {
		xtrk_stage_rec *recs;
		size_t k;
		const char *cur;
		if ((err = xtrk_stages_list(&recs, &k, repo, &refs[i].run, 1)) < 0)
			break;
		cur = xtrk_stages_current(recs, k);
		if (k && json) {
			json_t *hist = xtrk_stages_json(repo, recs, k, &refs[i].run);
			json_t *o = hist ? json_pack("{s:s, s:s, s:o?, s:o}", "experiment", refs[i].experiment, "run",
				xtrk_oid_tostr(&refs[i].run), "stage", cur ? json_string(cur) : NULL, "history", hist) : NULL;
			if (!o || json_array_append_new(out, o) < 0)
				err = xtrk_error_oom();
		} else if (k) {
			printf("%s %.12s %s\n", cli_esc(refs[i].experiment), xtrk_oid_tostr(&refs[i].run), cur ? cur : "-");
			for (size_t j = 0; j < k; j++) {
				const xtrk_stage_rec *r = &recs[j];
				if (r->kind == XTRK_STAGE_MOVE)
					printf("  %s  staged %s by %s%s%s\n", r->time, r->stage, cli_esc(r->who),
						*r->message ? ": " : "", cli_esc(r->message));
				else
					printf("  %s  approved %s by %s (%s): %s\n", r->time, r->stage, r->who,
						xtrk_approval_verify(repo, &refs[i].run, r) == 0 ? "signature valid"
												 : "SIGNATURE NOT VALID",
						cli_esc(r->rationale));
				xtrk_error_clear();
			}
		}
		xtrk_stages_free(recs, k);
	}
	free(refs);
	if (err == 0 && json)
		cli_print_json(out);
	json_decref(out);
	return err;
}

int cmd_stage(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "list", no_argument, NULL, OPT_LIST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_repo *repo = NULL;
	const char *message = NULL;
	xtrk_oid id, rec;
	int c, json = 0, listing = 0, err = 0, status;

	optind = 0;
	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': message = optarg; break;
		case OPT_LIST: listing = 1; break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (listing) {
		if (message || argc - optind > 1)
			return cli_usage_error(usage, "--list takes at most an EXPERIMENT");
	} else {
		if (json)
			return cli_usage_error(usage, "--json is for --list");
		if (argc - optind != 2)
			return cli_usage_error(usage, "give RUN and a stage NAME");
		if (xtrk_stage_name_check(argv[optind + 1]) < 0)
			return cli_error(EXIT_USAGE, "%s", xtrk_error_last());
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if (listing) {
		if ((err = list(repo, argc > optind ? argv[optind] : NULL, json)) < 0)
			goto fail;
		goto done;
	}
	if ((err = xtrk_run_resolve_listed(&id, repo, argv[optind])) < 0 ||
	    (err = xtrk_stage_move(&rec, repo, &id, argv[optind + 1], message)) < 0) {
		if (err == XTRK_EINVALID || err == XTRK_ERULE)
			status = cli_error(EXIT_USAGE, "%s", xtrk_error_last());
		goto fail;
	}
	printf("run %.12s is now in stage %s (record %.12s)\n", xtrk_oid_tostr(&id), argv[optind + 1],
		xtrk_oid_tostr(&rec));
	goto done;
fail:
	if (status == EXIT_OK)
		status = cli_fail(err);
done:
	xtrk_repo_free(repo);
	return status;
}
