/*
 * Restoring a run: its source (the recorded commit with the uncommitted
 * patch applied, then the untracked files it stored), its datasets, models and artifacts at their recorded
 * paths, and its params files byte for byte.  Every file is verified against
 * its ID while it is written and renamed into place only when whole, so a
 * corrupt object never lands and an interrupted checkout leaves no half file.
 */
#ifndef XTRK_CHECKOUT_H
#define XTRK_CHECKOUT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "xtrk/repo.h"

typedef struct {
	const char *target; /* folder to restore into; NULL: the workspace itself */
	int force;          /* in the workspace: overwrite uncommitted source changes and untracked files in the way;
			       into `target`: write the source into a folder that is not empty */
	int no_source;      /* leave the source alone */
	int no_data;        /* leave data, models, artifacts and params files alone */
} xtrk_checkout_options;

#define XTRK_CHECKOUT_OPTIONS_INIT { NULL, 0, 0, 0 }

typedef struct {
	size_t files_written;
	size_t files_unchanged; /* already there with the right content */
	uint64_t bytes_written;
	int source;             /* 1: source restored, 0: already matched, -1: no source recorded */
	size_t untracked_written;   /* untracked files of the source written */
	size_t untracked_unchanged; /* ... already there with the right content */
	uint64_t untracked_bytes;
	size_t scripts_written;     /* scripts run from outside the repository, written into the target */
	size_t scripts_unchanged;
	int git_made;               /* into a target: it was made a git repository at the run's commit */
	int git_on_branch;          /* ... with HEAD on the run's branch (else detached at the commit) */
	size_t git_remotes;         /* ... and this many of the run's remotes added */
} xtrk_checkout_result;

/**
 * Restore `run`.  Everything that can be checked first is (the commit is in
 * the repository, the patch applies, the workspace has no uncommitted work
 * in the way) before any file is touched.
 */
int xtrk_checkout(xtrk_checkout_result *out, xtrk_repo *repo, json_t *run, const xtrk_checkout_options *opts);

#endif
