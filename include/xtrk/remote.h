/*
 * Remotes: other stores reached as folders (a shared or network file
 * system), named in `.xtrk/config` as `remote.<name>.path`.
 *
 * A remote is a bare store: `objects/`, `refs/` and `config` directly in its
 * folder.  Push and pull copy the objects a run reaches that the other side
 * lacks, through one transaction (fsynced, named only when whole), and only
 * then write the run refs, so an interrupted transfer never leaves a ref to a
 * missing object.  Runs are a set: pushes from several people to one
 * experiment all succeed.  What comes from a remote is untrusted: every
 * object is re-hashed, every run record validated, like a bundle import.
 */
#ifndef XTRK_REMOTE_H
#define XTRK_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"

/** Record a remote (creating its store when the folder is absent or empty). */
int xtrk_remote_add(xtrk_repo *repo, const char *name, const char *path);
/** Forget a remote (its store is left alone). */
int xtrk_remote_remove(xtrk_repo *repo, const char *name);
/** The path of a remote; XTRK_ENOTFOUND naming the remotes there are. */
int xtrk_remote_path(xtrk_buf *out, xtrk_repo *repo, const char *name);
/** Names and paths of all remotes, as "name\tpath\n" lines. */
int xtrk_remote_list(xtrk_buf *out, xtrk_repo *repo);

typedef struct {
	size_t runs;        /* runs considered */
	size_t runs_new;    /* runs the receiving side did not have */
	size_t objects_new; /* objects copied */
	uint64_t bytes_new; /* their bytes */
} xtrk_sync_stats;

/** Copy runs (all local runs when `nruns` is 0) and the objects they reach to the remote. */
int xtrk_push(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const xtrk_oid *runs, size_t nruns);
/**
 * Copy runs from the remote (`revs` resolved there; all its runs when
 * `nrevs` is 0), verifying everything received.
 */
int xtrk_pull(xtrk_sync_stats *out, xtrk_repo *repo, const char *remote, const char *const *revs, size_t nrevs);

#endif
