/*
 * Data profiles (xtrk/profile.h): one streaming pass over a CSV/TSV file
 * (parsed by libcsv) or a JSON Lines file (jansson), in memory bounded by
 * the number of columns, never by the number of rows.
 */
#include "config.h"
#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "xtrk/errors.h"
#include "xtrk/json.h"
#include "xtrk/odb.h"
#include "xtrk/oid.h"
#include "xtrk/params.h"
#include "xtrk/profile.h"
#include "xtrk/record.h"
#include "xtrk/revision.h"
#include "xtrk/run.h"
#include "profile_internal.h"

/* ---------------------------------------------------------------- KLL ---- */

#define KLL_MAX_LEVELS 64

struct xtrk_kll {
	unsigned k;
	unsigned nlevels;
	uint64_t n;
	uint64_t rng;
	double *lv[KLL_MAX_LEVELS];
	unsigned len[KLL_MAX_LEVELS];
	unsigned char unsorted[KLL_MAX_LEVELS]; /* levels above 0 are kept sorted, but for values added at them */
};

xtrk_kll *xtrk_kll_new(unsigned k)
{
	xtrk_kll *s = calloc(1, sizeof(*s));
	if (!s) {
		xtrk_error_oom();
		return NULL;
	}
	s->k = k < 8 ? 8 : k;
	s->rng = 0x9e3779b97f4a7c15ull;
	return s;
}

void xtrk_kll_free(xtrk_kll *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nlevels; i++)
		free(s->lv[i]);
	free(s);
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int kll_level(xtrk_kll *s, unsigned h)
{
	if (h >= KLL_MAX_LEVELS)
		return xtrk_error_set(XTRK_ERROR, "quantile sketch: too many levels");
	while (s->nlevels <= h) {
		/* k values and one spare: a level takes one more before it is compacted. */
		if (!(s->lv[s->nlevels] = malloc((s->k + 1) * sizeof(double))))
			return xtrk_error_oom();
		s->len[s->nlevels++] = 0;
	}
	return 0;
}

