/* The report's step series packed for the page (report_pack.h). */
#include "config.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report_pack.h"
#include "xtrk/errors.h"

struct report_pack {
	size_t run_points;
	xtrk_buf block;
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int report_put_base64(xtrk_buf *out, const unsigned char *p, size_t n)
{
	char *q;
	size_t i = 0;
	if (xtrk_buf_grow(out, (n + 2) / 3 * 4 + 1) < 0)
		return xtrk_error_oom();
	q = out->ptr + out->size;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*q++ = b64chars[v >> 18 & 63];
		*q++ = b64chars[v >> 12 & 63];
		*q++ = b64chars[v >> 6 & 63];
		*q++ = b64chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*q++ = b64chars[v >> 18 & 63];
		*q++ = b64chars[v >> 12 & 63];
		*q++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*q++ = '=';
	}
	out->size = (size_t)(q - out->ptr);
	out->ptr[out->size] = '\0';
	return 0;
}

int report_pack_new(report_pack **out, size_t run_points)
{
	report_pack *p = calloc(1, sizeof(*p));
	if (!p)
		return xtrk_error_oom();
	p->run_points = run_points;
	p->block = (xtrk_buf)XTRK_BUF_INIT;
	*out = p;
	return 0;
}

void report_pack_free(report_pack *p)
{
	if (!p)
		return;
	xtrk_buf_dispose(&p->block);
	free(p);
}

/* Append n little-endian words of `width` bytes, byte plane by byte plane. */
static int put_planes(xtrk_buf *b, const uint64_t *w, size_t n, size_t width)
{
	unsigned char *q;
	if (xtrk_buf_grow(b, n * width + 1) < 0)
		return xtrk_error_oom();
	q = (unsigned char *)b->ptr + b->size;
	for (size_t k = 0; k < width; k++)
		for (size_t i = 0; i < n; i++)
			*q++ = (unsigned char)(w[i] >> (8 * k));
	b->size += n * width;
	b->ptr[b->size] = '\0';
	return 0;
}

/* The points of one line to keep: every logged one up to `budget`, else each stretch's lowest and highest. */
static size_t choose(size_t *keep, const xtrk_series *s, size_t k, size_t logged, size_t budget)
{
	size_t n = 0, buckets;
	if (logged <= budget) {
		for (size_t i = 0; i < s->nsteps; i++)
			if (!isnan(s->values[i * s->nkeys + k]))
				keep[n++] = i;
		return n;
	}
	/* keep[] first lists the logged points, then is overwritten from the front by the chosen ones */
	for (size_t i = 0; i < s->nsteps; i++)
		if (!isnan(s->values[i * s->nkeys + k]))
			keep[n++] = i;
	buckets = budget / 2 ? budget / 2 : 1;
	size_t out = 0;
	for (size_t b = 0; b < buckets; b++) {
		size_t lo = b * logged / buckets, hi = (b + 1) * logged / buckets, mn, mx;
		if (lo >= hi)
			continue;
		mn = mx = keep[lo];
		for (size_t j = lo + 1; j < hi; j++) {
			double v = s->values[keep[j] * s->nkeys + k];
			if (v < s->values[mn * s->nkeys + k])
				mn = keep[j];
			if (v > s->values[mx * s->nkeys + k])
				mx = keep[j];
		}
		/* out <= lo always: two kept from a stretch of at least two, one from a stretch of one */
		keep[out++] = mn < mx ? mn : mx;
		if (mn != mx)
			keep[out++] = mn < mx ? mx : mn;
	}
	return out;
}

