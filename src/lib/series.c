/*
 * Step series read back from the store (checked line by line, merged by step)
 * and drawn as a small chart of Unicode glyphs.
 */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/odb.h"
#include "xtrk/record.h"
#include "xtrk/series.h"
#include "series_cache.h"

int xtrk_series_line(json_t **out, const char *line, size_t len, char *why, size_t whylen)
{
	json_error_t je;
	json_t *obj, *step, *v;
	const char *k;

	size_t blank = 0;

	*out = NULL;
	while (blank < len && strchr(" \t\r\n", line[blank]) && line[blank])
		blank++;
	if (blank == len)
		return 1;
	if (!(obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(why, whylen, "%s", je.text);
		return -1;
	}
	if (!json_is_object(obj)) {
		snprintf(why, whylen, "a line must be a JSON object");
		goto bad;
	}
	if (!(step = json_object_get(obj, "step")) || !json_is_integer(step) || json_integer_value(step) < 0) {
		snprintf(why, whylen, "each line needs a non-negative integer \"step\"");
		goto bad;
	}
	json_object_foreach(obj, k, v) {
		if (strcmp(k, "step") && !json_is_number(v)) {
			snprintf(why, whylen, "value of '%.200s' is not a number", k);
			goto bad;
		}
	}
	*out = obj;
	return 0;
bad:
	json_decref(obj);
	return -1;
}

/* ---- reading ---- */

struct point {
	int64_t step;
	uint32_t key;
	size_t seq; /* line order: the later of two values of a step and metric wins */
	double v;
};

struct parser {
	const char *name;
	int unsorted; /* a point came before the one added last in (step, metric) order */
	xtrk_buf line;
	size_t lineno;
	json_t *keymap; /* name -> column */
	char **keys;
	size_t nkeys;
	struct point *pts;
	size_t npts, apts;
	size_t bad;
	char first_bad[400];
};

/* The column of metric `key`, added when new. */
static int key_column(uint32_t *c, struct parser *p, const char *key)
{
	json_t *col = json_object_get(p->keymap, key);
	if (!col) {
		char **nk;
		if (p->nkeys >= XTRK_SERIES_MAX_KEYS)
			return xtrk_error_set(XTRK_EINVALID, "%s: more than %d metrics", p->name, XTRK_SERIES_MAX_KEYS);
		if (!(nk = realloc(p->keys, (p->nkeys + 1) * sizeof(*nk))) || !(p->keys = nk, nk[p->nkeys] = strdup(key)) ||
		    json_object_set_new(p->keymap, key, json_integer((json_int_t)p->nkeys)) < 0)
			return xtrk_error_oom();
		p->nkeys++;
		col = json_object_get(p->keymap, key);
	}
	*c = (uint32_t)json_integer_value(col);
	return 0;
}

static int add_column_point(struct parser *p, int64_t step, uint32_t c, double v)
{
	if (p->npts >= XTRK_SERIES_MAX_VALUES)
		return xtrk_error_set(XTRK_EINVALID, "%s: more than %u values", p->name, XTRK_SERIES_MAX_VALUES);
	if (p->npts == p->apts) {
		size_t na = p->apts ? p->apts * 2 : 256;
		struct point *np = realloc(p->pts, na * sizeof(*np));
		if (!np)
			return xtrk_error_oom();
		p->pts = np;
		p->apts = na;
	}
	if (p->npts && (step < p->pts[p->npts - 1].step || (step == p->pts[p->npts - 1].step && c <= p->pts[p->npts - 1].key)))
		p->unsorted = 1;
	p->pts[p->npts].step = step;
	p->pts[p->npts].key = c;
	p->pts[p->npts].seq = p->npts;
	p->pts[p->npts].v = v;
	p->npts++;
	return 0;
}

static int add_point(struct parser *p, int64_t step, const char *key, double v)
{
	uint32_t c;
	int err = key_column(&c, p, key);
	return err < 0 ? err : add_column_point(p, step, c, v);
}

/* ---- the common line, read without building a JSON object ---- */

#define FAST_MAX_KEYS 16
#define FAST_MAX_KEY 256
#define FAST_MAX_NUMBER 64

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s;
}

