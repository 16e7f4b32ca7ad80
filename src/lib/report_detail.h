/* What the report's per-run views need beyond the table: the run's details for the comparison and its lineage. */
#ifndef XTRK_REPORT_DETAIL_H
#define XTRK_REPORT_DETAIL_H

#include <jansson.h>

#include "xtrk/repo.h"

/** Add to the page's `row` of a run what its views show, read from its record `rec`. */
int report_run_detail(json_t *row, xtrk_repo *repo, json_t *rec);

#endif
