/* xtrk commit-run: record a run after training, with its data, outputs, params, metrics and environment. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commit_opts.h"
#include "xtrk/capture.h"
#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/refs.h"

static const char usage[] =
	"usage: xtrk commit-run [OPTIONS]\n"
	"\n"
	"Record a run; prints its ID.\n"
	"\n"
	COMMIT_OPTIONS_HELP
	"      --error TEXT          why the run failed (with --failed)\n"
	"      --command-json JSON   the command line, {\"argv\": [...], \"cwd\": \"folder\"}\n"
	"      --check               only check that a run can be recorded here; record nothing\n"
	"  -h, --help                show this help\n";

/* --command-json: an object with "argv", a non-empty list of strings, and optionally "cwd", a string. */
static int parse_command(json_t **out, const char *text)
{
	json_error_t je;
	json_t *c = json_loads(text, JSON_REJECT_DUPLICATES, &je), *v, *argv;
	const char *key;
	size_t i;
	int ok;

	*out = NULL;
	if (!c)
		return cli_usage_error(usage, "--command-json is not JSON: %s", je.text);
	argv = json_object_get(c, "argv");
	ok = json_is_array(argv) && json_array_size(argv) > 0; /* NULL unless c is an object */
	json_array_foreach(argv, i, v)
		ok = ok && json_is_string(v);
	if (ok)
		json_object_foreach(c, key, v)
			ok = ok && (!strcmp(key, "argv") || (!strcmp(key, "cwd") && json_is_string(v)));
	if (!ok) {
		json_decref(c);
		return cli_usage_error(usage, "--command-json takes {\"argv\": [\"program\", ...], \"cwd\": \"folder\"}");
	}
	*out = c;
	return EXIT_OK;
}

/* The command's folder as `xtrk run` records it: relative to the workspace when inside it. */
static int command_cwd(json_t *command, xtrk_repo *repo)
{
	xtrk_buf rel = XTRK_BUF_INIT;
	json_t *given = json_object_get(command, "cwd");
	char *here = given ? NULL : getcwd(NULL, 0);
	const char *cwd = given ? json_string_value(given) : here;
	int err = 0;

	if (!cwd)
		return xtrk_error_errno("cannot read the current folder");
	if (xtrk_repo_relpath(&rel, repo, cwd) < 0) {
		xtrk_error_clear();
		xtrk_buf_sets(&rel, cwd);
	}
	if (xtrk_buf_oom(&rel) || json_object_set_new(command, "cwd", json_string(rel.ptr)) < 0)
		err = xtrk_error_oom();
	free(here);
	xtrk_buf_dispose(&rel);
	return err;
}

int cmd_commit_run(int argc, char **argv, struct cli *cli)
{
	struct commit_args a = { 0 };
	xtrk_repo *repo = NULL;
	xtrk_oid id;
	json_t *run = NULL, *command = NULL, *env = NULL;
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
	if (a.command_json && (status = parse_command(&command, a.command_json)) != EXIT_OK)
		goto done;
	if ((status = cli_open_repo(&repo, cli)) != EXIT_OK)
		goto done;
	if (a.check) {
		if (a.o.experiment && !xtrk_ref_name_valid(a.o.experiment))
			status = cli_fail(xtrk_error_set(XTRK_EINVALID,
				"'%s' is not a valid experiment name (letters, digits, '.', '_' and '-')", a.o.experiment));
		goto done;
	}
	if (command && (err = command_cwd(command, repo)) < 0)
		goto fail;
	if (a.python && (err = xtrk_capture_env_repo(&env, repo, a.python)) < 0)
		goto fail;
	commit_args_finish(&a);
	a.o.command = command;
	a.o.error = a.error;
	a.o.env = env;
	if ((err = xtrk_run_commit(&id, &run, repo, &a.o)) < 0)
		goto fail;
	/* The index is a cache: a failure to update it costs the next log a read, nothing more. */
	if (xtrk_index_add(repo, &id, &run, 1) < 0)
		xtrk_error_clear();
	commit_args_report(&a, &id, run);
	goto done;
fail:
	if (a.progress_shown)
		fputc('\n', stderr);
	status = cli_fail(err);
done:
	json_decref(run);
	json_decref(command);
	json_decref(env);
	xtrk_repo_free(repo);
	commit_args_free(&a);
	return status;
}