/* A JSON number at s: its end, or NULL; `*integer` when it has no fraction or exponent. */
static const char *number_end(const char *s, const char *end, int *integer)
{
	const char *d;
	*integer = 1;
	if (s < end && *s == '-')
		s++;
	if (s >= end || *s < '0' || *s > '9')
		return NULL;
	if (*s == '0')
		s++;
	else
		while (s < end && *s >= '0' && *s <= '9')
			s++;
	if (s < end && *s == '.') {
		*integer = 0;
		d = ++s;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
		if (s == d)
			return NULL;
	}
	if (s < end && (*s == 'e' || *s == 'E')) {
		*integer = 0;
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		d = s;
		while (s < end && *s >= '0' && *s <= '9')
			s++;
		if (s == d)
			return NULL;
	}
	return s;
}

/*
 * A line that is an object of plain ASCII names with number values and a non-negative integer
 * "step", read directly: 1 when it was (its points added), 0 when anything about it is unusual
 * (escapes, other bytes or values, duplicate names, numbers out of range): the full JSON reading
 * then decides, so both readings accept and give exactly the same.
 */
static int fast_line(struct parser *p, const char *s, size_t len, int *err)
{
	const char *end = s + len, *kname[FAST_MAX_KEYS];
	size_t klen[FAST_MAX_KEYS], nk = 0, stepat = FAST_MAX_KEYS;
	double val[FAST_MAX_KEYS];
	int64_t step = 0;
	char num[FAST_MAX_NUMBER + 1], key[FAST_MAX_KEY + 1];

	*err = 0;
	s = skip_ws(s, end);
	if (s >= end || *s++ != '{')
		return 0;
	for (;;) {
		const char *k, *v, *ve;
		int integer;
		s = skip_ws(s, end);
		if (s >= end || *s++ != '"' || nk == FAST_MAX_KEYS)
			return 0;
		for (k = s; s < end && *s != '"'; s++)
			if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x80 || *s == '\\')
				return 0;
		if (s >= end || (size_t)(s - k) > FAST_MAX_KEY)
			return 0;
		kname[nk] = k;
		klen[nk] = (size_t)(s - k);
		for (size_t j = 0; j < nk; j++)
			if (klen[j] == klen[nk] && !memcmp(kname[j], k, klen[nk]))
				return 0;
		s = skip_ws(s + 1, end);
		if (s >= end || *s++ != ':')
			return 0;
		v = skip_ws(s, end);
		if (!(ve = number_end(v, end, &integer)) || (size_t)(ve - v) > FAST_MAX_NUMBER)
			return 0;
		memcpy(num, v, (size_t)(ve - v));
		num[ve - v] = '\0';
		if (klen[nk] == 4 && !memcmp(k, "step", 4)) {
			/* non-negative, integer, within int64 by its digits: else the full reading says what is wrong */
			if (!integer || *v == '-' || ve - v > 18)
				return 0;
			step = strtoll(num, NULL, 10);
			stepat = nk;
		} else {
			if (integer) {
				/* an integer, as the JSON reading takes it: "-0" is 0 */
				if (ve - v > (*v == '-' ? 19 : 18))
					return 0;
				val[nk] = (double)strtoll(num, NULL, 10);
			} else {
				errno = 0;
				val[nk] = strtod(num, NULL);
				if (errno == ERANGE)
					return 0;
			}
		}
		nk++;
		s = skip_ws(ve, end);
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s >= end || *s++ != '}')
			return 0;
		break;
	}
	if (skip_ws(s, end) != end || stepat == FAST_MAX_KEYS)
		return 0;
	for (size_t j = 0; j < nk; j++) {
		uint32_t c;
		size_t at = j > stepat ? j - 1 : j;
		if (j == stepat)
			continue;
		/* the metric at this place in the line is most likely the one first seen at this place */
		if (at < p->nkeys && strlen(p->keys[at]) == klen[j] && !memcmp(p->keys[at], kname[j], klen[j])) {
			c = (uint32_t)at;
		} else {
			memcpy(key, kname[j], klen[j]);
			key[klen[j]] = '\0';
			if ((*err = key_column(&c, p, key)) < 0)
				return 1;
		}
		if ((*err = add_column_point(p, step, c, val[j])) < 0)
			return 1;
	}
	return 1;
}

