/*
 * Run books: a tar archive (plain, gzip or zstd, chosen by the file name)
 * that carries runs to another store.  Inside, in this order:
 *
 *   RUNBOOK.md            for people: what ran, on what, and how to rebuild it
 *   xtrk-bundle.json      the manifest: format, runs, every object (ID, type,
 *                         size), and the source commits when the pack is there
 *   runs/<id>.json        each run's summary (show --json's shape)
 *   objects/<id>.<type>   each object's content (blob, tree or run)
 *   source.pack           with --with-source: a git pack of the commits and history
 *
 * A bundle is untrusted input.  The reader accepts exactly these names, only
 * regular files, each once, within the sizes the manifest declares; it never
 * writes a file under a name taken from the archive.  Objects are re-hashed,
 * run records checked field by field, and every reference must resolve.
 * Import stages everything in the store's temporary area and publishes
 * objects, then the source pack, then the refs, so a failure or kill at any
 * point leaves no run that is not whole.
 */
#ifndef XTRK_BUNDLE_H
#define XTRK_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

#define XTRK_BUNDLE_FORMAT 1

/* Limits on what a bundle may declare; past them it is refused, not read. */
#define XTRK_BUNDLE_MAX_ENTRIES 20000000
#define XTRK_BUNDLE_MAX_PATH 256
#define XTRK_BUNDLE_MAX_META (256u << 20) /* manifest, summaries, runbook */
#define XTRK_BUNDLE_MAX_TREES (2048ull << 20) /* trees and runs held for the reference check */
/* The source pack's objects, by their declared sizes (a delta's result size), before inflating: */
#define XTRK_BUNDLE_MAX_GIT_OBJECT (128ull << 20) /* any one source object */
#define XTRK_BUNDLE_MAX_GIT_TOTAL (4096ull << 20) /* all of them together */

typedef struct {
	int with_source; /* add the source commits and history as a git pack */
	int no_data;     /* leave out the files of datasets, models and artifacts */
	int no_report;   /* leave out report.html */
} xtrk_bundle_options;

typedef struct {
	size_t runs;
	size_t runs_new;      /* import: runs not in the store before */
	size_t objects;
	size_t objects_new;   /* import: objects not in the store before */
	uint64_t bytes;       /* object bytes carried */
	int has_source;
	int no_data;
	size_t problems;      /* verify: problems found */
} xtrk_bundle_stats;

/** Write a bundle of `runs` to `path` (a temp file beside it, renamed when complete). */
int xtrk_bundle_create(xtrk_bundle_stats *out, xtrk_repo *repo, const char *path,
	const xtrk_oid *runs, size_t nruns, const xtrk_bundle_options *opts);

/** Problems found by verify; `what` names the entry or object. */
typedef void (*xtrk_bundle_problem_cb)(const char *what, void *payload);

/**
 * Read a whole bundle and check it: structure, hashes, run records and that
 * every reference resolves.  Returns 0 when it could read it through (problems
 * are counted and reported), or an error when the archive itself is unusable.
 */
int xtrk_bundle_verify(xtrk_bundle_stats *out, const char *path, xtrk_bundle_problem_cb cb, void *payload);
/** The same, on an archive in memory (for fuzzing). */
int xtrk_bundle_verify_memory(xtrk_bundle_stats *out, const void *data, size_t len,
	xtrk_bundle_problem_cb cb, void *payload);

/**
 * Verify and import: all or nothing.  Importing what is already there
 * changes nothing; objects already in the store are not written again.
 */
int xtrk_bundle_import(xtrk_bundle_stats *out, xtrk_repo *repo, const char *path);

/** RUNBOOK.md for these runs (each with "id"), appended to `out`. */
int xtrk_runbook_format(xtrk_buf *out, json_t *const *runs, size_t nruns, const char *bundle_name,
	int with_source, int no_data);

#endif
