/* Snapshots of workspace files and folders into blobs and trees (see snapshot.c). */
#ifndef XTRK_SNAPSHOT_H
#define XTRK_SNAPSHOT_H

#include <stdint.h>

#include "xtrk/odb.h"
#include "xtrk/repo.h"
#include "xtrk/statcache.h"

typedef struct {
	xtrk_oid id;
	int is_tree;
	uint64_t files;
	uint64_t bytes;
	uint64_t hashed_files; /* files actually read (stat-cache misses) */
	uint64_t hashed_bytes;
} xtrk_snapshot;

typedef struct {
	int threads;              /* 0: one per core, at most 8 */
	xtrk_statcache *cache;    /* may be NULL */
	/* Called now and then from one thread with running totals. */
	void (*progress)(uint64_t bytes_done, uint64_t files_done, void *payload);
	void *payload;
	/* No warnings about symbolic links followed or kept (for comparing, not recording). */
	int quiet;
} xtrk_snapshot_options;

#define XTRK_SNAPSHOT_OPTIONS_INIT { 0, NULL, NULL, NULL, 0 }

/**
 * Snapshot the file or folder at `relpath` (relative to the workspace) into
 * the transaction: a blob for a file, a tree for a folder.  `.xtrk` and `.git`
 * folders are skipped; devices, FIFOs and sockets are refused.
 */
int xtrk_snapshot_path(xtrk_snapshot *out, xtrk_repo *repo, xtrk_txn *txn,
	const char *relpath, const xtrk_snapshot_options *opts);

#endif