static int one_line(struct parser *p, const char *text, size_t len)
{
	char why[300];
	json_t *obj, *v;
	const char *k;
	int rc, err = 0;

	p->lineno++;
	if (fast_line(p, text, len, &err))
		return err;
	if ((rc = xtrk_series_line(&obj, text, len, why, sizeof(why))) == 1)
		return 0;
	if (rc < 0) {
		if (!p->bad++)
			snprintf(p->first_bad, sizeof(p->first_bad), "line %zu: %s", p->lineno, why);
		return 0;
	}
	json_object_foreach(obj, k, v) {
		if (strcmp(k, "step") && (err = add_point(p, (int64_t)json_integer_value(json_object_get(obj, "step")), k,
				json_number_value(v))) < 0)
			break;
	}
	json_decref(obj);
	return err;
}

static int feed(struct parser *p, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		int err;
		if (p->line.size + n > XTRK_SERIES_MAX_LINE)
			return xtrk_error_set(XTRK_EINVALID, "%s: line %zu is longer than %u bytes", p->name, p->lineno + 1,
				XTRK_SERIES_MAX_LINE);
		if (xtrk_buf_put(&p->line, data, n) < 0)
			return xtrk_error_oom();
		data += n;
		len -= n;
		if (nl) {
			if ((err = one_line(p, p->line.ptr, p->line.size)) < 0)
				return err;
			xtrk_buf_clear(&p->line);
			data++;
			len--;
		}
	}
	return 0;
}

static int point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int finish(xtrk_series **out, struct parser *p)
{
	xtrk_series *s;
	int err;

	if (p->line.size && (err = one_line(p, p->line.ptr, p->line.size)) < 0)
		return err;
	if (!p->npts)
		return p->bad ? xtrk_error_set(XTRK_EINVALID, "%s: no valid line (%s)", p->name, p->first_bad)
			      : xtrk_error_set(XTRK_EINVALID, "%s: no values (it is empty)", p->name);
	if (!(s = calloc(1, sizeof(*s))))
		return xtrk_error_oom();
	if (p->unsorted)
		qsort(p->pts, p->npts, sizeof(*p->pts), point_cmp);
	for (size_t i = 0; i < p->npts; i++)
		s->nsteps += !i || p->pts[i].step != p->pts[i - 1].step;
	if (!(s->steps = calloc(s->nsteps, sizeof(*s->steps))) ||
	    !(s->values = malloc(s->nsteps * p->nkeys * sizeof(*s->values))) ||
	    (p->bad && !(s->first_bad = strdup(p->first_bad)))) {
		xtrk_series_free(s);
		return xtrk_error_oom();
	}
	for (size_t i = 0; i < s->nsteps * p->nkeys; i++)
		s->values[i] = NAN;
	for (size_t i = 0, row = 0; i < p->npts; i++) {
		if (i && p->pts[i].step != p->pts[i - 1].step)
			row++;
		s->steps[row] = p->pts[i].step;
		s->values[row * p->nkeys + p->pts[i].key] = p->pts[i].v; /* sorted by line: the last one stays */
	}
	s->keys = p->keys;
	s->nkeys = p->nkeys;
	s->bad_lines = p->bad;
	p->keys = NULL;
	p->nkeys = 0;
	*out = s;
	return 0;
}

static void parser_init(struct parser *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->keymap = json_object();
}

static void parser_dispose(struct parser *p)
{
	for (size_t i = 0; i < p->nkeys; i++)
		free(p->keys[i]);
	free(p->keys);
	free(p->pts);
	json_decref(p->keymap);
	xtrk_buf_dispose(&p->line);
}

int xtrk_series_parse(xtrk_series **out, const char *text, size_t len, const char *name)
{
	struct parser p;
	int err;

	*out = NULL;
	parser_init(&p, name);
	if (!p.keymap)
		err = xtrk_error_oom();
	else if ((err = feed(&p, text, len)) == 0)
		err = finish(out, &p);
	parser_dispose(&p);
	return err;
}

