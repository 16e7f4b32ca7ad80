/*
 * NumPy .npy profiles: the header (a Python dict literal, written by numpy's
 * format module) read by hand and checked against the file, then the array
 * streamed once.
 *
 *   "\x93NUMPY" major minor  HLEN (2 bytes LE in 1.0; 4 in 2.0 and 3.0)  HEADER  DATA
 *   HEADER: {'descr': '<f8', 'fortran_order': False, 'shape': (1000, 3), }  (spaces, '\n')
 *
 * Numeric dtypes only (bool, signed and unsigned integers of 1 to 8 bytes,
 * floats of 2, 4 and 8 bytes, either byte order).  Axis 0 is the rows; the
 * other axes, flattened, are the columns (a 1-D array: one column "0"; a
 * 2-D one: a column per index of its second axis, named by it).  NaN is a
 * missing value; an infinity is counted ("infinite"), not put in the stats.
 * A header xtrk does not trust (lengths that lie, a shape whose size is not
 * the file's, a dtype it does not know, bytes that are not ASCII text) is a
 * problem in the profile and a warning, the data not read.
 */
#include "config.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xtrk/errors.h"
#include "fileutil.h"
#include "profile_internal.h"

#define NPY_MAX_HEADER 65536u  /* numpy itself reads at most 10000 bytes of header by default */
#define NPY_MAX_DIMS 32         /* numpy's own limit (NPY_MAXDIMS) */
#define NPY_MAX_DIM (1ull << 62)

enum npy_kind { NPY_BOOL, NPY_INT, NPY_UINT, NPY_FLOAT };

struct npy {
	enum npy_kind kind;
	unsigned size;      /* bytes an item */
	int big;            /* big-endian */
	int fortran;
	unsigned ndim;
	uint64_t shape[NPY_MAX_DIMS];
	char descr[32];
};

/* ---- the header dict ---- */

struct lex {
	const char *s, *end;
	const char *err;    /* what is wrong, once something is */
};

static void ws(struct lex *l)
{
	while (l->s < l->end && (*l->s == ' ' || *l->s == '\t' || *l->s == '\n' || *l->s == '\r'))
		l->s++;
}

static int expect(struct lex *l, char c)
{
	ws(l);
	if (l->s < l->end && *l->s == c) {
		l->s++;
		return 0;
	}
	return -1;
}

/* A quoted string ('...' or "..."), no escapes (numpy writes none), into out. */
static int str(struct lex *l, char *out, size_t cap)
{
	char q;
	size_t n = 0;
	ws(l);
	if (l->s >= l->end || (*l->s != '\'' && *l->s != '"'))
		return -1;
	q = *l->s++;
	while (l->s < l->end && *l->s != q) {
		if (*l->s == '\\' || n + 1 >= cap)
			return -1;
		out[n++] = *l->s++;
	}
	if (l->s >= l->end)
		return -1;
	l->s++;
	out[n] = 0;
	return 0;
}

static int word(struct lex *l, const char *w)
{
	size_t n = strlen(w);
	ws(l);
	if ((size_t)(l->end - l->s) >= n && !memcmp(l->s, w, n)) {
		l->s += n;
		return 0;
	}
	return -1;
}

/* (d0, d1, ...) with an optional trailing comma; each a count below NPY_MAX_DIM. */
static int shape(struct lex *l, struct npy *a)
{
	if (expect(l, '(') < 0)
		return (l->err = "the shape is not a tuple of counts"), -1;
	a->ndim = 0;
	for (;;) {
		uint64_t v = 0;
		int digits = 0;
		ws(l);
		if (l->s < l->end && *l->s == ')') {
			l->s++;
			return 0;
		}
		if (l->s < l->end && *l->s == '-')
			return (l->err = "the shape has a negative size"), -1;
		while (l->s < l->end && *l->s >= '0' && *l->s <= '9') {
			if (v > NPY_MAX_DIM / 10)
				return (l->err = "the shape has a size too large for any file"), -1;
			v = v * 10 + (uint64_t)(*l->s++ - '0');
			digits++;
		}
		if (l->s < l->end && *l->s == 'L') /* Python 2 wrote longs so */
			l->s++;
		if (!digits)
			return (l->err = "the shape is not a tuple of counts"), -1;
		if (v > NPY_MAX_DIM)
			return (l->err = "the shape has a size too large for any file"), -1;
		if (a->ndim >= NPY_MAX_DIMS)
			return (l->err = "the shape has more than 32 axes"), -1;
		a->shape[a->ndim++] = v;
		ws(l);
		if (l->s < l->end && *l->s == ',') {
			l->s++;
			continue;
		}
		if (expect(l, ')') < 0)
			return (l->err = "the shape is not a tuple of counts"), -1;
		return 0;
	}
}