/* Sort doubles (never NaN) in place: quicksort, insertion sort for short runs; no callback per comparison. */
static void dsort(double *a, size_t n)
{
	while (n > 16) {
		double p, t;
		size_t i = 0, j = n - 1, m = n / 2;
		/* Median of three as the pivot. */
		if (a[m] < a[0])
			t = a[m], a[m] = a[0], a[0] = t;
		if (a[n - 1] < a[0])
			t = a[n - 1], a[n - 1] = a[0], a[0] = t;
		if (a[n - 1] < a[m])
			t = a[n - 1], a[n - 1] = a[m], a[m] = t;
		p = a[m];
		for (;;) {
			while (a[i] < p)
				i++;
			while (p < a[j])
				j--;
			if (i >= j)
				break;
			t = a[i], a[i] = a[j], a[j] = t;
			i++, j--;
		}
		/* [0, j] <= p <= [j + 1, n): recurse into the smaller part, loop on the larger. */
		if (j + 1 < n - j - 1) {
			dsort(a, j + 1);
			a += j + 1, n -= j + 1;
		} else {
			dsort(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		double v = a[i];
		size_t k = i;
		while (k && a[k - 1] > v) {
			a[k] = a[k - 1];
			k--;
		}
		a[k] = v;
	}
}

/*
 * Halve level h into h+1 (each kept value weighs twice); an odd one out
 * stays.  Level 0 is sorted first; a higher level is already sorted, each
 * half merged into it in order, so it needs no sort of its own.
 */
static int kll_compact(xtrk_kll *s, unsigned h)
{
	int err;
	while (s->len[h] >= s->k) {
		unsigned n = s->len[h], keep_odd = n & 1, m = n - keep_odd, i;
		double *v = s->lv[h];
		if ((err = kll_level(s, h + 1)) < 0)
			return err;
		v = s->lv[h];
		if (h == 0 || s->unsorted[h])
			dsort(v, n);
		s->unsorted[h] = 0;
		s->rng ^= s->rng << 13, s->rng ^= s->rng >> 7, s->rng ^= s->rng << 17;
		/* Every other value from a random start: v[i], v[i + 2], ... below m (the largest stays when n is odd). */
		for (i = (unsigned)(s->rng & 1); i < m;) {
			double *u = s->lv[h + 1];
			unsigned len = s->len[h + 1], left = (m - i + 1) / 2, take;
			if (len >= s->k) {
				if ((err = kll_compact(s, h + 1)) < 0)
					return err;
				continue;
			}
			take = left < s->k - len ? left : s->k - len;
			if (s->unsorted[h + 1]) {
				for (unsigned t = 0; t < take; t++)
					u[len + t] = v[i + 2 * t];
			} else {
				/* Merge from the back: both runs are sorted. */
				long a = (long)len - 1, b = (long)take - 1, w = (long)(len + take) - 1;
				while (b >= 0) {
					double x = v[i + 2 * (unsigned long)b];
					if (a >= 0 && u[a] > x)
						u[w--] = u[a--];
					else
						u[w--] = x, b--;
				}
			}
			s->len[h + 1] = len + take;
			i += 2 * take;
			if (s->len[h + 1] >= s->k && (err = kll_compact(s, h + 1)) < 0)
				return err;
		}
		if (keep_odd)
			v[0] = v[n - 1];
		s->len[h] = keep_odd;
	}
	return 0;
}

int xtrk_kll_add(xtrk_kll *s, double v)
{
	int err;
	if (isnan(v))
		return 0;
	if ((err = kll_level(s, 0)) < 0)
		return err;
	s->lv[0][s->len[0]++] = v;
	s->n++;
	return s->len[0] >= s->k ? kll_compact(s, 0) : 0;
}

/* Add `v` at level h (weight 2^h). */
static int kll_add_at(xtrk_kll *s, unsigned h, double v)
{
	int err;
	if ((err = kll_level(s, h)) < 0)
		return err;
	s->lv[h][s->len[h]++] = v;
	s->unsorted[h] = 1;
	return s->len[h] >= s->k ? kll_compact(s, h) : 0;
}

int xtrk_kll_merge(xtrk_kll *into, const xtrk_kll *from)
{
	int err;
	for (unsigned h = 0; h < from->nlevels; h++)
		for (unsigned i = 0; i < from->len[h]; i++)
			if ((err = kll_add_at(into, h, from->lv[h][i])) < 0)
				return err;
	into->n += from->n;
	return 0;
}

uint64_t xtrk_kll_count(const xtrk_kll *s) { return s->n; }

size_t xtrk_kll_retained(const xtrk_kll *s)
{
	size_t r = 0;
	for (unsigned h = 0; h < s->nlevels; h++)
		r += s->len[h];
	return r;
}

struct wv {
	double v;
	double w;
};

static int wv_cmp(const void *a, const void *b)
{
	return dbl_cmp(&((const struct wv *)a)->v, &((const struct wv *)b)->v);
}

/* Every value held with its weight, sorted; the total weight in *total. */
static struct wv *kll_sorted(const xtrk_kll *s, size_t *n, double *total)
{
	size_t m = xtrk_kll_retained(s), j = 0;
	struct wv *a = malloc((m ? m : 1) * sizeof(*a));
	*total = 0;
	*n = 0;
	if (!a)
		return NULL;
	for (unsigned h = 0; h < s->nlevels; h++)
		for (unsigned i = 0; i < s->len[h]; i++) {
			a[j].v = s->lv[h][i];
			a[j].w = ldexp(1.0, (int)h);
			*total += a[j++].w;
		}
	qsort(a, m, sizeof(*a), wv_cmp);
	*n = m;
	return a;
}

double xtrk_kll_cdf(const xtrk_kll *s, double x)
{
	double below = 0, total = 0;
	for (unsigned h = 0; h < s->nlevels; h++)
		for (unsigned i = 0; i < s->len[h]; i++) {
			total += ldexp(1.0, (int)h);
			if (s->lv[h][i] <= x)
				below += ldexp(1.0, (int)h);
		}
	return total > 0 ? below / total : 0;
}

double xtrk_kll_quantile(const xtrk_kll *s, double q)
{
	size_t n;
	double total, acc = 0, r = NAN;
	struct wv *a = kll_sorted(s, &n, &total);
	if (!a || !n) {
		free(a);
		return NAN;
	}
	for (size_t i = 0; i < n; i++) {
		acc += a[i].w;
		r = a[i].v;
		if (acc >= q * total)
			break;
	}
	free(a);
	return r;
}

double xtrk_kll_ks(const xtrk_kll *a, const xtrk_kll *b)
{
	size_t na, nb, i = 0, j = 0;
	double ta, tb, ca = 0, cb = 0, d = 0;
	struct wv *x = kll_sorted(a, &na, &ta), *y = kll_sorted(b, &nb, &tb);
	if (x && y && na && nb) {
		/* Walk both sorted lists; at each distinct value, compare the CDFs. */
		while (i < na || j < nb) {
			double v = i < na && (j >= nb || x[i].v <= y[j].v) ? x[i].v : y[j].v;
			while (i < na && x[i].v <= v)
				ca += x[i++].w;
			while (j < nb && y[j].v <= v)
				cb += y[j++].w;
			if (fabs(ca / ta - cb / tb) > d)
				d = fabs(ca / ta - cb / tb);
		}
	}
	free(x);
	free(y);
	return d;
}

json_t *xtrk_kll_to_json(const xtrk_kll *s)
{
	json_t *levels = json_array();
	for (unsigned h = 0; h < s->nlevels; h++) {
		json_t *l = json_array();
		for (unsigned i = 0; i < s->len[h]; i++)
			json_array_append_new(l, json_real(s->lv[h][i]));
		json_array_append_new(levels, l);
	}
	return json_pack("{s:i, s:I, s:o}", "k", (int)s->k, "n", (json_int_t)s->n, "levels", levels);
}

xtrk_kll *xtrk_kll_from_json(const json_t *j)
{
	json_t *levels = json_object_get(j, "levels"), *l, *v;
	json_int_t k = json_integer_value(json_object_get(j, "k"));
	json_t *n = json_object_get(j, "n");
	size_t h, i;
	xtrk_kll *s;

	if (!json_is_array(levels) || k < 8 || k > 65536 || !json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_array_size(levels) > KLL_MAX_LEVELS) {
		xtrk_error_set(XTRK_ECORRUPT, "malformed quantile sketch");
		return NULL;
	}
	if (!(s = xtrk_kll_new((unsigned)k)))
		return NULL;
	json_array_foreach(levels, h, l) {
		if (!json_is_array(l) || json_array_size(l) > (size_t)k || kll_level(s, (unsigned)h) < 0)
			goto bad;
		json_array_foreach(l, i, v) {
			if (!json_is_number(v))
				goto bad;
			s->lv[h][s->len[h]++] = json_number_value(v);
			s->unsorted[h] = 1;
		}
	}
	s->n = (uint64_t)json_integer_value(n);
	return s;
bad:
	xtrk_kll_free(s);
	xtrk_error_set(XTRK_ECORRUPT, "malformed quantile sketch");
	return NULL;
}

/* ---------------------------------------------------------------- HLL ---- */

void xtrk_hll_add(xtrk_hll *h, uint64_t hash)
{
	unsigned idx = (unsigned)(hash >> 52); /* the top 12 bits pick the register */
	uint64_t rest = (hash << 12) | (1ull << 11);
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
	if (rank > h->reg[idx])
		h->reg[idx] = rank;
}

double xtrk_hll_estimate(const xtrk_hll *h)
{
	const double m = 4096, alpha = 0.7213 / (1 + 1.079 / m);
	double sum = 0;
	unsigned zeros = 0;
	for (unsigned i = 0; i < 4096; i++) {
		sum += ldexp(1.0, -(int)h->reg[i]);
		zeros += !h->reg[i];
	}
	double e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros);
	return e;
}

/* ------------------------------------------------------ one column ---- */



static const char *const missing_words[] = { "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", NULL };

#define TOP_VALUE_MAX 128

static int top_add(struct column *c, const char *s, size_t len, uint64_t hash)
{
	unsigned i, lo = 0;
	if (len > TOP_VALUE_MAX)
		len = TOP_VALUE_MAX;
	for (i = 0; i < c->ntop; i++)
		if (c->top[i].hash == hash && !strncmp(c->top[i].value, s, len) && !c->top[i].value[len]) {
			c->top[i].count++;
			return 0;
		}
	if (c->ntop < XTRK_PROFILE_TOP) {
		i = c->ntop;
		c->top[i].count = 0;
		c->top[i].err = 0;
	} else {
		/* Space-saving: the least counted value gives its place, its count carried over. */
		for (i = 1; i < c->ntop; i++)
			if (c->top[i].count < c->top[lo].count)
				lo = i;
		i = lo;
		c->replaced = 1;
		c->top[i].err = c->top[i].count;
		free(c->top[i].value);
		c->top[i].value = NULL;
	}
	if (!(c->top[i].value = strndup(s, len)))
		return xtrk_error_oom();
	c->top[i].hash = hash;
	c->top[i].count++;
	if (i == c->ntop)
		c->ntop++;
	return 0;
}

static int is_missing(const char *s)
{
	/* Most values are none of the words: those that do not start as one does are not. */
	if (*s && *s != 'N' && *s != 'n')
		return 0;
	for (int i = 0; missing_words[i]; i++)
		if (!strcmp(s, missing_words[i]))
			return 1;
	return 0;
}

/*
 * A plain decimal ([-+]digits[.digits], at most 15 digits) read exactly as
 * strtod reads it, but fast: the digits as an integer below 2^53, divided by
 * a power of ten that is exact in a double, is correctly rounded.  -1 for
 * anything else, left to strtod.
 */
static int fast_number(double *out, const char *s, size_t len)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
		1e15 };
	const char *e = s + len;
	uint64_t m = 0;
	int digits = 0, frac = -1, neg = 0;
	if (s < e && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s >= '0' && *s <= '9') {
			if (++digits > 15)
				return -1;
			m = m * 10 + (uint64_t)(*s - '0');
			if (frac >= 0)
				frac++;
		} else if (*s == '.' && frac < 0) {
			frac = 0;
		} else {
			return -1;
		}
	}
	if (!digits)
		return -1;
	*out = (double)m / p10[frac > 0 ? frac : 0];
	if (neg)
		*out = -*out;
	return 0;
}

