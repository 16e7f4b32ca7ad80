/* The workspace as it is now, shaped like a run, for diff and status (see workspace.c). */
#ifndef XTRK_WORKSPACE_H
#define XTRK_WORKSPACE_H

#include <jansson.h>

#include "xtrk/odb.h"
#include "xtrk/repo.h"

/**
 * Build a run-shaped JSON object for the workspace as it is now, for the
 * datasets, models, artifacts and params files recorded in `like`: each path
 * snapshotted into the dry transaction `dry` (nothing is written), params
 * re-read from the params files, source and environment captured afresh.
 * Paths that no longer exist are left out and listed under "missing".
 */
int xtrk_workspace_run(json_t **out, xtrk_repo *repo, json_t *like, xtrk_txn *dry);

/**
 * The run to compare the workspace with when none is named: the newest run
 * (of `experiment`, or of all with NULL) that recorded datasets or models,
 * so that a newer run that failed before writing anything is passed over.
 * XTRK_ENOTFOUND when there are no runs, or when none recorded any.
 */
int xtrk_workspace_base_run(xtrk_oid *out, xtrk_repo *repo, const char *experiment);

#endif
