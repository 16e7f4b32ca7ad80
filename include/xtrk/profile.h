/*
 * Data profiles: one streaming pass over a table (CSV, TSV, JSON Lines or a
 * NumPy .npy array) summarises each column in bounded memory, whatever the
 * file's size, so that runs can be compared for drift and their datasets
 * checked for shared rows (leakage).
 *
 * A profile is a JSON object:
 *   {"format": 1, "kind": "csv"|"tsv"|"jsonl"|"npy", "bytes": N, "rows": N,
 *    "complete": true|false, "ragged_rows": N, "bad_lines": N,
 *    "problems": ["line 7: ...", ...],          (at most XTRK_PROFILE_MAX_PROBLEMS)
 *    "columns_total": N,                         (columns past XTRK_PROFILE_MAX_COLUMNS are not profiled)
 *    "columns": [{"name", "type": "number"|"string"|"bool"|"empty", "count", "missing",
 *                 "types": {"number", "string", "bool"},
 *                 "min", "max", "mean", "std",             (numbers only)
 *                 "infinite": N,                           (npy floats: infinities, not in the stats)
 *                 "sketch": {"k", "n", "levels": [[...], ...]},   (KLL quantile sketch)
 *                 "histogram": {"edges": [...], "counts": [...]},
 *                 "quantiles": {"p01","p25","p50","p75","p99"},
 *                 "distinct": N,                           (HyperLogLog estimate)
 *                 "top": [{"value", "count", "error"}, ...],  (space-saving, string and bool columns)
 *                 "top_complete": true|false,               (true: top holds every value, exactly)
 *                 "top_floor": N}],                         (when not: a value not in top was seen at most N times)
 *    "fingerprints": {"complete": true|false, "threshold": "16 hex",
 *                     "hashes": "16 hex per row, ascending", "lines": [line of each]},
 *                                                (absent when rows could not be fingerprinted)
 *    "dtype", "shape": [...], "fortran_order"}   (npy only; see profile_npy.c)
 *
 * Row fingerprints are XXH3-64 of the row's fields, each trimmed of blanks,
 * joined by 0x1f (a JSON Lines row: its object with sorted keys).  All
 * distinct fingerprints are kept up to XTRK_PROFILE_MAX_FINGERPRINTS; past
 * that only those at or below a threshold (halved as often as needed) are
 * kept: a sample that is the same for every file, so two samples still
 * estimate the overlap of the full sets.
 */
#ifndef XTRK_PROFILE_H
#define XTRK_PROFILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "xtrk/buf.h"
#include "xtrk/repo.h"

#define XTRK_PROFILE_FORMAT 1
#define XTRK_PROFILE_MAX_COLUMNS 256          /* columns profiled; the rest are counted only */
#define XTRK_PROFILE_MAX_FIELD (1u << 20)     /* bytes in one field, or one JSON Lines line */
#define XTRK_PROFILE_MAX_FINGERPRINTS 65536u  /* row fingerprints kept before sampling */
#define XTRK_PROFILE_MAX_PROBLEMS 20
#define XTRK_PROFILE_TOP 16                   /* values tracked per column for "top" */
#define XTRK_PROFILE_BINS 20                  /* histogram bins */
#define XTRK_PROFILE_DEFAULT_MAX_BYTES (1ull << 30)

/* ---- the sketches (exposed for tests) ---- */

/** A KLL quantile sketch: mergeable, at most k values a level. */
typedef struct xtrk_kll xtrk_kll;
xtrk_kll *xtrk_kll_new(unsigned k);
void xtrk_kll_free(xtrk_kll *s);
int xtrk_kll_add(xtrk_kll *s, double v);
/** Add every value `from` holds into `into`. */
int xtrk_kll_merge(xtrk_kll *into, const xtrk_kll *from);
uint64_t xtrk_kll_count(const xtrk_kll *s);
/** Values held now (the memory bound: at most k per level). */
size_t xtrk_kll_retained(const xtrk_kll *s);
/** The estimated fraction of values <= x. */
double xtrk_kll_cdf(const xtrk_kll *s, double x);
/** The estimated q-quantile (0 <= q <= 1); NaN when empty. */
double xtrk_kll_quantile(const xtrk_kll *s, double q);
/** The Kolmogorov-Smirnov statistic: the largest gap between the two CDFs. */
double xtrk_kll_ks(const xtrk_kll *a, const xtrk_kll *b);
json_t *xtrk_kll_to_json(const xtrk_kll *s);
/** NULL (error set) when `j` is not a sketch as xtrk_kll_to_json writes it. */
xtrk_kll *xtrk_kll_from_json(const json_t *j);