int xtrk_run_series(xtrk_series **out, xtrk_repo *repo, json_t *run)
{
	const char *rid = xtrk_record_str(run, "id") ? xtrk_record_str(run, "id") : "?";
	json_t *field = json_object_get(run, XTRK_REC_SERIES);
	xtrk_odb_stream *st = NULL;
	xtrk_series *s = NULL;
	struct parser p;
	char name[128], chunk[65536];
	xtrk_oid id;
	xtrk_otype type;
	uint64_t size;
	size_t n;
	int err;

	*out = NULL;
	snprintf(name, sizeof(name), "run %.40s: step series", rid);
	parser_init(&p, name);
	if (!p.keymap) {
		err = xtrk_error_oom();
		goto done;
	}
	if (!field || json_is_null(field)) {
		err = xtrk_error_set(XTRK_ENOTFOUND, "run %s has no step series (a .jsonl metrics file records one)", rid);
		goto done;
	}
	if (!json_is_string(field) || xtrk_oid_parse(&id, json_string_value(field)) < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "run %s: its field 'series' is not an object ID", rid);
		goto done;
	}
	if ((err = xtrk_odb_stat(&size, &type, xtrk_repo_odb(repo), &id)) < 0) {
		if (err == XTRK_ENOTFOUND)
			err = xtrk_error_set(err, "run %s: its step series %s is not in this store (left behind when the run "
				"was copied?)", rid, xtrk_oid_tostr(&id));
		goto done;
	}
	if (type != XTRK_OBJ_BLOB) {
		err = xtrk_error_set(XTRK_ECORRUPT, "run %s: 'series' names a %s, not a step series", rid,
			xtrk_otype_name(type));
		goto done;
	}
	/* Read once before and kept: no parsing (the copy is checked whole, else read again). */
	if ((err = series_cache_get(&s, repo, &id)) <= 0) {
		if (err == 0)
			goto got;
		goto done;
	}
	if ((err = xtrk_odb_stream_open(&st, xtrk_repo_odb(repo), &id)) < 0)
		goto done;
	/* Parsed as it streams; nothing is returned before the end has been verified against the ID. */
	for (;;) {
		if ((err = xtrk_odb_stream_read(st, chunk, sizeof(chunk), &n)) < 0)
			goto done;
		if (!n)
			break;
		if ((err = feed(&p, chunk, n)) < 0)
			goto done;
	}
	if ((err = finish(&s, &p)) < 0)
		goto done;
	series_cache_put(repo, &id, s);
got:
	if (s->bad_lines)
		xtrk_warning_add("run %s: %zu malformed line%s of its step series left out (first: %s)", rid, s->bad_lines,
			s->bad_lines == 1 ? "" : "s", s->first_bad);
	*out = s;
done:
	xtrk_odb_stream_free(st);
	parser_dispose(&p);
	return err;
}

long xtrk_series_key(const xtrk_series *s, const char *key)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i], key))
			return (long)i;
	return -1;
}

void xtrk_series_free(xtrk_series *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->steps);
	free(s->values);
	free(s->first_bad);
	free(s);
}

/* ---- the chart ---- */

const char *const xtrk_chart_glyphs[XTRK_CHART_NGLYPHS] = { "●", "○", "◆", "◇", "■", "□", "▲", "△" };

/* Where `x` falls between `lo` and `hi` (0 to 1), without overflow for any finite doubles. */
static double frac(double x, double lo, double hi)
{
	double span = hi / 2 - lo / 2;
	return span > 0 ? (x / 2 - lo / 2) / span : 0.5;
}

static void put_repeat(xtrk_buf *out, const char *s, int n)
{
	for (int i = 0; i < n; i++)
		xtrk_buf_puts(out, s);
}

