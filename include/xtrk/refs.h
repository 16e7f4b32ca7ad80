/*
 * References: the names that keep runs alive.
 *
 *   refs/experiments/<experiment>/<run id>   one file per run: runs are a set,
 *                                            so concurrent writers never conflict
 *   refs/tags/<name>                         a run ID
 *   refs/partial/<run id>                    the run's data files were not imported
 *
 * Every ref is written through a lock file (`<ref>.lock`, O_EXCL), fsynced,
 * and renamed into place, after the objects it names are durable.
 */
#ifndef XTRK_REFS_H
#define XTRK_REFS_H

#include <stddef.h>
#include "xtrk/oid.h"
#include "xtrk/repo.h"

typedef struct {
	xtrk_oid run;
	char experiment[256];
} xtrk_run_ref;

/** 1 when `name` is a valid experiment or tag name ([A-Za-z0-9._-], not starting with '.' or '-'). */
int xtrk_ref_name_valid(const char *name);

/**
 * 1 when `name` is a valid tag name: a valid ref name that does not look like
 * a run ID or ID prefix (four or more hex digits alone), so that a tag can
 * never stand in for the ID a user copied from 'xtrk log'.
 */
int xtrk_tag_name_valid(const char *name);
/** The reason xtrk_tag_name_valid refused `name`, as an error (XTRK_EINVALID). */
int xtrk_tag_name_refuse(const char *name);

/** Record that `run` belongs to `experiment`. */
int xtrk_refs_add_run(xtrk_repo *repo, const char *experiment, const xtrk_oid *run);

/**
 * List run refs, of one experiment or (NULL) all.  `*out` is an array the
 * caller frees with free().
 */
int xtrk_refs_list_runs(xtrk_run_ref **out, size_t *count, xtrk_repo *repo, const char *experiment);

/** Create a tag; XTRK_EEXISTS when it exists and names another run (unless `force`). */
int xtrk_refs_tag_create(xtrk_repo *repo, const char *name, const xtrk_oid *run, int force);
/**
 * 0 when `name` may become a new tag: a valid tag name (else as
 * xtrk_tag_name_refuse) that is not the name of an experiment of the store
 * nor `new_experiment` (may be NULL), which would make the name ambiguous.
 */
int xtrk_tag_name_check(xtrk_repo *repo, const char *name, const char *new_experiment);
/**
 * Tag a run after the fact, as `git tag` does: `run` must be listed in an
 * experiment (a removed run is refused), `name` a valid tag name that is not
 * also an experiment's (it would make the name ambiguous), and an existing
 * tag is refused with XTRK_EEXISTS unless `force` moves it.
 */
int xtrk_tag_run(xtrk_repo *repo, const char *name, const xtrk_oid *run, int force);
/**
 * Delete a tag under its lock; `*was` gets the run it named (zero for a
 * damaged tag).  XTRK_ENOTFOUND when there is no such tag.
 */
int xtrk_refs_tag_delete(xtrk_oid *was, xtrk_repo *repo, const char *name);
/** Look up a tag; XTRK_ENOTFOUND when absent. */
int xtrk_refs_tag_lookup(xtrk_oid *out, xtrk_repo *repo, const char *name);
/**
 * Names of all tags (sorted), each with its target, as parallel arrays the
 * caller frees with xtrk_refs_tags_free().  A tag file that holds no run ID
 * gets an all-zero target.
 */
int xtrk_refs_tags(char ***names, xtrk_oid **targets, size_t *count, xtrk_repo *repo);
void xtrk_refs_tags_free(char **names, xtrk_oid *targets, size_t count);

/**
 * 1 when `run` was imported without its data files (bundle --no-data):
 * marked by `refs/partial/<id>`, removed when a later import completes it.
 */
int xtrk_refs_partial(xtrk_repo *repo, const xtrk_oid *run);

/**
 * Write `content` to the ref at `relpath` (under `.xtrk/`) through a lock file.
 * Fails with XTRK_ELOCKED when the lock stays taken for several seconds.
 */
int xtrk_ref_write(xtrk_repo *repo, const char *relpath, const char *content, int must_not_exist);

/**
 * Create many refs in the folder `dir` (under `.xtrk/`, e.g. "refs/tags"):
 * `names[i]` holding `contents[i]`, each through its lock file, flushed
 * together (one sync per few hundred refs instead of two per ref).  A ref
 * that already exists is left as it is, with a warning.
 */
int xtrk_refs_write_new(xtrk_repo *repo, const char *dir, const char *const *names, const char *const *contents,
	size_t n);

#endif
