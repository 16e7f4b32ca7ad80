/*
 * Untracked files of the source (internal): their content captured into a
 * tree at record time, within the limits of xtrk_source_options.
 */
#ifndef XTRK_UNTRACKED_H
#define XTRK_UNTRACKED_H

#include <git2.h>
#include <jansson.h>

#include "xtrk/capture.h"
#include "xtrk/odb.h"

/** At most this many skipped files are listed in a record (all are counted). */
#define XTRK_UNTRACKED_SKIPPED_LISTED 100
/** At most this many skipped files get a warning of their own; one more says how many others. */
#define XTRK_UNTRACKED_SKIPPED_WARNED 10

/**
 * Store the untracked, non-ignored files of the working tree of `repo`
 * (git's status, honoring .gitignore; nothing in `.git` or `.xtrk`) as a tree
 * through `txn`.  `*out` is {"id": TREE | null, "files", "bytes",
 * "skipped_files", "skipped": [{"path", "bytes", "reason"}]}, or JSON null
 * when there are no untracked files at all.  Regular files and links (kept
 * as links, never followed) are captured; a file over a limit, a special
 * file, an unreadable one, a nested repository or a name with a newline is
 * skipped and, with `opts->warn`, named in a warning.  Files below
 * `opts->exclude` (relative to `workdir`, the workspace) are left out silently.
 */
int xtrk_untracked_capture(json_t **out, git_repository *repo, xtrk_txn *txn, const char *workdir,
	const xtrk_source_options *opts);

#endif
