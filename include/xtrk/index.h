/*
 * The run index: a cache under `.xtrk/index/` that `log`, `export` and
 * `lineage` read instead of opening every run object.
 *
 * Each run's record is flattened into (key, value) pairs, "params.lr" ->
 * 0.01, "datasets.train.id" -> "ab12...", "tags.0" -> "baseline"; the
 * environment, which most runs share, is stored once per distinct value.
 * The index is a set of immutable segment files (`seg-*.idx`, mmap'd, each
 * checked by its XXH3-128): commit-run, bundle import and pull add one for
 * the new runs, and opening merges them into one when there are many, under
 * a lock.  The refs stay the truth: a run the segments lack is read from its
 * object (and indexed), one they hold that no ref names is ignored.  So
 * concurrent writers never conflict, and deleting the folder loses nothing.
 */
#ifndef XTRK_INDEX_H
#define XTRK_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

typedef struct xtrk_index xtrk_index;

typedef enum {
	XTRK_VAL_NONE = 0, /* the run lacks the field */
	XTRK_VAL_NULL,
	XTRK_VAL_BOOL,
	XTRK_VAL_NUM,
	XTRK_VAL_STR
} xtrk_val_type;

typedef struct {
	xtrk_val_type type;
	double num;      /* NUM, and BOOL as 0 or 1 */
	const char *str; /* STR: not NUL-terminated */
	size_t len;
} xtrk_value;

/** A key resolved once per query (per segment), then looked up per run cheaply. */
typedef struct xtrk_index_key xtrk_index_key;

/**
 * Open the index of the runs the refs name (of one experiment, or all with
 * NULL), bringing it up to date: runs missing from it are read from their
 * objects and indexed.  Runs are ordered newest first.
 */
int xtrk_index_open(xtrk_index **out, xtrk_repo *repo, const char *experiment);
void xtrk_index_free(xtrk_index *ix);

size_t xtrk_index_count(const xtrk_index *ix);
const xtrk_oid *xtrk_index_run(const xtrk_index *ix, size_t i);
const char *xtrk_index_experiment(const xtrk_index *ix, size_t i);
/** The run's tags (names, sorted), as read from the refs when the index was opened; a new reference. */
json_t *xtrk_index_tags(const xtrk_index *ix, size_t i);
/**
 * The run's appended notes (xtrk_notes_json's shape), read from the refs when the index was
 * opened; a new reference.  Keys "notes" and "notes.N" see them after the record's own notes.
 */
json_t *xtrk_index_notes(const xtrk_index *ix, size_t i);

/** Resolve a key ("params.lr"); a key no run has is valid and always missing. */
int xtrk_index_key_new(xtrk_index_key **out, xtrk_index *ix, const char *key);
void xtrk_index_key_free(xtrk_index_key *k);
/** The value of a key for run `i`; returns 1 when present. */
int xtrk_index_get(xtrk_value *out, const xtrk_index *ix, size_t i, const xtrk_index_key *k);
/**
 * Call `cb` for each field of run `i` whose key starts with the key's name
 * followed by '.' (the elements of an array or object); non-zero stops.
 */
int xtrk_index_each_below(const xtrk_index *ix, size_t i, const xtrk_index_key *k,
	int (*cb)(const char *key, size_t klen, const xtrk_value *v, void *payload), void *payload);
/** Every field of run `i` (environment and tags included), in no set order: sort if order matters. */
int xtrk_index_each(const xtrk_index *ix, size_t i,
	int (*cb)(const char *key, size_t klen, const xtrk_value *v, void *payload), void *payload);

/**
 * Add runs just written (by commit-run, run, import, pull: whoever wrote them)
 * as a new segment, from their records as written (`records[i]` is run
 * `runs[i]`'s, "id" and "tags" ignored).  The index is a cache: a caller
 * that fails to add only costs the next reader a read of the objects, so
 * errors are only worth clearing.
 */
int xtrk_index_add(xtrk_repo *repo, const xtrk_oid *runs, json_t *const *records, size_t n);
/** Throw the index away and build it again from the run objects (fsck --rebuild-index). */
int xtrk_index_rebuild(xtrk_repo *repo, size_t *runs_out);

/**
 * fsck: the index's view (.xtrk/cache/runs.view), when there is one.  A damaged view, or a fresh
 * one (one a listing would answer from) that disagrees with the refs or its segments, is reported
 * through `problem`; a stale one is never used and is not a problem.  Returns < 0 only on errors
 * reading the refs.
 */
int xtrk_index_check(xtrk_repo *repo, void (*problem)(const xtrk_oid *run, const char *what, void *payload),
	void *payload);

/** Figures for benchmarks: segments, runs, bytes on disk. */
int xtrk_index_stats(xtrk_repo *repo, size_t *segments, size_t *runs, uint64_t *bytes);

/*
 * Field names.  A flattened name is a path of parts: record fields, object keys, list positions,
 * and the entries of datasets, models and artifacts by name.  A part made only of letters, digits,
 * '_', '-', '/', ':', '@', '+' and non-ASCII bytes is written plain, after a '.' unless it comes
 * first (params.lr, datasets.train.id, tags.0); any other part (a '.', a space, a bracket, ...,
 * or empty) is written in brackets with no '.' before it, a ']' or '\' inside escaped with '\'
 * (models[model.pt].bytes, env.python.packages[ruamel.yaml], params[a\]b]).  So every name reads
 * back one way.  People may bracket any part (datasets[train].id) or put a '.' before a bracket;
 * xtrk_field_canon gives the one written form, which is how the index, export and queries name it.
 */

/** 1 when byte `c` may stand in a plain part of a field name. */
int xtrk_field_plain_char(char c);
/** Append part `part` (`len` bytes) to the field name in `name`, by the rule above. */
int xtrk_field_append(xtrk_buf *name, const char *part, size_t len);
/** How many bytes of `s` a field name spans: plain characters, '.', and bracketed parts (escapes included). */
size_t xtrk_field_span(const char *s);
/**
 * The written form of field name `name` (`len` bytes) into `out` (replacing it); XTRK_EINVALID
 * naming the problem (an empty part "a..b", a bracket not closed, a character that needs brackets).
 */
int xtrk_field_canon(xtrk_buf *out, const char *name, size_t len);
/**
 * Read the first part of field name `name` (`len` bytes; after its '.' unless `first`) into `part`,
 * unbracketed, and how many bytes it spans into `*used`.  XTRK_EINVALID saying what is wrong.
 */
int xtrk_field_next(xtrk_buf *part, size_t *used, const char *name, size_t len, int first);
/** 1 when `key` is a field below `name` (name.x or name[x]). */
int xtrk_field_below(const char *key, size_t klen, const char *name, size_t len);

/** Flatten a run record into (key, JSON leaf) pairs, as the index stores it (names as above). */
json_t *xtrk_run_flatten(json_t *run);

/** 1 when some run has the key, or fields below it (a --where on a field no run has matches nothing). */
int xtrk_index_key_seen(const xtrk_index *ix, const xtrk_index_key *k);
/** The key a mistyped `name` most likely meant ("lr" -> "params.lr", "metric.acc" -> "metrics.acc") into `out`; 0 when none is close. */
int xtrk_index_suggest(xtrk_buf *out, const xtrk_index *ix, const char *name);

#endif