/* One value of a column (NUL-terminated, blanks trimmed); `json_type` -1 for text, else the JSON type. */
int prof_column_add(struct column *c, const char *s, size_t len, int jtype, double num)
{
	uint64_t h;
	int isnum = 0, isbool = 0;

	if (jtype < 0 && is_missing(s)) {
		c->missing++;
		return 0;
	}
	c->count++;
	if (jtype == JSON_INTEGER || jtype == JSON_REAL)
		isnum = 1;
	else if (jtype == JSON_TRUE || jtype == JSON_FALSE)
		isbool = 1;
	else if (jtype < 0) {
		char *end;
		if (fast_number(&num, s, len) == 0) {
			isnum = 1;
		} else if (!strchr("0123456789+-.iInN", *s) || !*s) {
			isnum = 0; /* nothing strtod reads starts so */
		} else {
			errno = 0;
			num = strtod(s, &end);
			isnum = end != s && !*end && isfinite(num);
		}
		isbool = !isnum && (*s == 't' || *s == 'T' || *s == 'f' || *s == 'F') &&
			 (!strcasecmp(s, "true") || !strcasecmp(s, "false"));
	}
	h = XXH3_64bits(s, len);
	xtrk_hll_add(&c->hll, h);
	if (isnum) {
		double d;
		c->nnum++;
		if (c->nnum == 1 || num < c->min)
			c->min = num;
		if (c->nnum == 1 || num > c->max)
			c->max = num;
		d = num - c->mean;
		c->mean += d / (double)c->nnum;
		c->m2 += d * (num - c->mean);
		return xtrk_kll_add(c->kll, num);
	}
	if (isbool)
		c->nbool++;
	else
		c->nstr++;
	return top_add(c, s, len, h);
}

static void column_free(struct column *c)
{
	free(c->name);
	xtrk_kll_free(c->kll);
	for (unsigned i = 0; i < c->ntop; i++)
		free(c->top[i].value);
}

static int top_cmp(const void *a, const void *b)
{
	const struct top *x = a, *y = b;
	return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->value, y->value);
}

static json_t *column_json(struct column *c)
{
	const char *type = (c->nnum || c->infinite) && !c->nstr && !c->nbool ? "number"
			   : c->nbool && !c->nstr && !c->nnum ? "bool"
			   : c->count ? "string" : "empty";
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I}, s:I}", "name", c->name, "type", type,
		"count", (json_int_t)c->count, "missing", (json_int_t)c->missing, "types", "number",
		(json_int_t)c->nnum, "string", (json_int_t)c->nstr, "bool", (json_int_t)c->nbool, "distinct",
		(json_int_t)llround(c->count ? xtrk_hll_estimate(&c->hll) : 0));
	if (!j)
		return NULL;
	if (c->nnum) {
		json_t *edges = json_array(), *counts = json_array();
		double lo = c->min, hi = c->max, prev = 0;
		json_object_set_new(j, "min", json_real(c->min));
		json_object_set_new(j, "max", json_real(c->max));
		json_object_set_new(j, "mean", json_real(c->mean));
		json_object_set_new(j, "std", json_real(c->nnum > 1 ? sqrt(c->m2 / (double)(c->nnum - 1)) : 0));
		if (c->infinite)
			json_object_set_new(j, "infinite", json_integer((json_int_t)c->infinite));
		json_object_set_new(j, "quantiles", json_pack("{s:f, s:f, s:f, s:f, s:f}",
			"p01", xtrk_kll_quantile(c->kll, 0.01), "p25", xtrk_kll_quantile(c->kll, 0.25),
			"p50", xtrk_kll_quantile(c->kll, 0.5), "p75", xtrk_kll_quantile(c->kll, 0.75),
			"p99", xtrk_kll_quantile(c->kll, 0.99)));
		/* Equal-width bins over [min, max], their counts read off the sketch. */
		for (int b = 0; b <= XTRK_PROFILE_BINS; b++) {
			double e = b == XTRK_PROFILE_BINS ? hi : lo + (hi - lo) * b / XTRK_PROFILE_BINS;
			json_array_append_new(edges, json_real(e));
			if (b) {
				double f = b == XTRK_PROFILE_BINS ? 1.0 : xtrk_kll_cdf(c->kll, e);
				json_array_append_new(counts, json_integer((json_int_t)llround((f - prev) * (double)c->nnum)));
				prev = f;
			}
		}
		json_object_set_new(j, "histogram", json_pack("{s:o, s:o}", "edges", edges, "counts", counts));
		json_object_set_new(j, "sketch", xtrk_kll_to_json(c->kll));
	}
	if (c->ntop && (c->nstr || c->nbool)) {
		json_t *top = json_array();
		qsort(c->top, c->ntop, sizeof(c->top[0]), top_cmp);
		/* Only values surely seen more than once; "error": how much of the count may be others'. */
		for (unsigned i = 0; i < c->ntop; i++)
			if (!c->top[i].err || c->top[i].count > c->top[i].err + 1)
				json_array_append_new(top, json_pack("{s:s%, s:I, s:I}", "value", c->top[i].value,
					strlen(c->top[i].value), "count", (json_int_t)c->top[i].count, "error",
					(json_int_t)c->top[i].err));
		json_object_set_new(j, "top", top);
		/* Every value the column holds is in "top", counted exactly. */
		json_object_set_new(j, "top_complete", json_boolean(!c->replaced));
		if (c->replaced) {
			/* Space-saving's bound: a value not in top was seen at most this often. */
			uint64_t floor = c->top[0].count;
			for (unsigned i = 1; i < c->ntop; i++)
				if (c->top[i].count < floor)
					floor = c->top[i].count;
			json_object_set_new(j, "top_floor", json_integer((json_int_t)floor));
		}
	}
	return j;
}

/* ------------------------------------------------- row fingerprints ---- */



