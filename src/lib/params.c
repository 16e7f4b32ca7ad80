/* Parameters and metrics from the command line, JSON, YAML and JSON-lines files. */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "xtrk/buf.h"
#include "xtrk/errors.h"
#include "xtrk/params.h"
#include "xtrk/series.h"

/* jansson's message for a number it cannot hold ("real number overflow", "too big integer"...). */
static int number_too_big(const json_error_t *je)
{
	return strstr(je->text, "overflow") || strstr(je->text, "too big");
}

json_t *xtrk_value_parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!v && number_too_big(&je)) {
		xtrk_error_set(XTRK_EINVALID, "%s is too large a number", text);
		return NULL;
	}
	return v ? v : json_string(text);
}

/* Digits with single underscores between them, as Python's float() reads them; the count read, 0 if none. */
static size_t py_digits(const char *s)
{
	size_t n = 0;
	if (!(s[0] >= '0' && s[0] <= '9'))
		return 0;
	while ((s[n] >= '0' && s[n] <= '9') || (s[n] == '_' && s[n + 1] >= '0' && s[n + 1] <= '9'))
		n++;
	return n;
}

json_t *xtrk_number_parse(const char *text)
{
	const char *p = text, *q;
	xtrk_buf plain = XTRK_BUF_INIT;
	size_t n, ws = strspn(text, " \t\n\r\f\v");
	int frac = 0, len;
	json_t *out = NULL;
	char *end;

	p += ws;
	len = (int)strlen(p);
	while (len && strchr(" \t\n\r\f\v", p[len - 1]))
		len--;
	q = p + (*p == '+' || *p == '-');
	if ((p + len - q == 3 && (!strncasecmp(q, "inf", 3) || !strncasecmp(q, "nan", 3))) ||
	    (p + len - q == 8 && !strncasecmp(q, "infinity", 8))) {
		xtrk_error_set(XTRK_EINVALID, "'%s' is not a finite number; a metric is a finite number", text);
		return NULL;
	}
	/* [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits], digits possibly with '_' */
	n = py_digits(q);
	q += n;
	if (*q == '.') {
		size_t m = py_digits(q + 1);
		if (!n && !m)
			goto not_number;
		q += 1 + m;
		frac = 1;
	} else if (!n) {
		goto not_number;
	}
	if (*q == 'e' || *q == 'E') {
		const char *e = q + 1 + (q[1] == '+' || q[1] == '-');
		size_t m = py_digits(e);
		if (!m)
			goto not_number;
		q = e + m;
		frac = 1;
	}
	if (q != p + len)
		goto not_number;
	for (const char *c = p; c < q; c++)
		if (*c != '_' && xtrk_buf_putc(&plain, *c) < 0)
			goto oom;
	errno = 0;
	if (!frac) {
		long long ll = strtoll(plain.ptr, &end, 10);
		if (errno == 0) {
			if (!(out = json_integer(ll)))
				goto oom;
			goto done;
		}
	}
	errno = 0;
	double d = strtod(plain.ptr, &end);
	if (!isfinite(d)) {
		xtrk_error_set(XTRK_EINVALID, "%s is too large a number", text);
		goto done;
	}
	if (!(out = json_real(d)))
		goto oom;
	goto done;
not_number:
	xtrk_error_set(XTRK_EINVALID, "'%s' is not a number", text);
	goto done;
oom:
	xtrk_error_oom();
done:
	xtrk_buf_dispose(&plain);
	return out;
}

static int depth_of(const json_t *v, int limit)
{
	const char *k;
	size_t i;
	json_t *child;
	int deepest = 0, d;

	if (limit < 0)
		return 1; /* already too deep: stop walking */
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, child)
			if ((d = depth_of(child, limit - 1)) > deepest && (deepest = d) > limit - 1)
				break;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if ((d = depth_of(child, limit - 1)) > deepest && (deepest = d) > limit - 1)
				break;
	} else {
		return 0;
	}
	return deepest + 1;
}

