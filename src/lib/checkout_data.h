/* Restoring data files and folders from their objects, for checkout. */
#ifndef XTRK_CHECKOUT_DATA_H
#define XTRK_CHECKOUT_DATA_H

#include "statcache.h"
#include "xtrk/checkout.h"
#include "xtrk/statcache.h"
#include "xtrk/tree.h"

struct co {
	xtrk_repo *repo;
	xtrk_odb *odb;
	xtrk_checkout_result *r;
	xtrk_statcache *cache; /* only when restoring into the workspace */
	int in_workspace;
	int keep_same;         /* leave a file that already has the recorded content as it is */
	unsigned tmp_counter;
	char *buf;
};

/* A recorded data path is relative, without '.', '..' or the store in it; anything else is refused. */
int xtrk_co_path_ok(const char *path);

/* Open (creating as needed) each folder of `rel` below `rootfd`, never following a link. */
int xtrk_co_open_dirs(int *out, int rootfd, const char *rel, size_t len, const char *shown);

/* 1 when `name` in `dirfd` is already what `e` records (content, exec bit, link target), else 0. */
int xtrk_co_same_content(struct co *c, int dirfd, const char *name, const xtrk_tree_entry *e);

/* Stream a blob into a temp file in `dirfd`, verified, then rename it over `name`. */
int xtrk_co_write_blob(struct co *c, int dirfd, const char *name, const char *shown, const xtrk_tree_entry *e);

int xtrk_co_write_tree(struct co *c, int dirfd, const xtrk_oid *id, xtrk_buf *shown);

/* One recorded dataset, model, artifact or params file at its path below `rootfd`. */
int xtrk_co_restore_entry(struct co *c, int rootfd, const char *path, const char *id_hex, int is_tree);

#endif