static int fps_insert(struct fps *f, uint64_t h, uint32_t line)
{
	size_t i = (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (FPS_CAP - 1);
	while (f->slot[i]) {
		if (f->slot[i] == h)
			return 0;
		i = (i + 1) & (FPS_CAP - 1);
	}
	f->slot[i] = h;
	f->line[i] = line;
	f->n++;
	return 1;
}

void prof_fps_add(struct fps *f, uint64_t h, uint64_t line)
{
	if (!h)
		h = 1;
	if (h > f->threshold)
		return;
	fps_insert(f, h, line > UINT32_MAX ? UINT32_MAX : (uint32_t)line);
	while (f->n > XTRK_PROFILE_MAX_FINGERPRINTS) {
		/* Too many: keep only those at or below half the threshold, the same sample in every file. */
		uint64_t *old = f->slot;
		uint32_t *oldl = f->line;
		size_t n = FPS_CAP;
		f->threshold /= 2;
		f->sampled = 1;
		f->slot = calloc(FPS_CAP, sizeof(uint64_t));
		f->line = calloc(FPS_CAP, sizeof(uint32_t));
		if (!f->slot || !f->line) { /* keep the old table: the sample only grows a little */
			free(f->slot);
			free(f->line);
			f->slot = old;
			f->line = oldl;
			return;
		}
		f->n = 0;
		for (size_t i = 0; i < n; i++)
			if (old[i] && old[i] <= f->threshold)
				fps_insert(f, old[i], oldl[i]);
		free(old);
		free(oldl);
	}
}

struct fpl {
	uint64_t h;
	uint32_t line;
};

static int fpl_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct fpl *)a)->h, y = ((const struct fpl *)b)->h;
	return x < y ? -1 : x > y;
}

static json_t *fps_json(struct fps *f)
{
	struct fpl *a = malloc((f->n ? f->n : 1) * sizeof(*a));
	char *hex = malloc(f->n * 16 + 1), th[17];
	json_t *lines = json_array(), *j = NULL;
	size_t m = 0;
	if (!a || !hex || !lines)
		goto done;
	for (size_t i = 0; i < FPS_CAP; i++)
		if (f->slot[i])
			a[m].h = f->slot[i], a[m++].line = f->line[i];
	qsort(a, m, sizeof(*a), fpl_cmp);
	for (size_t i = 0; i < m; i++) {
		snprintf(hex + 16 * i, 17, "%016llx", (unsigned long long)a[i].h);
		json_array_append_new(lines, json_integer(a[i].line));
	}
	hex[16 * m] = 0;
	snprintf(th, sizeof(th), "%016llx", (unsigned long long)f->threshold);
	j = json_pack("{s:b, s:s, s:s, s:O}", "complete", !f->sampled, "threshold", th, "hashes", hex, "lines", lines);
done:
	free(a);
	free(hex);
	json_decref(lines);
	return j;
}

/* ------------------------------------------------------ the table ---- */


void prof_problem(struct prof *p, const char *where, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	if (json_array_size(p->problems) >= XTRK_PROFILE_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(p->problems, json_sprintf("%s: %s", where, msg));
	xtrk_warning_add("%s: %s: %s", p->label, where, msg);
}

#define problem(p, line, ...) do { \
		char where_[32]; \
		snprintf(where_, sizeof(where_), "line %llu", (unsigned long long)(line)); \
		prof_problem((p), where_, __VA_ARGS__); \
	} while (0)

int prof_add_column(struct prof *p, const char *name)
{
	struct column *c;
	p->ncols_total++;
	if (p->ncols >= XTRK_PROFILE_MAX_COLUMNS)
		return 0;
	c = &p->cols[p->ncols];
	memset(c, 0, sizeof(*c));
	if (!(c->name = strdup(name)) || !(c->kll = xtrk_kll_new(256)))
		return xtrk_error_oom();
	p->ncols++;
	return 0;
}

/* Blanks trimmed off both ends: [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t' || **s == '\r'))
		(*s)++, (*len)--;
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

static void csv_field(void *data, size_t len, void *payload)
{
	struct prof *p = payload;
	const char *s = data ? data : "";
	if (p->err || p->stop)
		return;
	trim(&s, &len);
	if (p->field >= XTRK_PROFILE_MAX_COLUMNS + 1) {
		/* Past the fields kept: the row's fingerprint streams (a kept row is hashed at once, in csv_row). */
		if (p->field == XTRK_PROFILE_MAX_COLUMNS + 1) {
			XXH3_64bits_reset(p->row_hash);
			for (size_t i = 0; i < p->nv; i++) {
				if (i)
					XXH3_64bits_update(p->row_hash, "\x1f", 1);
				XXH3_64bits_update(p->row_hash, p->vals + p->voff[i], strlen(p->vals + p->voff[i]));
			}
		}
		XXH3_64bits_update(p->row_hash, "\x1f", 1);
		XXH3_64bits_update(p->row_hash, s, len);
	} else {
		/* Keep the field until the row ends: a ragged row is not profiled. */
		if (p->vlen + len + 1 > p->vcap) {
			size_t cap = (p->vlen + len + 1) * 2;
			char *v = realloc(p->vals, cap);
			if (!v) {
				p->err = xtrk_error_oom();
				return;
			}
			p->vals = v;
			p->vcap = cap;
		}
		memcpy(p->vals + p->vlen, s, len);
		p->vals[p->vlen + len] = 0;
		p->voff[p->nv++] = p->vlen;
		p->vlen += len + 1;
	}
	p->field++;
}

static void csv_row(int c, void *payload)
{
	struct prof *p = payload;
	size_t nfields = p->field;
	(void)c;
	if (p->err || p->stop)
		goto next;
	if (!p->header_done) {
		char name[64];
		p->header_done = 1;
		for (size_t i = 0; i < nfields && !p->err; i++) {
			const char *v = i < p->nv ? p->vals + p->voff[i] : "";
			if (!*v)
				snprintf(name, sizeof(name), "column %zu", i + 1);
			p->err = prof_add_column(p, *v ? v : name);
		}
		goto next;
	}
	if (nfields != p->ncols_total) {
		p->ragged++;
		problem(p, p->row_start, "%zu fields where the header has %zu", nfields, p->ncols_total);
		goto next;
	}
	p->rows++;
	for (size_t i = 0; i < p->ncols && i < p->nv && !p->err; i++) {
		size_t end = i + 1 < p->nv ? p->voff[i + 1] : p->vlen;
		p->err = prof_column_add(&p->cols[i], p->vals + p->voff[i], end - p->voff[i] - 1, -1, 0);
	}
	if (nfields > p->nv) {
		prof_fps_add(&p->fps, XXH3_64bits_digest(p->row_hash), p->row_start);
	} else {
		/* The fields joined by 0x1f, hashed at once: the same hash as streaming them. */
		for (size_t i = 1; i < p->nv; i++)
			p->vals[p->voff[i] - 1] = 0x1f;
		prof_fps_add(&p->fps, XXH3_64bits(p->vals, p->vlen ? p->vlen - 1 : 0), p->row_start);
	}
next:
	p->field = 0;
	p->nv = 0;
	p->vlen = 0;
	p->row_start = p->line + 1;
}