int xtrk_json_check_depth(const json_t *v, int limit, const char *what)
{
	if (depth_of(v, limit) > limit)
		return xtrk_error_set(XTRK_EINVALID, "%s nests more than %d levels deep", what, limit);
	return 0;
}

int xtrk_json_set_path(json_t *obj, const char *dotted, json_t *value, const char *origin)
{
	xtrk_buf key = XTRK_BUF_INIT;
	const char *p = dotted, *dot;
	json_t *cur = obj;
	int err = 0;

	int levels = 1;

	if (!value) { /* xtrk_value_parse refused it */
		return xtrk_error_set(XTRK_EINVALID, "key '%s' (%s): %s", dotted, origin, xtrk_error_last());
	}
	if (!*dotted || dotted[0] == '.' || dotted[strlen(dotted) - 1] == '.' || strstr(dotted, "..")) {
		json_decref(value);
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a valid key", dotted);
	}
	for (p = dotted; (dot = strchr(p, '.')) && levels <= XTRK_MAX_NESTING; p = dot + 1)
		levels++;
	p = dotted;
	if (levels > XTRK_MAX_NESTING || xtrk_json_check_depth(value, XTRK_MAX_NESTING - levels, "value") < 0) {
		json_decref(value);
		return xtrk_error_set(XTRK_EINVALID, "key '%.60s%s' (%s) nests more than %d levels deep", dotted,
			strlen(dotted) > 60 ? "..." : "", origin, XTRK_MAX_NESTING);
	}
	while ((dot = strchr(p, '.'))) {
		json_t *next;
		xtrk_buf_clear(&key);
		xtrk_buf_put(&key, p, (size_t)(dot - p));
		next = json_object_get(cur, key.ptr);
		if (!next) {
			next = json_object();
			json_object_set_new(cur, key.ptr, next);
		} else if (!json_is_object(next)) {
			err = xtrk_error_set(XTRK_EINVALID, "key '%s' given twice (%s)", dotted, origin);
			goto done;
		}
		cur = next;
		p = dot + 1;
	}
	if (json_object_get(cur, p)) {
		err = xtrk_error_set(XTRK_EINVALID, "key '%s' given twice (%s)", dotted, origin);
		goto done;
	}
	json_object_set(cur, p, value);
done:
	json_decref(value);
	xtrk_buf_dispose(&key);
	return err;
}

static int merge(json_t *dst, json_t *src, const char *origin, xtrk_buf *prefix)
{
	const char *k;
	json_t *v;
	size_t plen = prefix->size;

	json_object_foreach(src, k, v) {
		json_t *have = json_object_get(dst, k);
		xtrk_buf_truncate(prefix, plen);
		if (plen)
			xtrk_buf_putc(prefix, '.');
		xtrk_buf_puts(prefix, k);
		if (!have) {
			json_object_set(dst, k, v);
		} else if (json_is_object(have) && json_is_object(v)) {
			int err = merge(have, v, origin, prefix);
			if (err < 0)
				return err;
		} else {
			return xtrk_error_set(XTRK_EINVALID, "key '%s' given twice (%s)", prefix->ptr, origin);
		}
	}
	xtrk_buf_truncate(prefix, plen);
	return 0;
}

int xtrk_json_merge_strict(json_t *dst, json_t *src, const char *origin)
{
	xtrk_buf prefix = XTRK_BUF_INIT;
	int err = merge(dst, src, origin, &prefix);
	xtrk_buf_dispose(&prefix);
	return err;
}

static void flatten_into(json_t *out, json_t *v, xtrk_buf *prefix)
{
	const char *k;
	json_t *child;
	size_t plen = prefix->size;

	if (!json_is_object(v) || json_object_size(v) == 0) {
		json_object_set(out, prefix->ptr, v);
		return;
	}
	json_object_foreach(v, k, child) {
		xtrk_buf_truncate(prefix, plen);
		if (plen)
			xtrk_buf_putc(prefix, '.');
		xtrk_buf_puts(prefix, k);
		flatten_into(out, child, prefix);
	}
	xtrk_buf_truncate(prefix, plen);
}

