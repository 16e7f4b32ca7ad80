/* xtrk checkout: restore a run's source, data, models and params files, and report environment drift. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runfmt.h"
#include "xtrk/capture.h"
#include "xtrk/checkout.h"
#include "xtrk/diff.h"
#include "xtrk/errors.h"
#include "xtrk/run.h"

static const char usage[] =
	"usage: xtrk checkout [-C DIR] [--force] [--no-source] [--no-data] RUN\n"
	"\n"
	"Restore a run: its source (the recorded commit with its uncommitted patch,\n"
	"then the untracked files it stored), datasets, models and artifacts at their\n"
	"recorded paths, verified against their IDs, and its params files; then list\n"
	"how this machine's environment differs from the run's.\n"
	"\n"
	"  -C DIR        restore into DIR, new or empty (it becomes a complete copy, and\n"
	"                a git repository at the run's commit with its patch uncommitted);\n"
	"                default: the workspace, refusing to overwrite uncommitted work\n"
	"      --force   in the workspace, overwrite uncommitted source changes\n"
	"                and untracked files that differ from the run's; with -C,\n"
	"                write the run's source into a folder that is not empty\n"
	"      --no-source   leave the source alone\n"
	"      --no-data     leave data, models, artifacts and params files alone\n"
	"  -h, --help    show this help\n";

enum { OPT_FORCE = 256, OPT_NO_SOURCE, OPT_NO_DATA };

int cmd_checkout(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "no-source", no_argument, NULL, OPT_NO_SOURCE },
		{ "no-data", no_argument, NULL, OPT_NO_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	xtrk_checkout_options o = XTRK_CHECKOUT_OPTIONS_INIT;
	xtrk_checkout_result r;
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	json_t *run = NULL, *env = NULL, *diff = NULL;
	int c, err, status = EXIT_OK;
	char hb[32];

	optind = 0;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': o.target = optarg; break;
		case OPT_FORCE: o.force = 1; break;
		case OPT_NO_SOURCE: o.no_source = 1; break;
		case OPT_NO_DATA: o.no_data = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_usage_error(usage, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(usage, "give one RUN");
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		return status;
	if ((err = xtrk_run_resolve(&id, repo, argv[optind])) < 0 || (err = xtrk_run_read(&run, repo, &id)) < 0 ||
	    (err = xtrk_checkout(&r, repo, run, &o)) < 0)
		goto fail;
	cli_warnings();
	cli_human_bytes(hb, sizeof(hb), r.bytes_written);
	fprintf(stderr, "restored run %.12s into %s\n", xtrk_oid_tostr(&id), o.target ? o.target : xtrk_repo_workdir(repo));
	if (r.source >= 0)
		fprintf(stderr, "  source: %s %.12s%s\n", r.source ? "checked out" : "already at",
			cli_esc(json_string_value(runfmt_lookup(run, "source.commit"))),
			json_is_string(runfmt_lookup(run, "source.patch")) ? " with its uncommitted patch" : "");
	else if (!o.no_source)
		fprintf(stderr, "  source: none recorded\n");
	if (r.git_made) {
		const char *branch = json_string_value(runfmt_lookup(run, "source.branch"));
		fprintf(stderr, "  git: a new repository, ");
		if (r.git_on_branch)
			fprintf(stderr, "on branch %s", cli_esc(branch));
		else
			fprintf(stderr, "HEAD detached");
		fprintf(stderr, " at %.12s%s", cli_esc(json_string_value(runfmt_lookup(run, "source.commit"))),
			json_is_string(runfmt_lookup(run, "source.patch")) ? ", the patch left uncommitted" : "");
		if (r.git_remotes)
			fprintf(stderr, "; %zu remote%s added, not fetched", r.git_remotes, r.git_remotes == 1 ? "" : "s");
		fputc('\n', stderr);
	}
	if (r.source >= 0 && json_is_string(runfmt_lookup(run, "source.untracked_content.id"))) {
		char ub[32];
		cli_human_bytes(ub, sizeof(ub), r.untracked_bytes);
		fprintf(stderr, "  untracked: %zu file%s written (%s), %zu already in place\n", r.untracked_written,
			r.untracked_written == 1 ? "" : "s", ub, r.untracked_unchanged);
	}
	if (r.scripts_written || r.scripts_unchanged)
		fprintf(stderr, "  scripts from outside the repository: %zu written, %zu already in place\n",
			r.scripts_written, r.scripts_unchanged);
	if (!o.no_data)
		fprintf(stderr, "  data: %zu file%s written (%s), %zu already in place\n", r.files_written,
			r.files_written == 1 ? "" : "s", hb, r.files_unchanged);

	/* What differs between the machine that ran it and this one. */
	if ((err = xtrk_capture_env_repo(&env, repo, NULL)) < 0)
		goto fail;
	xtrk_warning_clear();
	diff = xtrk_env_compare(json_object_get(run, "env"), env);
	{
		static const char *const parts[] = { "changed", "added", "removed" };
		size_t n = 0;
		for (int i = 0; i < 3; i++)
			n += json_object_size(json_object_get(diff, parts[i]));
		if (!n) {
			printf("environment: the same as when the run was recorded\n");
		} else {
			const char *k;
			json_t *v;
			xtrk_buf x = XTRK_BUF_INIT, y = XTRK_BUF_INIT;
			printf("environment differences (recorded -> now):\n");
			json_object_foreach(json_object_get(diff, "changed"), k, v) {
				xtrk_buf_clear(&x);
				xtrk_buf_clear(&y);
				runfmt_cell(&x, json_array_get(v, 0));
				runfmt_cell(&y, json_array_get(v, 1));
				printf("  %s: %s -> %s\n", cli_esc(k), cli_esc(x.ptr), cli_esc(y.ptr));
			}
			json_object_foreach(json_object_get(diff, "removed"), k, v) {
				xtrk_buf_clear(&x);
				runfmt_cell(&x, v);
				printf("  %s: %s -> (absent)\n", cli_esc(k), cli_esc(x.ptr));
			}
			json_object_foreach(json_object_get(diff, "added"), k, v) {
				xtrk_buf_clear(&y);
				runfmt_cell(&y, v);
				printf("  %s: (absent) -> %s\n", cli_esc(k), cli_esc(y.ptr));
			}
			xtrk_buf_dispose(&x);
			xtrk_buf_dispose(&y);
		}
	}
	goto done;
fail:
	status = cli_fail(err);
done:
	json_decref(run);
	json_decref(env);
	json_decref(diff);
	xtrk_repo_free(repo);
	return status;
}
