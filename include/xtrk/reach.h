/*
 * Reachability: every object a run needs, found by walking its record and
 * the trees of its datasets, models and artifacts and of its untracked
 * source files (source.untracked_content, never left out as data).  Bundles, push, pull and
 * fsck use it to know what to carry and what must be present.
 */
#ifndef XTRK_REACH_H
#define XTRK_REACH_H

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/odb.h"
#include "xtrk/oidset.h"
#include "xtrk/record.h"
#include "xtrk/repo.h"

typedef struct {
	/* Read a tree's content; NULL: read it (verified) from `odb`. */
	int (*read_tree)(xtrk_buf *out, const xtrk_oid *id, void *payload);
	/*
	 * Called once per object not yet in `seen`.  `is_data` marks the files
	 * of datasets, models and artifacts (what --no-data leaves out).  A
	 * negative return stops the walk with that code.
	 */
	int (*visit)(const xtrk_oid *id, xtrk_otype type, int is_data, void *payload);
	void *payload;
	xtrk_odb *odb;
	xtrk_oidset *seen; /* shared across runs, so each object is visited once */
	int skip_data;     /* do not visit data blobs (their trees are still walked) */
	/*
	 * Optional: called for every use of an object, seen before or not, with
	 * the type the use needs (to check it against the type it is stored as)
	 * and, for a file, the size its record or tree gives it
	 * (XTRK_REACH_SIZE_UNKNOWN where none is given).
	 */
	int (*use)(const xtrk_oid *id, xtrk_otype type, uint64_t bytes, void *payload);
	/*
	 * Optional: called with `visit`, once per object not yet in `seen`, with
	 * where the run names it (its role, and its group for data).
	 */
	int (*visit_object)(const xtrk_record_object *o, void *payload);
	/*
	 * Also visit the chunks of each file stored as chunks (xtrk-format(5)),
	 * as files of the same role, after the file: gc keeps them, du counts
	 * them.  Transfers leave it off: they carry the file.
	 */
	int chunks;
} xtrk_reach;

#define XTRK_REACH_SIZE_UNKNOWN XTRK_RECORD_SIZE_UNKNOWN

/** Read object `id` of `type` into `out`; XTRK_ENOTFOUND when absent (what is missing is reported elsewhere). */
typedef int (*xtrk_reach_read_fn)(xtrk_buf *out, const xtrk_oid *id, xtrk_otype type, void *payload);

/**
 * Check the paths a run's source would write at checkout, with the check of
 * xtrk_path_unsafe: both paths of every file its recorded patch touches and
 * every path of its untracked files.  For runs from untrusted places (bundles,
 * remotes); objects that `read` cannot find are skipped.  XTRK_EINVALID naming
 * the first refused path.
 */
int xtrk_run_check_source(json_t *run, xtrk_reach_read_fn read, void *payload);

/** Visit the run object itself and everything it reaches. */
int xtrk_reach_run(const xtrk_reach *r, const xtrk_oid *run_id, json_t *run);

/**
 * After runs arrive without some data files (bundle --no-data, a push of
 * such a run): mark the run `refs/partial/<id>` when anything it reaches is
 * absent from `repo`, so fsck knows; remove the mark when it is complete.
 */
int xtrk_reach_mark_partial(xtrk_repo *repo, const xtrk_oid *id, json_t *run);

#endif
