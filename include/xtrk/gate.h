/*
 * The CI gate: the rules of [gate] in .xtrk/config judged against a run and,
 * for the rules that compare, a baseline run; a verdict per rule.
 *
 *   [gate "min"]      acc = 0.75         metrics.acc >= 0.75
 *   [gate "max"]      loss = 0.5         metrics.loss <= 0.5
 *   [gate "regress"]  acc = 0.01         at most 0.01 worse than the baseline's acc;
 *                     loss = 5%          ...or 5% of the baseline's value (needs a baseline)
 *   [gate "order"]    loss = min         which way is better for regress (min: lower is better)
 *   [gate]
 *       params = lr, epochs   params that may differ from the baseline's (comma-separated
 *                             globs over dotted names); any other change fails, named
 *       require = EXPR        a --where expression the run must match (the key may repeat)
 *       leakage = true        no training and evaluation datasets share rows
 *       drift = true          no column of a dataset drifts against the baseline's ([drift] limits)
 *       against = REV         the baseline when none is given
 *
 * A metric's direction for regress: [gate "order"] when set, else max
 * (higher is better) when a [gate "min"] names the metric and min when a
 * [gate "max"] does, else min for names that speak of loss, error, mse,
 * mae, rmse, perplexity, latency, time or duration, and max for any other.
 * Metric names match case-insensitively (config variable names are), nested
 * metrics by their dotted name; `metrics.` before a name is allowed
 * ([gate "regress.metrics"] acc = 0.01 is the same rule).
 *
 * Rules that compare (regress, params, drift) need a baseline: regress and
 * params fail without one; drift is then not judged.  A limit that is not a
 * number fails its rule; a key [gate] does not know, a `require` that does
 * not parse and an unknown order are XTRK_EINVALID.
 */
#ifndef XTRK_GATE_H
#define XTRK_GATE_H

#include <jansson.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"

/**
 * The baseline `against` names for run record `rec`: "stage:NAME" is the run
 * currently in stage NAME of `rec`'s experiment (the one moved there last
 * when several are); any other text is a revision (an ID, a tag, an
 * experiment...) and, when no run goes by it, a stage as above.  `against`
 * NULL: gate.against from the config, when set.  1 with `*out` set, 0 when no
 * baseline is asked for, < 0 (XTRK_ENOTFOUND or XTRK_EINVALID, saying what
 * was looked for) when the baseline cannot be resolved.
 */
int xtrk_gate_base(xtrk_oid *out, xtrk_repo *repo, const json_t *rec, const char *against);

/**
 * Judge run `run` by the rules of [gate], against `base` (NULL: none):
 * {"run", "base" (or null), "ok", "failed": N, "rules": [{"rule", "kind", "ok",
 * "message"}]}, kind one of min, max, regress, params, require, leakage,
 * drift.  Verdicts are data: a failing rule is not an error.
 */
int xtrk_gate_check(json_t **out, xtrk_repo *repo, const xtrk_oid *run, const xtrk_oid *base);

#endif
