/*
 * The query language of `log --where` and `export --where`:
 *
 *   expr    := expr or expr | expr and expr | not expr | ( expr ) | cmp | operand
 *   cmp     := operand OP operand       OP: == != < <= > >= ~ contains
 *   operand := FIELD | "string" | 'string' | number | true | false | null
 *
 * FIELD is a dotted path into a run as the index flattens it: params.lr,
 * metrics.acc, env.gpus.0.cuda, datasets.train.id, source.dirty, tags.
 * Numbers compare as numbers and strings as strings (bytewise, so RFC 3339
 * times compare in time order); values of different types are never equal.
 * A field a run lacks makes a comparison false.  An ID or commit compared
 * with a string of at least 4 hex digits matches by prefix, as revisions
 * do.  `contains` is true when an array or object field holds the value, or
 * a string field holds the substring; `~` matches a POSIX extended regular
 * expression.  Precedence: not, then and, then or.
 */
#ifndef XTRK_QUERY_H
#define XTRK_QUERY_H

#include <stddef.h>

#include "xtrk/index.h"

typedef struct xtrk_query xtrk_query;

/**
 * Parse an expression.  On a syntax error: XTRK_EINVALID, a message that
 * starts "column N:", and `*column` set to N (1-based).
 */
int xtrk_query_parse(xtrk_query **out, const char *expr, size_t *column);
/** Resolve the query's fields against an index (once, before matching). */
int xtrk_query_bind(xtrk_query *q, xtrk_index *ix);
/** 1 when run `i` of the bound index matches. */
int xtrk_query_match(const xtrk_query *q, const xtrk_index *ix, size_t i);
void xtrk_query_free(xtrk_query *q);

/** Compare two values as the query language does for `<` (for sorting): <0, 0, >0. */
int xtrk_value_cmp(const xtrk_value *a, const xtrk_value *b);

#endif