/** A HyperLogLog distinct-count estimator (2^12 registers). */
typedef struct { uint8_t reg[4096]; } xtrk_hll;
void xtrk_hll_add(xtrk_hll *h, uint64_t hash);
double xtrk_hll_estimate(const xtrk_hll *h);

/* ---- profiles ---- */

/** "csv", "tsv", "jsonl" or "npy" when `path`'s name ends so; NULL for any other file. */
const char *xtrk_profile_kind(const char *path);

/**
 * Profile the file at `path` (its kind from its name; `kind` NULL) in one pass.
 * What does not parse (a broken quote, binary data, a line that is no JSON
 * object, a ragged row) is named by line in the profile's "problems" and in
 * a warning each (up to XTRK_PROFILE_MAX_PROBLEMS), `label` naming the file
 * there; the profile still counts what was read.  < 0 only when the file
 * cannot be read or memory runs out.
 */
int xtrk_profile_file(json_t **out, const char *path, const char *kind, const char *label);

/** The profile blob `hex` from the store, checked to be a profile. */
int xtrk_profile_load(json_t **out, xtrk_repo *repo, const char *hex);

/**
 * The profiles of run `rec`'s datasets: [{"name", "path", "profile"}], those
 * with none left out.  A profile that cannot be read gets a warning.
 */
int xtrk_profile_run(json_t **out, xtrk_repo *repo, json_t *rec);

/**
 * The profiles `arg` names: a table file (profiled now, named by its file
 * name) when a file of that name exists, else a run (`repo` needed) and the
 * profiles of its datasets.  [{"name", "path", "profile"}]; XTRK_EINVALID for
 * a file that is not a table xtrk profiles.
 */
int xtrk_profile_target(json_t **out, xtrk_repo *repo, const char *arg);

/** One line about a profile: "1000 rows, 5 columns, 12 missing values, 1 problem". */
void xtrk_profile_summary(xtrk_buf *out, const json_t *profile);

/** Drift limits; a change over any is flagged. */
typedef struct {
	double psi;           /* population stability index ([drift] psi, 0.2) */
	double ks;            /* Kolmogorov-Smirnov statistic ([drift] ks, 0.1) */
	double missing;       /* change in the missing rate ([drift] missing, 0.05) */
	int new_categories;   /* flag values of a string column the base's top values lack ([drift] newCategories, true) */
} xtrk_drift_limits;

/** The limits from `[drift]` in the repository's config, defaults for those unset. */
int xtrk_drift_limits_load(xtrk_drift_limits *out, xtrk_repo *repo);

/**
 * Compare profile `cur` with `base`, column by column (matched by name):
 * {"columns": [{"name", "type", "psi", "ks", "missing_base", "missing", "missing_change",
 *   "new_categories": [...], "over": ["psi", ...]}], "missing_columns": [...],
 *   "new_columns": [...], "over": N}; "over" counts the columns over a limit and
 * those the base has and `cur` lacks ("missing_columns": dropped).  A value
 * is a new category when the base's top values are complete and lack it, or,
 * when they are not, when its share of `cur` is surely more than any value
 * the base's top left out could have had.
 */
int xtrk_profile_drift(json_t **out, const json_t *base, const json_t *cur, const xtrk_drift_limits *lim);

/** Which dataset names are training and evaluation data ([leakage] train, eval; comma-separated globs). */
typedef struct {
	char train[256];
	char eval[256];
} xtrk_leakage_names;
int xtrk_leakage_names_load(xtrk_leakage_names *out, xtrk_repo *repo);
/** 1 when `name` matches one of the comma-separated globs `globs`. */
int xtrk_leakage_name_match(const char *globs, const char *name);

/**
 * Rows shared between training and evaluation datasets of `profiles`
 * ([{"name", "profile"}]): [{"train", "eval", "shared", "exact", "examples":
 * [{"fingerprint", "train_line", "eval_line"}]}], one per pair.  "exact" is
 * false when a side was sampled and "shared" an estimate.
 */
int xtrk_profile_leakage(json_t **out, const json_t *profiles, const xtrk_leakage_names *names);

#endif