static int dtype(struct npy *a, char *why, size_t cap)
{
	const char *d = a->descr;
	char *end;
	long n;
	if (!*d || !strchr("<>|=", d[0])) {
		snprintf(why, cap, "dtype '%s' has no byte order xtrk reads", d);
		return -1;
	}
	a->big = d[0] == '>';
	switch (d[1]) {
	case 'b': a->kind = NPY_BOOL; break;
	case 'i': a->kind = NPY_INT; break;
	case 'u': a->kind = NPY_UINT; break;
	case 'f': a->kind = NPY_FLOAT; break;
	default:
		snprintf(why, cap, "dtype '%s' is not one xtrk profiles (bool, integers, floats of 2, 4 or 8 bytes)", d);
		return -1;
	}
	errno = 0;
	n = d[2] >= '1' && d[2] <= '9' ? strtol(d + 2, &end, 10) : 0;
	if (!n || *end || (a->kind == NPY_BOOL && n != 1) || (a->kind == NPY_FLOAT && n != 2 && n != 4 && n != 8) ||
	    ((a->kind == NPY_INT || a->kind == NPY_UINT) && n != 1 && n != 2 && n != 4 && n != 8)) {
		snprintf(why, cap, "dtype '%s' is not one xtrk profiles (bool, integers, floats of 2, 4 or 8 bytes)", d);
		return -1;
	}
	a->size = (unsigned)n;
	return 0;
}

/* Parse the header text: 0, or -1 with the problem in why. */
static int parse_header(struct npy *a, const char *h, size_t len, char *why, size_t cap)
{
	struct lex l = { h, h + len, NULL };
	char key[32];
	int seen = 0; /* bits: descr 1, fortran_order 2, shape 4 */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c >= 0x7f || (c < 0x20 && c != '\n' && c != '\t' && c != '\r')) {
			snprintf(why, cap, "a byte 0x%02x that is not ASCII text in the header, at its byte %zu", c, i + 1);
			return -1;
		}
	}
	if (expect(&l, '{') < 0) {
		snprintf(why, cap, "the header is not a dict");
		return -1;
	}
	for (;;) {
		int bit;
		if (expect(&l, '}') == 0)
			break;
		if (str(&l, key, sizeof(key)) < 0 || expect(&l, ':') < 0) {
			snprintf(why, cap, "the header's dict does not parse at its byte %zu (does the header's length lie?)",
				(size_t)(l.s - h) + 1);
			return -1;
		}
		bit = !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2 : !strcmp(key, "shape") ? 4 : 0;
		if (!bit) {
			snprintf(why, cap, "the header has a key '%s' (only descr, fortran_order and shape are known)", key);
			return -1;
		}
		if (seen & bit) {
			snprintf(why, cap, "the header names '%s' twice", key);
			return -1;
		}
		seen |= bit;
		if (bit == 1) {
			ws(&l);
			if (l.s < l.end && *l.s == '[') {
				snprintf(why, cap, "a structured dtype (fields): not profiled");
				return -1;
			}
			if (str(&l, a->descr, sizeof(a->descr)) < 0) {
				snprintf(why, cap, "the header's descr is not a dtype string");
				return -1;
			}
		} else if (bit == 2) {
			if (word(&l, "True") == 0)
				a->fortran = 1;
			else if (word(&l, "False") == 0)
				a->fortran = 0;
			else {
				snprintf(why, cap, "fortran_order is neither True nor False");
				return -1;
			}
		} else if (shape(&l, a) < 0) {
			snprintf(why, cap, "%s", l.err);
			return -1;
		}
		ws(&l);
		if (l.s < l.end && *l.s == ',')
			l.s++;
		else if (expect(&l, '}') == 0)
			break;
		else {
			snprintf(why, cap, "the header's dict does not parse at its byte %zu (does the header's length lie?)",
				(size_t)(l.s - h) + 1);
			return -1;
		}
	}
	ws(&l);
	if (l.s != l.end) {
		snprintf(why, cap, "text after the header's dict, at its byte %zu (does the header's length lie?)",
			(size_t)(l.s - h) + 1);
		return -1;
	}
	if (seen != 7) {
		snprintf(why, cap, "the header lacks %s", !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
		return -1;
	}
	return dtype(a, why, cap);
}

