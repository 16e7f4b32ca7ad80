/*
 * Comparing runs: params, metrics, data (by walking two trees and skipping
 * identical sub-trees by ID), environment and source.  The result has the
 * JSON shape documented in xtrk-diff(1), so the program prints it and tools parse it.
 */
#ifndef XTRK_DIFF_H
#define XTRK_DIFF_H

#include <jansson.h>

#include "xtrk/odb.h"
#include "xtrk/repo.h"

typedef enum {
	XTRK_CHANGE_ADDED = 'A',
	XTRK_CHANGE_REMOVED = 'D',
	XTRK_CHANGE_MODIFIED = 'M'
} xtrk_change;

/** Called for each changed file; `path` is relative to the compared roots. */
typedef int (*xtrk_tree_diff_cb)(xtrk_change change, const char *path, void *payload);

/**
 * Compare two snapshots, each a tree or a blob (`a_tree`/`b_tree`), either
 * may be absent (NULL ID).  Sub-trees with equal IDs are skipped unread.
 * Paths passed to `cb` start with `root` (the snapshot's workspace path).
 * Trees are read through `txn` (which may be a dry transaction holding the
 * workspace's trees) or, when NULL, from `odb`.
 */
int xtrk_tree_diff(xtrk_odb *odb, xtrk_txn *txn, const char *root, const xtrk_oid *a, int a_tree,
	const xtrk_oid *b, int b_tree, xtrk_tree_diff_cb cb, void *payload);

typedef struct {
	xtrk_txn *dry; /* trees of the workspace side, when `b` is the workspace */
} xtrk_diff_options;

/**
 * Compare two runs (B may be from xtrk_workspace_run) into the diff JSON of xtrk-diff(1).
 * Datasets, models and artifacts are paired by name, then path, then content (kind and ID),
 * each entry at most once, in record order; only the entries that differ are listed, a
 * renamed or moved one with "renamed_from" / "path_from" (see xtrk-diff(1)).
 */
int xtrk_diff_runs(json_t **out, xtrk_repo *repo, json_t *a, json_t *b, const xtrk_diff_options *opts);

/** Compare two environments flattened ("gpus.0.cuda"): {"changed", "added", "removed"}. */
json_t *xtrk_env_compare(json_t *env_a, json_t *env_b);

/** 1 when a diff (from xtrk_diff_runs) holds any difference in the given sections (NULL: all). */
int xtrk_diff_has_changes(json_t *diff, const char *const *sections);

#endif
