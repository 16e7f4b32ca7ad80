/*
 * Numbers and JSON text as xtrk writes them, everywhere: in stored runs,
 * in bundles and run books, and in what the program prints (tables, CSV,
 * JSON).  A double is always written as the shortest text that reads back
 * as the same double, so 0.1 is "0.1" and 0.07018546015024185 keeps all
 * its digits.  Use these instead of printf's %g and json_dumps.
 */
#ifndef XTRK_JSON_H
#define XTRK_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "xtrk/buf.h"

/** Room for any text xtrk_double_format writes, with its NUL. */
#define XTRK_DOUBLE_BUFSZ 32

/**
 * Write `v` as the shortest of %.15g, %.16g and %.17g that strtod reads back
 * as exactly `v`, with the exponent as JSON writers spell it ("1e22",
 * "1e-300": no '+', no leading zeros).  An integral value prints without a
 * fraction ("3"); NaN and infinities as "nan", "inf", "-inf" (JSON has none).
 * Returns the length.
 */
size_t xtrk_double_format(char out[XTRK_DOUBLE_BUFSZ], double v);

/** Append xtrk_double_format's text for `v`; 0 or XTRK_ERROR (out of memory). */
int xtrk_buf_put_double(xtrk_buf *out, double v);

/* Flags for the writers below: jansson's JSON_INDENT(n), JSON_COMPACT,
 * JSON_SORT_KEYS, JSON_ENCODE_ANY and JSON_ESCAPE_SLASH, with the same
 * layout json_dumps gives them; JSON_REAL_PRECISION is ignored (reals are
 * always shortest round-trip, with ".0" added to an integral real so that it
 * reads back as a real). */

/** Stored records: one line, keys sorted. */
#define XTRK_JSON_STORE (JSON_COMPACT | JSON_SORT_KEYS)
/** For people and tools: indented by two, keys sorted. */
#define XTRK_JSON_PRETTY (JSON_INDENT(2) | JSON_SORT_KEYS)

/** Append `v` as JSON text; 0, or XTRK_ERROR (out of memory, a scalar without JSON_ENCODE_ANY, nesting too deep). */
int xtrk_json_dump_buf(xtrk_buf *out, const json_t *v, size_t flags);

/** `v` as JSON text in a new string (free() it), or NULL, like json_dumps. */
char *xtrk_json_dumps(const json_t *v, size_t flags);

#endif
