/*
 * Trees (folder snapshots) and the snapshot walker that makes them.
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

/*
 * The stat cache: (path, size, mtime, ctime, inode, device) -> blob ID, like
 * git's index, so a file unchanged since the last snapshot is not re-read.
 * It is a cache: losing or damaging `.xtrk/cache/stat` only costs time.
 */
typedef struct xtrk_statcache xtrk_statcache;

int xtrk_statcache_open(xtrk_statcache **out, xtrk_repo *repo);
/** Write the cache back (atomically); errors are worth a warning, not a failure. */
int xtrk_statcache_save(xtrk_statcache *cache);
void xtrk_statcache_free(xtrk_statcache *cache);

typedef struct {
	xtrk_oid id;
	int is_tree;
	uint64_t files;
	uint64_t bytes;
	uint64_t hashed_files; /* files actually read (stat-cache misses) */
	uint64_t hashed_bytes;
} xtrk_snapshot;

typedef struct {
	int threads;              /* 0: one per core, at most 8 */
	xtrk_statcache *cache;    /* may be NULL */
	/* Called now and then from one thread with running totals. */
	void (*progress)(uint64_t bytes_done, uint64_t files_done, void *payload);
	void *payload;
	/* No warnings about symbolic links followed or kept (for comparing, not recording). */
	int quiet;
} xtrk_snapshot_options;

#define XTRK_SNAPSHOT_OPTIONS_INIT { 0, NULL, NULL, NULL, 0 }

/**
 * Snapshot the file or folder at `relpath` (relative to the workspace) into
 * the transaction: a blob for a file, a tree for a folder.  `.xtrk` and `.git`
 * folders are skipped; devices, FIFOs and sockets are refused.
 */
int xtrk_snapshot_path(xtrk_snapshot *out, xtrk_repo *repo, xtrk_txn *txn,
	const char *relpath, const xtrk_snapshot_options *opts);

#endif
