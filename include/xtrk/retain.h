/*
 * Retention rules: which runs the `[retain]` section of `.xtrk/config` says
 * may go (xtrk-retain(1)).
 *
 *   [retain]                  every experiment
 *       last = 20             keep the 20 newest runs of each experiment; older ones are candidates
 *       best = 3              keep the 3 best runs of each experiment by a metric...
 *       metric = acc          ...metrics.acc, a number (a run lacking it is never "best")
 *       order = max           ...max: higher is better; min: lower is better
 *       failedDays = 7        a failed run older than 7 days is a candidate
 *       tagged = true         keep tagged runs (default true)
 *       noted = true          keep runs with notes, the record's or appended (default true)
 *       staged = true         keep staged runs (default true)
 *   [retain "EXP"]            the same keys, for experiment EXP only; "off" cancels one
 *
 * How the rules combine: a run is removed only if some rule makes it a
 * candidate (it is beyond the last N of its experiment, or it failed more
 * than D days ago) and no keep rule keeps it (it is one of the last N, one of
 * the best N, tagged, noted or staged).  Keep rules always win.  A run listed
 * in several experiments is judged in each, with that experiment's rules:
 * it goes only when it is a candidate in one and kept in none.  Without a
 * `last` or `failedDays` rule nothing is ever a candidate.
 *
 * Removal is `xtrk rm`'s (xtrk_run_remove): reversible until gc expires the
 * removed run.  Nothing here runs unless asked (xtrk retain, gc --retain).
 */
#ifndef XTRK_RETAIN_H
#define XTRK_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "xtrk/oid.h"
#include "xtrk/repo.h"

typedef struct {
	xtrk_oid run;
	char experiment[256];  /* the experiment whose rules make it a candidate (the first, by name) */
	char **reasons;        /* why it is a candidate, one sentence each */
	size_t nreasons;
	char **not_kept;       /* each keep rule in force, and why it does not keep the run */
	size_t nnot_kept;
} xtrk_retain_item;

typedef struct {
	xtrk_retain_item *items;  /* the runs the rules remove, newest first */
	size_t n;
	size_t runs;              /* runs considered */
	size_t kept_by_rule;      /* runs a keep rule kept although some rule made them candidates */
	int configured;           /* 1 when the config has a [retain] rule at all */
} xtrk_retain_plan;

/**
 * Read and check the [retain] rules of the store's config.  XTRK_EINVALID
 * naming the key and what is wrong (an unknown key, a value out of range,
 * `best` without `metric` and `order`, a section for a name that cannot be an
 * experiment).  Nothing is read but the config.
 */
int xtrk_retain_config_check(xtrk_repo *repo);

/**
 * What the rules would remove, judged at time `now` (unix seconds), with the
 * reasons.  The config is checked first (as above); the runs are read from
 * the index.  Changes nothing.  Free with xtrk_retain_plan_dispose.
 */
int xtrk_retain_plan_make(xtrk_retain_plan *out, xtrk_repo *repo, int64_t now);
void xtrk_retain_plan_dispose(xtrk_retain_plan *plan);

/**
 * Remove the plan's runs with xtrk_run_remove.  A run no longer listed (removed
 * meanwhile) is skipped.  `done` (may be NULL) is called after each run removed;
 * `*removed` (may be NULL) counts them.
 */
int xtrk_retain_apply(size_t *removed, xtrk_repo *repo, const xtrk_retain_plan *plan,
	void (*done)(const xtrk_retain_item *item, void *payload), void *payload);

#endif
