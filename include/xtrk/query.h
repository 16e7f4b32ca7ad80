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
 * a string field holds the substring; `~` matches a regular expression
 * (PCRE2 syntax, of which POSIX extended syntax is a part; bytes, '.' matches
 * a newline, '$' only the end).  Precedence: not, then and, then or.
 *
 * Bounds, so that no expression costs without limit: parentheses and `not`
 * nest at most XTRK_QUERY_MAX_DEPTH deep, an expression holds at most
 * XTRK_QUERY_MAX_TERMS fields and values, a regular expression is at most
 * XTRK_QUERY_MAX_PATTERN bytes, each match backtracks a bounded number of
 * steps (XTRK_QUERY_MATCH_LIMIT) in bounded memory (XTRK_QUERY_HEAP_KIB),
 * and all matches of one query take at most XTRK_QUERY_MAX_SECONDS.  Going
 * over a bound is XTRK_EINVALID, never a silent non-match.
 */
#ifndef XTRK_QUERY_H
#define XTRK_QUERY_H

#include <stddef.h>

#include "xtrk/index.h"

#define XTRK_QUERY_MAX_DEPTH 64
#define XTRK_QUERY_MAX_TERMS 4096
#define XTRK_QUERY_MAX_PATTERN 1024
#define XTRK_QUERY_MATCH_LIMIT 1000000
#define XTRK_QUERY_HEAP_KIB 65536
#define XTRK_QUERY_MAX_SECONDS 10

typedef struct xtrk_query xtrk_query;

/**
 * Parse an expression.  On a syntax error: XTRK_EINVALID, a message that
 * starts "column N:", and `*column` set to N (1-based).
 */
int xtrk_query_parse(xtrk_query **out, const char *expr, size_t *column);
/** Resolve the query's fields against an index (once, before matching). */
int xtrk_query_bind(xtrk_query *q, xtrk_index *ix);
/**
 * 1 when run `i` of the bound index matches, 0 when not; XTRK_EINVALID when
 * a regular expression goes over its bounds (then every later call fails too).
 */
int xtrk_query_match(xtrk_query *q, const xtrk_index *ix, size_t i);
void xtrk_query_free(xtrk_query *q);

/** Compare two values as the query language does for `<` (for sorting): <0, 0, >0. */
int xtrk_value_cmp(const xtrk_value *a, const xtrk_value *b);

/** Call `cb` for each field the query names, with its key once bound (NULL before); non-zero stops. */
int xtrk_query_each_field(const xtrk_query *q, int (*cb)(const char *field, const xtrk_index_key *key, void *payload),
	void *payload);

/**
 * 1 when run `run` of `repo` matches `expr`, 0 when not (nor when the index
 * lacks the run).  A syntax error is XTRK_EINVALID, its message prefixed with
 * `what` (where the expression came from: "gate.require in .xtrk/config").
 */
int xtrk_query_run_matches(xtrk_repo *repo, const xtrk_oid *run, const char *expr, const char *what);

#endif
