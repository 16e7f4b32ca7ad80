/*
 * The HTML report: the runs' data as JSON (table cells from the index, step
 * series packed as base64 little-endian arrays), and the page around it with
 * the vendored chart library and the page's own script and style, embedded at
 * build time (report_assets.c, made from the files by src/lib/report/embed.sh).
 */
#include "config.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xtrk/errors.h"
#include "xtrk/index.h"
#include "xtrk/json.h"
#include "xtrk/notes.h"
#include "xtrk/query.h"
#include "xtrk/record.h"
#include "xtrk/report.h"
#include "xtrk/run.h"
#include "xtrk/series.h"
#include "report_assets.h"
#include "report_detail.h"

/* ---- packing ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int put_base64(xtrk_buf *out, const unsigned char *p, size_t n)
{
	if (xtrk_buf_grow(out, (n + 2) / 3 * 4 + 1) < 0)
		return xtrk_error_oom();
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { b64chars[v >> 18 & 63], b64chars[v >> 12 & 63], i + 1 < n ? b64chars[v >> 6 & 63] : '=',
			i + 2 < n ? b64chars[v & 63] : '=' };
		xtrk_buf_put(out, q, 4);
	}
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

/*
 * n values (at `stride` apart) as {"t": TYPE, "d": BASE64}: "i4" (int32) when all are integers that
 * fit, else "f4" (float32) when each reads back exactly as one, else "f8"; NaN stays NaN. Exact
 * either way: what the page shows is what was logged.
 */
