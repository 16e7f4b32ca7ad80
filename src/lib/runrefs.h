/*
 * Records appended to a run after the fact (notes, stage moves, approvals):
 * each a blob, named by a ref refs/AREA/RUN/ID whose content is ID.  The one
 * listing, naming and publishing of such refs, for every kind of record.
 */
#ifndef XTRK_RUNREFS_H
#define XTRK_RUNREFS_H

#include <stddef.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"

/* The IDs named under refs/AREA/RUN (none when it does not exist); `what` names the records in errors. */
int runrefs_ids(xtrk_oid **out, size_t *count, xtrk_repo *repo, const char *area, const xtrk_oid *run,
	const char *what);

/* Name record `id` of `run`: the ref refs/AREA/RUN/ID, written under its lock. */
int runrefs_add(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *id);

/* 1 when refs/AREA/RUN/ID exists. */
int runrefs_has(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *id);

/*
 * Name each of ids[0..n) the run lacks, up to `max` records in all; past it the rest is left out
 * with a warning naming `what`.
 */
int runrefs_publish(xtrk_repo *repo, const char *area, const xtrk_oid *run, const xtrk_oid *ids, size_t n,
	size_t max, const char *what);

#endif