json_t *xtrk_json_flatten(json_t *nested)
{
	xtrk_buf prefix = XTRK_BUF_INIT;
	json_t *out = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(nested, k, v) {
		xtrk_buf_sets(&prefix, k);
		flatten_into(out, v, &prefix);
	}
	xtrk_buf_dispose(&prefix);
	return out;
}

/* ---- YAML ---- */

struct yctx {
	yaml_parser_t parser;
	const char *name;
	const char *key; /* the mapping key being read, for messages */
	int depth;       /* how many mappings and sequences are open */
};

static int yerr(struct yctx *y, size_t line, const char *what)
{
	return xtrk_error_set(XTRK_EINVALID, "%s:%zu: %s", y->name, line + 1, what);
}

/* Scalars follow the YAML 1.2 core schema: plain null/bool/int/float, else string. */
static json_t *yaml_scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	char *end;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, n);
	if (!n || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	errno = 0;
	long long ll = strtoll(s, &end, 10);
	if (*s && !*end && errno == 0 && strspn(s, "+-0123456789") == n)
		return json_integer(ll);
	if (*s && !*end && errno == ERANGE && strspn(s, "+-0123456789") == n)
		return NULL; /* too big an integer, as for JSON */
	errno = 0;
	double d = strtod(s, &end);
	if (*s && !*end && strspn(s, "+-0123456789.eE") == n && strpbrk(s, "0123456789"))
		return isfinite(d) ? json_real(d) : NULL; /* 1e400 overflows, as for JSON */
	if (!strcasecmp(s, ".inf") || !strcasecmp(s, "+.inf") || !strcasecmp(s, "-.inf") || !strcasecmp(s, ".nan"))
		return json_stringn(s, n); /* JSON has no infinities; keep the text (a metric then is not a number) */
	return json_stringn(s, n);
}

static int yaml_node(json_t **out, struct yctx *y, yaml_event_t *ev);
static int yaml_seq(json_t **out, struct yctx *y);
static int yaml_map(json_t **out, struct yctx *y);

static int yaml_next(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		const char *prob = y->parser.problem ? y->parser.problem : "malformed YAML";
		return yerr(y, y->parser.problem_mark.line, prob);
	}
	return 0;
}

static int yaml_node(json_t **out, struct yctx *y, yaml_event_t *ev)
{
	int err = 0;
	unsigned long oom = xtrk_oom_mark();
	*out = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (!(*out = yaml_scalar(ev))) {
			char msg[300];
			if (xtrk_oom_since(oom))
				return xtrk_error_oom();
			snprintf(msg, sizeof(msg), "%s%.60s%s%.40s is too large a number", y->key ? "'" : "",
				y->key ? y->key : "", y->key ? "': " : "", (const char *)ev->data.scalar.value);
			return yerr(y, ev->start_mark.line, msg);
		}
		return 0;
	case YAML_ALIAS_EVENT:
		return yerr(y, ev->start_mark.line, "YAML aliases are not supported in params or metrics");
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (y->depth >= XTRK_MAX_NESTING) {
			char msg[100];
			snprintf(msg, sizeof(msg), "nested more than %d levels deep", XTRK_MAX_NESTING);
			return yerr(y, ev->start_mark.line, msg);
		}
		y->depth++;
		err = ev->type == YAML_SEQUENCE_START_EVENT ? yaml_seq(out, y) : yaml_map(out, y);
		y->depth--;
		return err;
	default:
		return yerr(y, ev->start_mark.line, "unexpected YAML structure");
	}
}

static int yaml_seq(json_t **out, struct yctx *y)
{
	int err = 0;
	{
		json_t *arr = json_array();
		for (;;) {
			yaml_event_t e;
			json_t *item;
			if ((err = yaml_next(y, &e)) < 0)
				break;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			err = yaml_node(&item, y, &e);
			yaml_event_delete(&e);
			if (err < 0)
				break;
			json_array_append_new(arr, item);
		}
		if (err < 0)
			json_decref(arr);
		else
			*out = arr;
		return err;
	}
}