static json_t *pack(const double *v, size_t n, size_t stride)
{
	int ints = 1, floats = 1;
	size_t width;
	unsigned char *bytes;
	xtrk_buf b = XTRK_BUF_INIT;
	json_t *o = NULL;
	for (size_t i = 0; i < n; i++) {
		double x = v[i * stride];
		if (isnan(x)) {
			ints = 0;
			continue;
		}
		if (x != floor(x) || x < -2147483648.0 || x > 2147483647.0)
			ints = 0;
		if ((double)(float)x != x)
			floats = 0;
	}
	width = ints || floats ? 4 : 8;
	if (!(bytes = malloc(n * width + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		double x = v[i * stride];
		uint64_t bits;
		if (ints) {
			bits = (uint32_t)(int32_t)x;
		} else if (floats) {
			float f = (float)x;
			uint32_t u;
			memcpy(&u, &f, 4);
			bits = u;
		} else {
			memcpy(&bits, &x, 8);
		}
		for (size_t k = 0; k < width; k++)
			bytes[i * width + k] = (unsigned char)(bits >> (8 * k));
	}
	if (put_base64(&b, bytes, n * width) == 0)
		o = json_pack("{s:s, s:s%}", "t", ints ? "i4" : floats ? "f4" : "f8", "d", b.ptr ? b.ptr : "", b.size);
	free(bytes);
	xtrk_buf_dispose(&b);
	return o;
}

/* ---- table cells ---- */

struct colset {
	char **names;
	size_t n;
	json_t *seen;
};

static int col_add(struct colset *c, const char *name, size_t len)
{
	char *s, **nn;
	if (!(s = strndup(name, len)))
		return xtrk_error_oom();
	if (json_object_get(c->seen, s)) {
		free(s);
		return 0;
	}
	if (!(nn = realloc(c->names, (c->n + 1) * sizeof(*nn)))) {
		free(s);
		return xtrk_error_oom();
	}
	json_object_set_new(c->seen, s, json_true());
	c->names = nn;
	c->names[c->n++] = s;
	return 0;
}

static int col_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	(void)v;
	return col_add(payload, key, klen) < 0;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Comma-separated names (a bracketed part may hold commas), each in its written form. */
static int split_columns(struct colset *c, const char *list)
{
	xtrk_buf canon = XTRK_BUF_INIT;
	const char *p = list;
	int err = 0;
	while (*p && err == 0) {
		size_t n = 0;
		while (p[n] && p[n] != ',')
			n += p[n] == '[' ? xtrk_field_span(p + n) : 1;
		if (n && (err = xtrk_field_canon(&canon, p, n)) == 0)
			err = col_add(c, canon.ptr, canon.size);
		p += n + (p[n] == ',');
	}
	xtrk_buf_dispose(&canon);
	if (err == XTRK_EINVALID)
		err = xtrk_error_set(XTRK_EINVALID, "--columns: %s", xtrk_error_last());
	return err;
}

static int default_columns(struct colset *c, xtrk_index *ix, const size_t *sel, size_t n)
{
	static const char *const fixed[] = { "id", "experiment", "started", "status", "tags", "message", NULL };
	struct colset extra = { NULL, 0, json_object() };
	xtrk_index_key *params = NULL, *metrics = NULL;
	int err = 0;

	for (const char *const *f = fixed; *f && err == 0; f++)
		err = col_add(c, *f, strlen(*f));
	if (err == 0 && (err = xtrk_index_key_new(&params, ix, XTRK_REC_PARAMS)) == 0)
		err = xtrk_index_key_new(&metrics, ix, XTRK_REC_METRICS);
	for (size_t i = 0; i < n && err == 0; i++) {
		if (xtrk_index_each_below(ix, sel[i], params, col_cb, &extra) ||
		    xtrk_index_each_below(ix, sel[i], metrics, col_cb, &extra))
			err = xtrk_error_oom();
	}
	if (extra.n)
		qsort(extra.names, extra.n, sizeof(*extra.names), cmp_cstr);
	for (size_t i = 0; i < extra.n; i++) {
		if (err == 0)
			err = col_add(c, extra.names[i], strlen(extra.names[i]));
		free(extra.names[i]);
	}
	free(extra.names);
	json_decref(extra.seen);
	xtrk_index_key_free(params);
	xtrk_index_key_free(metrics);
	return err;
}

static void value_text(xtrk_buf *out, const xtrk_value *v)
{
	switch (v->type) {
	case XTRK_VAL_STR: xtrk_buf_put(out, v->str, v->len); break;
	case XTRK_VAL_BOOL: xtrk_buf_puts(out, v->num ? "true" : "false"); break;
	case XTRK_VAL_NUM: xtrk_buf_put_double(out, v->num); break;
	default: break;
	}
}

/* A list or object column (tags, params): what is below it, comma-separated, an object's fields as name=value. */
struct below {
	xtrk_buf *out;
	size_t skip;
	size_t n;
};

static int below_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	struct below *b = payload;
	const char *rest = key + (b->skip < klen ? b->skip : klen);
	if (rest < key + klen && *rest == '.')
		rest++;
	size_t rlen = (size_t)(key + klen - rest), digits = 0;
	while (digits < rlen && rest[digits] >= '0' && rest[digits] <= '9')
		digits++;
	if (b->n++)
		xtrk_buf_putc(b->out, ',');
	if (digits < rlen)
		xtrk_buf_printf(b->out, "%.*s=", (int)rlen, rest);
	value_text(b->out, v);
	return 0;
}

/* One cell: a number as a number (the table sorts by it), anything else as text, null when absent. */
static json_t *cell(xtrk_index *ix, size_t i, const char *col, const xtrk_index_key *k, json_t *tags)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_value v;
	json_t *out;
	if (!strcmp(col, "id"))
		return json_string(xtrk_oid_tostr(xtrk_index_run(ix, i)));
	if (!strcmp(col, "experiment"))
		return json_string(xtrk_index_experiment(ix, i));
	if (!strcmp(col, "tags")) { /* from the refs, as the index read them */
		json_t *t;
		size_t n;
		json_array_foreach(tags, n, t)
			xtrk_buf_printf(&b, "%s%s", n ? "," : "", json_string_value(t) ? json_string_value(t) : "");
	} else if (xtrk_index_get(&v, ix, i, k)) {
		if (v.type == XTRK_VAL_NUM)
			return json_real(v.num);
		if (v.type == XTRK_VAL_NULL)
			return json_null();
		value_text(&b, &v);
	} else {
		struct below bl = { &b, strlen(col), 0 };
		xtrk_index_each_below(ix, i, k, below_cb, &bl);
		if (!bl.n) {
			xtrk_buf_dispose(&b);
			return json_null();
		}
	}
	out = xtrk_buf_oom(&b) ? NULL : json_stringn(b.ptr ? b.ptr : "", b.size);
	xtrk_buf_dispose(&b);
	return out;
}

/* A run's numeric params and metrics by field name, for the param-against-metric chart. */
static int num_cb(const char *key, size_t klen, const xtrk_value *v, void *payload)
{
	char name[512];
	if (v->type != XTRK_VAL_NUM || klen >= sizeof(name))
		return 0;
	memcpy(name, key, klen);
	name[klen] = 0;
	return json_object_set_new(payload, name, json_real(v->num)) < 0;
}

