/* Numbers as shortest round-trip text, and a JSON writer that uses it (jansson's layout otherwise). */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"

/* Deeper than any document the parsers accept (jansson stops at 2048). */
#define MAX_DEPTH 4096

size_t xtrk_double_format(char out[XTRK_DOUBLE_BUFSZ], double v)
{
	char *e;
	int n = 0;

	if (isnan(v))
		return (size_t)snprintf(out, XTRK_DOUBLE_BUFSZ, "nan");
	if (isinf(v))
		return (size_t)snprintf(out, XTRK_DOUBLE_BUFSZ, v < 0 ? "-inf" : "inf");
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(out, XTRK_DOUBLE_BUFSZ, "%.*g", prec, v);
		if (prec == 17 || strtod(out, NULL) == v)
			break;
	}
	/* "1e+22" -> "1e22", "1e-05" -> "1e-5", as JSON writers spell exponents. */
	if ((e = strchr(out, 'e'))) {
		char *digits = e + 1, *from;
		if (*digits == '+')
			memmove(digits, digits + 1, strlen(digits));
		else if (*digits == '-')
			digits++;
		for (from = digits; from[0] == '0' && from[1]; from++)
			;
		if (from != digits)
			memmove(digits, from, strlen(from) + 1);
		n = (int)strlen(out);
	}
	return (size_t)n;
}

int xtrk_buf_put_double(xtrk_buf *out, double v)
{
	char text[XTRK_DOUBLE_BUFSZ];
	size_t n = xtrk_double_format(text, v);
	return xtrk_buf_put(out, text, n);
}

/* A string as jansson escapes it: quote, backslash and control characters (\uXXXX); '/' on request. */
static void put_string(xtrk_buf *out, const char *s, size_t len, size_t flags)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	xtrk_buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];
		if (c >= 0x20 && c != '"' && c != '\\' && !(c == '/' && (flags & JSON_ESCAPE_SLASH)))
			continue;
		xtrk_buf_put(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '/': esc = "\\/"; break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			u[6] = '\0';
			esc = u;
		}
		xtrk_buf_puts(out, esc);
	}
	xtrk_buf_put(out, s + run, len - run);
	xtrk_buf_putc(out, '"');
}

/* A line break and indentation when indenting; else a space where jansson puts one (not when compact). */
static void put_indent(xtrk_buf *out, size_t flags, int depth, int space)
{
	int n = (int)(flags & JSON_MAX_INDENT);
	if (n > 0) {
		xtrk_buf_putc(out, '\n');
		for (int i = 0; i < depth * n; i++)
			xtrk_buf_putc(out, ' ');
	} else if (space && !(flags & JSON_COMPACT)) {
		xtrk_buf_putc(out, ' ');
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dump(xtrk_buf *out, const json_t *v, size_t flags, int depth)
{
	char num[XTRK_DOUBLE_BUFSZ + 2];

	if (depth > MAX_DEPTH)
		return xtrk_error_set(XTRK_ERROR, "JSON nested more than %d deep", MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_NULL: return xtrk_buf_puts(out, "null");
	case JSON_TRUE: return xtrk_buf_puts(out, "true");
	case JSON_FALSE: return xtrk_buf_puts(out, "false");
	case JSON_INTEGER: return xtrk_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: {
		size_t n = xtrk_double_format(num, json_real_value(v));
		if (!strpbrk(num, ".en")) /* an integral real stays a real when read back */
			memcpy(num + n, ".0", 3), n += 2;
		return xtrk_buf_put(out, num, n);
	}
	case JSON_STRING:
		put_string(out, json_string_value(v), json_string_length(v), flags);
		return xtrk_buf_oom(out) ? XTRK_ERROR : 0;
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		if (!n)
			return xtrk_buf_puts(out, "[]");
		xtrk_buf_putc(out, '[');
		put_indent(out, flags, depth + 1, 0);
		for (size_t i = 0; i < n; i++) {
			int err = dump(out, json_array_get(v, i), flags, depth + 1);
			if (err < 0)
				return err;
			if (i + 1 < n) {
				xtrk_buf_putc(out, ',');
				put_indent(out, flags, depth + 1, 1);
			} else {
				put_indent(out, flags, depth, 0);
			}
		}
		return xtrk_buf_putc(out, ']');
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys;
		const char *k;
		json_t *item;
		int err = 0;
		if (!n)
			return xtrk_buf_puts(out, "{}");
		if (!(keys = malloc(n * sizeof(*keys))))
			return xtrk_error_oom();
		json_object_foreach((json_t *)v, k, item)
			if (i < n)
				keys[i++] = k;
		n = i;
		if (flags & JSON_SORT_KEYS)
			xtrk_sort(keys, n, sizeof(*keys), cmp_keys);
		xtrk_buf_putc(out, '{');
		put_indent(out, flags, depth + 1, 0);
		for (i = 0; i < n && !err; i++) {
			put_string(out, keys[i], strlen(keys[i]), flags);
			xtrk_buf_puts(out, flags & JSON_COMPACT ? ":" : ": ");
			if ((err = dump(out, json_object_get(v, keys[i]), flags, depth + 1)) < 0)
				break;
			if (i + 1 < n) {
				xtrk_buf_putc(out, ',');
				put_indent(out, flags, depth + 1, 1);
			} else {
				put_indent(out, flags, depth, 0);
			}
		}
		free(keys);
		return err < 0 ? err : xtrk_buf_putc(out, '}');
	}
	}
	return xtrk_error_set(XTRK_ERROR, "not a JSON value");
}

int xtrk_json_dump_buf(xtrk_buf *out, const json_t *v, size_t flags)
{
	int err;
	if (!v)
		return xtrk_error_set(XTRK_ERROR, "no JSON value to write");
	if (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v))
		return xtrk_error_set(XTRK_ERROR, "a JSON document must be an object or an array");
	err = dump(out, v, flags, 0);
	if (xtrk_buf_oom(out))
		return xtrk_error_oom(); /* the buffer's own failures set no message */
	return err < 0 ? err : 0;
}

char *xtrk_json_dumps(const json_t *v, size_t flags)
{
	xtrk_buf b = XTRK_BUF_INIT;
	char *s;
	if (xtrk_json_dump_buf(&b, v, flags) < 0) {
		xtrk_buf_dispose(&b);
		return NULL;
	}
	if (!(s = xtrk_buf_detach(&b)))
		xtrk_error_oom();
	return s;
}
