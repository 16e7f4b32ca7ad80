/* Checking a git pack's declared sizes as it streams in (see packscan.h). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "packscan.h"
#include "xtrk/errors.h"

enum { S_HEAD, S_ENTRY, S_OFS, S_REF, S_DATA, S_TRAILER };

struct xtrk_packscan {
	uint64_t max_object, max_total, total;
	int state;
	unsigned char head[12];
	size_t have;
	uint32_t count, index;
	int type, shift, zinit;
	uint64_t size, out, in;
	unsigned char delta[24]; /* a delta's first inflated bytes: base and result sizes */
	size_t ndelta;
	int delta_checked;
	z_stream z;
	unsigned char buf[65536];
};

static const char *const type_names[] = { "?", "commit", "tree", "blob", "tag", "?", "offset delta", "ref delta" };

int xtrk_packscan_new(xtrk_packscan **out, uint64_t max_object, uint64_t max_total)
{
	xtrk_packscan *s = calloc(1, sizeof(*s));
	if (!s)
		return xtrk_error_oom();
	s->max_object = max_object;
	s->max_total = max_total;
	*out = s;
	return 0;
}

void xtrk_packscan_free(xtrk_packscan *s)
{
	if (!s)
		return;
	if (s->zinit)
		inflateEnd(&s->z);
	free(s);
}

static int too_big(xtrk_packscan *s, uint64_t size, const char *what)
{
	if (size > s->max_object)
		return xtrk_error_set(XTRK_EINVALID,
			"object %u (%s) declares %llu bytes, more than the limit of %llu MiB for a source object "
			"(refused before inflating it)", s->index, what, (unsigned long long)size,
			(unsigned long long)(s->max_object >> 20));
	if ((s->total += size) > s->max_total)
		return xtrk_error_set(XTRK_EINVALID,
			"its objects declare more than the limit of %llu MiB in all (refused before inflating them)",
			(unsigned long long)(s->max_total >> 20));
	return 0;
}

/* A delta's header: base size then result size, little-endian base-128 numbers. */
static int delta_sizes(xtrk_packscan *s, uint64_t *result)
{
	size_t i = 0;
	for (int which = 0; which < 2; which++) {
		uint64_t v = 0;
		int shift = 0;
		for (;;) {
			if (i >= s->ndelta)
				return 0; /* not all there yet */
			if (shift > 56)
				return xtrk_error_set(XTRK_EINVALID, "object %u: a delta size that does not fit", s->index);
			v |= (uint64_t)(s->delta[i] & 0x7f) << shift;
			shift += 7;
			if (!(s->delta[i++] & 0x80))
				break;
		}
		*result = v;
	}
	return 1;
}

