/* What the profile readers share (profile.c: CSV, TSV, JSON Lines; profile_npy.c: NumPy .npy). */
#ifndef XTRK_PROFILE_INTERNAL_H
#define XTRK_PROFILE_INTERNAL_H

#include <jansson.h>
#include <stdint.h>
#include <xxhash.h>

#include "xtrk/profile.h"

struct top {
	char *value;
	uint64_t hash;
	uint64_t count;
	uint64_t err;     /* how much of count may belong to values it replaced */
};

struct column {
	char *name;
	uint64_t count, missing, nnum, nstr, nbool;
	double min, max, mean, m2;
	xtrk_kll *kll;
	xtrk_hll hll;
	struct top top[XTRK_PROFILE_TOP];
	unsigned ntop;
	uint64_t infinite; /* numbers too large for any range (npy floats): counted, not in the stats */
	int replaced;      /* a value lost its place in top: the list is no longer all values */
};

struct fps {
	uint64_t *slot;   /* open addressing, 0 empty; capacity 2 * MAX */
	uint32_t *line;
	size_t n;
	uint64_t threshold;
	int sampled;
};

#define FPS_CAP (2 * XTRK_PROFILE_MAX_FINGERPRINTS)

struct prof {
	const char *label;
	struct column *cols;
	size_t ncols;        /* columns profiled (<= XTRK_PROFILE_MAX_COLUMNS) */
	size_t ncols_total;  /* columns the header names */
	uint64_t rows, ragged, bad_lines, line, row_start;
	json_t *problems;
	struct fps fps;
	/* the CSV row being read */
	int header_done;
	size_t field;
	XXH3_state_t *row_hash;
	char *vals;          /* the fields of the row, NUL-separated, to be added once the row is whole */
	size_t vlen, vcap;
	size_t *voff;
	size_t nv;
	int err;             /* a failure inside a callback */
	int stop;
	int no_fingerprints; /* rows could not be fingerprinted: none in the profile */
	json_t *extra;       /* members the reader adds to the profile (npy: dtype, shape, fortran_order) */
};

/** A problem, `where` ("line 7", "header") before it, in the profile and as a warning; at most XTRK_PROFILE_MAX_PROBLEMS. */
void prof_problem(struct prof *p, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** A new column named `name` (counted only past XTRK_PROFILE_MAX_COLUMNS). */
int prof_add_column(struct prof *p, const char *name);
/** One value of a column: text (`jtype` -1) or a JSON type with its number `num`. */
int prof_column_add(struct column *c, const char *s, size_t len, int jtype, double num);
/** A row's fingerprint. */
void prof_fps_add(struct fps *f, uint64_t h, uint64_t line);

/** Profile a NumPy .npy file of `size` bytes (profile_npy.c). */
int prof_npy(struct prof *p, int fd, uint64_t size);

#endif
