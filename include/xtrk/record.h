/*
 * The shape of a run record: every field a reader of the store relies on,
 * checked once, wherever a record comes from (a bundle, a remote, a commit,
 * the store itself).
 */
#ifndef XTRK_RECORD_H
#define XTRK_RECORD_H

#include <jansson.h>

/**
 * Check a run record (or a bundle's run summary, which adds `id` and `tags`):
 * the object-ID fields are IDs, no tag looks like a run ID prefix (32 lower-case hex; `parent` a run ID), the
 * experiment name and tags are valid names, `started` (and `ended` when
 * present) are RFC 3339 UTC timestamps as xtrk writes them, `status` is
 * "succeeded" or "failed", `params` and `metrics` are objects, datasets,
 * models and artifacts are {name, path, kind, id} with a safe relative path
 * and kind "blob" or "tree", and the other fields have the types readers
 * expect.  0, or XTRK_ECORRUPT with a message naming the field.
 */
int xtrk_record_check(const json_t *rec);

/** 1 when `s` is a timestamp as xtrk writes them: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
int xtrk_record_timestamp_valid(const char *s);

#endif