/*
 * A whole line without quotes, split where libcsv would split it, its fields
 * and row handed to the same callbacks: libcsv's state machine costs more
 * than the rest of profiling, and such lines, the most common, need none of
 * it.  -1 (nothing done) for a line it must read: one with a quote, or a
 * carriage return anywhere but before the newline.  Like libcsv, a line of
 * blanks alone is no row.
 */
static int plain_line(struct prof *p, const char *s, size_t len, char delim)
{
	const char *end, *f;
	size_t i;
	if (len && s[len - 1] == '\r')
		len--;
	if (memchr(s, '"', len) || memchr(s, '\r', len))
		return -1;
	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t') && s[i] != delim; i++)
		;
	if (i == len)
		return 0;
	for (f = s, end = s + len;;) {
		const char *d = memchr(f, delim, (size_t)(end - f));
		csv_field((void *)f, (size_t)((d ? d : end) - f), p);
		if (!d)
			break;
		f = d + 1;
	}
	csv_row(0, p);
	return 0;
}

static int profile_csv(struct prof *p, int fd, char delim)
{
	struct csv_parser cp;
	char *buf = malloc(1 << 16);
	ssize_t got;
	int err = 0, inited = 0;

	if (!buf || !(p->voff = malloc((XTRK_PROFILE_MAX_COLUMNS + 2) * sizeof(size_t))) ||
	    !(p->row_hash = XXH3_createState())) {
		err = xtrk_error_oom();
		goto done;
	}
	if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		err = xtrk_error_oom();
		goto done;
	}
	inited = 1;
	csv_set_delim(&cp, (unsigned char)delim);
	p->line = 1;
	p->row_start = 1;
	while (!p->stop && (got = read(fd, buf, 1 << 16)) != 0) {
		size_t off = 0;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			err = xtrk_error_errno("cannot read '%s'", p->label);
			goto done;
		}
		/* Fed a line at a time, so that a problem is named by its line. */
		while (off < (size_t)got && !p->stop) {
			char *nl = memchr(buf + off, '\n', (size_t)got - off);
			size_t seg = nl ? (size_t)(nl - (buf + off)) + 1 : (size_t)got - off;
			if (memchr(buf + off, 0, seg)) {
				problem(p, p->line, "binary data (a NUL byte); the rest of the file is not profiled");
				p->stop = 1;
				break;
			}
			if (nl && cp.pstate == 0 && plain_line(p, buf + off, seg - 1, delim) == 0) {
				/* Read as libcsv would have read it: no quote in it, and libcsv at the start of a
				 * row (pstate 0 is its ROW_NOT_BEGUN; a quoted field open across lines is not). */
			} else if (csv_parse(&cp, buf + off, seg, csv_field, csv_row, p) != seg) {
				problem(p, p->line, "%s; the rest of the file is not profiled", csv_strerror(csv_error(&cp)));
				p->stop = 1;
				break;
			}
			if (p->err) {
				err = p->err;
				goto done;
			}
			if (cp.entry_pos > XTRK_PROFILE_MAX_FIELD) {
				problem(p, p->row_start, "a field longer than %u bytes (an unclosed quote?); "
					"the rest of the file is not profiled", XTRK_PROFILE_MAX_FIELD);
				p->stop = 1;
				break;
			}
			if (nl)
				p->line++;
			off += seg;
		}
	}
	if (!p->stop && csv_fini(&cp, csv_field, csv_row, p) != 0) {
		problem(p, p->row_start, "%s (an unclosed quote?)", csv_strerror(csv_error(&cp)));
		p->stop = 1;
	}
	err = p->err;
done:
	if (inited)
		csv_free(&cp);
	free(buf);
	return err;
}

/* A JSON value as the text a CSV would hold: strings as they are, the rest as JSON. */
static int jsonl_value(struct column *c, json_t *v)
{
	char num[40];
	int err;
	switch (json_typeof(v)) {
	case JSON_NULL:
		c->missing++;
		return 0;
	case JSON_STRING: {
		/* A string is text: "NA" in a JSON string is still missing, as in a CSV. */
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		return prof_column_add(c, s, len, -1, 0);
	}
	case JSON_INTEGER:
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_number_value(v));
		return prof_column_add(c, num, strlen(num), (int)json_typeof(v), json_number_value(v));
	case JSON_TRUE:
	case JSON_FALSE:
		return prof_column_add(c, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, (int)json_typeof(v), 0);
	default: {
		char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (!d)
			return xtrk_error_oom();
		err = prof_column_add(c, d, strlen(d), JSON_STRING, 0);
		free(d);
		return err;
	}
	}
}

static int jsonl_line(struct prof *p, const char *s, size_t len)
{
	json_error_t je;
	json_t *o;
	const char *key;
	json_t *v;
	char *norm;
	int err = 0;

	trim(&s, &len);
	if (!len)
		return 0;
	if (!(o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je))) {
		p->bad_lines++;
		problem(p, p->line, "not JSON (%s)", je.text);
		return 0;
	}
	if (!json_is_object(o)) {
		p->bad_lines++;
		problem(p, p->line, "not a JSON object");
		json_decref(o);
		return 0;
	}
	p->rows++;
	if ((norm = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS))) {
		prof_fps_add(&p->fps, XXH3_64bits(norm, strlen(norm)), p->line);
		free(norm);
	}
	json_object_foreach(o, key, v) {
		size_t i;
		for (i = 0; i < p->ncols && strcmp(p->cols[i].name, key); i++)
			;
		if (i == p->ncols) {
			if (p->ncols >= XTRK_PROFILE_MAX_COLUMNS)
				continue;
			if ((err = prof_add_column(p, key)) < 0)
				break;
			/* Rows before this one lacked the key. */
			p->cols[i].missing = p->rows - 1;
		}
		if ((err = jsonl_value(&p->cols[i], v)) < 0)
			break;
	}
	/* A key this row lacks is missing in it. */
	for (size_t i = 0; i < p->ncols && !err; i++)
		if (!json_object_get(o, p->cols[i].name))
			p->cols[i].missing++;
	json_decref(o);
	return err;
}

static int profile_jsonl(struct prof *p, int fd)
{
	char *buf = malloc(1 << 16);
	xtrk_buf line = XTRK_BUF_INIT;
	ssize_t got;
	int err = 0, skipping = 0;

	if (!buf)
		return xtrk_error_oom();
	p->line = 1;
	while ((got = read(fd, buf, 1 << 16)) != 0) {
		size_t off = 0;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			err = xtrk_error_errno("cannot read '%s'", p->label);
			goto done;
		}
		while (off < (size_t)got) {
			char *nl = memchr(buf + off, '\n', (size_t)got - off);
			size_t seg = nl ? (size_t)(nl - (buf + off)) : (size_t)got - off;
			if (!skipping && line.size + seg > XTRK_PROFILE_MAX_FIELD) {
				p->bad_lines++;
				problem(p, p->line, "longer than %u bytes; not profiled", XTRK_PROFILE_MAX_FIELD);
				skipping = 1;
				xtrk_buf_clear(&line);
			}
			if (!skipping && (err = xtrk_buf_put(&line, buf + off, seg)) < 0)
				goto done;
			off += seg;
			if (nl) {
				if (!skipping && (err = jsonl_line(p, line.ptr ? line.ptr : "", line.size)) < 0)
					goto done;
				xtrk_buf_clear(&line);
				skipping = 0;
				p->line++;
				off++;
			}
		}
	}
	if (!skipping && line.size)
		err = jsonl_line(p, line.ptr, line.size);
