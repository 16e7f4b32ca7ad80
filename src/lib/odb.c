/* The object database: the store object, and the reads, checks and walks over loose objects and packs. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "odb_loose.h"
#include "odb_pack.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

const char *xtrk_otype_name(xtrk_otype type)
{
	switch (type) {
	case XTRK_OBJ_BLOB: return "blob";
	case XTRK_OBJ_TREE: return "tree";
	case XTRK_OBJ_RUN: return "run";
	case XTRK_OBJ_CHUNKS: return "chunks";
	default: return "object";
	}
}

void odb_loc_release(struct loc *l)
{
	if (l->own_fd && l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Locate an object: packs first (in memory), then loose. */
int odb_locate(struct loc *l, xtrk_odb *odb, const xtrk_oid *oid)
{
	xtrk_buf path = XTRK_BUF_INIT;
	size_t pi;
	uint64_t off;
	int err, rescanned = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	for (;;) {
		pthread_mutex_lock(&odb->lock);
		if (odb_packs_find(odb, oid, &pi, &off)) {
			struct pack *p = &odb->packs[pi];
			if (p->fd < 0)
				odb_pack_open_fd(odb, p);
			/* Found in a pack on the second look: the loose path is no longer needed. */
			xtrk_buf_dispose(&path);
			if (p->fd < 0 && errno == ENOENT && !rescanned) {
				/* Deleted by gc since it was listed: its objects are elsewhere now, or garbage. */
				err = odb_packs_scan(odb, 1);
				pthread_mutex_unlock(&odb->lock);
				if (err < 0)
					return err;
				rescanned = 1;
				continue;
			}
			if (p->fd < 0) {
				err = xtrk_error_errno("cannot open pack '%s'", p->path);
				pthread_mutex_unlock(&odb->lock);
				return err == XTRK_ENOTFOUND ? XTRK_ECORRUPT : err;
			}
			err = odb_loc_from_pack(l, p->fd, off, oid, p->path);
			/* The location holds a descriptor of its own: the pack's may be closed to open another's. */
			if (err == 0 && (l->fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0)) < 0)
				err = xtrk_error_errno("cannot open pack '%s'", p->path);
			else if (err == 0)
				l->own_fd = 1;
			pthread_mutex_unlock(&odb->lock);
			return err;
		}
		pthread_mutex_unlock(&odb->lock);
		if (odb_loose_path(&path, odb->dir, oid) < 0) {
			xtrk_buf_dispose(&path);
			return XTRK_ERROR;
		}
		err = odb_loc_from_file(l, path.ptr, oid);
		if (err != XTRK_ENOTFOUND || rescanned) {
			xtrk_buf_dispose(&path);
			if (err == XTRK_ENOTFOUND)
				xtrk_error_set(err, "object %s is not in the store", xtrk_oid_tostr(oid));
			return err;
		}
		/* Another process may have added a pack since we looked. */
		pthread_mutex_lock(&odb->lock);
		err = odb_packs_scan(odb, 1);
		pthread_mutex_unlock(&odb->lock);
		if (err < 0) {
			xtrk_buf_dispose(&path);
			return err;
		}
		rescanned = 1;
	}
}