/* ---- selection ---- */

static int select_runs(size_t **sel_out, size_t *n_out, xtrk_index *ix, const xtrk_report_options *o)
{
	size_t count = xtrk_index_count(ix), n = 0, *sel;
	xtrk_query *q = NULL;
	json_t *pos = NULL;
	int err = 0;

	if (!(sel = calloc((o->nruns ? o->nruns : count) + 1, sizeof(*sel))))
		return xtrk_error_oom();
	if (o->nruns) {
		if (!(pos = json_object())) {
			err = xtrk_error_oom();
			goto done;
		}
		for (size_t i = 0; i < count; i++)
			json_object_set_new(pos, xtrk_oid_tostr(xtrk_index_run(ix, i)), json_integer((json_int_t)i));
		for (size_t r = 0; r < o->nruns; r++) {
			json_t *p = json_object_get(pos, xtrk_oid_tostr(&o->runs[r]));
			if (!p) {
				err = xtrk_error_set(XTRK_ENOTFOUND, "run %s is not among the runs of this workspace",
					xtrk_oid_tostr(&o->runs[r]));
				goto done;
			}
			sel[n++] = (size_t)json_integer_value(p);
		}
	} else {
		if (o->where && ((err = xtrk_query_parse(&q, o->where, NULL)) < 0 || (err = xtrk_query_bind(q, ix)) < 0))
			goto done;
		for (size_t i = 0; i < count; i++) {
			int m = q ? xtrk_query_match(q, ix, i) : 1;
			if (m < 0) {
				err = m;
				goto done;
			}
			if (m)
				sel[n++] = i;
		}
	}
done:
	json_decref(pos);
	xtrk_query_free(q);
	if (err < 0) {
		free(sel);
		return err;
	}
	*sel_out = sel;
	*n_out = n;
	return 0;
}

/* ---- one run ---- */

static int add_notes(json_t *list, json_t *notes)
{
	json_t *v;
	size_t i;
	if (json_is_string(notes))
		return json_array_append(list, notes);
	json_array_foreach(notes, i, v) {
		if (json_is_string(v))
			json_array_append(list, v);
		else if (json_is_object(v) && json_is_string(json_object_get(v, "text")))
			json_array_append(list, json_object_get(v, "text"));
	}
	return 0;
}

/* The run's step series packed, its metric names added to `metrics`; json null when it has none or a bad one. */
static int run_series(json_t **out, xtrk_repo *repo, json_t *rec, json_t *metrics, json_t *seen)
{
	xtrk_series *s = NULL;
	json_t *o = NULL, *m = NULL, *steps = NULL;
	double *sv = NULL;
	int err;

	*out = json_null();
	if (!json_object_get(rec, XTRK_REC_SERIES) || json_is_null(json_object_get(rec, XTRK_REC_SERIES)))
		return 0;
	if ((err = xtrk_run_series(&s, repo, rec)) < 0) {
		if (err == XTRK_ERROR)
			return err;
		/* A damaged or missing series costs the run its charts, not the report. */
		xtrk_warning_add("%s; the report shows the run without it", xtrk_error_last());
		xtrk_error_clear();
		return 0;
	}
	err = xtrk_error_oom();
	if (!(sv = malloc((s->nsteps + 1) * sizeof(*sv))) || !(m = json_object()))
		goto done;
	for (size_t i = 0; i < s->nsteps; i++)
		sv[i] = (double)s->steps[i];
	if (!(steps = pack(sv, s->nsteps, 1)))
		goto done;
	for (size_t k = 0; k < s->nkeys; k++) {
		json_t *p = pack(s->values + k, s->nsteps, s->nkeys);
		if (!p || json_object_set_new(m, s->keys[k], p) < 0)
			goto done;
		if (!json_object_get(seen, s->keys[k])) {
			json_object_set_new(seen, s->keys[k], json_true());
			json_array_append_new(metrics, json_string(s->keys[k]));
		}
	}
	if (!(o = json_pack("{s:O, s:O}", "steps", steps, "m", m)))
		goto done;
	json_decref(*out);
	*out = o;
	err = 0;
done:
	json_decref(steps);
	json_decref(m);
	free(sv);
	xtrk_series_free(s);
	return err;
}