done:
	xtrk_buf_dispose(&line);
	free(buf);
	return err;
}

const char *xtrk_profile_kind(const char *path)
{
	size_t n = strlen(path);
	if (n > 4 && !strcasecmp(path + n - 4, ".csv"))
		return "csv";
	if (n > 4 && !strcasecmp(path + n - 4, ".tsv"))
		return "tsv";
	if (n > 6 && !strcasecmp(path + n - 6, ".jsonl"))
		return "jsonl";
	if (n > 7 && !strcasecmp(path + n - 7, ".ndjson"))
		return "jsonl";
	if (n > 4 && !strcasecmp(path + n - 4, ".npy"))
		return "npy";
	return NULL;
}

int xtrk_profile_file(json_t **out, const char *path, const char *kind, const char *label)
{
	struct prof p;
	struct stat st;
	json_t *cols = NULL, *j = NULL;
	int fd = -1, err;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.label = label ? label : path;
	if (!kind && !(kind = xtrk_profile_kind(path)))
		return xtrk_error_set(XTRK_EINVALID, "'%s' is not a table xtrk profiles (.csv, .tsv, .jsonl, .npy)", p.label);
	p.fps.threshold = UINT64_MAX;
	if (!(p.problems = json_array()) || !(p.cols = calloc(XTRK_PROFILE_MAX_COLUMNS, sizeof(*p.cols))) ||
	    !(p.fps.slot = calloc(FPS_CAP, sizeof(uint64_t))) || !(p.fps.line = calloc(FPS_CAP, sizeof(uint32_t)))) {
		err = xtrk_error_oom();
		goto done;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		err = xtrk_error_errno("cannot read '%s'", p.label);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err = xtrk_error_set(XTRK_EINVALID, "'%s' is not a file", p.label);
		goto done;
	}
	if (!strcmp(kind, "npy"))
		err = prof_npy(&p, fd, (uint64_t)st.st_size);
	else if (!strcmp(kind, "jsonl"))
		err = profile_jsonl(&p, fd);
	else
		err = profile_csv(&p, fd, !strcmp(kind, "tsv") ? '\t' : ',');
	if (err < 0)
		goto done;
	if (!(cols = json_array())) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < p.ncols; i++)
		json_array_append_new(cols, column_json(&p.cols[i]));
	j = json_pack("{s:i, s:s, s:I, s:I, s:b, s:I, s:I, s:O, s:I, s:O, s:o?}", "format", XTRK_PROFILE_FORMAT,
		"kind", kind, "bytes", (json_int_t)st.st_size, "rows", (json_int_t)p.rows, "complete", !p.stop,
		"ragged_rows", (json_int_t)p.ragged, "bad_lines", (json_int_t)p.bad_lines, "problems", p.problems,
		"columns_total", (json_int_t)(p.ncols_total > p.ncols ? p.ncols_total : p.ncols), "columns", cols,
		"fingerprints", p.no_fingerprints ? NULL : fps_json(&p.fps));
	if (j && p.no_fingerprints)
		json_object_del(j, "fingerprints");
	if (j && p.extra)
		json_object_update(j, p.extra);
	if (!j || json_array_size(cols) != p.ncols) {
		json_decref(j);
		j = NULL;
		err = xtrk_error_oom();
		goto done;
	}
	*out = j;
	err = 0;
done:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; p.cols && i < p.ncols; i++)
		column_free(&p.cols[i]);
	free(p.cols);
	free(p.fps.slot);
	free(p.fps.line);
	free(p.vals);
	free(p.voff);
	if (p.row_hash)
		XXH3_freeState(p.row_hash);
	json_decref(cols);
	json_decref(p.problems);
	json_decref(p.extra);
	return err;
}

/* ------------------------------------------------ stored profiles ---- */

int xtrk_profile_load(json_t **out, xtrk_repo *repo, const char *hex)
{
	xtrk_buf raw = XTRK_BUF_INIT;
	xtrk_oid id;
	json_error_t je;
	json_t *j = NULL;
	int err;

	*out = NULL;
	if (!hex || xtrk_oid_parse(&id, hex) < 0)
		return xtrk_error_set(XTRK_ECORRUPT, "'%s' is not a profile ID", hex ? hex : "");
	if ((err = xtrk_odb_read(&raw, NULL, xtrk_repo_odb(repo), &id, XTRK_OBJ_BLOB)) < 0)
		goto done;
	j = json_loadb(raw.ptr ? raw.ptr : "", raw.size, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j) || json_integer_value(json_object_get(j, "format")) != XTRK_PROFILE_FORMAT ||
	    !json_is_array(json_object_get(j, "columns")) || !json_is_integer(json_object_get(j, "rows")) ||
	    xtrk_json_check_depth(j, 8, "profile") < 0) {
		err = xtrk_error_set(XTRK_ECORRUPT, "profile %s is not a profile xtrk reads", hex);
		goto done;
	}
	*out = json_incref(j);
done:
	json_decref(j);
	xtrk_buf_dispose(&raw);
	return err;
}

int xtrk_profile_run(json_t **out, xtrk_repo *repo, json_t *rec)
{
	json_t *ds = json_object_get(rec, XTRK_REC_DATASETS), *e, *arr = json_array();
	size_t i;
	if (!arr)
		return xtrk_error_oom();
	json_array_foreach(ds, i, e) {
		const char *hex = xtrk_record_str(e, XTRK_REC_PROFILE);
		json_t *p;
		if (!hex)
			continue;
		if (xtrk_profile_load(&p, repo, hex) < 0) {
			xtrk_warning_add("dataset '%s': %s", xtrk_record_str(e, XTRK_REC_NAME), xtrk_error_last());
			xtrk_error_clear();
			continue;
		}
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:o}", "name", xtrk_record_str(e, XTRK_REC_NAME),
			"path", xtrk_record_str(e, XTRK_REC_PATH), "profile", p));
	}
	*out = arr;
	return 0;
}

