/*
 * A workspace: the folder that holds `.xtrk/`, with its object database and
 * its configuration (`.xtrk/config`, git-config syntax, read with libgit2).
 */
#ifndef XTRK_REPO_H
#define XTRK_REPO_H

#include "xtrk/buf.h"
#include "xtrk/odb.h"

typedef struct xtrk_repo xtrk_repo;

/**
 * Create `.xtrk/` in `dir` (idempotent).  `*created` is 1 when it was made
 * now, 0 when it already existed.
 */
int xtrk_repo_init(xtrk_repo **out, const char *dir, int *created);

/**
 * Find the workspace: `XTRK_DIR` when set, else walk up from `start` to the
 * first folder holding `.xtrk/`.  `out` receives the absolute workspace path.
 */
int xtrk_repo_discover(xtrk_buf *out, const char *start);

/** Open the workspace at `dir` (the folder that holds `.xtrk/`). */
int xtrk_repo_open(xtrk_repo **out, const char *dir);
void xtrk_repo_free(xtrk_repo *repo);

/** Absolute workspace path (borrowed). */
const char *xtrk_repo_workdir(const xtrk_repo *repo);
/** Absolute path of `.xtrk` (borrowed). */
const char *xtrk_repo_dir(const xtrk_repo *repo);
/** The object database (borrowed). */
xtrk_odb *xtrk_repo_odb(const xtrk_repo *repo);

/** A config string; XTRK_ENOTFOUND when unset. */
int xtrk_repo_config_string(xtrk_buf *out, xtrk_repo *repo, const char *key);
/** A config boolean, `dflt` when unset; XTRK_EINVALID when not a boolean. */
int xtrk_repo_config_bool(int *out, xtrk_repo *repo, const char *key, int dflt);

/** Set (or with a NULL value, remove) a config key in `.xtrk/config`, atomically. */
int xtrk_repo_config_set(xtrk_repo *repo, const char *key, const char *value);
/** Call `cb` for each config entry whose name matches the regular expression; a non-zero return stops. */
int xtrk_repo_config_foreach(xtrk_repo *repo, const char *regexp,
	int (*cb)(const char *name, const char *value, void *payload), void *payload);

/**
 * A bare store (no workspace around it), as a remote is: `objects/`,
 * `refs/` and `config` directly in `path`.  Init is idempotent.
 */
int xtrk_store_init(const char *path);
/** 1 when `dir` is a bare store (an `objects/` folder and a config saying core.bare = true), else 0. */
int xtrk_store_is_bare(const char *dir);
/** Open a bare store; its "workdir" is the store itself and must not be used for data. */
int xtrk_store_open(xtrk_repo **out, const char *path);

/**
 * Make `path` (absolute or relative to the current folder) relative to the
 * workspace, resolving symbolic links in its folders.  XTRK_EINVALID when it
 * lies outside the workspace or inside `.xtrk`.
 */
int xtrk_repo_relpath(xtrk_buf *out, xtrk_repo *repo, const char *path);

#endif
