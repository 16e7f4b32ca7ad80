/*
 * Trees: folder snapshots as objects (the walker that makes them is in snapshot.h).
 *
 * A tree object is text, one line per entry, sorted by name (bytewise):
 *
 *     <mode> <kind> <id> <bytes> <files>\t<name>\n
 *
 * mode is 100644, 100755, 120000 or 040000; kind is blob, link or tree;
 * bytes and files count everything below a sub-tree (1 file for a blob), so a
 * manifest needs no walk and an unchanged sub-folder keeps its ID.
 */
#ifndef XTRK_TREE_H
#define XTRK_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/odb.h"
#include "xtrk/repo.h"

typedef enum {
	XTRK_ENTRY_BLOB = 1,
	XTRK_ENTRY_LINK = 2,
	XTRK_ENTRY_TREE = 3
} xtrk_entry_kind;

typedef struct {
	xtrk_entry_kind kind;
	unsigned mode;
	xtrk_oid id;
	uint64_t bytes;
	uint64_t files;
	const char *name; /* points into the tree's storage */
} xtrk_tree_entry;

typedef struct {
	xtrk_tree_entry *entries;
	size_t count;
	char *data; /* owned copy of the raw text */
} xtrk_tree;

/** Parse raw tree text; rejects bad names ('/', '.', '..', '.xtrk', '.git'), bad order, bad lines. */
int xtrk_tree_parse(xtrk_tree **out, const char *data, size_t len);

#define XTRK_PATH_MAX 4096

/**
 * Why `path` (relative, '/'-separated) may not be written below a folder, or
 * NULL when it may: the one check for every recorded path that checkout writes
 * (data, params files, the source tree, its patch, its untracked files and
 * scripts).  Refused: empty, longer than XTRK_PATH_MAX, absolute, control
 * characters, empty, '.' or '..' components, and any component that names
 * .xtrk or .git in any case (also "GIT~1" and with trailing dots or spaces).
 */
const char *xtrk_path_unsafe(const char *path);
/**
 * The same check for the paths of datasets, models, artifacts and params
 * files, which are the user's own files: control characters are allowed in
 * their names (output shows them escaped); everything else is refused alike.
 */
const char *xtrk_data_path_unsafe(const char *path);

/** `path` made fit for a message into `out`: control characters and '\\' as \xNN, cut to `size`. */
const char *xtrk_path_shown(char *out, size_t size, const char *path);
/** Read and parse a tree object (content verified against its ID). */
int xtrk_tree_read(xtrk_tree **out, xtrk_odb *odb, const xtrk_oid *oid);
void xtrk_tree_free(xtrk_tree *tree);
/** The text form of one entry, appended to `out`. */
int xtrk_tree_format_entry(xtrk_buf *out, const xtrk_tree_entry *e);

#endif
