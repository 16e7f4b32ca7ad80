/*
 * A report: one self-contained HTML file (scripts, styles and data inline, no
 * network) showing runs: a sortable, filterable table of them, every step
 * series overlaid across runs as charts (uPlot, vendored under
 * contrib/vendor/uplot), their tags, messages and notes.
 *
 * Everything read from runs is untrusted (a run may come from a bundle): it
 * reaches the page only as JSON inside <script type="application/json">, with
 * '<', '>', '&', U+2028 and U+2029 escaped, and the page's script shows it as
 * text (DOM text nodes), never as markup.  A Content-Security-Policy forbids
 * any network access.
 */
#ifndef XTRK_REPORT_H
#define XTRK_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/oid.h"
#include "xtrk/repo.h"

/* Above this many points a line is drawn from min/max buckets. */
#define XTRK_REPORT_DISPLAY_POINTS 10000
/*
 * The points the file keeps, all runs together: each run keeps every logged point up to its share
 * (this divided by the number of runs); past it, its long lines as the lowest and highest point of
 * each stretch of steps.
 */
#define XTRK_REPORT_FILE_POINTS 2000000

typedef struct {
	/* The runs: these (in this order) when nruns > 0; else the index's, of `experiment` (NULL: all),
	 * those matching `where` (the query language of xtrk/query.h; NULL: all), newest first. */
	const xtrk_oid *runs;
	size_t nruns;
	const char *experiment;
	const char *where;
	/* Table columns, comma-separated field names as `log --columns` takes them; NULL: id, experiment,
	 * started, status, tags, message, then every param and metric. */
	const char *columns;
	const char *title;     /* NULL: "xtrk report" */
	size_t display_points; /* 0: XTRK_REPORT_DISPLAY_POINTS */
	size_t file_points;    /* 0: XTRK_REPORT_FILE_POINTS; SIZE_MAX: every point */
} xtrk_report_options;

/**
 * The report's data as JSON (the page's shape: "columns", "runs", "metrics",
 * "series"; series packed as base64 little-endian arrays).  A run whose step
 * series cannot be read is shown without it, with a warning naming it.
 * XTRK_EINVALID for a bad column name or query; XTRK_ENOTFOUND for a run the
 * index lacks.
 */
int xtrk_report_data(json_t **out, xtrk_repo *repo, const xtrk_report_options *o);

/** The whole HTML page for `data` (as xtrk_report_data gives it), appended to `out`. */
int xtrk_report_render(xtrk_buf *out, json_t *data);

/** Both: the page of the runs `o` selects. */
int xtrk_report_html(xtrk_buf *out, xtrk_repo *repo, const xtrk_report_options *o);

/**
 * Append `data` as JSON safe to stand inside an HTML <script> element: '<',
 * '>', '&' written \u003c, \u003e, \u0026, and every non-ASCII character as
 * \uXXXX (U+2028 and U+2029 among them).
 */
int xtrk_report_json_for_html(xtrk_buf *out, json_t *data);

#endif
