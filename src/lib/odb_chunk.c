/*
 * Large files stored as chunks: the content-defined chunker (FastCDC), the
 * chunk list's encoding and checks, and reading a file back through its list.
 *
 * A file of at least the store's threshold is cut by a gear hash into chunks
 * of min..max bytes (normalized chunking: a stricter mask before the average
 * size, a looser one after), each stored as an ordinary blob under its own
 * ID.  The file's ID stays the XXH3-128 of all its bytes; the object under
 * that ID is a chunk list (XTRK_OBJ_CHUNKS): the ordered chunk IDs and sizes
 * and the total.  A list is refused unless it is well formed, names no list
 * (lists do not nest, so there are no cycles and no list names itself), and
 * every chunk is present, stored as a file, of its listed size; reading
 * verifies each chunk against its ID and the whole file against the list's.
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

/* ---- the chunker ---- */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* The gear table: fixed forever (splitmix64 from a constant seed), so that the same bytes cut the same way. */
static void gear_init(void)
{
	uint64_t x = 0x78747263646331ull; /* "xtrcdc1" */
	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		gear[i] = z ^ (z >> 31);
	}
}

int xtrk_cdc_init(xtrk_cdc *c, size_t avg)
{
	if (avg < ((size_t)64 << 10) || avg > ((size_t)16 << 20) || (avg & (avg - 1)))
		return xtrk_error_set(XTRK_EINVALID, "chunk size %zu is not a power of two from 64 KiB to 16 MiB", avg);
	pthread_once(&gear_once, gear_init);
	c->avg = avg;
	c->min = avg / 4;
	c->max = avg * 4;
	return 0;
}

/*
 * `bits` one bits ending at bit 47 of the hash: bit k of a gear hash depends
 * on the last k + 1 bytes only, so the cut depends on a window of 48 bytes.
 */
static uint64_t mask_bits(int bits)
{
	return (((uint64_t)1 << bits) - 1) << (48 - bits);
}

/*
 * Two bytes a step (FastCDC's rolling two bytes): the hash moves on by two,
 * and the odd position is tested with the mask shifted by one.  Each cut still
 * depends on the bytes before it alone.
 */
#define ROLL2(lim, mask)                                          \
	for (; i + 2 <= (lim); i += 2) {                              \
		h = (h << 2) + (gear[p[i]] << 1) + gear[p[i + 1]];        \
		if (!(h & ((mask) << 1)))                                 \
			return i + 1;                                         \
		if (!(h & (mask)))                                        \
			return i + 2;                                         \
	}

size_t xtrk_cdc_cut(const xtrk_cdc *c, const unsigned char *p, size_t n)
{
	int bits = 0;
	size_t i, end, normal;
	uint64_t h = 0, strict, loose;

	if (n <= c->min)
		return n;
	while (((size_t)1 << bits) < c->avg)
		bits++;
	strict = mask_bits(bits + 2);
	loose = mask_bits(bits - 2);
	end = n < c->max ? n : c->max;
	normal = c->avg < end ? c->avg : end;
	/* The hash starts at the minimum size: no cut can come before it. */
	i = c->min;
	ROLL2(normal, strict)
	ROLL2(end, loose)
	return end;
}

int xtrk_odb_set_chunking(xtrk_odb *odb, uint64_t threshold, size_t avg)
{
	int err;
	if (threshold && (threshold < ((uint64_t)1 << 20) || threshold > ((uint64_t)64 << 20)))
		return xtrk_error_set(XTRK_EINVALID, "a chunking threshold of %llu bytes is not 0 or 1 MiB to 64 MiB",
			(unsigned long long)threshold);
	if ((err = xtrk_cdc_init(&odb->cdc, avg)) < 0)
		return err;
	odb->chunk_threshold = threshold;
	return 0;
}

void xtrk_odb_set_chunk_source(xtrk_odb *odb, xtrk_odb *other)
{
	odb->chunk_src = other;
}

