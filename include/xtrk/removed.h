/*
 * Removed runs: `xtrk rm` moves a run's ref from
 * refs/experiments/<experiment>/<id> to refs/removed/<experiment>/<id>.
 * The run disappears from listings, queries and ID prefixes; its objects,
 * and any tags naming it, are kept, so it can be restored.  Removal works on
 * the ref alone, so a run whose record is unreadable or whose object is
 * missing can be removed too.
 */
#ifndef XTRK_REMOVED_H
#define XTRK_REMOVED_H

#include <stddef.h>
#include "xtrk/refs.h"

/**
 * Remove `run` from every experiment that lists it: each ref is moved under
 * refs/removed/ while its lock is held (the removed ref is written before the
 * live one goes, so an interruption leaves the run listed, never lost).
 * `*moved` (may be NULL) counts the refs moved; XTRK_ENOTFOUND when none lists it.
 */
int xtrk_run_remove(xtrk_repo *repo, const xtrk_oid *run, size_t *moved);

/** Put a removed run back in its experiment(s); XTRK_ENOTFOUND when it is not removed. */
int xtrk_run_restore(xtrk_repo *repo, const xtrk_oid *run, size_t *moved);

/**
 * The run refs of one area of refs/ (refs/AREA/<experiment>/<id>: "removed",
 * "archived", ...), unsorted; lock files and names that are not run IDs or
 * experiment names are skipped.
 */
int xtrk_refs_list_area(xtrk_run_ref **out, size_t *count, xtrk_repo *repo, const char *area);

/** The removed runs (refs/removed/<experiment>/<id>), as xtrk_refs_list_runs lists live ones. */
int xtrk_removed_list(xtrk_run_ref **out, size_t *count, xtrk_repo *repo);

/**
 * A removed run by its full ID or a unique prefix of at least 4 hex digits;
 * XTRK_ENOTFOUND or XTRK_EAMBIGUOUS otherwise.
 */
int xtrk_removed_resolve(xtrk_oid *out, xtrk_repo *repo, const char *rev);

/**
 * 0 when `run` is a run object listed in an experiment: what a tag or a note
 * may be added to.  XTRK_EINVALID for a removed run (saying how to restore it),
 * for an object that is not a run, or for a run no experiment lists.
 */
int xtrk_run_check_listed(xtrk_repo *repo, const xtrk_oid *run);

/**
 * Resolve a revision (xtrk_run_resolve) to a run that may be tagged or
 * noted: as xtrk_run_check_listed, and an ID prefix of a removed run is
 * XTRK_EINVALID saying it is removed rather than unknown.
 */
int xtrk_run_resolve_listed(xtrk_oid *out, xtrk_repo *repo, const char *rev);

#endif
