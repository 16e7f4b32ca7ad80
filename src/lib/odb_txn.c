/* Write transactions: staging objects in temporary files, flushing them together, then naming them. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "odb_lock.h"
#include "odb_loose.h"
#include "odb_pack.h"
#include "odb_txn.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

int xtrk_txn_new(xtrk_txn **out, xtrk_odb *odb)
{
	xtrk_txn *t = calloc(1, sizeof(*t));
	xtrk_buf dir = XTRK_BUF_INIT;
	int err;

	*out = NULL;
	if (!t)
		return xtrk_error_oom();
	t->odb = odb;
	t->pack_fd = -1;
	t->lock_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	if ((err = xtrk_buf_printf(&dir, "%s/tmp", odb->dir)) < 0 || (err = xtrk_mkdir_p(dir.ptr)) < 0 ||
	    (err = odb_lock_writer(odb, &t->lock_fd)) < 0) {
		xtrk_buf_dispose(&dir);
		xtrk_txn_free(t);
		return err;
	}
	xtrk_buf_dispose(&dir);
	/* gc cannot delete while this lock is held; forget packs a gc deleted before it was taken. */
	pthread_mutex_lock(&odb->lock);
	err = odb_packs_scan(odb, 1);
	pthread_mutex_unlock(&odb->lock);
	if (err < 0) {
		xtrk_txn_free(t);
		return err;
	}
	*out = t;
	return 0;
}

static size_t oid_slot(const xtrk_oid *oid, size_t cap)
{
	uint64_t h;
	memcpy(&h, oid->id, sizeof(h));
	return (size_t)(h & (cap - 1));
}

struct pentry *odb_txn_set_find(xtrk_txn *t, const xtrk_oid *oid)
{
	if (!t->setcap)
		return NULL;
	for (size_t i = oid_slot(oid, t->setcap); t->set[i]; i = (i + 1) & (t->setcap - 1))
		if (!xtrk_oid_cmp(&t->ents[t->set[i] - 1].oid, oid))
			return &t->ents[t->set[i] - 1];
	return NULL;
}

int odb_txn_set_add(xtrk_txn *t, size_t index)
{
	if ((t->nents + 1) * 2 > t->setcap) {
		size_t ncap = t->setcap ? t->setcap * 2 : 1024;
		size_t *nset = calloc(ncap, sizeof(*nset));
		if (!nset)
			return xtrk_error_oom();
		for (size_t i = 0; i < t->setcap; i++) {
			if (t->set[i]) {
				size_t j = oid_slot(&t->ents[t->set[i] - 1].oid, ncap);
				while (nset[j])
					j = (j + 1) & (ncap - 1);
				nset[j] = t->set[i];
			}
		}
		free(t->set);
		t->set = nset;
		t->setcap = ncap;
	}
	size_t j = oid_slot(&t->ents[index].oid, t->setcap);
	while (t->set[j])
		j = (j + 1) & (t->setcap - 1);
	t->set[j] = index + 1;
	return 0;
}

int odb_tmpfile_in(char **out, xtrk_odb *odb, const char *prefix, int *fd)
{
	xtrk_buf b = XTRK_BUF_INIT;
	if (xtrk_buf_printf(&b, "%s/tmp/%s-XXXXXX", odb->dir, prefix) < 0)
		return XTRK_ERROR;
	if ((*fd = mkostemp(b.ptr, O_CLOEXEC)) < 0) {
		int err = xtrk_error_errno("cannot create a temporary file in '%s/tmp'", odb->dir);
		xtrk_buf_dispose(&b);
		return err;
	}
	*out = xtrk_buf_detach(&b);
	return 0;
}