int xtrk_chart_render(xtrk_buf *out, const xtrk_chart_line *lines, size_t n, int width, int height)
{
	double vmin = INFINITY, vmax = -INFINITY;
	int64_t smin = INT64_MAX, smax = -1;
	int *grid = NULL, lw;
	char top[32], bottom[32], left[32], right[32];
	size_t points = 0;

	width = width < 10 ? 10 : width > 1000 ? 1000 : width;
	height = height < 2 ? 2 : height > 200 ? 200 : height;
	for (size_t l = 0; l < n; l++) {
		for (size_t i = 0; i < lines[l].n; i++) {
			double v = lines[l].values[i * (lines[l].stride ? lines[l].stride : 1)];
			if (!isfinite(v) || lines[l].steps[i] < 0)
				continue;
			vmin = v < vmin ? v : vmin;
			vmax = v > vmax ? v : vmax;
			smin = lines[l].steps[i] < smin ? lines[l].steps[i] : smin;
			smax = lines[l].steps[i] > smax ? lines[l].steps[i] : smax;
			points++;
		}
	}
	if (!points) {
		xtrk_buf_puts(out, "(no points to draw)\n");
	} else {
		if (!(grid = malloc((size_t)width * (size_t)height * sizeof(*grid))))
			return xtrk_error_oom();
		for (int i = 0; i < width * height; i++)
			grid[i] = -1;
		for (size_t l = 0; l < n; l++) {
			for (size_t i = 0; i < lines[l].n; i++) {
				double v = lines[l].values[i * (lines[l].stride ? lines[l].stride : 1)], fx;
				int col, row;
				if (!isfinite(v) || lines[l].steps[i] < 0)
					continue;
				fx = smax > smin ? (double)((uint64_t)lines[l].steps[i] - (uint64_t)smin) /
					(double)((uint64_t)smax - (uint64_t)smin) : 0;
				/* One step or one value: the middle column or row, where its label goes. */
				col = smax > smin ? (int)lround(fx * (width - 1)) : (width - 1) / 2;
				row = vmax > vmin ? (int)lround((1 - frac(v, vmin, vmax)) * (height - 1)) : (height - 1) / 2;
				grid[row * width + col] = (int)l;
			}
		}
		xtrk_double_format(top, vmax);
		xtrk_double_format(bottom, vmin);
		lw = (int)(strlen(top) > strlen(bottom) ? strlen(top) : strlen(bottom));
		for (int r = 0; r < height; r++) {
			/* The highest value labels the top row, the lowest the bottom one; a constant labels its row. */
			const char *label = vmax > vmin ? (r == 0 ? top : r == height - 1 ? bottom : NULL)
							: (r == (height - 1) / 2 ? top : NULL);
			size_t start = out->size;
			xtrk_buf_printf(out, "%*s %s", lw, label ? label : "", label ? "┤" : "│");
			for (int c = 0; c < width; c++) {
				int g = grid[r * width + c];
				xtrk_buf_puts(out, g < 0 ? " " : xtrk_chart_glyphs[(size_t)g % XTRK_CHART_NGLYPHS]);
			}
			while (out->size > start && out->ptr[out->size - 1] == ' ')
				xtrk_buf_truncate(out, out->size - 1);
			xtrk_buf_putc(out, '\n');
		}
		xtrk_buf_printf(out, "%*s └", lw, "");
		put_repeat(out, "─", width);
		xtrk_buf_putc(out, '\n');
		snprintf(left, sizeof(left), "%lld", (long long)smin);
		snprintf(right, sizeof(right), "%lld", (long long)smax);
		if (smax > smin) {
			int gap = width - (int)strlen(left) - (int)strlen(right);
			xtrk_buf_printf(out, "%*s  %s%*s%s  step\n", lw, "", left, gap > 1 ? gap : 1, "", right);
		} else {
			int pad = (width - 1) / 2 - (int)strlen(left) / 2;
			xtrk_buf_printf(out, "%*s  %*s%s  step\n", lw, "", pad > 0 ? pad : 0, "", left);
		}
	}
	for (size_t l = 0; l < n; l++) {
		size_t drawn = 0;
		for (size_t i = 0; i < lines[l].n; i++)
			drawn += isfinite(lines[l].values[i * (lines[l].stride ? lines[l].stride : 1)]) && lines[l].steps[i] >= 0;
		xtrk_buf_printf(out, "  %s %s%s\n", xtrk_chart_glyphs[l % XTRK_CHART_NGLYPHS],
			lines[l].label ? lines[l].label : "", drawn ? "" : " (no points)");
	}
	free(grid);
	return xtrk_buf_oom(out) ? xtrk_error_oom() : 0;
}
