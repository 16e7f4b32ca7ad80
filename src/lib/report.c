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

#include "xtrk/columns.h"
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
#include "report_pack.h"

/* ---- table cells ---- */

/* The table's columns by default: these, then every param and metric. */
static const char *const leading[] = { "id", "experiment", "started", "status", "tags", "message", NULL };
/* The same when a run shown is in a stage (xtrk stage). */
static const char *const leading_staged[] = { "id", "experiment", "started", "status", "stage", "tags", "message",
	NULL };

/* The run's current stage, or NULL. */
static json_t *stage_of(xtrk_index *ix, size_t i, const xtrk_index_key *skey)
{
	xtrk_value v;
	if (!skey || !xtrk_index_get(&v, ix, i, skey) || v.type != XTRK_VAL_STR)
		return NULL;
	return json_stringn(v.str, v.len);
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
static int run_series(json_t **out, xtrk_repo *repo, json_t *rec, report_pack *pack, json_t *metrics, json_t *seen)
{
	xtrk_series *s = NULL;
	json_t *m = NULL;
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
	if ((err = report_pack_series(&m, pack, s)) < 0)
		goto done;
	for (size_t k = 0; k < s->nkeys; k++) {
		if (!json_object_get(m, s->keys[k]) || json_object_get(seen, s->keys[k]))
			continue;
		if (json_object_set_new(seen, s->keys[k], json_true()) < 0 ||
		    json_array_append_new(metrics, json_string(s->keys[k])) < 0) {
			err = xtrk_error_oom();
			goto done;
		}
	}
	if (!(*out = json_pack("{s:O}", "m", m)))
		err = xtrk_error_oom();
done:
	json_decref(m);
	xtrk_series_free(s);
	return err;
}

int xtrk_report_data(json_t **out, xtrk_repo *repo, const xtrk_report_options *o)
{
	xtrk_index *ix = NULL;
	xtrk_index_key *pkey = NULL, *mkey = NULL, *skey = NULL;
	xtrk_columns *cols = NULL;
	json_t *data = NULL, *runs = json_array(), *series = json_array(), *metrics = json_array(),
	       *seen = json_object(), *columns = json_array();
	size_t *sel = NULL, n = 0, raw = 0, fp;
	xtrk_buf blob = XTRK_BUF_INIT;
	report_pack *pack = NULL;
	int err, staged = 0;

	*out = NULL;
	if (!runs || !series || !metrics || !seen || !columns) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = xtrk_columns_new(&cols)) < 0)
		goto done;
	if (o->columns && (err = xtrk_columns_parse(cols, o->columns)) < 0) {
		if (err == XTRK_EINVALID)
			err = xtrk_error_set(XTRK_EINVALID, "--columns: %s", xtrk_error_last());
		goto done;
	}
	if ((err = xtrk_index_open(&ix, repo, o->nruns ? NULL : o->experiment)) < 0 ||
	    (err = select_runs(&sel, &n, ix, o)) < 0)
		goto done;
	if ((err = xtrk_index_key_new(&skey, ix, "stage")) < 0)
		goto done;
	for (size_t r = 0; r < n && !staged; r++) {
		json_t *st = stage_of(ix, sel[r], skey);
		staged = st != NULL;
		json_decref(st);
	}
	if (!o->columns && (err = xtrk_columns_add_defaults(cols, ix, sel, n, staged ? leading_staged : leading, 0)) < 0)
		goto done;
	/* The points in the file: every one, or a share of the whole for each run. */
	fp = o->file_points ? o->file_points : XTRK_REPORT_FILE_POINTS;
	if ((err = report_pack_new(&pack, fp == SIZE_MAX ? SIZE_MAX : fp / (n ? n : 1))) < 0)
		goto done;
	if ((err = xtrk_index_key_new(&pkey, ix, XTRK_REC_PARAMS)) < 0 ||
	    (err = xtrk_index_key_new(&mkey, ix, XTRK_REC_METRICS)) < 0)
		goto done;
	if ((err = xtrk_columns_bind(cols, ix)) < 0)
		goto done;
	for (size_t c = 0; c < xtrk_columns_count(cols); c++)
		json_array_append_new(columns, json_string(xtrk_columns_name(cols, c)));
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
		for (size_t c = 0; c < xtrk_columns_count(cols); c++)
			json_array_append_new(cells, xtrk_cell_json(ix, i, xtrk_columns_name(cols, c), xtrk_columns_key(cols, c)));
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
			if ((st = stage_of(ix, i, skey)))
				json_object_set_new(row, "stage", st);
		}
		if (!row || json_array_append_new(runs, row) < 0)
			err = xtrk_error_oom();
		if (err == 0)
			err = report_run_detail(row, repo, rec);
		if (err == 0)
			err = run_series(&ser, repo, rec, pack, metrics, seen);
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
	if ((err = report_pack_finish(&blob, &raw, pack)) < 0)
		goto done;
	data = json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:s%, s:I}", "title", o->title ? o->title : "xtrk report",
		"display_points", (json_int_t)(o->display_points ? o->display_points : XTRK_REPORT_DISPLAY_POINTS),
		"columns", columns, "runs", runs, "metrics", metrics, "series", series, "series_blob", blob.ptr, blob.size,
		"series_bytes", (json_int_t)raw);
	if (!data) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((err = report_detail_finish(data, repo)) < 0) { json_decref(data); goto done; }
	*out = data;
	err = 0;
done:
	xtrk_index_key_free(pkey);
	xtrk_index_key_free(skey);
	xtrk_index_key_free(mkey);
	xtrk_columns_free(cols);
	json_decref(runs);
	json_decref(series);
	json_decref(metrics);
	json_decref(seen);
	json_decref(columns);
	free(sel);
	xtrk_index_free(ix);
	report_pack_free(pack);
	xtrk_buf_dispose(&blob);
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

/* The page; the series block (base64) in an element of its own, not in the JSON. */
static int render(xtrk_buf *out, json_t *data, json_t *blob)
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
	if (blob)
		json_object_del(data, "series_blob");
	err = xtrk_report_json_for_html(out, data);
	if (blob)
		json_object_set(data, "series_blob", blob);
	if (err < 0)
		return err;
	xtrk_buf_puts(out, "</script>\n<script type=\"application/octet-stream\" id=\"xtrk-series\">");
	/* base64: letters, digits, '+', '/' and '=' only, nothing that can end the element */
	if (json_is_string(blob))
		xtrk_buf_put(out, json_string_value(blob), json_string_length(blob));
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

int xtrk_report_render(xtrk_buf *out, json_t *data)
{
	json_t *blob = json_object_get(data, "series_blob");
	int err;
	if (blob && (!json_is_string(blob) ||
		     strspn(json_string_value(blob), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
			     json_string_length(blob)))
		return xtrk_error_set(XTRK_EINVALID, "the report's series block is not base64");
	json_incref(blob);
	err = render(out, data, blob);
	json_decref(blob);
	return err;
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