void xtrk_odb_stage_chunks(xtrk_odb *odb, const xtrk_odb *like, const xtrk_oidset *elsewhere)
{
	odb->chunk_threshold = like->chunk_threshold;
	odb->cdc = like->cdc;
	odb->chunks_elsewhere = elsewhere;
}

/* ---- the list ---- */

static int list_bad(xtrk_odb_stream *s, const char *why)
{
	return xtrk_error_set(XTRK_ECORRUPT, "chunk list %s is refused: %s (in %s)", xtrk_oid_tostr(&s->oid), why,
		s->loc.where);
}

int odb_chunks_load(xtrk_odb_stream *s)
{
	const unsigned char *p;
	uint64_t total, count, sum = 0;
	size_t n;
	int err;

	if (s->loc.size < CHUNKS_HDR || s->loc.size > CHUNKS_HDR + CHUNKS_ENTRY * XTRK_CHUNK_COUNT_LIMIT)
		return list_bad(s, "its size is not that of a list");
	if (!(s->list = malloc((size_t)s->loc.size)))
		return xtrk_error_oom();
	/* Read as stored (no list yet): the end of the stored data is checked, its hash is not the ID. */
	s->list_len = (size_t)s->loc.size;
	{
		unsigned char *buf = s->list;
		s->list = NULL;
		err = xtrk_odb_stream_read(s, buf, s->list_len, &n);
		if (err == 0 && n == s->list_len && !s->finished)
			err = xtrk_odb_stream_read(s, buf, 0, &n);
		s->list = buf;
		if (err < 0)
			return err;
	}
	p = s->list;
	if (memcmp(p, "XCHK", 4) || p[4] != 1 || p[5] || p[6] || p[7])
		return list_bad(s, "bad header");
	total = xtrk_get_le64(p + 8);
	count = xtrk_get_le64(p + 16);
	if (count == 0 || count > XTRK_CHUNK_COUNT_LIMIT)
		return list_bad(s, "it names no chunks, or more than a list may");
	if (s->list_len != CHUNKS_HDR + CHUNKS_ENTRY * count)
		return list_bad(s, "its length does not match its count");
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *e = p + CHUNKS_HDR + i * CHUNKS_ENTRY;
		uint64_t size = xtrk_get_le64(e + XTRK_OID_RAWSZ);
		if (size == 0 || size > XTRK_CHUNK_SIZE_LIMIT)
			return list_bad(s, "a chunk is empty or larger than a chunk may be");
		if (!memcmp(e, s->oid.id, XTRK_OID_RAWSZ))
			return list_bad(s, "it names itself");
		sum += size;
	}
	if (sum != total)
		return list_bad(s, "its chunks' sizes do not add up to its total");
	s->nchunks = count;
	return 0;
}

static void entry(const xtrk_odb_stream *s, uint64_t i, xtrk_oid *id, uint64_t *size)
{
	const unsigned char *e = s->list + CHUNKS_HDR + i * CHUNKS_ENTRY;
	memcpy(id->id, e, XTRK_OID_RAWSZ);
	*size = xtrk_get_le64(e + XTRK_OID_RAWSZ);
}

/* Locate chunk `i`: here, else in the store this one stages for; a file of its listed size. */
static int chunk_locate(struct loc *l, xtrk_odb_stream *s, uint64_t i)
{
	xtrk_oid id;
	uint64_t size;
	int err;

	entry(s, i, &id, &size);
	err = odb_locate(l, s->odb, &id);
	if (err == XTRK_ENOTFOUND && s->odb->chunk_src) {
		xtrk_error_clear();
		err = odb_locate(l, s->odb->chunk_src, &id);
	}
	if (err < 0)
		return xtrk_error_set(err, "file %s: chunk %llu of %llu (%s) is missing or unreadable: %s",
			xtrk_oid_tostr(&s->oid), (unsigned long long)i + 1, (unsigned long long)s->nchunks,
			xtrk_oid_tostr(&id), xtrk_error_last());
	if (l->type == XTRK_OBJ_CHUNKS)
		err = list_bad(s, "a chunk is itself a chunk list (lists do not nest)");
	else if (l->size != size)
		err = xtrk_error_set(XTRK_ECORRUPT, "chunk list %s is refused: chunk %llu (%s) holds %llu bytes, "
			"not the %llu listed", xtrk_oid_tostr(&s->oid), (unsigned long long)i + 1,
			xtrk_oid_tostr(&id), (unsigned long long)l->size, (unsigned long long)size);
	if (err < 0)
		odb_loc_release(l);
	return err;
}