int xtrk_odb_open(xtrk_odb **out, const char *objects_dir)
{
	xtrk_odb *odb = calloc(1, sizeof(*odb));
	struct stat st;
	int err;

	*out = NULL;
	if (!odb)
		return xtrk_error_oom();
	if (stat(objects_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(odb);
		return xtrk_error_set(XTRK_ENOTFOUND, "object folder '%s' does not exist", objects_dir);
	}
	pthread_mutex_init(&odb->lock, NULL);
	if (!(odb->dir = strdup(objects_dir))) {
		xtrk_odb_free(odb);
		return xtrk_error_oom();
	}
	if ((err = odb_packs_scan(odb, 1)) < 0 ||
	    (err = xtrk_odb_set_chunking(odb, XTRK_CHUNK_THRESHOLD_DEFAULT, XTRK_CHUNK_AVG_DEFAULT)) < 0) {
		xtrk_odb_free(odb);
		return err;
	}
	*out = odb;
	return 0;
}

void xtrk_odb_free(xtrk_odb *odb)
{
	if (!odb)
		return;
	for (size_t i = 0; i < odb->npacks; i++)
		odb_pack_close(&odb->packs[i]);
	free(odb->packs);
	free(odb->map);
	free(odb->dir);
	pthread_mutex_destroy(&odb->lock);
	free(odb);
}

int xtrk_odb_exists(xtrk_odb *odb, const xtrk_oid *oid)
{
	xtrk_buf path = XTRK_BUF_INIT;
	struct stat st;
	size_t pi;
	uint64_t off;
	int found;

	pthread_mutex_lock(&odb->lock);
	found = odb_packs_find(odb, oid, &pi, &off);
	pthread_mutex_unlock(&odb->lock);
	if (found)
		return 1;
	if (odb_loose_path(&path, odb->dir, oid) < 0)
		return 0;
	found = stat(path.ptr, &st) == 0;
	xtrk_buf_dispose(&path);
	if (!found) {
		pthread_mutex_lock(&odb->lock);
		if (odb_packs_scan(odb, 0) < 0)
			xtrk_error_clear();
		found = odb_packs_find(odb, oid, &pi, &off);
		pthread_mutex_unlock(&odb->lock);
	}
	return found;
}

int xtrk_odb_type_fits(xtrk_otype stored, uint64_t size, xtrk_otype expect)
{
	return expect == XTRK_OBJ_ANY || expect == XTRK_OBJ_BLOB || stored == expect || size == 0;
}

struct prefix_find {
	const char *prefix;
	size_t len, matches;
	xtrk_oid found;
	xtrk_buf cands;
};

static int prefix_one(const xtrk_odb_entry *e, void *payload)
{
	struct prefix_find *p = payload;
	const char *hex = xtrk_oid_tostr(&e->oid);
	if (strncasecmp(hex, p->prefix, p->len) || (p->matches && !xtrk_oid_cmp(&p->found, &e->oid)))
		return 0;
	p->found = e->oid;
	p->matches++;
	xtrk_buf_printf(&p->cands, "\n  %s %s", hex, xtrk_otype_name(e->type));
	return 0;
}

static void prefix_bad(const char *where, const char *what, void *payload)
{
	(void)where;
	(void)what;
	(void)payload;
}

int xtrk_odb_find_prefix(xtrk_oid *out, xtrk_odb *odb, const char *prefix)
{
	struct prefix_find p = { prefix, strlen(prefix), 0, { { 0 } }, XTRK_BUF_INIT };
	int err;
	if (p.len < 4 || p.len > XTRK_OID_HEXSZ || !xtrk_oid_is_hex(prefix, p.len))
		return xtrk_error_set(XTRK_ENOTFOUND, "'%.80s' is not an object ID or ID prefix (4 or more hex digits)",
			prefix);
	if ((err = xtrk_odb_foreach(odb, prefix_one, prefix_bad, &p)) < 0)
		goto done;
	xtrk_error_clear();
	if (p.matches == 1)
		*out = p.found;
	else if (p.matches)
		err = xtrk_error_set(XTRK_EAMBIGUOUS, "'%s' is ambiguous; it matches %zu objects:%s", prefix, p.matches,
			p.cands.ptr);
	else
		err = xtrk_error_set(XTRK_ENOTFOUND, "unknown object '%s': no object ID starts so", prefix);
done:
	xtrk_buf_dispose(&p.cands);
	return err;
}

int xtrk_odb_stat(uint64_t *size_out, xtrk_otype *type_out, xtrk_odb *odb, const xtrk_oid *oid)
{
	struct loc l;
	int err = odb_locate(&l, odb, oid);
	if (err < 0)
		return err;
	if (l.type == XTRK_OBJ_CHUNKS) {
		/* A file stored as chunks: its list checked, every chunk present. */
		xtrk_odb_stream *s;
		if ((err = odb_stream_from_loc(&s, &l, oid)) < 0 || (err = odb_chunks_open(s, odb)) < 0) {
			xtrk_odb_stream_free(s);
			return err;
		}
		if (size_out)
			*size_out = s->loc.size;
		if (type_out)
			*type_out = XTRK_OBJ_BLOB;
		xtrk_odb_stream_free(s); /* and with it the location */
		return 0;
	}
	if (size_out)
		*size_out = l.size;
	if (type_out)
		*type_out = l.type;
	odb_loc_release(&l);
	return 0;
}

/* ---- streaming reads ---- */

int odb_stream_from_loc(xtrk_odb_stream **out, struct loc *l, const xtrk_oid *oid)
{
	xtrk_odb_stream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->h = xtrk_hasher_new())) {
		free(s);
		odb_loc_release(l);
		return xtrk_error_oom();
	}
	s->oid = *oid;
	s->loc = *l;
	if (l->comp == COMP_ZLIB) {
		if (!(s->in = malloc(65536)) || inflateInit(&s->z) != Z_OK) {
			xtrk_odb_stream_free(s);
			return xtrk_error_oom();
		}
		s->zinit = 1;
	}
	if (l->type == XTRK_OBJ_CHUNKS) {
		int err;
		s->unhashed = 1;
		if ((err = odb_chunks_load(s)) < 0) {
			xtrk_odb_stream_free(s);
			return err;
		}
	}
	*out = s;
	return 0;
}