/* Inflate what is there of the current entry into the scratch buffer; *used: input bytes consumed. */
static int data(xtrk_packscan *s, const unsigned char *p, size_t n, size_t *used)
{
	int zr;
	s->z.next_in = (unsigned char *)p;
	s->z.avail_in = (uInt)n;
	do {
		s->z.next_out = s->buf;
		s->z.avail_out = sizeof(s->buf);
		zr = inflate(&s->z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return xtrk_error_set(XTRK_EINVALID, "object %u: damaged compressed data", s->index);
		size_t got = sizeof(s->buf) - s->z.avail_out;
		if (s->type >= 6 && !s->delta_checked) {
			size_t k = got < sizeof(s->delta) - s->ndelta ? got : sizeof(s->delta) - s->ndelta;
			uint64_t result = 0;
			int ready;
			memcpy(s->delta + s->ndelta, s->buf, k);
			s->ndelta += k;
			if ((ready = delta_sizes(s, &result)) < 0)
				return ready;
			if (ready) {
				s->delta_checked = 1;
				if ((ready = too_big(s, result, "delta result")) < 0)
					return ready;
			} else if (s->ndelta == sizeof(s->delta)) {
				return xtrk_error_set(XTRK_EINVALID, "object %u: a delta header that does not fit", s->index);
			}
		}
		s->out += got;
		if (s->out > s->size)
			return xtrk_error_set(XTRK_EINVALID, "object %u inflates past its declared %llu bytes", s->index,
				(unsigned long long)s->size);
	} while (zr == Z_OK && (s->z.avail_in || !s->z.avail_out));
	*used = n - s->z.avail_in;
	s->in += *used;
	if (zr == Z_STREAM_END) {
		if (s->out != s->size)
			return xtrk_error_set(XTRK_EINVALID, "object %u inflates to %llu bytes, not its declared %llu",
				s->index, (unsigned long long)s->out, (unsigned long long)s->size);
		/* deflate cannot expand data more than about 1032 times */
		if (s->size / 1032 > s->in + 64)
			return xtrk_error_set(XTRK_EINVALID, "object %u declares more bytes than its compressed data can hold",
				s->index);
		inflateEnd(&s->z);
		s->zinit = 0;
		s->index++;
		s->state = s->index < s->count ? S_ENTRY : S_TRAILER;
		s->have = 0;
	}
	return 0;
}

int xtrk_packscan_feed(xtrk_packscan *s, const unsigned char *p, size_t n)
{
	int err;
	while (n) {
		unsigned char c = *p;
		size_t used = 1;
		switch (s->state) {
		case S_HEAD:
			s->head[s->have++] = c;
			if (s->have == 12) {
				if (memcmp(s->head, "PACK", 4) || s->head[4] || s->head[5] || s->head[6] ||
				    (s->head[7] != 2 && s->head[7] != 3))
					return xtrk_error_set(XTRK_EINVALID, "not a git pack (version 2 or 3)");
				s->count = (uint32_t)s->head[8] << 24 | (uint32_t)s->head[9] << 16 | (uint32_t)s->head[10] << 8 |
					s->head[11];
				s->state = s->count ? S_ENTRY : S_TRAILER;
				s->have = 0;
			}
			break;
		case S_ENTRY:
			if (s->have == 0) {
				s->type = (c >> 4) & 7;
				s->size = c & 15;
				s->shift = 4;
			} else {
				if (s->shift > 57)
					return xtrk_error_set(XTRK_EINVALID, "object %u: a size that does not fit", s->index);
				s->size |= (uint64_t)(c & 0x7f) << s->shift;
				s->shift += 7;
			}
			s->have++;
			if (!(c & 0x80)) {
				if (s->type == 0 || s->type == 5)
					return xtrk_error_set(XTRK_EINVALID, "object %u: unknown type %d", s->index, s->type);
				/* The declared size, before a byte is inflated (a delta's result size comes with its data). */
				if (s->type < 6 && (err = too_big(s, s->size, type_names[s->type])) < 0)
					return err;
				if (s->type >= 6 && s->size > s->max_object)
					return too_big(s, s->size, "delta");
				s->state = s->type == 6 ? S_OFS : s->type == 7 ? S_REF : S_DATA;
				s->have = 0;
				s->out = s->in = 0;
				s->ndelta = 0;
				s->delta_checked = 0;
				if (s->state == S_DATA)
					goto start;
			}
			break;
		case S_OFS:
			if (!(c & 0x80)) {
				s->state = S_DATA;
				goto start;
			}
			if (++s->have > 9)
				return xtrk_error_set(XTRK_EINVALID, "object %u: a delta offset that does not fit", s->index);
			break;
		case S_REF:
			if (++s->have == 20) {
				s->state = S_DATA;
				goto start;
			}
			break;
		case S_DATA:
			if ((err = data(s, p, n, &used)) < 0)
				return err;
			break;
		case S_TRAILER:
			return 0; /* the checksum: libgit2 checks it */
		}
		p += used;
		n -= used;
		continue;
	start:
		memset(&s->z, 0, sizeof(s->z));
		if (inflateInit(&s->z) != Z_OK)
			return xtrk_error_oom();
		s->zinit = 1;
		p += used;
		n -= used;
	}
	return 0;
}