/* 1 if an equal object is already stored or staged, 0 if not, <0 on odb_collision/error. */
static int txn_have(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, const void *data, size_t len)
{
	xtrk_odb_stream *s = NULL;
	struct pentry *pe;
	struct loc l;
	int err;

	pthread_mutex_lock(&t->lock);
	pe = odb_txn_set_find(t, oid);
	if (pe) {
		memset(&l, 0, sizeof(l));
		err = odb_loc_from_pack(&l, t->pack_fd, pe->off, oid, "the pack being written");
		if (err == 0)
			err = odb_stream_from_loc(&s, &l, oid);
		if (err == 0) {
			err = odb_stream_equals_mem(s, data, len);
			xtrk_odb_stream_free(s);
		}
		pthread_mutex_unlock(&t->lock);
		return err < 0 ? err : err ? 1 : odb_collision(oid);
	}
	pthread_mutex_unlock(&t->lock);
	if (!xtrk_odb_exists(t->odb, oid))
		return 0;
	if ((err = xtrk_odb_stream_open(&s, t->odb, oid)) < 0)
		return err == XTRK_ENOTFOUND ? 0 : err;
	err = odb_stream_equals_mem(s, data, len);
	xtrk_odb_stream_free(s);
	return err < 0 ? err : err ? 1 : odb_collision(oid);
}