int xtrk_odb_stream_open(xtrk_odb_stream **out, xtrk_odb *odb, const xtrk_oid *oid)
{
	struct loc l;
	int err = odb_locate(&l, odb, oid);
	if (err < 0) {
		*out = NULL;
		return err;
	}
	if ((err = odb_stream_from_loc(out, &l, oid)) < 0 || !(*out)->list)
		return err;
	/* A file stored as chunks: read through its list. */
	if ((err = odb_chunks_open(*out, odb)) < 0) {
		xtrk_odb_stream_free(*out);
		*out = NULL;
	}
	return err;
}

static int stream_corrupt(xtrk_odb_stream *s, const char *why)
{
	s->finished = 1;
	return xtrk_error_set(XTRK_ECORRUPT, "object %s is corrupt (%s) in %s",
		xtrk_oid_tostr(&s->oid), why, s->loc.where);
}

static int stream_finish(xtrk_odb_stream *s)
{
	xtrk_oid got;

	s->finished = 1;
	if (s->loc.comp == COMP_RAW ? s->pos != s->loc.stored
	    : (!s->zend || s->pos != s->loc.stored || s->z.avail_in))
		return stream_corrupt(s, "stored data does not end where its header says");
	if (s->unhashed)
		return 0; /* a chunk list: checked by odb_chunks_load, and against its ID through its chunks */
	xtrk_hasher_final(&got, s->h);
	if (xtrk_oid_cmp(&got, &s->oid))
		return stream_corrupt(s, "content does not match its ID");
	return 0;
}

int xtrk_odb_stream_read(xtrk_odb_stream *s, void *data, size_t len, size_t *nread)
{
	uint64_t left = s->loc.size - s->produced;
	int err;

	*nread = 0;
	if (s->list)
		return odb_chunks_read(s, data, len, nread);
	if (s->finished)
		return 0;
	if (len > left)
		len = (size_t)left;
	if (s->loc.comp == COMP_RAW) {
		if (len && (err = xtrk_pread_exact(s->loc.fd, data, len, s->loc.off + s->pos, s->loc.where)) < 0)
			return err == XTRK_ENOTFOUND ? stream_corrupt(s, "truncated") : err;
		s->pos += len;
	} else {
		size_t out = 0;
		unsigned char scratch[1];
		/* Inflate until `len` bytes or the stream ends; then make sure nothing is left over. */
		s->z.next_out = len ? data : scratch;
		s->z.avail_out = len ? (uInt)(len > UINT32_MAX ? UINT32_MAX : len) : 1;
		while (!s->zend && (len ? s->z.avail_out > 0 : 1)) {
			int zr;
			if (s->z.avail_in == 0) {
				uint64_t rest = s->loc.stored - s->pos;
				size_t want = rest < 65536 ? (size_t)rest : 65536;
				if (!want)
					return stream_corrupt(s, "compressed data ends early");
				if ((err = xtrk_pread_exact(s->loc.fd, s->in, want, s->loc.off + s->pos, s->loc.where)) < 0)
					return err;
				s->pos += want;
				s->z.next_in = s->in;
				s->z.avail_in = (uInt)want;
			}
			zr = inflate(&s->z, Z_NO_FLUSH);
			if (zr == Z_STREAM_END)
				s->zend = 1;
			else if (zr != Z_OK && zr != Z_BUF_ERROR)
				return stream_corrupt(s, "bad compressed data");
			if (!len) {
				if (s->z.avail_out == 0)
					return stream_corrupt(s, "more data than its header says");
				if (!s->zend && zr == Z_BUF_ERROR && s->pos == s->loc.stored && s->z.avail_in == 0)
					return stream_corrupt(s, "compressed data ends early");
			}
		}
		out = len ? len - s->z.avail_out : 0;
		if (len && out < len && s->zend)
			return stream_corrupt(s, "less data than its header says");
		if (s->zend && s->z.avail_in)
			return stream_corrupt(s, "trailing bytes after compressed data");
		len = out;
	}
	xtrk_hasher_update(s->h, data, len);
	s->produced += len;
	*nread = len;
	if (s->produced == s->loc.size && (s->loc.comp == COMP_RAW || len == 0 || s->zend))
		return stream_finish(s);
	return 0;
}

uint64_t xtrk_odb_stream_size(const xtrk_odb_stream *s)
{
	return s->loc.size;
}

