/*
 * Changelogs: every version of a model across a store's runs.
 *
 * A run records its output models as data entries ({name, path, kind, id,
 * files, bytes, source}, see xtrk-format(5)); a model's versions are the
 * live runs with an entry of that name (or, failing that, at that path),
 * oldest first (by start time, then run ID).  Each version says what changed
 * against the one before it: whether the model's content did, and its run's
 * metrics, added, removed or moved; and what its run went through since: its
 * stage moves and approvals (each verified) and its notes, with their
 * rationales.
 */
#ifndef XTRK_CHANGELOG_H
#define XTRK_CHANGELOG_H

#include <jansson.h>

#include "xtrk/repo.h"

#define XTRK_CHANGELOG_MAX_NAME 4096

/**
 * The versions of model `name`:
 *
 *   {"name": NAME, "versions": [{"version": N, "run", "experiment", "date",
 *     "message", "model": {name, path, kind, id, files, bytes},
 *     "changed": true when its content differs from the previous version's
 *     (true for the first), "same_as": N of the earlier version with the
 *     same content (absent when none),
 *     "metrics": {KEY: {"was": V|null, "now": V|null, "delta": D}} (the
 *     flattened metrics that differ from the previous version's; delta when
 *     both are numbers), "stages": [xtrk_stages_json's shape],
 *     "notes": [xtrk_notes_json's shape]}]}
 *
 * XTRK_EINVALID for a name that is empty, too long or holds control
 * characters; XTRK_ENOTFOUND (naming the models there are) when no run has it.
 */
int xtrk_changelog(json_t **out, xtrk_repo *repo, const char *name);

#endif