static int yaml_map(json_t **out, struct yctx *y)
{
	int err = 0;
	const char *outer = y->key;
	{
		json_t *obj = json_object();
		for (;;) {
			yaml_event_t ke, ve;
			json_t *val;
			char *key;
			size_t line;
			if ((err = yaml_next(y, &ke)) < 0)
				break;
			if (ke.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&ke);
				break;
			}
			if (ke.type != YAML_SCALAR_EVENT) {
				err = yerr(y, ke.start_mark.line, "mapping keys must be plain strings");
				yaml_event_delete(&ke);
				break;
			}
			line = ke.start_mark.line;
			key = strndup((const char *)ke.data.scalar.value, ke.data.scalar.length);
			yaml_event_delete(&ke);
			if (!key) {
				err = xtrk_error_oom();
				break;
			}
			if (json_object_get(obj, key)) {
				char msg[512];
				snprintf(msg, sizeof(msg), "key '%s' given twice", key);
				free(key);
				err = yerr(y, line, msg);
				break;
			}
			if ((err = yaml_next(y, &ve)) < 0) {
				free(key);
				break;
			}
			y->key = key;
			err = yaml_node(&val, y, &ve);
			y->key = outer;
			yaml_event_delete(&ve);
			if (err < 0) {
				free(key);
				break;
			}
			json_object_set_new(obj, key, val);
			free(key);
		}
		if (err < 0)
			json_decref(obj);
		else
			*out = obj;
		return err;
	}
}

int xtrk_yaml_parse(json_t **out, const char *text, size_t len, const char *name)
{
	struct yctx y;
	yaml_event_t ev;
	json_t *doc = NULL;
	int err = 0, done = 0;

	*out = NULL;
	y.name = name;
	y.key = NULL;
	y.depth = 0;
	if (!yaml_parser_initialize(&y.parser))
		return xtrk_error_oom();
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	while (!done && !err) {
		if ((err = yaml_next(&y, &ev)) < 0)
			break;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			if (doc) {
				err = yerr(&y, ev.start_mark.line, "more than one YAML document");
				break;
			}
			err = yaml_node(&doc, &y, &ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.parser);
	if (err < 0) {
		json_decref(doc);
		return err;
	}
	*out = doc ? doc : json_object();
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

int xtrk_doc_parse(json_t **out, const char *text, size_t len, const char *name)
{
	json_error_t je;
	json_t *doc = NULL;
	int err = 0;

	*out = NULL;
	if (ends_with(name, ".yaml") || ends_with(name, ".yml")) {
		err = xtrk_yaml_parse(&doc, text, len, name);
	} else {
		doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		if (!doc && (ends_with(name, ".json") || number_too_big(&je)))
			err = xtrk_error_set(XTRK_EINVALID, "%s:%d: %s", name, je.line, je.text);
		else if (!doc)
			err = xtrk_yaml_parse(&doc, text, len, name);
	}
	if (!err && json_is_object(doc) && xtrk_json_check_depth(doc, XTRK_MAX_NESTING, name) < 0) {
		err = XTRK_EINVALID;
		json_decref(doc);
		doc = NULL;
	}
	if (!err && !json_is_object(doc)) {
		err = xtrk_error_set(XTRK_EINVALID, "%s: the top level must be a mapping of names to values", name);
		json_decref(doc);
		doc = NULL;
	}
	*out = doc;
	return err;
}

int xtrk_doc_load(json_t **out, const char *path)
{
	xtrk_buf text = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = xtrk_buf_read_file(&text, path)) < 0) {
		if (err == XTRK_ENOTFOUND)
			err = xtrk_error_set(XTRK_ENOTFOUND, "'%s' does not exist", path);
	} else {
		err = xtrk_doc_parse(out, text.ptr, text.size, path);
	}
	xtrk_buf_dispose(&text);
	return err;
}