int xtrk_txn_new_dry(xtrk_txn **out, xtrk_odb *odb)
{
	xtrk_txn *t = calloc(1, sizeof(*t));
	*out = NULL;
	if (!t)
		return xtrk_error_oom();
	t->odb = odb;
	t->pack_fd = -1;
	t->lock_fd = -1;
	t->dry = 1;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

/* Dry transactions keep their trees; blobs are only hashed. */
static int dry_keep(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, const void *data, size_t len)
{
	struct memobj *m;
	int err = 0;
	if (type != XTRK_OBJ_TREE)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (t->nmem == t->amem) {
		size_t na = t->amem ? t->amem * 2 : 64;
		struct memobj *p = realloc(t->mem, na * sizeof(*p));
		if (!p) {
			err = xtrk_error_oom();
			goto done;
		}
		t->mem = p;
		t->amem = na;
	}
	m = &t->mem[t->nmem];
	if (!(m->data = malloc(len + 1))) {
		err = xtrk_error_oom();
		goto done;
	}
	xtrk_memcpy(m->data, data, len);
	m->len = len;
	m->oid = *oid;
	t->nmem++;
done:
	pthread_mutex_unlock(&t->lock);
	return err;
}

int xtrk_txn_read(xtrk_buf *out, xtrk_txn *t, const xtrk_oid *oid)
{
	for (size_t i = 0; t && i < t->nmem; i++) {
		if (!xtrk_oid_cmp(&t->mem[i].oid, oid)) {
			xtrk_buf_clear(out);
			return xtrk_buf_put(out, t->mem[i].data, t->mem[i].len);
		}
	}
	return xtrk_odb_read(out, NULL, t ? t->odb : NULL, oid, XTRK_OBJ_ANY);
}

/*
 * Store an object whose ID is known and that is not stored yet: loose when
 * large, else in the pack; whether to compress a file is judged from its first
 * `sample` bytes.
 */
static int txn_store(xtrk_txn *t, const xtrk_oid *id, xtrk_otype type, const void *data, size_t len, size_t sample)
{
	unsigned char *z = NULL;
	const void *stored = data;
	size_t stored_len = len;
	int comp = COMP_RAW, err;

	if (len >= XTRK_PACK_OBJECT_MAX)
		return odb_write_loose_from_mem((xtrk_oid *)id, t, type, data, len);
	if (type != XTRK_OBJ_BLOB ? len >= 64 : odb_worth_compressing(data, len < sample ? len : sample)) {
		uLongf zlen = compressBound(len);
		if (!(z = malloc(zlen)))
			return xtrk_error_oom();
		if (compress2(z, &zlen, data, len, type == XTRK_OBJ_BLOB ? 1 : 6) == Z_OK && zlen < len - len / 10) {
			stored = z;
			stored_len = zlen;
			comp = COMP_ZLIB;
		}
	}
	err = odb_pack_append(t, id, type, comp, len, stored, stored_len);
	free(z);
	return err;
}

int xtrk_txn_write(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len)
{
	int err;

	if (type == XTRK_OBJ_CHUNKS)
		return xtrk_error_set(XTRK_EINVALID, "a chunk list is written only by the store itself");
	xtrk_oid_hash(out, data, len);
	if (t->dry)
		return dry_keep(t, out, type, data, len);
	if ((err = txn_have(t, out, type, data, len)) != 0)
		return err < 0 ? err : 0;
	return txn_store(t, out, type, data, len, len);
}

/* Whether an object of this ID is staged in this transaction or stored. */
static int txn_named(xtrk_txn *t, const xtrk_oid *id)
{
	int staged;
	pthread_mutex_lock(&t->lock);
	staged = odb_txn_set_find(t, id) != NULL;
	pthread_mutex_unlock(&t->lock);
	return staged || xtrk_odb_exists(t->odb, id);
}

/* A chunk's compression is judged from its first 4 KiB: sampling all of every chunk cost a fifth of a commit. */
#define CHUNK_SAMPLE 4096

/*
 * One chunk of a large file: a blob under its own ID, skipped when present
 * (the 128-bit ID names it; each chunk is verified against it on every read,
 * and the whole file against the file's ID).
 */
static int txn_put_chunk(xtrk_txn *t, xtrk_buf *list, const unsigned char *data, size_t len)
{
	unsigned char e[CHUNKS_ENTRY];
	xtrk_oid id;
	int err;

	xtrk_oid_hash(&id, data, len);
	if (!(t->odb->chunks_elsewhere && xtrk_oidset_has(t->odb->chunks_elsewhere, &id)) && !txn_named(t, &id) &&
	    (err = txn_store(t, &id, XTRK_OBJ_BLOB, data, len, CHUNK_SAMPLE)) < 0)
		return err;
	memcpy(e, id.id, XTRK_OID_RAWSZ);
	xtrk_put_le64(e + XTRK_OID_RAWSZ, len);
	return xtrk_buf_put(list, e, sizeof(e));
}

int odb_txn_add_pending(xtrk_txn *t, char *tmp, const xtrk_oid *oid)
{
	pthread_mutex_lock(&t->lock);
	if (t->npend == t->apend) {
		size_t na = t->apend ? t->apend * 2 : 16;
		struct pending *np = realloc(t->pend, na * sizeof(*np));
		if (!np) {
			pthread_mutex_unlock(&t->lock);
			return xtrk_error_oom();
		}
		t->pend = np;
		t->apend = na;
	}
	t->pend[t->npend].tmp = tmp;
	t->pend[t->npend].oid = *oid;
	t->npend++;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

struct xtrk_txn_writer {
	xtrk_txn *t;
	xtrk_otype type;
	char *what;
	xtrk_hasher *h;
	xtrk_buf mem;        /* until the object is known to be large */
	int loose;           /* a loose temp object is being written */
	int hash_only;       /* dry blob: nothing kept */
	struct loose_writer lw;
	uint64_t size;
	int chunkable;       /* a file in a store that chunks large files */
	int chunked;         /* cut into chunks: `mem` holds what is not cut yet */
	xtrk_buf list;       /* the chunk list so far (xtrk-format(5)) */
	size_t unhashed;     /* the last bytes of `mem` not yet in the file's hash (read straight in) */
};

int xtrk_txn_writer_open(xtrk_txn_writer **out, xtrk_txn *t, xtrk_otype type, const char *what)
{
	xtrk_txn_writer *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w || !(w->what = strdup(what ? what : "an object")) || !(w->h = xtrk_hasher_new())) {
		if (w)
			free(w->what);
		free(w);
		return xtrk_error_oom();
	}
	w->t = t;
	w->type = type;
	w->lw.fd = -1;
	w->hash_only = t->dry && type == XTRK_OBJ_BLOB;
	w->chunkable = !t->dry && type == XTRK_OBJ_BLOB && t->odb->chunk_threshold;
	if (type == XTRK_OBJ_CHUNKS) {
		xtrk_txn_writer_free(w);
		return xtrk_error_set(XTRK_EINVALID, "a chunk list is written only by the store itself");
	}
	*out = w;
	return 0;
}

/* The object has grown past the pack limit: move what is gathered into a loose temp object. */
static int writer_go_loose(xtrk_txn_writer *w)
{
	int err;
	if ((err = odb_lw_open(&w->lw, w->t, w->what)) < 0)
		return err;
	if ((w->type != XTRK_OBJ_BLOB || odb_worth_compressing((unsigned char *)w->mem.ptr, w->mem.size)) &&
	    (err = odb_lw_start_zlib(&w->lw)) < 0)
		return err;
	w->loose = 1;
	err = odb_lw_write(&w->lw, w->mem.ptr, w->mem.size);
	xtrk_buf_dispose(&w->mem);
	return err;
}

/*
 * Cut what is gathered into chunks, keeping the tail that may still move
 * (less than a chunk's maximum) unless this is the end.  Cutting waits for
 * 8 MiB, or four maximal chunks, so that the tail moved back is small beside
 * what went.
 */
#define CUT_BATCH ((size_t)8 << 20)

struct hash_job {
	xtrk_hasher *h;
	const void *p;
	size_t n;
};

static void *hash_job_run(void *arg)
{
	struct hash_job *j = arg;
	xtrk_hasher_update(j->h, j->p, j->n);
	return NULL;
}

static int writer_cut(xtrk_txn_writer *w, int last)
{
	const xtrk_cdc *c = &w->t->odb->cdc;
	const unsigned char *p = (const unsigned char *)w->mem.ptr;
	struct hash_job job = { w->h, p + w->mem.size - w->unhashed, w->unhashed };
	pthread_t th;
	size_t off = 0, n;
	int err = 0, threaded = 0;

	if (!last && w->mem.size < (4 * c->max > CUT_BATCH ? 4 * c->max : CUT_BATCH))
		return 0;
	/* The file's hash of the bytes read straight in, beside the cutting (both only read them). */
	if (job.n && !(threaded = pthread_create(&th, NULL, hash_job_run, &job) == 0))
		hash_job_run(&job);
	w->unhashed = 0;
	while (last ? off < w->mem.size : w->mem.size - off >= c->max) {
		n = xtrk_cdc_cut(c, p + off, w->mem.size - off);
		if ((err = txn_put_chunk(w->t, &w->list, p + off, n)) < 0)
			break;
		off += n;
	}
	if (threaded)
		pthread_join(th, NULL);
	if (err < 0)
		return err;
	memmove(w->mem.ptr, w->mem.ptr + off, w->mem.size - off);
	w->mem.size -= off;
	return 0;
}

/* What follows new bytes gathered in `mem`: cutting chunks, or going loose. */
static int writer_gathered(xtrk_txn_writer *w)
{
	int err;
	if (w->chunked)
		return writer_cut(w, 0);
	/* A file is gathered up to the chunking threshold (at most 64 MiB), then cut into chunks. */
	if (w->chunkable && w->size >= w->t->odb->chunk_threshold) {
		static const unsigned char hdr[CHUNKS_HDR] = { 'X', 'C', 'H', 'K', 1 }; /* total and count at the end */
		w->chunked = 1;
		if ((err = xtrk_buf_put(&w->list, hdr, sizeof(hdr))) < 0)
			return err;
		return writer_cut(w, 0);
	}
	if (!w->chunkable && !w->t->dry && w->mem.size >= XTRK_PACK_OBJECT_MAX)
		return writer_go_loose(w);
	return 0;
}

int xtrk_txn_writer_write(xtrk_txn_writer *w, const void *data, size_t len)
{
	int err;
	w->size += len;
	xtrk_hasher_update(w->h, data, len);
	if (w->hash_only)
		return 0;
	if (w->loose)
		return odb_lw_write(&w->lw, data, len);
	if ((err = xtrk_buf_put(&w->mem, data, len)) < 0)
		return err;
	return writer_gathered(w);
}

/* Read up to IO_CHUNK bytes of `fd` straight into a chunking writer's buffer (no copy); 0 at the end. */
static ssize_t writer_read_in(xtrk_txn_writer *w, int fd, const char *what)
{
	ssize_t n;
	int err;
	if ((err = xtrk_buf_grow(&w->mem, IO_CHUNK)) < 0)
		return err;
	if ((n = xtrk_read_full(fd, w->mem.ptr + w->mem.size, IO_CHUNK, what)) <= 0)
		return n;
	/* Cut into chunks, the file's hash is taken at each cut (writer_cut); before, here. */
	if (w->chunked)
		w->unhashed += (size_t)n;
	else
		xtrk_hasher_update(w->h, w->mem.ptr + w->mem.size, (size_t)n);
	w->size += (uint64_t)n;
	w->mem.size += (size_t)n;
	return (err = writer_gathered(w)) < 0 ? err : n;
}

/* The end of a chunked file: its last chunks, then its list under its ID. */
static int writer_finish_chunked(xtrk_txn_writer *w, const xtrk_oid *id)
{
	xtrk_put_le64((unsigned char *)w->list.ptr + 8, w->size);
	xtrk_put_le64((unsigned char *)w->list.ptr + 16, (w->list.size - CHUNKS_HDR) / CHUNKS_ENTRY);
	if (txn_named(w->t, id))
		return 0; /* the same file, stored before (whole or as chunks) */
	/* Always in a pack: small, and never compared byte for byte as a loose file is. */
	return odb_pack_append(w->t, id, XTRK_OBJ_CHUNKS, COMP_RAW, w->list.size, w->list.ptr, w->list.size);
}

int xtrk_txn_writer_finish(xtrk_oid *out, xtrk_txn_writer *w, const xtrk_oid *expect)
{
	xtrk_oid got;
	int err;
	/* A chunked file's last chunks, and the last of its hash, before the hash is known. */
	if (w->chunked && (err = writer_cut(w, 1)) < 0)
		return err;
	xtrk_hasher_final(&got, w->h);
	if (expect && xtrk_oid_cmp(&got, expect))
		return xtrk_error_set(XTRK_ECORRUPT, "%s: content hashes to %s, not to its ID %s", w->what,
			xtrk_oid_tostr(&got), xtrk_oid_tostr(expect));
	*out = got;
	if (w->hash_only)
		return 0;
	if (w->chunked)
		return writer_finish_chunked(w, &got);
	if (!w->loose && w->mem.size >= XTRK_PACK_OBJECT_MAX) {
		/* A file under the chunking threshold: written loose from what was gathered. */
		err = txn_have(w->t, &got, w->type, w->mem.ptr, w->mem.size);
		return err != 0 ? (err < 0 ? err : 0) : txn_store(w->t, &got, w->type, w->mem.ptr, w->mem.size, w->mem.size);
	}
	if (!w->loose)
		return xtrk_txn_write(out, w->t, w->type, w->mem.ptr ? w->mem.ptr : "", w->mem.size);
	/* An equal object already stored is found, and compared, when the transaction names it. */
	return odb_lw_finish(&w->lw, w->t, w->type, &got);
}

void xtrk_txn_writer_free(xtrk_txn_writer *w)
{
	if (!w)
		return;
	odb_lw_cleanup(&w->lw);
	xtrk_buf_dispose(&w->mem);
	xtrk_buf_dispose(&w->list);
	xtrk_hasher_free(w->h);
	free(w->what);
	free(w);
}

int xtrk_txn_write_fd(xtrk_oid *out, uint64_t *size_out, xtrk_txn *t, int fd, const char *path)
{
	xtrk_txn_writer *w = NULL;
	struct stat st;
	unsigned char *chunk = NULL;
	char what[4200];
	ssize_t n;
	size_t want;
	int err, reg;

	if (fstat(fd, &st) < 0)
		return xtrk_error_errno("cannot stat '%s'", path);
	snprintf(what, sizeof(what), "'%s'", path);
	if ((err = xtrk_txn_writer_open(&w, t, XTRK_OBJ_BLOB, path)) < 0)
		return err;
	/* A regular file is read to the size it had when opened; a pipe (standard input) to its end. */
	reg = S_ISREG(st.st_mode);
	want = reg && st.st_size < IO_CHUNK ? (size_t)st.st_size + 1 : IO_CHUNK;
	if (!(chunk = malloc(want))) {
		err = xtrk_error_oom();
		goto done;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (w->chunkable && reg && (uint64_t)st.st_size >= t->odb->chunk_threshold)
		while ((n = writer_read_in(w, fd, what)) > 0)
			;
	else
		while ((n = xtrk_read_full(fd, chunk, want, what)) > 0)
			if ((err = xtrk_txn_writer_write(w, chunk, (size_t)n)) < 0)
				goto done;
	if (n < 0) {
		err = (int)n;
		goto done;
	}
	if (reg && w->size != (uint64_t)st.st_size) {
		err = xtrk_error_set(XTRK_EINVALID, "'%s' changed while it was being read", path);
		goto done;
	}
	*size_out = w->size;
	err = xtrk_txn_writer_finish(out, w, NULL);
done:
	xtrk_txn_writer_free(w);
	free(chunk);
	return err;
}

/* Give a staged loose object its name without ever replacing an existing one. */
static int name_loose(xtrk_txn *t, struct pending *p, xtrk_buf *final, unsigned char *dirs_touched)
{
	int err;

	if ((err = odb_loose_path(final, t->odb->dir, &p->oid)) < 0)
		return err;
	final->ptr[final->size - XTRK_OID_HEXSZ + 1] = '\0';
	if (mkdir(final->ptr, 0777) < 0 && errno != EEXIST)
		return xtrk_error_errno("cannot create folder '%s'", final->ptr);
	final->ptr[final->size - XTRK_OID_HEXSZ + 1] = '/';
	dirs_touched[p->oid.id[0]] = 1;
	if (renameat2(AT_FDCWD, p->tmp, AT_FDCWD, final->ptr, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS) {
		/* No RENAME_NOREPLACE on this file system: link() also refuses to replace. */
		if (link(p->tmp, final->ptr) == 0) {
			unlink(p->tmp);
			return 0;
		}
	}
	if (errno == EEXIST) {
		struct loc la, lb;
		xtrk_odb_stream *a = NULL, *b = NULL;
		if ((err = odb_loc_from_file(&la, p->tmp, &p->oid)) == 0 && (err = odb_stream_from_loc(&a, &la, &p->oid)) == 0 &&
		    (err = odb_loc_from_file(&lb, final->ptr, &p->oid)) == 0 && (err = odb_stream_from_loc(&b, &lb, &p->oid)) == 0)
			err = odb_streams_equal(a, b);
		xtrk_odb_stream_free(a);
		xtrk_odb_stream_free(b);
		if (err < 0)
			return err;
		if (!err)
			return odb_collision(&p->oid);
		unlink(p->tmp);
		return 0;
	}
	return xtrk_error_errno("cannot name object %s", xtrk_oid_tostr(&p->oid));
}

int xtrk_txn_commit(xtrk_txn *t)
{
	xtrk_buf final = XTRK_BUF_INIT, dir = XTRK_BUF_INIT;
	unsigned char dirs_touched[256] = { 0 };
	int err = 0;

	if (t->committed)
		return xtrk_error_set(XTRK_ERROR, "transaction already committed");
	if (t->dry)
		return xtrk_error_set(XTRK_ERROR, "a dry transaction cannot be committed");
	pthread_mutex_lock(&t->lock);
	err = odb_pack_seal(t);
	pthread_mutex_unlock(&t->lock);
	if (err < 0)
		goto done;
	/* Every staged file was fsynced when sealed; now name them, data before indexes. */
	for (size_t i = 0; i < t->npend; i++) {
		if ((err = name_loose(t, &t->pend[i], &final, dirs_touched)) < 0)
			goto done;
		free(t->pend[i].tmp);
		t->pend[i].tmp = NULL;
	}
	if (t->npacks_done) {
		xtrk_buf_printf(&dir, "%s/pack", t->odb->dir);
		if ((err = xtrk_buf_oom(&dir) ? xtrk_error_oom() : xtrk_mkdir_p(dir.ptr)) < 0)
			goto done;
	}
	for (size_t i = 0; i < t->npacks_done; i += 2) {
		xtrk_buf idx = XTRK_BUF_INIT;
		xtrk_oid name;
		/* A pack is named by the hash of its index, which covers every ID and offset. */
		if ((err = xtrk_buf_read_file(&idx, t->packs_done[i + 1])) < 0)
			goto done;
		xtrk_oid_hash(&name, idx.ptr, idx.size);
		xtrk_buf_dispose(&idx);
		xtrk_buf_clear(&final);
		xtrk_buf_printf(&final, "%s/pack-%s.pack", dir.ptr, xtrk_oid_tostr(&name));
		if (xtrk_buf_oom(&final) || rename(t->packs_done[i], final.ptr) < 0) {
			err = xtrk_error_errno("cannot name pack '%s'", final.ptr);
			goto done;
		}
		xtrk_buf_truncate(&final, final.size - 5);
		xtrk_buf_puts(&final, ".idx");
		if (xtrk_buf_oom(&final) || rename(t->packs_done[i + 1], final.ptr) < 0) {
			err = xtrk_error_errno("cannot name pack index '%s'", final.ptr);
			goto done;
		}
		free(t->packs_done[i]);
		free(t->packs_done[i + 1]);
		t->packs_done[i] = t->packs_done[i + 1] = NULL;
	}
	/* Make the names durable before anything (a ref) points at them. */
	for (int i = 0; i < 256; i++) {
		if (!dirs_touched[i])
			continue;
		xtrk_buf_clear(&final);
		xtrk_buf_printf(&final, "%s/%02x", t->odb->dir, i);
		if ((err = xtrk_buf_oom(&final) ? xtrk_error_oom() : xtrk_fsync_dir(final.ptr)) < 0)
			goto done;
	}
	if (t->npacks_done && (err = xtrk_fsync_dir(dir.ptr)) < 0)
		goto done;
	t->committed = 1;
	pthread_mutex_lock(&t->odb->lock);
	odb_packs_scan(t->odb, 1);
	pthread_mutex_unlock(&t->odb->lock);
done:
	xtrk_buf_dispose(&final);
	xtrk_buf_dispose(&dir);
	return err;
}

void xtrk_txn_free(xtrk_txn *t)
{
	if (!t)
		return;
	if (t->pack_fd >= 0)
		close(t->pack_fd);
	if (t->pack_tmp) {
		unlink(t->pack_tmp);
		free(t->pack_tmp);
	}
	for (size_t i = 0; i < t->npend; i++) {
		if (t->pend[i].tmp) {
			unlink(t->pend[i].tmp);
			free(t->pend[i].tmp);
		}
	}
	for (size_t i = 0; i < t->npacks_done; i++) {
		if (t->packs_done[i]) {
			unlink(t->packs_done[i]);
			free(t->packs_done[i]);
		}
	}
	for (size_t i = 0; i < t->nmem; i++)
		free(t->mem[i].data);
	free(t->mem);
	free(t->packs_done);
	free(t->pend);
	free(t->ents);
	free(t->set);
	/* Last: the objects named above are referenced (or abandoned) by now. */
	odb_lock_release(t->lock_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