int odb_chunks_open(xtrk_odb_stream *s, xtrk_odb *odb)
{
	uint64_t total = xtrk_get_le64(s->list + 8);
	struct loc l;
	int err;

	s->odb = odb;
	for (uint64_t i = 0; i < s->nchunks; i++) {
		if ((err = chunk_locate(&l, s, i)) < 0)
			return err;
		odb_loc_release(&l);
	}
	/* From here the stream is the file: its size and type, hashed from its first byte. */
	s->loc.size = total;
	s->loc.type = XTRK_OBJ_BLOB;
	s->produced = 0;
	s->finished = 0;
	xtrk_hasher_reset(s->h);
	return 0;
}

int odb_chunks_read(xtrk_odb_stream *s, void *data, size_t len, size_t *nread)
{
	unsigned char *out = data;
	size_t got = 0, n;
	xtrk_oid whole;
	int err;

	*nread = 0;
	if (!s->odb) {
		/* The list itself (gc copying it as stored). */
		n = s->list_len - s->list_pos < len ? s->list_len - s->list_pos : len;
		xtrk_memcpy(out, s->list + s->list_pos, n);
		s->list_pos += n;
		*nread = n;
		return 0;
	}
	if (s->finished)
		return 0;
	while (got < len && s->ci < s->nchunks) {
		if (!s->cur) {
			struct loc l;
			xtrk_oid id;
			uint64_t size;
			entry(s, s->ci, &id, &size);
			if ((err = chunk_locate(&l, s, s->ci)) < 0 || (err = odb_stream_from_loc(&s->cur, &l, &id)) < 0)
				return err;
		}
		/* Each chunk verified against its ID by its own stream, at its end. */
		if ((err = xtrk_odb_stream_read(s->cur, out + got, len - got, &n)) < 0)
			return err;
		got += n;
		if (!n || s->cur->finished) {
			xtrk_odb_stream_free(s->cur);
			s->cur = NULL;
			s->ci++;
		}
	}
	xtrk_hasher_update(s->h, out, got);
	s->produced += got;
	*nread = got;
	if (s->ci == s->nchunks) {
		s->finished = 1;
		xtrk_hasher_final(&whole, s->h);
		if (s->produced != s->loc.size || xtrk_oid_cmp(&whole, &s->oid))
			return xtrk_error_set(XTRK_ECORRUPT, "file %s is corrupt: its chunks do not hash to its ID (%s)",
				xtrk_oid_tostr(&s->oid), s->loc.where);
	}
	return 0;
}

/* ---- walking a list ---- */

int xtrk_odb_chunks_foreach(xtrk_odb *odb, const xtrk_oid *oid,
	int (*cb)(const xtrk_oid *chunk, uint64_t size, void *payload), void *payload)
{
	xtrk_odb_stream *s = NULL;
	struct loc l;
	int err = odb_locate(&l, odb, oid);

	if (err == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		return 0;
	}
	if (err < 0)
		return err;
	if (l.type != XTRK_OBJ_CHUNKS) {
		odb_loc_release(&l);
		return 0;
	}
	if ((err = odb_stream_from_loc(&s, &l, oid)) < 0)
		return err;
	for (uint64_t i = 0; i < s->nchunks && err == 0; i++) {
		xtrk_oid id;
		uint64_t size;
		entry(s, i, &id, &size);
		err = cb(&id, size, payload);
	}
	xtrk_odb_stream_free(s);
	return err;
}