/* ---- the data ---- */

static double half(uint16_t h)
{
	int e = (h >> 10) & 0x1f;
	double m = h & 0x3ff, v;
	if (e == 0)
		v = ldexp(m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp(m + 1024, e - 25);
	return h & 0x8000 ? -v : v;
}

static double decode(const struct npy *a, const unsigned char *b)
{
	uint64_t u = 0;
	for (unsigned i = 0; i < a->size; i++)
		u |= (uint64_t)b[a->big ? i : a->size - 1 - i] << (8 * (a->size - 1 - i));
	switch (a->kind) {
	case NPY_BOOL:
		return u != 0;
	case NPY_UINT:
		return (double)u;
	case NPY_INT:
		if (a->size < 8 && (u >> (8 * a->size - 1)) & 1)
			u |= ~0ull << (8 * a->size);
		return (double)(int64_t)u;
	case NPY_FLOAT:
		if (a->size == 2)
			return half((uint16_t)u);
		if (a->size == 4) {
			uint32_t w = (uint32_t)u;
			float f;
			memcpy(&f, &w, 4);
			return f;
		} else {
			double d;
			memcpy(&d, &u, 8);
			return d;
		}
	}
	return NAN;
}

static int add_value(struct prof *p, const struct npy *a, size_t col, double v)
{
	struct column *c = &p->cols[col];
	if (a->kind == NPY_BOOL)
		return prof_column_add(c, v ? "true" : "false", v ? 4 : 5, v ? JSON_TRUE : JSON_FALSE, 0);
	if (isnan(v)) {
		c->missing++;
		return 0;
	}
	if (isinf(v)) {
		c->count++;
		c->infinite++;
		return 0;
	}
	if (v == 0)
		v = 0; /* -0 and 0 are one value */
	return prof_column_add(c, (const char *)&v, sizeof(v), a->kind == NPY_FLOAT ? JSON_REAL : JSON_INTEGER, v);
}

static int stream(struct prof *p, int fd, const struct npy *a, uint64_t rows, uint64_t cols, uint64_t items)
{
	size_t chunk = (size_t)1 << 20, have = 0;
	unsigned char *buf = malloc(chunk + 8);
	XXH3_state_t *rh = a->fortran ? NULL : XXH3_createState();
	uint64_t e = 0, col = 0, row = 0;
	int err = 0;

	if (!buf || (!a->fortran && !rh)) {
		err = xtrk_error_oom();
		goto done;
	}
	if (rh)
		XXH3_64bits_reset(rh);
	/* Fortran order: the columns past the profiled ones need not be read. */
	if (a->fortran && cols > p->ncols)
		items = rows * p->ncols;
	while (e < items) {
		ssize_t got = read(fd, buf + have, chunk - have);
		size_t off = 0;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			err = xtrk_error_errno("cannot read '%s'", p->label);
			goto done;
		}
		if (got == 0) {
			prof_problem(p, "data", "the file ended after %llu of its %llu values",
				(unsigned long long)e, (unsigned long long)items);
			p->stop = 1;
			break;
		}
		have += (size_t)got;
		for (; off + a->size <= have && e < items; off += a->size, e++) {
			double v = decode(a, buf + off);
			if (a->fortran)
				col = e / rows;
			if (col < p->ncols && (err = add_value(p, a, (size_t)col, v)) < 0)
				goto done;
			if (a->fortran)
				continue;
			if (!isnan(v) && v == 0)
				v = 0;
			XXH3_64bits_update(rh, &v, sizeof(v));
			if (++col == cols) {
				prof_fps_add(&p->fps, XXH3_64bits_digest(rh), row + 1);
				XXH3_64bits_reset(rh);
				col = 0;
				p->rows = ++row;
			}
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
done:
	if (rh)
		XXH3_freeState(rh);
	free(buf);
	return err;
}

static int refuse(struct prof *p, const char *why)
{
	prof_problem(p, "header", "%s; not profiled", why);
	p->stop = 1;
	p->no_fingerprints = 1;
	return 0;
}

int prof_npy(struct prof *p, int fd, uint64_t size)
{
	unsigned char pre[12];
	struct npy a;
	char *h = NULL, why[300], name[32];
	uint64_t hlen, start, rows, cols = 1, items = 0, data;
	size_t got = 0;
	int err = 0, ovf;

	memset(&a, 0, sizeof(a));
	{
		xtrk_buf what = XTRK_BUF_INIT;
		ssize_t n;
		xtrk_buf_printf(&what, "'%s'", p->label);
		if (xtrk_buf_oom(&what))
			return xtrk_error_oom();
		n = xtrk_read_full(fd, pre, sizeof(pre), what.ptr);
		xtrk_buf_dispose(&what);
		if (n < 0)
			return (int)n;
		got = (size_t)n;
	}
	if (got < 10 || memcmp(pre, "\x93NUMPY", 6))
		return refuse(p, "not a NumPy .npy file (it does not start with the NumPy magic)");
	if (pre[6] < 1 || pre[6] > 3)
		return refuse(p, pre[6] > 3 ? "a format version newer than 3.0" : "format version 0 does not exist");
	if (pre[6] == 1) {
		hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
		start = 10;
	} else {
		if (got < 12)
			return refuse(p, "the file ends inside its preamble");
		hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
		start = 12;
	}
	if (hlen > NPY_MAX_HEADER) {
		snprintf(why, sizeof(why), "the header claims %llu bytes, more than the %u xtrk reads",
			(unsigned long long)hlen, NPY_MAX_HEADER);
		return refuse(p, why);
	}
	if (start + hlen > size) {
		snprintf(why, sizeof(why), "the header claims %llu bytes, and the file has %llu after its preamble",
			(unsigned long long)hlen, (unsigned long long)(size - start));
		return refuse(p, why);
	}
	if (!(h = malloc(hlen + 1)))
		return xtrk_error_oom();
	if (pread(fd, h, hlen, (off_t)start) != (ssize_t)hlen) {
		err = xtrk_error_errno("cannot read '%s'", p->label);
		goto done;
	}
	h[hlen] = 0;
	if (parse_header(&a, h, hlen, why, sizeof(why)) < 0) {
		err = refuse(p, why);
		goto done;
	}
	/* The shape's size, in items and in bytes, must be the file's. */
	rows = a.ndim ? a.shape[0] : 1;
	for (unsigned i = 1; i < a.ndim; i++)
		if (__builtin_mul_overflow(cols, a.shape[i], &cols)) {
			err = refuse(p, "the shape's size is too large for any file");
			goto done;
		}
	data = size - start - hlen;
	ovf = __builtin_mul_overflow(rows, cols, &items);
	if (ovf || items > data / a.size || items * a.size != data) {
		if (ovf)
			snprintf(why, sizeof(why), "the shape's size is too large for any file");
		else
			snprintf(why, sizeof(why), "the shape says %llu items of %u bytes, and the file has %llu bytes of data",
				(unsigned long long)items, a.size, (unsigned long long)data);
		err = refuse(p, why);
		goto done;
	}
	if (lseek(fd, (off_t)(start + hlen), SEEK_SET) < 0) {
		err = xtrk_error_errno("cannot read '%s'", p->label);
		goto done;
	}
	p->extra = json_pack("{s:s, s:b, s:[]}", "dtype", a.descr, "fortran_order", a.fortran, "shape");
	for (unsigned i = 0; p->extra && i < a.ndim; i++)
		json_array_append_new(json_object_get(p->extra, "shape"), json_integer((json_int_t)a.shape[i]));
	if (!p->extra) {
		err = xtrk_error_oom();
		goto done;
	}
	for (uint64_t c = 0; c < cols; c++) {
		if (c >= XTRK_PROFILE_MAX_COLUMNS) {
			p->ncols_total = (size_t)(cols > SIZE_MAX ? SIZE_MAX : cols);
			break;
		}
		snprintf(name, sizeof(name), "%llu", (unsigned long long)c);
		if ((err = prof_add_column(p, name)) < 0)
			goto done;
	}
	if (a.fortran && a.ndim > 1) {
		/* Column-major: each column streams whole, a row's values are far apart. */
		p->no_fingerprints = 1;
		prof_problem(p, "header", "Fortran order: the columns are profiled, the rows not fingerprinted "
			"(no leakage check)");
	} else {
		a.fortran = 0;
	}
	if (rows && cols)
		err = stream(p, fd, &a, rows, cols, items);
	else
		p->rows = cols ? rows : 0;
	if (a.fortran)
		p->rows = rows;
done:
	free(h);
	return err;
}