int xtrk_profile_target(json_t **out, xtrk_repo *repo, const char *arg)
{
	struct stat st;
	json_t *p, *rec = NULL;
	xtrk_oid id;
	int err;

	*out = NULL;
	if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
		const char *base = strrchr(arg, '/');
		if ((err = xtrk_profile_file(&p, arg, NULL, arg)) < 0)
			return err;
		if (!(*out = json_pack("[{s:s, s:s, s:o}]", "name", base ? base + 1 : arg, "path", arg, "profile", p)))
			return xtrk_error_oom();
		return 0;
	}
	if (!repo)
		return xtrk_error_set(XTRK_ENOTFOUND, "'%s' is no file, and there is no xtrk workspace to find a run in", arg);
	if ((err = xtrk_run_resolve(&id, repo, arg)) < 0 || (err = xtrk_run_read(&rec, repo, &id)) < 0)
		return err;
	err = xtrk_profile_run(out, repo, rec);
	json_decref(rec);
	return err;
}

void xtrk_profile_summary(xtrk_buf *out, const json_t *p)
{
	json_t *cols = json_object_get(p, "columns"), *c;
	json_int_t missing = 0;
	size_t i, nprob = json_array_size(json_object_get(p, "problems"));
	json_array_foreach(cols, i, c)
		missing += json_integer_value(json_object_get(c, "missing"));
	long long rows = (long long)json_integer_value(json_object_get(p, "rows"));
	long long ncol = (long long)json_integer_value(json_object_get(p, "columns_total"));
	xtrk_buf_printf(out, "%lld row%s, %lld column%s, %lld missing value%s", rows, rows == 1 ? "" : "s", ncol,
		ncol == 1 ? "" : "s", (long long)missing, missing == 1 ? "" : "s");
	if (nprob)
		xtrk_buf_printf(out, ", %zu problem%s%s", nprob, nprob == 1 ? "" : "s",
			json_is_false(json_object_get(p, "complete")) ? " (read in part)" : "");
}

/* ------------------------------------------------------- drift ---- */

static int config_double(double *out, xtrk_repo *repo, const char *key, double dflt)
{
	xtrk_buf b = XTRK_BUF_INIT;
	char *end;
	int err = 0;
	*out = dflt;
	if (xtrk_repo_config_string(&b, repo, key) == 0) {
		errno = 0;
		*out = strtod(b.ptr, &end);
		if (end == b.ptr || *end || !isfinite(*out) || *out < 0)
			err = xtrk_error_set(XTRK_EINVALID, "%s = '%s' in the config is not a number >= 0", key, b.ptr);
	} else {
		xtrk_error_clear();
	}
	xtrk_buf_dispose(&b);
	return err;
}

int xtrk_drift_limits_load(xtrk_drift_limits *out, xtrk_repo *repo)
{
	int err;
	if ((err = config_double(&out->psi, repo, "drift.psi", 0.2)) < 0 ||
	    (err = config_double(&out->ks, repo, "drift.ks", 0.1)) < 0 ||
	    (err = config_double(&out->missing, repo, "drift.missing", 0.05)) < 0 ||
	    (err = xtrk_repo_config_bool(&out->new_categories, repo, "drift.newCategories", 1)) < 0)
		return err;
	return 0;
}

static json_t *find_column(const json_t *p, const char *name)
{
	json_t *cols = json_object_get(p, "columns"), *c;
	size_t i;
	json_array_foreach(cols, i, c)
		if (json_is_string(json_object_get(c, "name")) && !strcmp(json_string_value(json_object_get(c, "name")), name))
			return c;
	return NULL;
}

static double missing_rate(const json_t *c)
{
	double n = (double)json_integer_value(json_object_get(c, "count")),
	       m = (double)json_integer_value(json_object_get(c, "missing"));
	return n + m > 0 ? m / (n + m) : 0;
}

/* PSI over the base's histogram bins, each side's share of a bin read off its own sketch. */
static double psi(const xtrk_kll *a, const xtrk_kll *b, const json_t *edges)
{
	size_t nb = json_array_size(edges);
	double sum = 0, pa = 0, pb = 0;
	if (nb < 3)
		return 0;
	for (size_t i = 1; i < nb; i++) {
		/* The first and last bins are open: values outside the base's range fall in them. */
		double e = json_number_value(json_array_get(edges, i));
		double fa = i == nb - 1 ? 1 : xtrk_kll_cdf(a, e), fb = i == nb - 1 ? 1 : xtrk_kll_cdf(b, e);
		double x = fa - pa, y = fb - pb;
		pa = fa, pb = fb;
		if (x < 1e-4)
			x = 1e-4;
		if (y < 1e-4)
			y = 1e-4;
		sum += (y - x) * log(y / x);
	}
	return sum;
}

/*
 * Whether top value `t` of column `cur` is a category the base column lacks.
 * A base whose top values are complete lacks every value not among them.
 * One that is not (space-saving dropped values) may have left this one out,
 * but never one seen more often than "top_floor" (else the least counted
 * value it kept; older profiles lack the floor): the
 * value is new when its share in `cur` (count less its error) is certainly
 * over the largest share it could have had in the base unseen.
 */
static int new_category(const json_t *base, const json_t *cur, const json_t *t)
{
	const char *v = json_string_value(json_object_get(t, "value"));
	json_t *u;
	size_t l;
	double least = -1, bn, cn, lower;
	if (!v)
		return 0;
	json_array_foreach(json_object_get(base, "top"), l, u) {
		double n = (double)json_integer_value(json_object_get(u, "count"));
		if (json_is_string(json_object_get(u, "value")) && !strcmp(json_string_value(json_object_get(u, "value")), v))
			return 0;
		if (least < 0 || n < least)
			least = n;
	}
	if (json_is_true(json_object_get(base, "top_complete")))
		return 1;
	if (json_is_integer(json_object_get(base, "top_floor")))
		least = (double)json_integer_value(json_object_get(base, "top_floor"));
	bn = (double)json_integer_value(json_object_get(base, "count"));
	cn = (double)json_integer_value(json_object_get(cur, "count"));
	lower = (double)(json_integer_value(json_object_get(t, "count")) - json_integer_value(json_object_get(t, "error")));
	if (least < 0 || bn <= 0 || cn <= 0)
		return 0; /* nothing to bound the base's unseen values by */
	return lower / cn > least / bn;
}