int xtrk_series_load(json_t **finals, size_t *points, size_t *bad_lines, const char *path, int lenient)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	json_t *fin = json_object();
	int err = 0;
	char first_bad[512] = "";

	*finals = NULL;
	*points = 0;
	if (bad_lines)
		*bad_lines = 0;
	if (!f) {
		json_decref(fin);
		return errno == ENOENT ? xtrk_error_set(XTRK_ENOTFOUND, "'%s' does not exist", path)
			: xtrk_error_errno("cannot open '%s'", path);
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_t *obj;
		const char *k;
		json_t *v;
		char why[400] = "";
		int rc;
		lineno++;
		if ((rc = xtrk_series_line(&obj, line, (size_t)n, why, sizeof(why))) == 1)
			continue;
		if (rc < 0) {
			if (!*first_bad)
				snprintf(first_bad, sizeof(first_bad), "%s:%zu: %s", path, lineno, why);
			if (bad_lines)
				(*bad_lines)++;
			if (!lenient) {
				err = XTRK_EINVALID;
				break;
			}
			continue;
		}
		json_object_foreach(obj, k, v)
			if (strcmp(k, "step"))
				json_object_set(fin, k, v);
		json_decref(obj);
		(*points)++;
	}
	free(line);
	fclose(f);
	if (*first_bad)
		xtrk_error_set(XTRK_EINVALID, "%s", first_bad);
	if (err < 0) {
		json_decref(fin);
		return err;
	}
	*finals = fin;
	return 0;
}

/* Where the value at `key` (or, for a subtree, the first value under it) came from; those entries are dropped. */
static json_t *take_origin(json_t *origins, const char *key)
{
	json_t *from = json_object_get(origins, key), *found = NULL;
	size_t n = strlen(key);
	const char *k;
	void *tmp;
	json_t *v;

	if (from) {
		found = json_incref(from);
		json_object_del(origins, key);
		return found;
	}
	json_object_foreach_safe(origins, tmp, k, v) {
		if (!strncmp(k, key, n) && k[n] == '.') {
			if (!found)
				found = json_incref(v);
			json_object_del(origins, k);
		}
	}
	return found ? found : json_null();
}

static void note_override(json_t *overridden, json_t *origins, const char *key, json_t *was, const char *by)
{
	json_object_set_new(overridden, key, json_pack("{s:O, s:o, s:s}", "was", was, "from", take_origin(origins, key),
		"by", by));
}

int xtrk_json_overlay(json_t *dst, json_t *layer, const char *by, json_t *origins, json_t *overridden)
{
	json_t *flat = xtrk_json_flatten(layer), *v;
	xtrk_buf path = XTRK_BUF_INIT;
	const char *k;
	int err = 0;

	if (!flat)
		return xtrk_error_oom();
	json_object_foreach(flat, k, v) {
		json_t *cur = dst, *old;
		const char *p = k, *dot;
		xtrk_buf_clear(&path);
		while ((dot = strchr(p, '.'))) {
			json_t *next;
			xtrk_buf_clear(&path);
			xtrk_buf_put(&path, p, (size_t)(dot - p));
			next = json_object_get(cur, path.ptr);
			if (!next || !json_is_object(next)) {
				json_t *fresh = json_object();
				if (next) {
					xtrk_buf prefix = XTRK_BUF_INIT;
					xtrk_buf_put(&prefix, k, (size_t)(dot - k));
					note_override(overridden, origins, prefix.ptr, next, by);
					xtrk_buf_dispose(&prefix);
				}
				if (!fresh || json_object_set_new(cur, path.ptr, fresh) < 0) {
					err = xtrk_error_oom();
					goto done;
				}
				next = fresh;
			}
			cur = next;
			p = dot + 1;
		}
		old = json_object_get(cur, p);
		if (old && !json_equal(old, v))
			note_override(overridden, origins, k, old, by);
		else if (old)
			json_decref(take_origin(origins, k));
		if (json_object_set(cur, p, v) < 0 || json_object_set_new(origins, k, json_string(by)) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	}
done:
	xtrk_buf_dispose(&path);
	json_decref(flat);
	return err;
}