void xtrk_odb_stream_free(xtrk_odb_stream *s)
{
	if (!s)
		return;
	if (s->zinit)
		inflateEnd(&s->z);
	xtrk_odb_stream_free(s->cur);
	free(s->list);
	free(s->in);
	xtrk_hasher_free(s->h);
	odb_loc_release(&s->loc);
	free(s);
}

/* Drain a stream to its verified end (used when the caller already has all bytes). */
static int stream_drain_check(xtrk_odb_stream *s)
{
	unsigned char tmp[4096];
	size_t n;
	int err;
	do {
		if ((err = xtrk_odb_stream_read(s, tmp, sizeof(tmp), &n)) < 0)
			return err;
	} while (n);
	return 0;
}

int xtrk_odb_read(xtrk_buf *out, xtrk_otype *type_out, xtrk_odb *odb,
	const xtrk_oid *oid, xtrk_otype expect)
{
	xtrk_odb_stream *s;
	size_t n;
	int err;

	xtrk_buf_clear(out);
	if ((err = xtrk_odb_stream_open(&s, odb, oid)) < 0)
		return err;
	if (!xtrk_odb_type_fits(s->loc.type, s->loc.size, expect)) {
		err = xtrk_error_set(XTRK_ECORRUPT, "object %s is stored as a %s, not the %s wanted here",
			xtrk_oid_tostr(oid), xtrk_otype_name(s->loc.type), xtrk_otype_name(expect));
		goto done;
	}
	if (type_out)
		*type_out = s->loc.type;
	if (s->loc.size > SIZE_MAX / 2 || (err = xtrk_buf_grow(out, (size_t)s->loc.size)) < 0) {
		err = xtrk_error_set(XTRK_ERROR, "object %s is too large to read into memory", xtrk_oid_tostr(oid));
		goto done;
	}
	if ((err = xtrk_odb_stream_read(s, out->ptr, (size_t)s->loc.size, &n)) < 0)
		goto done;
	out->size = n;
	out->ptr[n] = '\0';
	err = stream_drain_check(s);
done:
	xtrk_odb_stream_free(s);
	return err;
}

/* Compare an object's content with `len` bytes in memory (verifying it as we go). */
int odb_stream_equals_mem(xtrk_odb_stream *s, const void *data, size_t len)
{
	unsigned char tmp[65536];
	const unsigned char *p = data;
	size_t n, at = 0;
	int err;

	if (s->loc.size != len)
		return 0;
	do {
		if ((err = xtrk_odb_stream_read(s, tmp, sizeof(tmp), &n)) < 0)
			return err;
		if (memcmp(tmp, p + at, n))
			return 0;
		at += n;
	} while (n);
	return 1;
}

int odb_streams_equal(xtrk_odb_stream *a, xtrk_odb_stream *b)
{
	unsigned char *ba = malloc(IO_CHUNK), *bb = malloc(IO_CHUNK);
	size_t na, nb;
	int err = 1;

	if (!ba || !bb) {
		err = xtrk_error_oom();
		goto done;
	}
	if (a->loc.size != b->loc.size) {
		err = 0;
		goto done;
	}
	do {
		if ((err = xtrk_odb_stream_read(a, ba, IO_CHUNK, &na)) < 0 ||
		    (err = xtrk_odb_stream_read(b, bb, IO_CHUNK, &nb)) < 0)
			goto done;
		if (na != nb || memcmp(ba, bb, na)) {
			err = 0;
			goto done;
		}
	} while (na);
	err = 1;
done:
	free(ba);
	free(bb);
	return err;
}

int odb_collision(const xtrk_oid *oid)
{
	return xtrk_error_set(XTRK_ECORRUPT,
		"object %s already exists with different content (an XXH3 odb_collision or a corrupt store); "
		"nothing was overwritten, run 'xtrk fsck --read-data'", xtrk_oid_tostr(oid));
}

/* ---- checking ---- */

int xtrk_odb_check(xtrk_odb *odb, const xtrk_oid *oid, int read_data)
{
	xtrk_odb_stream *s;
	int err;

	if ((err = xtrk_odb_stream_open(&s, odb, oid)) < 0)
		return err;
	if (read_data)
		err = stream_drain_check(s);
	xtrk_odb_stream_free(s);
	return err;
}

int xtrk_odb_foreach(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload)
{
	int err;

	/* A callback's nonzero answer stops the walk: the packs are not walked then. */
	if ((err = odb_foreach_loose(odb, cb, bad, payload)) != 0)
		return err;
	return odb_foreach_packs(odb, cb, bad, payload);
}