int xtrk_report_data(json_t **out, xtrk_repo *repo, const xtrk_report_options *o)
{
	xtrk_index *ix = NULL;
	xtrk_index_key **keys = NULL, *pkey = NULL, *mkey = NULL;
	struct colset cols = { NULL, 0, json_object() };
	json_t *data = NULL, *runs = json_array(), *series = json_array(), *metrics = json_array(),
	       *seen = json_object(), *columns = json_array();
	size_t *sel = NULL, n = 0;
	int err;

	*out = NULL;
	if (!cols.seen || !runs || !series || !metrics || !seen || !columns) {
		err = xtrk_error_oom();
		goto done;
	}
	if (o->columns && (err = split_columns(&cols, o->columns)) < 0)
		goto done;
	if ((err = xtrk_index_open(&ix, repo, o->nruns ? NULL : o->experiment)) < 0 ||
	    (err = select_runs(&sel, &n, ix, o)) < 0)
		goto done;
	if (!o->columns && (err = default_columns(&cols, ix, sel, n)) < 0)
		goto done;
	if (!(keys = calloc(cols.n + 1, sizeof(*keys)))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_index_key_new(&pkey, ix, XTRK_REC_PARAMS)) < 0 ||
	    (err = xtrk_index_key_new(&mkey, ix, XTRK_REC_METRICS)) < 0)
		goto done;
	for (size_t c = 0; c < cols.n; c++) {
		if ((err = xtrk_index_key_new(&keys[c], ix, cols.names[c])) < 0)
			goto done;
		json_array_append_new(columns, json_string(cols.names[c]));
	}
	for (size_t r = 0; r < n; r++) {
		size_t i = sel[r];
		json_t *rec = NULL, *tags = xtrk_index_tags(ix, i), *appended = xtrk_index_notes(ix, i), *row, *cells,
		       *notes, *ser = NULL, *num = NULL;
		if ((err = xtrk_run_read_record(&rec, repo, xtrk_index_run(ix, i))) < 0) {
			json_decref(tags);
			json_decref(appended);
			goto done;
		}
		cells = json_array();
		notes = json_array();
		for (size_t c = 0; c < cols.n; c++)
			json_array_append_new(cells, cell(ix, i, cols.names[c], keys[c], tags));
		if ((num = json_object()) && (xtrk_index_each_below(ix, i, pkey, num_cb, num) ||
					     xtrk_index_each_below(ix, i, mkey, num_cb, num))) {
			json_decref(num);
			num = NULL;
		}
		add_notes(notes, json_object_get(rec, "notes"));
		add_notes(notes, appended);
		row = json_pack("{s:s, s:s, s:O, s:o, s:o, s:o}", "id", xtrk_oid_tostr(xtrk_index_run(ix, i)), "experiment",
			xtrk_index_experiment(ix, i), "tags", tags ? tags : json_array(), "notes", notes, "cells", cells,
			"num", num);
		if (row) {
			json_t *msg = json_object_get(rec, XTRK_REC_MESSAGE), *st = json_object_get(rec, XTRK_REC_STATUS);
			if (json_is_string(msg))
				json_object_set(row, "message", msg);
			if (json_is_string(st))
				json_object_set(row, "status", st);
		}
		if (!row || json_array_append_new(runs, row) < 0)
			err = xtrk_error_oom();
		if (err == 0)
			err = report_run_detail(row, repo, rec);
		if (err == 0)
			err = run_series(&ser, repo, rec, metrics, seen);
		if (err == 0 && json_array_append_new(series, ser) < 0)
			err = xtrk_error_oom();
		else if (err < 0)
			json_decref(ser);
		json_decref(tags);
		json_decref(appended);
		json_decref(rec);
		if (err < 0)
			goto done;
	}
	data = json_pack("{s:s, s:I, s:O, s:O, s:O, s:O}", "title", o->title ? o->title : "xtrk report", "display_points",
		(json_int_t)(o->display_points ? o->display_points : XTRK_REPORT_DISPLAY_POINTS), "columns", columns,
		"runs", runs, "metrics", metrics, "series", series);
	if (!data) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = report_detail_finish(data, repo)) < 0) { json_decref(data); goto done; }
	*out = data;
	err = 0;
