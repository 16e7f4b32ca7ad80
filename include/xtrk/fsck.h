/*
 * Store checking: every object whole, every reference resolving, and with
 * `read_data` every object's content re-hashed against its ID.
 */
#ifndef XTRK_FSCK_H
#define XTRK_FSCK_H

#include <stddef.h>
#include "xtrk/repo.h"

typedef struct {
	int read_data;
	/* Called once per problem: `id` is the object's full ID when known (else NULL). */
	void (*problem)(const char *id, const char *what, void *payload);
	void *payload;
} xtrk_fsck_options;

typedef struct {
	size_t objects;
	size_t runs;
	size_t problems;
	size_t temp_files; /* leftovers of interrupted writes; harmless, removed by gc */
	size_t partial_runs; /* imported without their data files (bundle --no-data); not a problem */
} xtrk_fsck_result;

/** Check the store; returns 0 when it could check (problems are counted, not errors). */
int xtrk_fsck(xtrk_fsck_result *out, xtrk_repo *repo, const xtrk_fsck_options *opts);

#endif
