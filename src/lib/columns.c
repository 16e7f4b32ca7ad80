/* The columns of a run table and a run's cell in each: log, export and the report share them. */
#include "config.h"
#include <stdlib.h>
#include <string.h>

#include "xtrk/columns.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/record.h"

struct xtrk_columns {
	char **names;
	xtrk_index_key **keys; /* names[i]'s key once bound */
	size_t n, nkeys;
	json_t *seen; /* name -> true */
};

int xtrk_columns_new(xtrk_columns **out)
{
	xtrk_columns *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c || !(c->seen = json_object())) {
		free(c);
		return xtrk_error_oom();
	}
	*out = c;
	return 0;
}

static void unbind(xtrk_columns *c)
{
	for (size_t i = 0; i < c->nkeys; i++)
		xtrk_index_key_free(c->keys[i]);
	free(c->keys);
	c->keys = NULL;
	c->nkeys = 0;
}

void xtrk_columns_free(xtrk_columns *c)
{
	if (!c)
		return;
	unbind(c);
	for (size_t i = 0; i < c->n; i++)
		free(c->names[i]);
	free(c->names);
	json_decref(c->seen);
	free(c);
}

size_t xtrk_columns_count(const xtrk_columns *c)
{
	return c->n;
}

const char *xtrk_columns_name(const xtrk_columns *c, size_t i)
{
	return i < c->n ? c->names[i] : NULL;
}

int xtrk_columns_add(xtrk_columns *c, const char *name, size_t len)
{
	char *s, **nn;
	if (!(s = strndup(name, len)))
		return xtrk_error_oom();
	if (json_object_get(c->seen, s)) {
		free(s);
		return 0;
	}
	if (!(nn = realloc(c->names, (c->n + 1) * sizeof(*nn))) || json_object_set_new(c->seen, s, json_true()) < 0) {
		if (nn)
			c->names = nn;
		free(s);
		return xtrk_error_oom();
	}
	c->names = nn;
	c->names[c->n++] = s;
	return 0;
}

int xtrk_columns_parse(xtrk_columns *c, const char *list)
{
	xtrk_buf canon = XTRK_BUF_INIT;
	const char *p = list;
	int err = 0;
	while (*p && err == 0) {
		size_t n = 0;
		while (p[n] && p[n] != ',')
			n += p[n] == '[' ? xtrk_field_span(p + n) : 1; /* a bracketed part may hold commas */
		if (n && (err = xtrk_field_canon(&canon, p, n)) == 0)
			err = xtrk_columns_add(c, canon.ptr, canon.size);
		p += n + (p[n] == ',');
	}
	xtrk_buf_dispose(&canon);
	return err;
}

/* ---- the default columns ---- */

#define PACKAGES_FIELD "env.python.packages"

static int col_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	(void)v;
	return xtrk_columns_add(payload, key, klen) < 0;
}