int xtrk_profile_drift(json_t **out, const json_t *base, const json_t *cur, const xtrk_drift_limits *lim)
{
	json_t *res = json_array(), *missing_cols = json_array(), *new_cols = json_array(), *c;
	size_t i;
	json_int_t over = 0;

	*out = NULL;
	if (!res || !missing_cols || !new_cols) {
		json_decref(res);
		json_decref(missing_cols);
		json_decref(new_cols);
		return xtrk_error_oom();
	}
	json_array_foreach(json_object_get(base, "columns"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *d = name ? find_column(cur, name) : NULL, *r, *flags = json_array(), *newcat = json_array();
		const char *type = json_string_value(json_object_get(c, "type"));
		double mb, mc;
		if (!name) {
			json_decref(flags);
			json_decref(newcat);
			continue;
		}
		if (!d) {
			json_array_append_new(missing_cols, json_string(name));
			json_decref(flags);
			json_decref(newcat);
			continue;
		}
		mb = missing_rate(c);
		mc = missing_rate(d);
		r = json_pack("{s:s, s:s?, s:f, s:f, s:f}", "name", name, "type", type, "missing_base", mb, "missing", mc,
			"missing_change", mc - mb);
		if (fabs(mc - mb) > lim->missing)
			json_array_append_new(flags, json_string("missing"));
		if (json_object_get(c, "sketch") && json_object_get(d, "sketch")) {
			xtrk_kll *a = xtrk_kll_from_json(json_object_get(c, "sketch"));
			xtrk_kll *b = xtrk_kll_from_json(json_object_get(d, "sketch"));
			if (a && b) {
				double p = psi(a, b, json_object_get(json_object_get(c, "histogram"), "edges"));
				double ks = xtrk_kll_ks(a, b);
				json_object_set_new(r, "psi", json_real(p));
				json_object_set_new(r, "ks", json_real(ks));
				if (p > lim->psi)
					json_array_append_new(flags, json_string("psi"));
				if (ks > lim->ks)
					json_array_append_new(flags, json_string("ks"));
			}
			xtrk_kll_free(a);
			xtrk_kll_free(b);
			xtrk_error_clear();
		}
		if (json_object_get(d, "top") && type && strcmp(type, "number")) {
			size_t k;
			json_t *t;
			json_array_foreach(json_object_get(d, "top"), k, t)
				if (new_category(c, d, t))
					json_array_append_new(newcat, json_incref(json_object_get(t, "value")));
			if (json_array_size(newcat) && lim->new_categories)
				json_array_append_new(flags, json_string("new_categories"));
		}
		json_object_set_new(r, "new_categories", newcat);
		if (json_array_size(flags))
			over++;
		json_object_set_new(r, "over", flags);
		json_array_append_new(res, r);
	}
	/* A column the data no longer has is a change over any limit. */
	over += (json_int_t)json_array_size(missing_cols);
	json_array_foreach(json_object_get(cur, "columns"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		if (name && !find_column(base, name))
			json_array_append_new(new_cols, json_string(name));
	}
	*out = json_pack("{s:o, s:o, s:o, s:I}", "columns", res, "missing_columns", missing_cols, "new_columns",
		new_cols, "over", (json_int_t)over);
	return *out ? 0 : xtrk_error_oom();
}

/* ------------------------------------------------------ leakage ---- */

int xtrk_leakage_names_load(xtrk_leakage_names *out, xtrk_repo *repo)
{
	xtrk_buf b = XTRK_BUF_INIT;
	snprintf(out->train, sizeof(out->train), "train*");
	snprintf(out->eval, sizeof(out->eval), "test*,eval*,val*");
	if (xtrk_repo_config_string(&b, repo, "leakage.train") == 0)
		snprintf(out->train, sizeof(out->train), "%s", b.ptr);
	xtrk_buf_clear(&b);
	if (xtrk_repo_config_string(&b, repo, "leakage.eval") == 0)
		snprintf(out->eval, sizeof(out->eval), "%s", b.ptr);
	xtrk_error_clear();
	xtrk_buf_dispose(&b);
	return 0;
}

int xtrk_leakage_name_match(const char *globs, const char *name)
{
	char pat[256];
	const char *g = globs;
	while (g && *g) {
		const char *comma = strchr(g, ',');
		size_t n = comma ? (size_t)(comma - g) : strlen(g);
		const char *s = g;
		trim(&s, &n);
		if (n && n < sizeof(pat)) {
			memcpy(pat, s, n);
			pat[n] = 0;
			if (!fnmatch(pat, name, 0))
				return 1;
		}
		g = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* The fingerprints of a profile: hashes (16 hex each, ascending) and threshold; -1 when it has none. */
static int fp_get(const json_t *p, const char **hex, size_t *n, uint64_t *threshold, const json_t **lines)
{
	json_t *f = json_object_get(p, "fingerprints");
	const char *h = json_string_value(json_object_get(f, "hashes"));
	const char *t = json_string_value(json_object_get(f, "threshold"));
	if (!h || !t || strlen(h) % 16 || strlen(t) != 16)
		return -1;
	*hex = h;
	*n = strlen(h) / 16;
	*threshold = strtoull(t, NULL, 16);
	*lines = json_object_get(f, "lines");
	return 0;
}

static uint64_t fp_at(const char *hex, size_t i)
{
	char b[17];
	memcpy(b, hex + 16 * i, 16);
	b[16] = 0;
	return strtoull(b, NULL, 16);
}

int xtrk_profile_leakage(json_t **out, const json_t *profiles, const xtrk_leakage_names *names)
{
	json_t *res = json_array(), *a, *b;
	size_t i, j;
	if (!(*out = res))
		return xtrk_error_oom();
	json_array_foreach(profiles, i, a) {
		const char *an = json_string_value(json_object_get(a, "name"));
		if (!an || !xtrk_leakage_name_match(names->train, an))
			continue;
		json_array_foreach(profiles, j, b) {
			const char *bn = json_string_value(json_object_get(b, "name")), *ha, *hb;
			const json_t *la, *lb;
			size_t na, nb, x = 0, y = 0;
			uint64_t ta, tb, t, shared = 0;
			int exact;
			json_t *ex;
			if (i == j || !bn || !xtrk_leakage_name_match(names->eval, bn) ||
			    fp_get(json_object_get(a, "profile"), &ha, &na, &ta, &la) < 0 ||
			    fp_get(json_object_get(b, "profile"), &hb, &nb, &tb, &lb) < 0)
				continue;
			/* Both kept every fingerprint at or below their threshold: compare below the lower one. */
			t = ta < tb ? ta : tb;
			exact = t == UINT64_MAX;
			ex = json_array();
			while (x < na && y < nb) {
				uint64_t u = fp_at(ha, x), v = fp_at(hb, y);
				if (u > t || v > t)
					break;
				if (u < v)
					x++;
				else if (v < u)
					y++;
				else {
					char hx[17];
					shared++;
					snprintf(hx, sizeof(hx), "%016llx", (unsigned long long)u);
					if (json_array_size(ex) < 5)
						json_array_append_new(ex, json_pack("{s:s, s:O?, s:O?}", "fingerprint", hx,
							"train_line", json_array_get(la, x), "eval_line", json_array_get(lb, y)));
					x++, y++;
				}
			}
			if (!exact)
				shared = (uint64_t)llround((double)shared * (double)UINT64_MAX / (double)t);
			json_array_append_new(res, json_pack("{s:s, s:s, s:I, s:b, s:o}", "train", an, "eval", bn,
				"shared", (json_int_t)shared, "exact", exact, "examples", ex));
		}
	}
	return 0;
}