static int put_line(json_t **desc, report_pack *p, const xtrk_series *s, size_t k, const size_t *keep, size_t n,
	size_t logged)
{
	uint64_t *w = malloc((n + 1) * sizeof(*w));
	int d4 = 1, ints = 1, floats = 1, err;
	size_t off = p->block.size;
	const char *vt;

	if (!w)
		return xtrk_error_oom();
	for (size_t i = 0; i < n; i++) {
		int64_t st = s->steps[keep[i]], d = i ? st - s->steps[keep[i - 1]] : st;
		double x = s->values[keep[i] * s->nkeys + k];
		if (d > INT32_MAX || d < INT32_MIN)
			d4 = 0;
		if (x != floor(x) || x < -2147483648.0 || x > 2147483647.0)
			ints = 0;
		if ((double)(float)x != x)
			floats = 0;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t st = s->steps[keep[i]];
		if (d4) {
			w[i] = (uint32_t)(int32_t)(i ? st - s->steps[keep[i - 1]] : st);
		} else {
			double x = (double)st;
			memcpy(&w[i], &x, 8);
		}
	}
	if ((err = put_planes(&p->block, w, n, d4 ? 4 : 8)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		double x = s->values[keep[i] * s->nkeys + k];
		if (ints) {
			w[i] = (uint32_t)(int32_t)x;
		} else if (floats) {
			float f = (float)x;
			uint32_t u;
			memcpy(&u, &f, 4);
			w[i] = u;
		} else {
			memcpy(&w[i], &x, 8);
		}
	}
	vt = ints ? "i4" : floats ? "f4" : "f8";
	if ((err = put_planes(&p->block, w, n, ints || floats ? 4 : 8)) < 0)
		goto done;
	if (!(*desc = json_pack("{s:I, s:I, s:I, s:s, s:s}", "o", (json_int_t)off, "n", (json_int_t)n, "of",
		      (json_int_t)logged, "st", d4 ? "d4" : "f8", "vt", vt)))
		err = xtrk_error_oom();
done:
	free(w);
	return err;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

int report_pack_series(json_t **out, report_pack *p, const xtrk_series *s)
{
	size_t *logged = calloc(s->nkeys + 1, sizeof(*logged)), *sorted = calloc(s->nkeys + 1, sizeof(*sorted)),
	       *keep = malloc((s->nsteps + 1) * sizeof(*keep)), left = p->run_points, total = 0, budget = SIZE_MAX;
	json_t *m = json_object();
	int err = 0;

	*out = NULL;
	if (!logged || !sorted || !keep || !m) {
		err = xtrk_error_oom();
		goto done;
	}
	for (size_t i = 0; i < s->nsteps; i++)
		for (size_t k = 0; k < s->nkeys; k++)
			logged[k] += !isnan(s->values[i * s->nkeys + k]);
	for (size_t k = 0; k < s->nkeys; k++)
		total += logged[k];
	if (total > p->run_points) {
		/* One budget for every line, the short lines' unused share going to the long ones. */
		memcpy(sorted, logged, s->nkeys * sizeof(*sorted));
		qsort(sorted, s->nkeys, sizeof(*sorted), cmp_size);
		for (size_t k = 0; k < s->nkeys; k++) {
			size_t fair = left / (s->nkeys - k);
			if (sorted[k] > fair) {
				budget = fair < 2 ? 2 : fair;
				break;
			}
			left -= sorted[k];
		}
	}
	for (size_t k = 0; k < s->nkeys && err == 0; k++) {
		json_t *d = NULL;
		size_t n;
		if (!logged[k])
			continue;
		n = choose(keep, s, k, logged[k], budget);
		if ((err = put_line(&d, p, s, k, keep, n, logged[k])) == 0 && json_object_set_new(m, s->keys[k], d) < 0)
			err = xtrk_error_oom();
	}
	if (err == 0) {
		*out = m;
		m = NULL;
	}
done:
	json_decref(m);
	free(logged);
	free(sorted);
	free(keep);
	return err;
}

int report_pack_finish(xtrk_buf *b64, size_t *raw, report_pack *p)
{
	uLongf zlen = compressBound((uLong)p->block.size);
	unsigned char *z = malloc(zlen + 1);
	int err = 0;
	*raw = p->block.size;
	if (!z)
		return xtrk_error_oom();
	/* Level 1: nearly the ratio of the default on such data, at a fraction of its time. */
	if (compress2(z, &zlen, (const Bytef *)(p->block.ptr ? p->block.ptr : ""), (uLong)p->block.size, 1) != Z_OK)
		err = xtrk_error_set(XTRK_ERROR, "cannot compress the report's series");
	else
		err = report_put_base64(b64, z, zlen);
	free(z);
	return err;
}
