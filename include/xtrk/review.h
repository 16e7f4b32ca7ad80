/*
 * Review: the periodic check of run metadata for completeness, usable in CI.
 *
 * Every live run (or those a --where expression selects) is checked, and
 * each gap is a finding {"run", "experiment", "kind", "message"}, the kinds:
 *
 *   no-seed             the run records no random seed
 *   no-source           it records no source commit (it did not run in a git working tree)
 *   dirty-source        its source had uncommitted changes (source.dirty)
 *   untracked-files     files git did not track were in the working tree, and
 *                       the run did not capture them all (source.untracked)
 *   data-no-source      a dataset was recorded without its provenance (NAME=PATH@SOURCE)
 *   staged-no-note      the run stands in a stage (other than "archived") and
 *                       has no note: none recorded with it, none appended
 *   staged-no-approval  it stands in a stage (other than "archived") and has no
 *                       valid approval for that stage
 *   policy              it fails today's [stage] policy of the stage it stands
 *                       in (approvals, role, require): rules made stricter
 *                       after its promotion are applied again
 */
#ifndef XTRK_REVIEW_H
#define XTRK_REVIEW_H

#include <stddef.h>
#include <jansson.h>

#include "xtrk/repo.h"

typedef struct {
	const char *where;          /* a --where expression (xtrk/query.h), or NULL: every live run */
	const char *const *ignore;  /* kinds not to report */
	size_t nignore;
} xtrk_review_options;

/** The kinds of finding, NULL-terminated, in the order a run's findings are listed. */
extern const char *const xtrk_review_kinds[];

/**
 * Review the runs: `*out` gets {"runs": N reviewed, "findings": [...]}, runs
 * oldest first.  XTRK_EINVALID for an expression that does not parse, an
 * unknown kind to ignore, or a [stage] policy of the config that cannot be
 * read.
 */
int xtrk_review(json_t **out, xtrk_repo *repo, const xtrk_review_options *o);

#endif
