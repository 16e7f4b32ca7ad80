/*
 * Parameters and metrics: typed values from the command line, JSON and YAML
 * documents, and JSON-lines step series.  Errors name the file and line.
 */
#ifndef XTRK_PARAMS_H
#define XTRK_PARAMS_H

#include <stddef.h>
#include <jansson.h>

/**
 * How deep params and metrics may nest: a document (JSON or YAML), a -p key
 * (a.b.c is three levels) together with its value, and a run record's params
 * and metrics.  Deeper input is refused (XTRK_EINVALID) before anything walks
 * it, so no reader recurses without bound.
 */
#define XTRK_MAX_NESTING 64

/**
 * Load a JSON or YAML document (by extension: .json is JSON, .yaml/.yml is
 * YAML, anything else is tried as JSON, then YAML).  Duplicate keys are an
 * error.  The top level must be a mapping, nested at most XTRK_MAX_NESTING
 * levels.  A number too large for a double (1e400) is an error naming its key
 * in either format; so are YAML's .inf and .nan, which JSON cannot hold.
 */
int xtrk_doc_load(json_t **out, const char *path);

/**
 * XTRK_EINVALID naming `what` when `v` nests deeper than `limit` levels (a
 * scalar is 0 levels, {"a": 1} one); 0 otherwise.  Walks at most `limit`+1 deep.
 */
int xtrk_json_check_depth(const json_t *v, int limit, const char *what);

/** Parse a JSON or YAML document held in memory; `name` picks the format and names it in messages. */
int xtrk_doc_parse(json_t **out, const char *text, size_t len, const char *name);

/** Parse YAML text (one document) to JSON; `name` is used in messages. */
int xtrk_yaml_parse(json_t **out, const char *text, size_t len, const char *name);

/** A command-line value as JSON: any JSON value (number, true, [1, 2], {"a": 1}...), or else a string. */
json_t *xtrk_value_parse(const char *text);

/**
 * A number as Python's float() reads it ("0.97", ".97", "1.", "+1", "1e3", "1_000", surrounding
 * white space): a JSON integer when written without '.' or exponent and within 64 bits, else a real.
 * NULL with XTRK_EINVALID set for anything else, for "inf", "nan" and for numbers too large for a double.
 */
json_t *xtrk_number_parse(const char *text);

/**
 * Set `dotted` (a.b.c) in the nested object `obj` (stealing `value`).
 * XTRK_EINVALID when the key is already set ("given twice"), or when the key's
 * levels and the value's together nest deeper than XTRK_MAX_NESTING; `origin`
 * names where the value came from in that message.
 */
int xtrk_json_set_path(json_t *obj, const char *dotted, json_t *value, const char *origin);

/** Merge `src` into `dst` deeply; a leaf present in both is XTRK_EINVALID. */
int xtrk_json_merge_strict(json_t *dst, json_t *src, const char *origin);

/**
 * Lay `layer` over `dst`: each leaf of `layer` (a.b.c) replaces what `dst`
 * holds at that path.  `origins` maps each flattened key of `dst` to where its
 * value came from and is kept up to date (the new values come from `by`);
 * each value replaced by a different one is recorded in `overridden` as
 * key -> {"was": old value, "from": its origin or null, "by": by}.
 */
int xtrk_json_overlay(json_t *dst, json_t *layer, const char *by, json_t *origins, json_t *overridden);

/** Flatten nested objects into one level with dotted keys (new reference). */
json_t *xtrk_json_flatten(json_t *nested);

/**
 * Read a step series (`.jsonl`): one object per line with an integer "step"
 * and numeric values.  `*finals` gets the last value of each key.  With
 * `lenient`, malformed lines are skipped and counted in `*bad_lines` (the
 * first one's message stays in the last error); otherwise the first is an
 * error naming the line.
 */
int xtrk_series_load(json_t **finals, size_t *points, size_t *bad_lines, const char *path, int lenient);

#endif
