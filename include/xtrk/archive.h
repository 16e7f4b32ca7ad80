/*
 * Archival: runs moved out of the store into a verified bundle.
 *
 * `xtrk archive` writes the runs to a bundle (xtrk/bundle.h), makes it
 * durable, reads it back and verifies it, and only then, under the writers'
 * lock, moves each run's ref from refs/experiments/<exp>/<id> to
 * refs/archived/<exp>/<id>.  That ref holds the archive record, one line of
 * JSON: {"path", "sha256", "bytes", "time"} (the bundle's absolute path,
 * the SHA-256 of its bytes, its size and the unix time of archival).  An
 * archived run is out of listings and queries, and gc keeps nothing for it:
 * its objects go once nothing else uses them.  `xtrk bundle import` of the
 * file brings the run back and clears the mark.
 */
#ifndef XTRK_ARCHIVE_H
#define XTRK_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"

#define XTRK_SHA256_HEXSZ 64

typedef struct {
	xtrk_oid run;
	char experiment[256];
	char *path;                          /* the bundle, absolute */
	char sha256[XTRK_SHA256_HEXSZ + 1];  /* of the bundle's bytes */
	uint64_t bytes;                      /* the bundle's size */
	int64_t time;                        /* when it was archived (unix time) */
} xtrk_archived;

typedef struct {
	int force;     /* replace an existing file at the path */
	int no_source; /* leave the source commits out of the bundle */
} xtrk_archive_options;

typedef struct {
	size_t runs;
	size_t objects;
	uint64_t bytes;       /* object bytes carried */
	int has_source;
	xtrk_archived record; /* run and experiment unset; path owned by the result */
} xtrk_archive_result;

/** The SHA-256 of a file's bytes, as 64 lowercase hex digits, and its size. */
int xtrk_file_sha256(char hex[XTRK_SHA256_HEXSZ + 1], uint64_t *bytes, const char *path);

/**
 * Archive `runs` (each listed in an experiment, none removed, tagged or
 * partial) to `path`, which must lie outside the store and, without
 * o->force, not exist.  The bundle is fsynced and verified before any ref
 * moves; a kill at any point leaves every run either live or archived.
 */
int xtrk_archive_runs(xtrk_archive_result *out, xtrk_repo *repo, const char *path, const xtrk_oid *runs,
	size_t nruns, const xtrk_archive_options *o);
void xtrk_archive_result_dispose(xtrk_archive_result *r);

/** Every archive record (refs/archived/<exp>/<id>), sorted by experiment and ID. */
int xtrk_archived_list(xtrk_archived **out, size_t *count, xtrk_repo *repo);
void xtrk_archived_free(xtrk_archived *list, size_t count);

/**
 * The archive record of an archived run given by its ID or an ID prefix of
 * at least 4 hex digits; XTRK_ENOTFOUND or XTRK_EAMBIGUOUS otherwise.
 */
int xtrk_archived_resolve(xtrk_archived *out, xtrk_repo *repo, const char *rev);

/**
 * Before `bundle import` of `path` brings back `runs`: for each that is
 * archived here, compare the file's SHA-256 with the one recorded; a
 * difference is a warning (the import verifies every object by its ID, so
 * what comes back is the run byte for byte whatever file carries it).
 */
int xtrk_archived_check_import(xtrk_repo *repo, const char *path, const xtrk_oid *runs, size_t nruns);

/** Clear the archived mark of `run` (its refs/archived refs), once it is listed again. */
int xtrk_archived_clear(xtrk_repo *repo, const xtrk_oid *run);

#endif
