/* Restoring a run's source (commit, patch, untracked files, scripts), for checkout. */
#ifndef XTRK_CHECKOUT_SOURCE_H
#define XTRK_CHECKOUT_SOURCE_H

#include <git2.h>
#include <jansson.h>
#include "checkout_data.h"

struct source_plan {
	git_repository *g;
	git_commit *commit;
	git_diff *patch;
	git_index *patched; /* commit tree + patch, in memory */
	int has_untracked;  /* the run stored untracked files as the tree `untracked` */
	xtrk_oid untracked;
	int git_reuse;      /* checkout -C --force: the target's own git repository is reused */
};

void xtrk_co_plan_free(struct source_plan *p);

/* Everything about the source that can fail is found out here, before any file changes. */
int xtrk_co_plan_source(struct source_plan *p, xtrk_repo *repo, json_t *run, int in_place);

/* Into a target folder: every file of the commit with the patch applied, written and verified by git. */
int xtrk_co_source_into(struct source_plan *p, struct co *c, int rootfd);

/* In the workspace: like 'git checkout COMMIT' then 'git apply PATCH', refusing to lose work. */
int xtrk_co_source_in_place(struct source_plan *p, xtrk_repo *repo, json_t *run, int force, int *changed);

/*
 * checkout -C: before anything is written, what the target holds at .git: nothing (a new
 * repository is made there), or with --force a git repository of its own (a real folder, not a
 * link or a gitfile), which is reused; anything else is refused.  After the source is written,
 * xtrk_co_make_git makes the target the run's git repository (see there).
 */
int xtrk_co_check_git_target(struct source_plan *p, const char *dir, int force);
int xtrk_co_make_git(struct source_plan *p, json_t *run, const char *dir, int rootfd, xtrk_checkout_result *r);

int xtrk_co_plan_untracked(struct source_plan *p, struct co *c, json_t *run, int in_place, int force);

/* After the source: the untracked files into `dirfd` (the target, or the git working tree). */
int xtrk_co_restore_untracked(struct source_plan *p, struct co *c, json_t *run, int dirfd);

/*
 * Scripts the run ran from outside its repository (source.scripts).  Into a target folder: each by
 * its name at the top of the folder, never over a different file.  In place nothing is written
 * outside the workspace: a script no longer at its path with the same content is named in a warning.
 */
int xtrk_co_restore_scripts(struct co *c, json_t *run, int rootfd, int in_place);

#endif
