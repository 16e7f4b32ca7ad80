/*
 * A run's step series: the JSON-lines blob a run names in its record field
 * "series" (one {"step": N, "KEY": VALUE, ...} object per line), read back,
 * checked and laid out as a table; and a small terminal chart of such series.
 */
#ifndef XTRK_SERIES_H
#define XTRK_SERIES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/repo.h"

/* Bounds on what a stored series may hold; beyond them it is refused, naming the run. */
#define XTRK_SERIES_MAX_LINE (1u << 20)     /* bytes in one line */
#define XTRK_SERIES_MAX_KEYS 1024           /* distinct metric names */
#define XTRK_SERIES_MAX_VALUES 20000000u    /* step/value pairs in all */

/**
 * One line of a series: 1 for a blank line; 0 with `*out` (a new reference to
 * the object) when it is an object with a non-negative integer "step" whose
 * other values are all numbers; -1 with the reason in `why` otherwise.
 * The one check of a series line, for recording and for reading.
 */
int xtrk_series_line(json_t **out, const char *line, size_t len, char *why, size_t whylen);

/** A series laid out by step. */
typedef struct {
	char **keys;      /* the metric names, in the order the lines first give them */
	size_t nkeys;
	int64_t *steps;   /* distinct, ascending */
	size_t nsteps;
	double *values;   /* nsteps * nkeys, row by row; NAN where a step lacks the metric */
	size_t bad_lines; /* malformed lines left out */
	char *first_bad;  /* the first one's line number and reason, or NULL */
} xtrk_series;

/**
 * Parse a series' text (`name` for messages).  Malformed lines (as
 * xtrk_series_line says; `xtrk run` records a series whose last line a crash
 * may have cut) are left out and counted.  Lines may come in any order of
 * steps; lines of the same step are merged, a metric given twice for a step
 * keeping the later value.  XTRK_EINVALID naming `name` for a line longer than
 * XTRK_SERIES_MAX_LINE, more than XTRK_SERIES_MAX_KEYS metrics or
 * XTRK_SERIES_MAX_VALUES values, or text with no valid line at all.
 */
int xtrk_series_parse(xtrk_series **out, const char *text, size_t len, const char *name);

/**
 * Read the series of run `run` (as xtrk_run_read gives it), verified against
 * its ID before anything is parsed.  XTRK_ENOTFOUND saying why when the run
 * has none or the store lacks it; XTRK_ECORRUPT when the record names
 * something that is not a blob or the blob does not match its ID; the errors
 * of xtrk_series_parse.  Messages name the run.  A series with malformed
 * lines left out adds a warning naming the run.
 */
int xtrk_run_series(xtrk_series **out, xtrk_repo *repo, json_t *run);

/** The column of metric `key`, or -1. */
long xtrk_series_key(const xtrk_series *s, const char *key);

void xtrk_series_free(xtrk_series *s);

/* ---- a terminal chart ---- */

/** One line of a chart: points (step, value), in any order; NAN values are skipped. */
typedef struct {
	const int64_t *steps;
	const double *values;
	size_t n;
	size_t stride;     /* between one value and the next in `values` (1 for a plain array) */
	const char *label; /* shown in the legend after the line's glyph, as given */
} xtrk_chart_line;

/** The glyphs lines are drawn with, in order (then again from the first). */
#define XTRK_CHART_NGLYPHS 8
extern const char *const xtrk_chart_glyphs[XTRK_CHART_NGLYPHS];

/**
 * Draw `n` lines into `out` (appended): `height` rows of a plot `width`
 * columns wide, each point a glyph of its line (a later line drawn over an
 * earlier one where they meet), the highest and lowest value as labels on the
 * y axis, the first and last step under the x axis, then one legend line per
 * line.  A single point, a single step and constant values are drawn (in the
 * middle); lines without a point are in the legend only, marked "(no points)".
 * Width is at least 10 and height at least 2 (smaller is raised).  Values may
 * be any finite doubles, steps any non-negative int64.
 */
int xtrk_chart_render(xtrk_buf *out, const xtrk_chart_line *lines, size_t n, int width, int height);

#endif