static int col_no_packages_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	size_t n = strlen(PACKAGES_FIELD);
	if (klen > n && !memcmp(key, PACKAGES_FIELD, n) && (key[n] == '.' || key[n] == '['))
		return 0;
	return col_cb(key, klen, v, payload);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int xtrk_columns_add_defaults(xtrk_columns *c, xtrk_index *ix, const size_t *sel, size_t n,
	const char *const *leading, unsigned flags)
{
	xtrk_columns *extra = NULL;
	xtrk_index_key *params = NULL, *metrics = NULL;
	int err;

	for (const char *const *f = leading; f && *f; f++)
		if ((err = xtrk_columns_add(c, *f, strlen(*f))) < 0)
			return err;
	if ((err = xtrk_columns_new(&extra)) < 0 || (err = xtrk_index_key_new(&params, ix, XTRK_REC_PARAMS)) < 0 ||
	    (err = xtrk_index_key_new(&metrics, ix, XTRK_REC_METRICS)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (flags & XTRK_COLUMNS_ALL) {
			if (xtrk_index_each(ix, sel[i], flags & XTRK_COLUMNS_PACKAGES ? col_cb : col_no_packages_cb, extra))
				err = xtrk_error_oom();
		} else if (xtrk_index_each_below(ix, sel[i], params, col_cb, extra) ||
			   xtrk_index_each_below(ix, sel[i], metrics, col_cb, extra)) {
			err = xtrk_error_oom();
		}
		if (err < 0)
			goto done;
	}
	if (extra->n)
		qsort(extra->names, extra->n, sizeof(*extra->names), cmp_cstr);
	for (size_t i = 0; i < extra->n && err == 0; i++)
		err = xtrk_columns_add(c, extra->names[i], strlen(extra->names[i]));
done:
	xtrk_columns_free(extra);
	xtrk_index_key_free(params);
	xtrk_index_key_free(metrics);
	return err;
}

int xtrk_columns_bind(xtrk_columns *c, xtrk_index *ix)
{
	unbind(c);
	if (!(c->keys = calloc(c->n + 1, sizeof(*c->keys))))
		return xtrk_error_oom();
	for (; c->nkeys < c->n; c->nkeys++) {
		int err = xtrk_index_key_new(&c->keys[c->nkeys], ix, c->names[c->nkeys]);
		if (err < 0)
			return err;
	}
	return 0;
}

const xtrk_index_key *xtrk_columns_key(const xtrk_columns *c, size_t i)
{
	return i < c->nkeys ? c->keys[i] : NULL;
}

/* ---- cells ---- */

int xtrk_value_text(xtrk_buf *out, const xtrk_value *v)
{
	switch (v->type) {
	case XTRK_VAL_STR: return xtrk_buf_put(out, v->str, v->len);
	case XTRK_VAL_BOOL: return xtrk_buf_puts(out, v->num ? "true" : "false");
	case XTRK_VAL_NUM: return xtrk_buf_put_double(out, v->num);
	default: return 0;
	}
}

/* What is below a list or object column, comma-separated: a list's values as they are, an object's fields as name=value. */
struct below {
	xtrk_buf *out;
	size_t skip; /* the column's name */
	size_t n;
};

static int below_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	struct below *b = payload;
	const char *rest = key + (b->skip < klen ? b->skip : klen);
	if (rest < key + klen && *rest == '.')
		rest++; /* name.x: x; name[x.y]: [x.y] */
	size_t rlen = (size_t)(key + klen - rest), digits = 0;
	while (digits < rlen && rest[digits] >= '0' && rest[digits] <= '9')
		digits++;
	if (b->n++)
		xtrk_buf_putc(b->out, ',');
	if (digits < rlen)
		xtrk_buf_printf(b->out, "%.*s=", (int)rlen, rest);
	xtrk_value_text(b->out, v);
	return 0;
}

int xtrk_cell_text(xtrk_buf *out, const xtrk_index *ix, size_t i, const char *col, const xtrk_index_key *k,
	unsigned flags)
{
	xtrk_value v;
	if (!strcmp(col, "id")) {
		xtrk_buf_printf(out, "%.*s", flags & XTRK_CELL_SHORT_ID ? 12 : XTRK_OID_HEXSZ,
			xtrk_oid_tostr(xtrk_index_run(ix, i)));
		return 1;
	}
	if (!strcmp(col, "experiment")) {
		xtrk_buf_puts(out, xtrk_index_experiment(ix, i));
		return 1;
	}
	if (!k)
		return 0;
	if (xtrk_index_get(&v, ix, i, k)) {
		xtrk_value_text(out, &v);
		return 1;
	}
	struct below b = { out, strlen(col), 0 };
	xtrk_index_each_below(ix, i, k, below_cb, &b);
	return b.n > 0;
}

json_t *xtrk_cell_json(const xtrk_index *ix, size_t i, const char *col, const xtrk_index_key *k)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_value v;
	json_t *out;
	int has;
	if (k && strcmp(col, "id") && strcmp(col, "experiment") && xtrk_index_get(&v, ix, i, k)) {
		if (v.type == XTRK_VAL_NUM)
			return json_real(v.num);
		if (v.type == XTRK_VAL_NULL)
			return json_null();
	}
	has = xtrk_cell_text(&b, ix, i, col, k, 0);
	if (!has && strcmp(col, "tags")) /* a run without tags has them all: none */
		out = json_null();
	else
		out = xtrk_buf_oom(&b) ? NULL : json_stringn(b.ptr ? b.ptr : "", b.size);
	xtrk_buf_dispose(&b);
	return out;
}
