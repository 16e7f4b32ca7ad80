/*
 * The run index's view (.xtrk/cache/runs.view): the list of runs the refs
 * name, already sorted newest first and resolved to the segment that holds
 * each, with the state (inode, mtime, ctime) of every folder of run refs at
 * the time the list was read.  Opening the index reads this one file and
 * stats those few folders instead of reading every ref and sorting; a view
 * whose folders changed since (or changed too recently to tell), or whose
 * bytes or segments do not check, is not answered from: the runs of the
 * folders that did not change may still be taken from it (index.c), the others
 * are read from their refs, and the view is written anew.  Layout:
 * xtrk-format(5).
 */
#ifndef XTRK_INDEX_VIEW_H
#define XTRK_INDEX_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "index_seg.h"
#include "xtrk/buf.h"
#include "xtrk/repo.h"

#define VIEW_MAGIC "XTRKVIEW"
#define VIEW_VERSION 1
#define VIEW_FILE "cache/runs.view" /* beside the other disposable caches */
/* A folder changed within this long of the view's reading cannot be told from one changed just after. */
#define VIEW_RACY_NS 100000000LL           /* file systems with sub-second times */
#define VIEW_RACY_COARSE_NS 2000000000LL   /* times in whole seconds (FAT: two) */

struct view_hdr {
	char magic[8];
	uint32_t version, ndirs, nsegs, nruns;
	uint64_t str_len, size;
	int64_t built_ns; /* the clock when the folders were looked at, before they were read */
};
/* The file ends with 16 bytes: the XXH3-128 of everything before them. */
#define VIEW_SUM_LEN 16

/* A folder of refs: refs/experiments itself first (empty name), then one per experiment. */
struct view_dir {
	uint64_t ino;
	int64_t mtime_ns, ctime_ns;
	uint32_t name_off, name_len;
};
struct view_seg { unsigned char sum[16]; uint32_t name_off, name_len; };
struct view_run { unsigned char id[16]; uint32_t dir, seg, idx; };

_Static_assert(sizeof(struct view_hdr) == 48, "view header: 48 bytes");
_Static_assert(sizeof(struct view_dir) == 32, "view folder entry: 32 bytes");
_Static_assert(sizeof(struct view_seg) == 24, "view segment entry: 24 bytes");
_Static_assert(sizeof(struct view_run) == 28, "view run entry: 28 bytes");

/* The folders of run refs as they were before a listing (to be written with it). */
struct view_state {
	int64_t built_ns;
	struct view_dir *dirs; /* name_off/name_len unused here: names[] */
	char **names;
	size_t ndirs;
	int usable; /* every entry of refs/experiments a plain folder: a view may be written */
};

int xtrk_view_capture(struct view_state *st, xtrk_repo *repo);
void xtrk_view_state_free(struct view_state *st);

/* A view read and checked (bytes, bounds); `fresh` says whether the folders still are as recorded. */
struct view {
	xtrk_buf buf;
	const struct view_hdr *h;
	const struct view_dir *dirs;
	const struct view_seg *segs;
	const struct view_run *runs;
	const char *str;
	unsigned char *fresh; /* per folder: as recorded, and not changed too recently to tell */
};

/*
 * Read and check the view: 0 with `fresh` set to whether every folder is as recorded (and
 * not too recently changed to tell); XTRK_ENOTFOUND when there is none; XTRK_ECORRUPT (error
 * set) when it is damaged.
 */
int xtrk_view_read(struct view *v, int *fresh, xtrk_repo *repo);
void xtrk_view_free(struct view *v);

/* A run of the view to write, in order: its ID, experiment (a name in the state) and segment. */
struct view_src { const unsigned char *id; const char *exp; uint32_t seg, idx; };

/* Write the view (atomically, as a cache); -1 with the error cleared when it cannot be. */
int xtrk_view_write(xtrk_repo *repo, const struct view_state *st, const struct seg *segs, size_t nsegs,
	const struct view_src *runs, size_t n);

#endif
