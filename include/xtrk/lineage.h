/*
 * Lineage: the graph that links runs through their data.  A run's datasets
 * are its inputs, its models and artifacts its outputs; an output whose ID
 * is another run's dataset joins the two, so the graph runs from raw data
 * through every run that transformed it to the final model.
 */
#ifndef XTRK_LINEAGE_H
#define XTRK_LINEAGE_H

#include <jansson.h>

#include "xtrk/index.h"
#include "xtrk/repo.h"

enum { XTRK_LINEAGE_UP = 1, XTRK_LINEAGE_DOWN = 2 };

/**
 * The graph around `target` (a run revision, a data or model ID or a unique
 * prefix of one, or a path in the workspace, hashed as it is now), following
 * edges upstream, downstream or both (`dirs`).  `*out` is
 *   {"target": {"kind", "id"},
 *    "nodes": [{"id", "kind": "run"|"data", "label", ...}],
 *    "edges": [{"from", "to", "role": "input"|"output", "name", "path"}]}
 */
int xtrk_lineage(json_t **out, xtrk_repo *repo, xtrk_index *ix, const char *target, int dirs);

#endif
