/*
 * The columns of a run table (log --columns, export's CSV, the report's
 * table): which fields, and a run's value for each as a cell.
 *
 * A column is a field name in its written form (xtrk/index.h): "id",
 * "params.lr", "models[model.pt].bytes".  A column that names a list or an
 * object (tags, params, params.opt) shows what is below it.
 */
#ifndef XTRK_COLUMNS_H
#define XTRK_COLUMNS_H

#include <stddef.h>

#include <jansson.h>

#include "xtrk/buf.h"
#include "xtrk/index.h"

/** An ordered set of column names, each once; with their index keys once bound. */
typedef struct xtrk_columns xtrk_columns;

int xtrk_columns_new(xtrk_columns **out);
void xtrk_columns_free(xtrk_columns *c);

size_t xtrk_columns_count(const xtrk_columns *c);
const char *xtrk_columns_name(const xtrk_columns *c, size_t i);

/** Add column `name` (`len` bytes, already in its written form) unless the set has it. */
int xtrk_columns_add(xtrk_columns *c, const char *name, size_t len);

/**
 * Add the columns of a --columns list: names separated by commas outside brackets (params[a,b]
 * is one name), each in its written form; empty names are skipped.  XTRK_EINVALID naming a bad
 * name (an empty part, a bracket not closed, a character that needs brackets).
 */
int xtrk_columns_parse(xtrk_columns *c, const char *list);

/* xtrk_columns_add_defaults: every field the runs have, not only params and metrics... */
#define XTRK_COLUMNS_ALL 1u
/* ... the environment's packages (env.python.packages.*) included. */
#define XTRK_COLUMNS_PACKAGES 2u

/**
 * The default columns for runs `sel[0..n)` of `ix`: the names of NULL-terminated `leading`, then
 * every param and metric any of the runs has, sorted by name.  With XTRK_COLUMNS_ALL every field
 * any of them has instead, the environment's packages (hundreds, and the same for most runs) only
 * with XTRK_COLUMNS_PACKAGES too.
 */
int xtrk_columns_add_defaults(xtrk_columns *c, xtrk_index *ix, const size_t *sel, size_t n,
	const char *const *leading, unsigned flags);

/** Resolve every column's key in `ix` (again after adding columns); the index must outlive the set's use. */
int xtrk_columns_bind(xtrk_columns *c, xtrk_index *ix);
/** Column `i`'s key from the last xtrk_columns_bind, NULL before. */
const xtrk_index_key *xtrk_columns_key(const xtrk_columns *c, size_t i);

/** A value as cell text: a string as it is, true/false, a number as the shortest text that reads back exactly; null as nothing. */
int xtrk_value_text(xtrk_buf *out, const xtrk_value *v);

/* xtrk_cell_text: the run's ID as its first 12 characters (a table for the terminal). */
#define XTRK_CELL_SHORT_ID 1u

/**
 * Append run `i`'s value for column `col` (its key `k`, from xtrk_index_key_new or
 * xtrk_columns_key) to `out` as text: "id" and "experiment" from the index's entry, a field's
 * value by xtrk_value_text, a list or object column (tags from the refs, as the index read them)
 * as what is below it, comma-separated, an object's fields as name=value (a list's values
 * alone).  Returns 1 when the run has a value there (a null one included), 0 when not (nothing
 * appended).
 */
int xtrk_cell_text(xtrk_buf *out, const xtrk_index *ix, size_t i, const char *col, const xtrk_index_key *k,
	unsigned flags);

/**
 * The cell as JSON (the report's table, which sorts numbers as numbers): a number as a number,
 * null when the run has no value there or a null one, anything else as xtrk_cell_text's text;
 * "tags" always as text ("" for none).  NULL on no memory.
 */
json_t *xtrk_cell_json(const xtrk_index *ix, size_t i, const char *col, const xtrk_index_key *k);

#endif
