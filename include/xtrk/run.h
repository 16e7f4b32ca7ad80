/*
 * Runs: the commit-like record of one execution (xtrk-format(5)).
 *
 * A run object is the run's JSON (sorted keys, compact) without its "id";
 * its ID is the XXH3-128 of those bytes.  Tags live in refs, not in the
 * object, so they are added when a run is read.
 */
#ifndef XTRK_RUN_H
#define XTRK_RUN_H

#include <stddef.h>
#include <jansson.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"
#include "xtrk/revision.h"

#define XTRK_RUN_FORMAT 1

typedef struct {
	const char *experiment;        /* NULL: core.experiment from config, else "default" */
	const char *message;
	const char *const *params;     /* KEY=VALUE */
	size_t nparams;
	const char *const *param_files;
	size_t nparam_files;
	const char *const *metrics;    /* KEY=VALUE */
	size_t nmetrics;
	const char *const *metric_files;
	size_t nmetric_files;
	const char *const *datasets;   /* [NAME=]PATH[@SOURCE] */
	size_t ndatasets;
	const char *const *models;     /* [NAME=]PATH */
	size_t nmodels;
	const char *const *artifacts;
	size_t nartifacts;
	const char *const *notes;
	size_t nnotes;
	const char *const *tags;
	size_t ntags;
	const char *parent;            /* a revision */
	int has_seed;
	long long seed;

	int failed;                    /* record status "failed" */

	/* Filled by `xtrk run`; left zero by commit-run. */
	double started;                /* seconds since the epoch; 0: when xtrk_run_commit is called */
	double ended;                  /* 0: now */
	json_t *command;               /* {"argv": [...], "cwd": "..."} or NULL */
	int has_exit_code;
	int exit_code;
	const char *error;             /* why the command failed to start or was killed, or NULL */
	const char *stdout_path;       /* files holding the command's output, stored as blobs */
	const char *stderr_path;
	json_t *resources;             /* {"cpu_s", "max_rss_bytes"} or NULL */
	const char *const *extra_param_files; /* merged into params but not kept for checkout */
	size_t nextra_param_files;
	json_t *source;                /* captured at the command's start (its patch already stored), or NULL */
	json_t *env;                   /* captured at the command's start, or NULL */
	int lenient_series;            /* keep the valid lines of a malformed series, with a warning */
	int salvage;                   /* the command has run: record it whatever its inputs (see below) */
	double outputs_after;          /* > 0: attach models, artifacts and metrics files only if written
	                                  at or after this time (CLOCK_REALTIME_COARSE, as file times) */

	int threads;                   /* hashing threads; 0: automatic */
	void (*progress)(const char *what, unsigned long long bytes, unsigned long long files, void *payload);
	void *payload;
} xtrk_commit_options;

#define XTRK_COMMIT_OPTIONS_INIT { 0 }

/** xtrk_run_commit recorded the run, as failed: some inputs were left out (salvage mode). */
#define XTRK_RUN_RECORDED_FAILED 1

/**
 * Record a run: validate every input and the config's [require] rules before
 * anything is written, snapshot data and outputs, capture source and
 * environment, write all objects durably, then add the refs.  On any failure
 * the store is unchanged.  `*run_out` (optional) gets the run's JSON with "id".
 *
 * With `salvage` (a command has run, and its run must not be lost), a problem
 * with an input (a missing or unreadable output, a malformed metrics file, a
 * rule, a taken tag) leaves that input out instead: the run is recorded with
 * status "failed" and an "error" naming every problem (each also a warning),
 * and the result is XTRK_RUN_RECORDED_FAILED.  Params overridden by -p or by
 * the program are listed in "params_overridden"; outputs older than
 * `outputs_after` in "outputs_not_attached".
 */
int xtrk_run_commit(xtrk_oid *out, json_t **run_out, xtrk_repo *repo, const xtrk_commit_options *opts);

/**
 * Before a command runs: check what can be decided before it starts (experiment
 * and tag names, the parent, -p values, -P files, datasets, the rules
 * experiment-name and, with `source`, clean-source).  Outputs, metrics files and
 * the rules that the program's own logging may satisfy are checked when the run is
 * recorded.  Nothing is written.
 */
int xtrk_run_check_inputs(xtrk_repo *repo, const xtrk_commit_options *opts);

/** Read a run object (verified) as JSON, with "id" and "tags" added. */
int xtrk_run_read(json_t **out, xtrk_repo *repo, const xtrk_oid *id);

/** The run's record alone, with "id" but without "tags" (which means reading every tag). */
int xtrk_run_read_record(json_t **out, xtrk_repo *repo, const xtrk_oid *id);

/** A run's stored output, as `xtrk run` kept it (record field logs.stdout / logs.stderr). */
typedef enum { XTRK_RUN_LOG_STDOUT, XTRK_RUN_LOG_STDERR } xtrk_run_log;

/**
 * The ID of a run's stdout or stderr log (`run` as xtrk_run_read gives it), once checked to be a
 * blob in the store.  XTRK_ENOTFOUND, saying why, when the run has none (a run recorded with
 * commit-run, or one whose output could not be kept) or when the store lacks it; XTRK_ECORRUPT
 * when the record names something that is not a log.
 */
int xtrk_run_log_id(xtrk_oid *out, xtrk_repo *repo, json_t *run, xtrk_run_log which);

/**
 * The last `lines` lines of a run's log into `out` (replacing its contents), read and verified
 * whole, keeping at most the last `max_bytes` bytes in memory (a longer last line is cut at its
 * start).  Errors as xtrk_run_log_id, and XTRK_ECORRUPT for a damaged log.
 */
int xtrk_run_log_tail(xtrk_buf *out, xtrk_repo *repo, json_t *run, xtrk_run_log which, size_t lines,
	size_t max_bytes);

typedef struct {
	xtrk_oid id;
	json_t *run;
} xtrk_run_item;

/** All runs (of one experiment, or all with NULL), newest first, each read and verified. */
int xtrk_runs_list(xtrk_run_item **out, size_t *count, xtrk_repo *repo, const char *experiment);
void xtrk_runs_free(xtrk_run_item *items, size_t count);

/** RFC 3339 UTC with microseconds for a time in seconds since the epoch. */
void xtrk_format_time(char out[40], double t);

/** Parse a dataset/model spec "[NAME=]PATH[@SOURCE]"; allocations are the caller's (free()). */
int xtrk_data_spec_parse(char **name, char **path, char **source, const char *spec, int allow_source);

#endif
