/* What the report's per-run views need beyond the table: the run's details for the comparison and its lineage. */
#ifndef XTRK_REPORT_DETAIL_H
#define XTRK_REPORT_DETAIL_H

#include <jansson.h>

#include "xtrk/repo.h"

/** The most of one patch the page holds; a longer one is cut there, with a note. */
#define XTRK_REPORT_PATCH_MAX (256 * 1024)

/**
 * Add to the page's `row` of a run what its views show, read from its record `rec`:
 *   "parents": [run ID...] (the record's parent), "parent_via": ["parent"...] (why, in the same order),
 *   "detail": {"params": {flattened}, "metrics": {flattened},
 *              "data": [{"group", "name", "path", "kind", "id", "bytes"}],
 *              "env": {"os", "cpu", "memory", "gpus", "python", "packages" (a count), "host", "container", "xtrk"},
 *              "source": {"repository", "commit", "branch", "dirty", "patch" (its ID or null)}}
 * The environment's package list is kept aside for report_detail_finish.
 */
int report_run_detail(json_t *row, xtrk_repo *repo, json_t *rec);

/**
 * Once every row is in `data`: each distinct patch and package list stored once, in
 * data.patches (patch ID -> {"bytes", "text", "cut", "replaced", "error"}) and data.packages
 * (key -> {name: version}, named from the rows by detail.env.packages_set), and the parents a
 * run has through data among the report's runs (a model or artifact of one that is a dataset
 * of the other) added to its "parents" with "parent_via" "dataset NAME".
 */
int report_detail_finish(json_t *data, xtrk_repo *repo);

#endif
