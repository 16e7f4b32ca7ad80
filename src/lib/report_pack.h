/*
 * The report's step series, packed for the page: every line (one run's one
 * metric) as its logged points, or, past a budget of points per run, as the
 * lowest and highest point of each stretch of consecutive steps (so no spike
 * disappears); all lines in one binary block, compressed (zlib) and written
 * as base64, which the page inflates with the browser's DecompressionStream.
 *
 * A line is described by {"o": byte offset, "n": points kept, "of": points
 * logged, "st": steps' type, "vt": values' type} where the steps are "d4"
 * (the first step, then the differences, as int32) or "f8", and the values
 * "i4" (int32), "f4" (float32, when each reads back exactly) or "f8".  Each
 * array is stored byte-plane by byte-plane (all first bytes, then all second
 * bytes, little-endian), which compresses better.  What is kept is exact.
 */
#ifndef XTRK_REPORT_PACK_H
#define XTRK_REPORT_PACK_H

#include <stddef.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/series.h"

typedef struct report_pack report_pack;

/** A pack in which each run's lines keep `run_points` points in all at most (SIZE_MAX: every point). */
int report_pack_new(report_pack **out, size_t run_points);

/** Add a run's series: `*out` is {METRIC: line description} for each metric that has points. */
int report_pack_series(json_t **out, report_pack *p, const xtrk_series *s);

/** The packed block: compressed, as base64, appended to `b64`; its size before compression in `*raw`. */
int report_pack_finish(xtrk_buf *b64, size_t *raw, report_pack *p);

void report_pack_free(report_pack *p);

/** Append base64 of `n` bytes. */
int report_put_base64(xtrk_buf *out, const unsigned char *p, size_t n);

#endif
