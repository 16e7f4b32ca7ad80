/* xtrk commit-run: record a run after training, with its data, outputs, params, metrics and environment. */
#include "config.h"
#include <stdio.h>

#include "commit_opts.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"

static const char usage[] =
	"usage: xtrk commit-run [OPTIONS]\n"
	"\n"
	"Record a run; prints its ID.\n"
	"\n"
	COMMIT_OPTIONS_HELP
	"      --error TEXT          why the run failed (with --failed)\n"
	"  -h, --help                show this help\n";

int cmd_commit_run(int argc, char **argv, struct cli *cli)
{
	struct commit_args a = { 0 };
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	json_t *run = NULL, *env = NULL;
	int err, status;

	a.commit_run = 1;
	if ((status = commit_args_parse(&a, argc, argv, COMMIT_SHORT_OPTS "h", usage)) >= 0)
		goto done;
	status = EXIT_OK;
	if (optind < argc) {
		status = cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (a.error && !a.o.failed) {
		status = cli_usage_error(usage, "--error is the reason a run failed: give --failed too");
		goto done;
	}
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;
	if (a.python && (err = xtrk_capture_env_repo(&env, repo, a.python)) < 0)
		goto fail;
	commit_args_finish(&a);
	a.o.error = a.error;
	a.o.env = env;
	if ((err = xtrk_run_commit(&id, a.json ? &run : NULL, repo, &a.o)) < 0)
		goto fail;
	commit_args_report(&a, &id, run);
	goto done;
fail:
	if (a.progress_shown)
		fputc('\n', stderr);
	status = cli_fail(err);
done:
	json_decref(run);
	json_decref(env);
	xtrk_repo_free(repo);
	commit_args_free(&a);
	return status;
}