done:
	for (size_t c = 0; keys && c < cols.n; c++)
		xtrk_index_key_free(keys[c]);
	free(keys);
	xtrk_index_key_free(pkey);
	xtrk_index_key_free(mkey);
	for (size_t c = 0; c < cols.n; c++)
		free(cols.names[c]);
	free(cols.names);
	json_decref(cols.seen);
	json_decref(runs);
	json_decref(series);
	json_decref(metrics);
	json_decref(seen);
	json_decref(columns);
	free(sel);
	xtrk_index_free(ix);
	return err;
}

/* ---- the page ---- */

int xtrk_report_json_for_html(xtrk_buf *out, json_t *data)
{
	char *s = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
	if (!s)
		return xtrk_error_oom();
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '<': xtrk_buf_puts(out, "\\u003c"); break;
		case '>': xtrk_buf_puts(out, "\\u003e"); break;
		case '&': xtrk_buf_puts(out, "\\u0026"); break;
		default: xtrk_buf_putc(out, *p); break;
		}
	}
	free(s);
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

/* An embedded file must not be able to end the element it stands in. */
static int put_asset(xtrk_buf *out, const unsigned char *p, size_t n, const char *name, const char *closer)
{
	size_t cl = strlen(closer);
	for (size_t i = 0; i + cl <= n; i++)
		if (!strncasecmp((const char *)p + i, closer, cl) || (i + 4 <= n && !memcmp(p + i, "<!--", 4)))
			return xtrk_error_set(XTRK_ERROR, "the report's embedded %s holds '%s' or '<!--'", name, closer);
	return xtrk_buf_put(out, p, n) < 0 ? xtrk_error_oom() : 0;
}

int xtrk_report_render(xtrk_buf *out, json_t *data)
{
	const char *title = json_string_value(json_object_get(data, "title"));
	int err;
	/* The title is escaped here as well as read by the script: it is the one text placed as markup. */
	xtrk_buf_puts(out,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
		"style-src 'unsafe-inline'; img-src data:\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	for (const char *p = title ? title : ""; *p; p++) {
		switch (*p) {
		case '<': xtrk_buf_puts(out, "&lt;"); break;
		case '>': xtrk_buf_puts(out, "&gt;"); break;
		case '&': xtrk_buf_puts(out, "&amp;"); break;
		case '"': xtrk_buf_puts(out, "&quot;"); break;
		default: xtrk_buf_putc(out, *p); break;
		}
	}
	xtrk_buf_puts(out, "</title>\n<style>\n/* uPlot, MIT licence:\n");
	if ((err = put_asset(out, xtrk_asset_uplot_license, xtrk_asset_uplot_license_len, "licence", "*/")) < 0)
		return err;
	xtrk_buf_puts(out, "*/\n");
	if ((err = put_asset(out, xtrk_asset_uplot_css, xtrk_asset_uplot_css_len, "uPlot style", "</style")) < 0 ||
	    (xtrk_buf_puts(out, "\n"), err = put_asset(out, xtrk_asset_page_css, xtrk_asset_page_css_len, "page style",
						"</style")) < 0)
		return err;
	xtrk_buf_puts(out, "</style>\n</head>\n<body>\n<noscript>This report needs JavaScript to show the runs.</noscript>\n"
			   "<script type=\"application/json\" id=\"xtrk-data\">");
	if ((err = xtrk_report_json_for_html(out, data)) < 0)
		return err;
	xtrk_buf_puts(out, "</script>\n<script>\n");
	if ((err = put_asset(out, xtrk_asset_uplot_js, xtrk_asset_uplot_js_len, "uPlot script", "</script")) < 0)
		return err;
	xtrk_buf_puts(out, "\n</script>\n<script>\n");
	if ((err = put_asset(out, xtrk_asset_page_js, xtrk_asset_page_js_len, "page script", "</script")) < 0)
		return err;
	xtrk_buf_puts(out, "\n</script>\n<script>\n");
	if ((err = put_asset(out, xtrk_asset_views_js, xtrk_asset_views_js_len, "views script", "</script")) < 0)
		return err;
	xtrk_buf_puts(out, "\n</script>\n</body>\n</html>\n");
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}

int xtrk_report_html(xtrk_buf *out, xtrk_repo *repo, const xtrk_report_options *o)
{
	json_t *data = NULL;
	int err;
	if ((err = xtrk_report_data(&data, repo, o)) < 0)
		return err;
	err = xtrk_report_render(out, data);
	json_decref(data);
	return err;
}
