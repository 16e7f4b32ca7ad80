/*
 * Garbage collection: remove the objects no ref keeps.
 *
 * Marking starts from every ref, by a table of the namespaces under refs/
 * that gc knows (experiments, removed, tags, partial, notes); a namespace it
 * does not know makes it refuse, rather than delete what such refs may keep.
 * What a run keeps is found by the one reachability walk (xtrk_reach_run).
 *
 * Unmarked loose objects older than the expiry go; a pack older than it that
 * is mostly garbage is rewritten with its live objects (a new pack, durable
 * and indexed, before the old one goes); stale temporary files go; a removed
 * run (xtrk rm) whose refs/removed ref is older than the expiry is no longer
 * kept by it.  Anything written after gc started is kept whatever its age.
 * Concurrent writers are safe by the store's write lock (xtrk-format(5)).
 */
#ifndef XTRK_GC_H
#define XTRK_GC_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/repo.h"

/** Default expiry, as git's gc.pruneExpire: unreferenced objects younger than this are kept. */
#define XTRK_GC_DEFAULT_EXPIRE "2.weeks.ago"

typedef enum {
	XTRK_GC_LOOSE = 1,   /* a loose object */
	XTRK_GC_PACK,        /* a pack rewritten (or removed when nothing in it lives) */
	XTRK_GC_TEMP,        /* a stale temporary file */
	XTRK_GC_REMOVED_RUN  /* a removed run's ref, expired */
} xtrk_gc_kind;

typedef struct {
	xtrk_gc_kind kind;
	const char *what;  /* the object ID, pack path, file path or run ID */
	uint64_t bytes;    /* reclaimed by it */
	size_t objects;    /* objects it removes (a pack: its garbage) */
} xtrk_gc_item;

typedef struct {
	int dry_run;          /* find what would go; change nothing */
	int64_t expire;       /* unix time: unreferenced things older than this go (capped at gc's start) */
	long wait_ms;         /* how long to wait for running writers (0: 60 s) */
	/* Optional: told of each thing removed (or, dry, that would be). */
	void (*removed)(const xtrk_gc_item *item, void *payload);
	void *payload;
} xtrk_gc_options;

typedef struct {
	size_t refs;              /* refs read */
	size_t runs;              /* runs marked */
	size_t objects_live;      /* objects marked */
	size_t loose_removed;
	uint64_t loose_bytes;
	size_t packs_rewritten;   /* rewritten with their live objects, or removed when none lived */
	size_t pack_objects_removed;
	uint64_t pack_bytes;
	size_t temp_removed;
	uint64_t temp_bytes;
	size_t removed_runs_expired;
	size_t kept_recent;       /* unreferenced objects kept as younger than the expiry */
	size_t kept_in_packs;     /* unreferenced objects left in packs that are mostly live */
	uint64_t bytes_reclaimed; /* in all */
} xtrk_gc_result;

/**
 * Parse an expiry: "now", "never", "@UNIXTIME", "YYYY-MM-DD[ HH:MM[:SS]]"
 * (local time), or "N.UNIT.ago" / "N UNIT ago" with UNIT second, minute,
 * hour, day, week, month (30 days) or year (365 days), optionally plural.
 * "never" gives INT64_MIN.  XTRK_EINVALID on anything else.
 */
int xtrk_gc_parse_expire(int64_t *out, const char *text, int64_t now);

/** The expiry from gc.pruneExpire in the store's config, else XTRK_GC_DEFAULT_EXPIRE. */
int xtrk_gc_config_expire(int64_t *out, xtrk_repo *repo, int64_t now);

/** Collect garbage (see above).  Never prints. */
int xtrk_gc(xtrk_gc_result *out, xtrk_repo *repo, const xtrk_gc_options *o);

#endif
