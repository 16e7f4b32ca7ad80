/*
 * `xtrk run` as a library call: capture the source and environment, check the
 * inputs, run the command in a private folder ($XTRK_RUN_DIR, under the
 * store's tmp/), collect what it wrote there (metrics.jsonl, metrics.json,
 * params.json, data.json, run.json), then record the run whatever went wrong
 * once the command has run (salvage mode of xtrk_run_commit).
 */
#ifndef XTRK_RUNNER_H
#define XTRK_RUNNER_H

#include <sys/types.h>
#include <jansson.h>

#include "xtrk/exec.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"
#include "xtrk/run.h"

typedef struct {
	char *const *argv;            /* the command; argv[0] is looked up on PATH */
	const char *python;           /* the Python to ask for its packages; NULL: argv[0] when it is python* */
	int tee_stdout;               /* where the command's output is copied as it comes, or -1 */
	int tee_stderr;
	/* Called when the inputs passed their checks, just before the run folder is made and the command starts. */
	void (*starting)(void *payload);
	/* Called once the child exists (e.g. to forward signals to it). */
	void (*started)(pid_t pid, void *payload);
	/*
	 * Called once the command has ended: `err` < 0 when its output could not be kept whole
	 * (xtrk_error_last() says why; the run is recorded without it).
	 */
	void (*finished)(const xtrk_exec_result *result, int err, void *payload);
	void *payload;
} xtrk_run_exec_options;

typedef struct {
	int refused;                  /* the inputs were refused: the command was not run */
	int ran;                      /* the command was run (exit_code is its status) */
	int exit_code;
	int failed;                   /* the run is recorded with status "failed" */
	xtrk_oid id;                  /* the run recorded */
} xtrk_run_exec_result;

/**
 * Run a command as a tracked run with the options of `commit` (experiment,
 * params, data, outputs, ...) and record it.  Returns 0 or
 * XTRK_RUN_RECORDED_FAILED as xtrk_run_commit does (`*run_out`, optional,
 * gets the run's JSON), or < 0 with `res` telling whether the command ran.
 * PYTHONHASHSEED is taken as the seed when none is given.
 */
int xtrk_run_exec(xtrk_run_exec_result *res, json_t **run_out, xtrk_repo *repo, const xtrk_commit_options *commit,
	const xtrk_run_exec_options *opts);

#endif
