/* Reading values out of run JSON for tables and CSV (shared by log and show). */
#ifndef XTRK_CLI_RUNFMT_H
#define XTRK_CLI_RUNFMT_H

#include <jansson.h>
#include "xtrk/buf.h"

/** The value at a dotted path ("params.lr", "metrics.acc", "env.gpus.0.name"); borrowed, or NULL. */
json_t *runfmt_lookup(json_t *run, const char *path);
/** A scalar as text for a table cell ("" for null or absent; compact JSON for containers). */
void runfmt_cell(xtrk_buf *out, json_t *v);
/** Append `s` as one CSV field (quoted when it needs to be). */
void runfmt_csv_field(xtrk_buf *out, const char *s);

#endif
