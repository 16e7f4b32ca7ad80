/* The object database: loose objects, pack files, write transactions, verified reads. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileutil.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

/*
 * Loose object: a 32-byte header, then the content (raw or zlib).
 *   0 "XTRK"  4 version  5 type  6 compression  7 reserved  8 size (le64)  16 ID
 * Pack entry: the same 32 bytes, then the stored length (le64), then data.
 * Pack index: "XIDX", version (le32), count (le64), count x (ID, offset le64)
 * sorted by ID, then the XXH3-128 of everything before it.
 */
#define HDR_SIZE 32
#define PACK_HDR_SIZE 40
#define PACK_FILE_HDR 16
#define IDX_HDR 16
#define IDX_ENTRY 24
#define FORMAT_VERSION 1
#define COMP_RAW 0
#define COMP_ZLIB 1
#define IO_CHUNK (1024 * 1024)
#define PACK_ROLL_SIZE ((uint64_t)1 << 30)
/* Start writeback of objects and packs as they are written, so the final fsync has little left to wait for. */
#define WRITEBACK_STEP (32u << 20)

struct pack {
	char *path;  /* the .pack file */
	int fd;      /* opened lazily, -1 until then */
	unsigned char *idx;
	size_t idx_len;
	uint64_t count;
};

struct xtrk_odb {
	char *dir;
	pthread_mutex_t lock; /* guards the pack list */
	struct pack *packs;
	size_t npacks;
	struct timespec pack_dir_mtime; /* of objects/pack when last scanned */
};

/* Where an object's stored bytes are. */
struct loc {
	int fd;
	int own_fd;
	uint64_t off; /* first stored content byte */
	uint64_t stored;
	xtrk_otype type;
	int comp;
	uint64_t size;
	char where[512];
};

struct xtrk_odb_stream {
	xtrk_oid oid;
	struct loc loc;
	uint64_t pos;      /* stored bytes consumed */
	uint64_t produced; /* content bytes returned */
	z_stream z;
	int zinit;
	int zend;
	unsigned char *in;
	xtrk_hasher *h;
	int finished;
};

const char *xtrk_otype_name(xtrk_otype type)
{
	switch (type) {
	case XTRK_OBJ_BLOB: return "blob";
	case XTRK_OBJ_TREE: return "tree";
	case XTRK_OBJ_RUN: return "run";
	default: return "object";
	}
}

static void hdr_encode(unsigned char *h, xtrk_otype type, int comp, uint64_t size, const xtrk_oid *oid)
{
	memcpy(h, "XTRK", 4);
	h[4] = FORMAT_VERSION;
	h[5] = (unsigned char)type;
	h[6] = (unsigned char)comp;
	h[7] = 0;
	xtrk_put_le64(h + 8, size);
	memcpy(h + 16, oid->id, XTRK_OID_RAWSZ);
}

static int hdr_decode(struct loc *l, const unsigned char *h, const xtrk_oid *expect)
{
	if (memcmp(h, "XTRK", 4) || h[4] != FORMAT_VERSION)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: bad object header", l->where);
	if (h[5] < XTRK_OBJ_BLOB || h[5] > XTRK_OBJ_RUN || h[6] > COMP_ZLIB)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: unknown object type or compression", l->where);
	if (expect && memcmp(h + 16, expect->id, XTRK_OID_RAWSZ))
		return xtrk_error_set(XTRK_ECORRUPT, "%s: header names another object", l->where);
	l->type = h[5];
	l->comp = h[6];
	l->size = xtrk_get_le64(h + 8);
	return 0;
}

/* ---- packs ---- */

static void pack_close(struct pack *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->idx)
		munmap(p->idx, p->idx_len);
	free(p->path);
}

/* Map and sanity-check one index; the checksum is left to fsck. */
static int pack_load(struct pack *p, const char *idx_path, int verify)
{
	struct stat st;
	int fd;
	size_t n;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if ((fd = open(idx_path, O_RDONLY | O_CLOEXEC)) < 0)
		return xtrk_error_errno("cannot open pack index '%s'", idx_path);
	if (fstat(fd, &st) < 0 || st.st_size < IDX_HDR + 16) {
		close(fd);
		return xtrk_error_set(XTRK_ECORRUPT, "%s: pack index is truncated", idx_path);
	}
	p->idx_len = (size_t)st.st_size;
	p->idx = mmap(NULL, p->idx_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p->idx == MAP_FAILED) {
		p->idx = NULL;
		return xtrk_error_errno("cannot map pack index '%s'", idx_path);
	}
	p->count = xtrk_get_le64(p->idx + 8);
	if (memcmp(p->idx, "XIDX", 4) || p->idx[4] != FORMAT_VERSION ||
	    p->count > (p->idx_len - IDX_HDR - 16) / IDX_ENTRY ||
	    IDX_HDR + p->count * IDX_ENTRY + 16 != p->idx_len) {
		munmap(p->idx, p->idx_len);
		p->idx = NULL;
		return xtrk_error_set(XTRK_ECORRUPT, "%s: bad pack index header", idx_path);
	}
	if (verify) {
		xtrk_oid sum;
		n = p->idx_len - 16;
		xtrk_oid_hash(&sum, p->idx, n);
		if (memcmp(sum.id, p->idx + n, 16)) {
			munmap(p->idx, p->idx_len);
			p->idx = NULL;
			return xtrk_error_set(XTRK_ECORRUPT, "%s: pack index checksum mismatch", idx_path);
		}
	}
	n = strlen(idx_path);
	if (!(p->path = malloc(n + 2))) {
		munmap(p->idx, p->idx_len);
		p->idx = NULL;
		return xtrk_error_oom();
	}
	memcpy(p->path, idx_path, n - 4);
	memcpy(p->path + n - 4, ".pack", 6);
	return 0;
}

static int pack_known(xtrk_odb *odb, const char *pack_path)
{
	for (size_t i = 0; i < odb->npacks; i++)
		if (!strcmp(odb->packs[i].path, pack_path))
			return 1;
	return 0;
}

/*
 * Load any index not yet known.  Without `force`, an unchanged folder mtime
 * skips the readdir; a pack added within the same clock tick can then be
 * missed, which only a read that must not miss (force) cares about.
 * Caller holds odb->lock.
 */
static int packs_scan(xtrk_odb *odb, int force)
{
	xtrk_buf path = XTRK_BUF_INIT, ppath = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

	struct stat st;

	if ((err = xtrk_buf_printf(&path, "%s/pack", odb->dir)) < 0)
		return err;
	/* Packs are only ever added by renames into the folder, which change its mtime. */
	if (stat(path.ptr, &st) == 0 && !force &&
	    st.st_mtim.tv_sec == odb->pack_dir_mtime.tv_sec && st.st_mtim.tv_nsec == odb->pack_dir_mtime.tv_nsec) {
		xtrk_buf_dispose(&path);
		return 0;
	}
	if (!(d = opendir(path.ptr))) {
		xtrk_buf_dispose(&path);
		return errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", path.ptr);
	}
	odb->pack_dir_mtime = st.st_mtim;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct pack p, *np;
		if (n < 5 || strcmp(de->d_name + n - 4, ".idx") || strncmp(de->d_name, "pack-", 5))
			continue;
		xtrk_buf_clear(&ppath);
		xtrk_buf_printf(&ppath, "%s/pack/%.*s.pack", odb->dir, (int)(n - 4), de->d_name);
		if (xtrk_buf_oom(&ppath)) {
			err = XTRK_ERROR;
			break;
		}
		if (pack_known(odb, ppath.ptr))
			continue;
		xtrk_buf_clear(&path);
		xtrk_buf_printf(&path, "%s/pack/%s", odb->dir, de->d_name);
		if (xtrk_buf_oom(&path) || pack_load(&p, path.ptr, 0) < 0)
			continue; /* a damaged index is fsck's to report; reads fall back to a miss */
		if (!(np = realloc(odb->packs, (odb->npacks + 1) * sizeof(*np)))) {
			pack_close(&p);
			err = xtrk_error_oom();
			break;
		}
		odb->packs = np;
		odb->packs[odb->npacks++] = p;
	}
	closedir(d);
	xtrk_buf_dispose(&path);
	xtrk_buf_dispose(&ppath);
	return err;
}

static const unsigned char *idx_find(const unsigned char *ents, uint64_t count, const xtrk_oid *oid)
{
	uint64_t lo = 0, hi = count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		const unsigned char *e = ents + mid * IDX_ENTRY;
		int c = memcmp(e, oid->id, XTRK_OID_RAWSZ);
		if (!c)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Find an object in the packs; fills pack index and offset. Caller holds lock. */
static int packs_find(xtrk_odb *odb, const xtrk_oid *oid, size_t *pi, uint64_t *off)
{
	for (size_t i = 0; i < odb->npacks; i++) {
		const unsigned char *e = idx_find(odb->packs[i].idx + IDX_HDR, odb->packs[i].count, oid);
		if (e) {
			*pi = i;
			*off = xtrk_get_le64(e + 16);
			return 1;
		}
	}
	return 0;
}

/* Read a pack entry header at `off` of `fd` into a location. */
/*
 * deflate cannot expand data more than about 1032 times, so a compressed
 * object that declares more than that is damaged or hostile: refused before
 * anything is allocated for it.
 */
static int loc_check_ratio(struct loc *l, const xtrk_oid *oid)
{
	if (l->comp == COMP_ZLIB && l->size / 1032 > l->stored + 64)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: object %s declares %llu bytes, more than its %llu compressed "
			"bytes can hold", l->where, oid ? xtrk_oid_tostr(oid) : "?", (unsigned long long)l->size,
			(unsigned long long)l->stored);
	return 0;
}

static int loc_from_pack(struct loc *l, int fd, uint64_t off, const xtrk_oid *oid, const char *where)
{
	unsigned char h[PACK_HDR_SIZE];
	struct stat st;
	int err;

	snprintf(l->where, sizeof(l->where), "%s at %llu", where, (unsigned long long)off);
	l->fd = fd;
	l->own_fd = 0;
	if ((err = xtrk_pread_exact(fd, h, sizeof(h), off, l->where)) < 0)
		return err == XTRK_ENOTFOUND ? XTRK_ECORRUPT : err;
	if ((err = hdr_decode(l, h, oid)) < 0)
		return err;
	l->off = off + PACK_HDR_SIZE;
	l->stored = xtrk_get_le64(h + HDR_SIZE);
	if (fstat(fd, &st) < 0)
		return xtrk_error_errno("cannot stat %s", where);
	if (l->off + l->stored > (uint64_t)st.st_size || l->stored > (uint64_t)st.st_size)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: object %s runs past the end of the pack",
			l->where, xtrk_oid_tostr(oid));
	if (l->comp == COMP_RAW && l->stored != l->size)
		return xtrk_error_set(XTRK_ECORRUPT, "%s: object %s has the wrong size",
			l->where, xtrk_oid_tostr(oid));
	return loc_check_ratio(l, oid);
}

static int loose_path(xtrk_buf *out, const char *dir, const xtrk_oid *oid)
{
	char hex[XTRK_OID_HEXSZ + 1];
	xtrk_oid_fmt(hex, oid);
	xtrk_buf_clear(out);
	return xtrk_buf_printf(out, "%s/%.2s/%s", dir, hex, hex + 2);
}

static int loc_from_file(struct loc *l, const char *path, const xtrk_oid *oid)
{
	unsigned char h[HDR_SIZE];
	struct stat st;
	int err;

	snprintf(l->where, sizeof(l->where), "%s", path);
	if ((l->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? XTRK_ENOTFOUND : xtrk_error_errno("cannot open '%s'", path);
	l->own_fd = 1;
	if ((err = xtrk_pread_exact(l->fd, h, sizeof(h), 0, path)) < 0 ||
	    (err = hdr_decode(l, h, oid)) < 0)
		goto fail;
	if (fstat(l->fd, &st) < 0) {
		err = xtrk_error_errno("cannot stat '%s'", path);
		goto fail;
	}
	l->off = HDR_SIZE;
	l->stored = (uint64_t)st.st_size - HDR_SIZE;
	if (l->comp == COMP_RAW && l->stored != l->size) {
		err = xtrk_error_set(XTRK_ECORRUPT, "object %s is truncated or has extra bytes (%s)",
			oid ? xtrk_oid_tostr(oid) : "?", path);
		goto fail;
	}
	if ((err = loc_check_ratio(l, oid)) < 0)
		goto fail;
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return err;
}

static void loc_release(struct loc *l)
{
	if (l->own_fd && l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Locate an object: packs first (in memory), then loose. */
static int locate(struct loc *l, xtrk_odb *odb, const xtrk_oid *oid)
{
	xtrk_buf path = XTRK_BUF_INIT;
	size_t pi;
	uint64_t off;
	int err, rescanned = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	for (;;) {
		pthread_mutex_lock(&odb->lock);
		if (packs_find(odb, oid, &pi, &off)) {
			struct pack *p = &odb->packs[pi];
			if (p->fd < 0)
				p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
			/* Found in a pack on the second look: the loose path is no longer needed. */
			xtrk_buf_dispose(&path);
			if (p->fd < 0) {
				err = xtrk_error_errno("cannot open pack '%s'", p->path);
				pthread_mutex_unlock(&odb->lock);
				return err == XTRK_ENOTFOUND ? XTRK_ECORRUPT : err;
			}
			err = loc_from_pack(l, p->fd, off, oid, p->path);
			pthread_mutex_unlock(&odb->lock);
			return err;
		}
		pthread_mutex_unlock(&odb->lock);
		if (loose_path(&path, odb->dir, oid) < 0) {
			xtrk_buf_dispose(&path);
			return XTRK_ERROR;
		}
		err = loc_from_file(l, path.ptr, oid);
		if (err != XTRK_ENOTFOUND || rescanned) {
			xtrk_buf_dispose(&path);
			if (err == XTRK_ENOTFOUND)
				xtrk_error_set(err, "object %s is not in the store", xtrk_oid_tostr(oid));
			return err;
		}
		/* Another process may have added a pack since we looked. */
		pthread_mutex_lock(&odb->lock);
		err = packs_scan(odb, 1);
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
	if ((err = packs_scan(odb, 1)) < 0) {
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
		pack_close(&odb->packs[i]);
	free(odb->packs);
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
	found = packs_find(odb, oid, &pi, &off);
	pthread_mutex_unlock(&odb->lock);
	if (found)
		return 1;
	if (loose_path(&path, odb->dir, oid) < 0)
		return 0;
	found = stat(path.ptr, &st) == 0;
	xtrk_buf_dispose(&path);
	if (!found) {
		pthread_mutex_lock(&odb->lock);
		if (packs_scan(odb, 0) < 0)
			xtrk_error_clear();
		found = packs_find(odb, oid, &pi, &off);
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
	int err = locate(&l, odb, oid);
	if (err < 0)
		return err;
	if (size_out)
		*size_out = l.size;
	if (type_out)
		*type_out = l.type;
	loc_release(&l);
	return 0;
}

/* ---- streaming reads ---- */

static int stream_from_loc(xtrk_odb_stream **out, struct loc *l, const xtrk_oid *oid)
{
	xtrk_odb_stream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->h = xtrk_hasher_new())) {
		free(s);
		loc_release(l);
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
	*out = s;
	return 0;
}

int xtrk_odb_stream_open(xtrk_odb_stream **out, xtrk_odb *odb, const xtrk_oid *oid)
{
	struct loc l;
	int err = locate(&l, odb, oid);
	if (err < 0) {
		*out = NULL;
		return err;
	}
	return stream_from_loc(out, &l, oid);
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

xtrk_otype xtrk_odb_stream_type(const xtrk_odb_stream *s)
{
	return s->loc.type;
}

void xtrk_odb_stream_free(xtrk_odb_stream *s)
{
	if (!s)
		return;
	if (s->zinit)
		inflateEnd(&s->z);
	free(s->in);
	xtrk_hasher_free(s->h);
	loc_release(&s->loc);
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
static int stream_equals_mem(xtrk_odb_stream *s, const void *data, size_t len)
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

static int streams_equal(xtrk_odb_stream *a, xtrk_odb_stream *b)
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

static int collision(const xtrk_oid *oid)
{
	return xtrk_error_set(XTRK_ECORRUPT,
		"object %s already exists with different content (an XXH3 collision or a corrupt store); "
		"nothing was overwritten, run 'xtrk fsck --read-data'", xtrk_oid_tostr(oid));
}

/* ---- compression choice ---- */

/*
 * Estimate from a sample whether deflate will pay: byte entropy close to
 * 8 bits means random-looking data (weights, compressed media) that zlib would
 * spend seconds on for nothing.
 */
static int worth_compressing(const unsigned char *p, size_t n)
{
	unsigned counts[256] = { 0 };
	double h = 0;
	size_t sample = n < 65536 ? n : 65536;

	if (n < 128)
		return 0;
	for (size_t i = 0; i < sample; i++)
		counts[p[i]]++;
	for (int i = 0; i < 256; i++) {
		if (counts[i]) {
			double q = (double)counts[i] / (double)sample;
			h -= q * log2(q);
		}
	}
	return h < 7.0;
}

/* ---- transactions ---- */

struct pentry {
	xtrk_oid oid;
	uint64_t off;
};

struct pending {
	char *tmp;
	xtrk_oid oid;
};

struct xtrk_txn {
	xtrk_odb *odb;
	pthread_mutex_t lock;
	int pack_fd;
	char *pack_tmp;
	uint64_t pack_off;
	struct pentry *ents;
	size_t nents, aents;
	uint64_t pack_flushed; /* pack bytes handed to writeback so far */
	size_t *set; /* open addressing over ents, index + 1; 0 is empty */
	size_t setcap;
	struct pending *pend;
	size_t npend, apend;
	char **packs_done; /* finished packs of this txn waiting to be named */
	size_t npacks_done;
	int committed;
	int dry;            /* compute IDs only */
	struct memobj *mem; /* dry: the trees written, for xtrk_txn_read */
	size_t nmem, amem;
};

struct memobj {
	xtrk_oid oid;
	char *data;
	size_t len;
};

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
	pthread_mutex_init(&t->lock, NULL);
	if ((err = xtrk_buf_printf(&dir, "%s/tmp", odb->dir)) < 0 || (err = xtrk_mkdir_p(dir.ptr)) < 0) {
		xtrk_buf_dispose(&dir);
		xtrk_txn_free(t);
		return err;
	}
	xtrk_buf_dispose(&dir);
	*out = t;
	return 0;
}

static size_t oid_slot(const xtrk_oid *oid, size_t cap)
{
	uint64_t h;
	memcpy(&h, oid->id, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static struct pentry *txn_set_find(xtrk_txn *t, const xtrk_oid *oid)
{
	if (!t->setcap)
		return NULL;
	for (size_t i = oid_slot(oid, t->setcap); t->set[i]; i = (i + 1) & (t->setcap - 1))
		if (!xtrk_oid_cmp(&t->ents[t->set[i] - 1].oid, oid))
			return &t->ents[t->set[i] - 1];
	return NULL;
}

static int txn_set_add(xtrk_txn *t, size_t index)
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

static int tmpfile_in(char **out, xtrk_odb *odb, const char *prefix, int *fd)
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

/* Finish the current pack file: write its index, flush both, queue them for naming. Caller holds lock. */
static int pack_seal(xtrk_txn *t)
{
	xtrk_buf idx = XTRK_BUF_INIT;
	unsigned char h[16];
	xtrk_oid sum;
	char *idx_tmp = NULL, **nd;
	int fd = -1, err;

	if (t->pack_fd < 0)
		return 0;
	xtrk_sort(t->ents, t->nents, sizeof(*t->ents), (int (*)(const void *, const void *))xtrk_oid_cmp);
	memcpy(h, "XIDX", 4);
	h[4] = FORMAT_VERSION;
	h[5] = h[6] = h[7] = 0;
	xtrk_put_le64(h + 8, t->nents);
	xtrk_buf_put(&idx, h, 16);
	for (size_t i = 0; i < t->nents; i++) {
		unsigned char e[IDX_ENTRY];
		memcpy(e, t->ents[i].oid.id, 16);
		xtrk_put_le64(e + 16, t->ents[i].off);
		xtrk_buf_put(&idx, e, sizeof(e));
	}
	if (xtrk_buf_oom(&idx)) {
		err = XTRK_ERROR;
		goto done;
	}
	xtrk_oid_hash(&sum, idx.ptr, idx.size);
	if ((err = xtrk_buf_put(&idx, sum.id, 16)) < 0)
		goto done;
	if ((err = xtrk_fsync(t->pack_fd, "a pack file")) < 0)
		goto done;
	fchmod(t->pack_fd, 0444);
	if ((err = tmpfile_in(&idx_tmp, t->odb, "idx", &fd)) < 0 ||
	    (err = xtrk_write_all(fd, idx.ptr, idx.size, "a pack index")) < 0 ||
	    (err = xtrk_fsync(fd, "a pack index")) < 0)
		goto done;
	fchmod(fd, 0444);
	if (!(nd = realloc(t->packs_done, (t->npacks_done + 2) * sizeof(*nd)))) {
		err = xtrk_error_oom();
		goto done;
	}
	t->packs_done = nd;
	nd[t->npacks_done++] = t->pack_tmp;
	nd[t->npacks_done++] = idx_tmp;
	idx_tmp = NULL;
	t->pack_tmp = NULL;
	close(t->pack_fd);
	t->pack_fd = -1;
	t->nents = 0;
	t->pack_off = 0;
	t->pack_flushed = 0;
	if (t->setcap)
		memset(t->set, 0, t->setcap * sizeof(*t->set));
done:
	if (fd >= 0)
		close(fd);
	if (idx_tmp) {
		unlink(idx_tmp);
		free(idx_tmp);
	}
	xtrk_buf_dispose(&idx);
	return err;
}

/* Append one prepared entry to the txn's pack. */
static int pack_append(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, int comp,
	uint64_t size, const void *stored, size_t stored_len)
{
	unsigned char h[PACK_HDR_SIZE];
	struct pentry *pe;
	int err;

	pthread_mutex_lock(&t->lock);
	if (txn_set_find(t, oid)) {
		/* Written by another thread of this txn meanwhile; the caller compared already. */
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	if (t->pack_fd >= 0 && t->pack_off + stored_len > PACK_ROLL_SIZE && (err = pack_seal(t)) < 0)
		goto done;
	if (t->pack_fd < 0) {
		unsigned char fh[PACK_FILE_HDR] = { 'X', 'P', 'C', 'K', FORMAT_VERSION };
		if ((err = tmpfile_in(&t->pack_tmp, t->odb, "pack", &t->pack_fd)) < 0)
			goto done;
		if ((err = xtrk_write_all(t->pack_fd, fh, sizeof(fh), "a pack file")) < 0)
			goto done;
		t->pack_off = PACK_FILE_HDR;
	}
	hdr_encode(h, type, comp, size, oid);
	xtrk_put_le64(h + HDR_SIZE, stored_len);
	if ((err = xtrk_pwrite_all(t->pack_fd, h, sizeof(h), t->pack_off, "a pack file")) < 0 ||
	    (err = xtrk_pwrite_all(t->pack_fd, stored, stored_len, t->pack_off + sizeof(h), "a pack file")) < 0)
		goto done;
	if (t->nents == t->aents) {
		size_t na = t->aents ? t->aents * 2 : 256;
		struct pentry *ne = realloc(t->ents, na * sizeof(*ne));
		if (!ne) {
			err = xtrk_error_oom();
			goto done;
		}
		t->ents = ne;
		t->aents = na;
	}
	pe = &t->ents[t->nents];
	pe->oid = *oid;
	pe->off = t->pack_off;
	if ((err = txn_set_add(t, t->nents)) < 0)
		goto done;
	t->nents++;
	t->pack_off += sizeof(h) + stored_len;
	if (t->pack_off - t->pack_flushed >= WRITEBACK_STEP) {
		sync_file_range(t->pack_fd, (off64_t)t->pack_flushed, (off64_t)(t->pack_off - t->pack_flushed),
			SYNC_FILE_RANGE_WRITE);
		t->pack_flushed = t->pack_off;
	}
done:
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* 1 if an equal object is already stored or staged, 0 if not, <0 on collision/error. */
static int txn_have(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, const void *data, size_t len)
{
	xtrk_odb_stream *s = NULL;
	struct pentry *pe;
	struct loc l;
	int err;

	pthread_mutex_lock(&t->lock);
	pe = txn_set_find(t, oid);
	if (pe) {
		memset(&l, 0, sizeof(l));
		err = loc_from_pack(&l, t->pack_fd, pe->off, oid, "the pack being written");
		if (err == 0)
			err = stream_from_loc(&s, &l, oid);
		if (err == 0) {
			err = stream_equals_mem(s, data, len);
			xtrk_odb_stream_free(s);
		}
		pthread_mutex_unlock(&t->lock);
		return err < 0 ? err : err ? 1 : collision(oid);
	}
	pthread_mutex_unlock(&t->lock);
	if (!xtrk_odb_exists(t->odb, oid))
		return 0;
	if ((err = xtrk_odb_stream_open(&s, t->odb, oid)) < 0)
		return err == XTRK_ENOTFOUND ? 0 : err;
	err = stream_equals_mem(s, data, len);
	xtrk_odb_stream_free(s);
	return err < 0 ? err : err ? 1 : collision(oid);
}

static int write_loose_from_mem(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len);

int xtrk_txn_new_dry(xtrk_txn **out, xtrk_odb *odb)
{
	xtrk_txn *t = calloc(1, sizeof(*t));
	*out = NULL;
	if (!t)
		return xtrk_error_oom();
	t->odb = odb;
	t->pack_fd = -1;
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

int xtrk_txn_write(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len)
{
	unsigned char *z = NULL;
	const void *stored = data;
	size_t stored_len = len;
	int comp = COMP_RAW, err;

	xtrk_oid_hash(out, data, len);
	if (t->dry)
		return dry_keep(t, out, type, data, len);
	if ((err = txn_have(t, out, type, data, len)) != 0)
		return err < 0 ? err : 0;
	if (len >= XTRK_PACK_OBJECT_MAX)
		return write_loose_from_mem(out, t, type, data, len);
	if (type != XTRK_OBJ_BLOB ? len >= 64 : worth_compressing(data, len)) {
		uLongf zlen = compressBound(len);
		if (!(z = malloc(zlen)))
			return xtrk_error_oom();
		if (compress2(z, &zlen, data, len, type == XTRK_OBJ_BLOB ? 1 : 6) == Z_OK && zlen < len - len / 10) {
			stored = z;
			stored_len = zlen;
			comp = COMP_ZLIB;
		}
	}
	err = pack_append(t, out, type, comp, len, stored, stored_len);
	free(z);
	return err;
}

static int txn_add_pending(xtrk_txn *t, char *tmp, const xtrk_oid *oid)
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

/*
 * A loose object under construction: header placeholder, then content
 * streamed in (compressed or raw), then the header is filled in.
 */
struct loose_writer {
	int fd;
	char *tmp;
	int comp;
	z_stream z;
	int zinit;
	unsigned char *zout;
	uint64_t size;
	uint64_t flushed; /* bytes handed to writeback so far */
	const char *what;
};


static int lw_open(struct loose_writer *w, xtrk_txn *t, const char *what)
{
	unsigned char h[HDR_SIZE] = { 0 };
	memset(w, 0, sizeof(*w));
	w->what = what;
	if (tmpfile_in(&w->tmp, t->odb, "obj", &w->fd) < 0)
		return XTRK_ERROR;
	return xtrk_write_all(w->fd, h, sizeof(h), what);
}

static int lw_start_zlib(struct loose_writer *w)
{
	if (!(w->zout = malloc(IO_CHUNK)) || deflateInit(&w->z, 1) != Z_OK)
		return xtrk_error_oom();
	w->zinit = 1;
	w->comp = COMP_ZLIB;
	return 0;
}

static int lw_deflate(struct loose_writer *w, const void *data, size_t len, int flush)
{
	int err;
	w->z.next_in = (unsigned char *)data;
	w->z.avail_in = (uInt)len;
	do {
		int zr;
		w->z.next_out = w->zout;
		w->z.avail_out = IO_CHUNK;
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR)
			return xtrk_error_set(XTRK_ERROR, "compression failed for %s", w->what);
		if ((err = xtrk_write_all(w->fd, w->zout, IO_CHUNK - w->z.avail_out, w->what)) < 0)
			return err;
	} while (w->z.avail_out == 0);
	return 0;
}

static int lw_write(struct loose_writer *w, const void *data, size_t len)
{
	int err;
	w->size += len;
	if (w->comp == COMP_ZLIB)
		return lw_deflate(w, data, len, Z_NO_FLUSH);
	if ((err = xtrk_write_all(w->fd, data, len, w->what)) < 0)
		return err;
	if (w->size - w->flushed >= WRITEBACK_STEP) {
		/* Asynchronous: only starts the disk writes (git's core.fsyncMethod=batch does the same). */
		sync_file_range(w->fd, (off64_t)(HDR_SIZE + w->flushed), (off64_t)(w->size - w->flushed),
			SYNC_FILE_RANGE_WRITE);
		w->flushed = w->size;
	}
	return 0;
}

static void lw_cleanup(struct loose_writer *w)
{
	if (w->zinit)
		deflateEnd(&w->z);
	free(w->zout);
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
	}
}

/* Seal the temp object and queue it (or drop it when an equal object exists). */
static int lw_finish(struct loose_writer *w, xtrk_txn *t, xtrk_otype type, const xtrk_oid *oid)
{
	unsigned char h[HDR_SIZE];
	int err;

	if (w->comp == COMP_ZLIB && (err = lw_deflate(w, NULL, 0, Z_FINISH)) < 0)
		return err;
	hdr_encode(h, type, w->comp, w->size, oid);
	if ((err = xtrk_pwrite_all(w->fd, h, sizeof(h), 0, w->what)) < 0 ||
	    (err = xtrk_fsync(w->fd, w->what)) < 0)
		return err;
	fchmod(w->fd, 0444);
	close(w->fd);
	w->fd = -1;
	if ((err = txn_add_pending(t, w->tmp, oid)) < 0)
		return err;
	w->tmp = NULL;
	return 0;
}

static int write_loose_from_mem(xtrk_oid *out, xtrk_txn *t, xtrk_otype type, const void *data, size_t len)
{
	struct loose_writer w;
	int err;

	if ((err = lw_open(&w, t, "an object")) < 0)
		goto done;
	if ((type != XTRK_OBJ_BLOB || worth_compressing(data, len)) && (err = lw_start_zlib(&w)) < 0)
		goto done;
	if ((err = lw_write(&w, data, len)) < 0)
		goto done;
	err = lw_finish(&w, t, type, out);
done:
	lw_cleanup(&w);
	return err;
}

/*
 * A streaming writer: small objects are gathered in memory and go to the
 * pack; once an object reaches XTRK_PACK_OBJECT_MAX it becomes a loose temp
 * object, hashed and written in one pass.  A dry transaction only hashes.
 */
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
	*out = w;
	return 0;
}

/* The object has grown past the pack limit: move what is gathered into a loose temp object. */
static int writer_go_loose(xtrk_txn_writer *w)
{
	int err;
	if ((err = lw_open(&w->lw, w->t, w->what)) < 0)
		return err;
	if ((w->type != XTRK_OBJ_BLOB || worth_compressing((unsigned char *)w->mem.ptr, w->mem.size)) &&
	    (err = lw_start_zlib(&w->lw)) < 0)
		return err;
	w->loose = 1;
	err = lw_write(&w->lw, w->mem.ptr, w->mem.size);
	xtrk_buf_dispose(&w->mem);
	return err;
}

int xtrk_txn_writer_write(xtrk_txn_writer *w, const void *data, size_t len)
{
	int err;
	w->size += len;
	xtrk_hasher_update(w->h, data, len);
	if (w->hash_only)
		return 0;
	if (w->loose)
		return lw_write(&w->lw, data, len);
	if ((err = xtrk_buf_put(&w->mem, data, len)) < 0)
		return err;
	if (!w->t->dry && w->mem.size >= XTRK_PACK_OBJECT_MAX)
		return writer_go_loose(w);
	return 0;
}

uint64_t xtrk_txn_writer_size(const xtrk_txn_writer *w)
{
	return w->size;
}

int xtrk_txn_writer_finish(xtrk_oid *out, xtrk_txn_writer *w, const xtrk_oid *expect)
{
	xtrk_oid got;
	xtrk_hasher_final(&got, w->h);
	if (expect && xtrk_oid_cmp(&got, expect))
		return xtrk_error_set(XTRK_ECORRUPT, "%s: content hashes to %s, not to its ID %s", w->what,
			xtrk_oid_tostr(&got), xtrk_oid_tostr(expect));
	*out = got;
	if (w->hash_only)
		return 0;
	if (!w->loose)
		return xtrk_txn_write(out, w->t, w->type, w->mem.ptr ? w->mem.ptr : "", w->mem.size);
	/* An equal object already stored is found, and compared, when the transaction names it. */
	return lw_finish(&w->lw, w->t, w->type, &got);
}

void xtrk_txn_writer_free(xtrk_txn_writer *w)
{
	if (!w)
		return;
	lw_cleanup(&w->lw);
	xtrk_buf_dispose(&w->mem);
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

	if ((err = loose_path(final, t->odb->dir, &p->oid)) < 0)
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
		if ((err = loc_from_file(&la, p->tmp, &p->oid)) == 0 && (err = stream_from_loc(&a, &la, &p->oid)) == 0 &&
		    (err = loc_from_file(&lb, final->ptr, &p->oid)) == 0 && (err = stream_from_loc(&b, &lb, &p->oid)) == 0)
			err = streams_equal(a, b);
		xtrk_odb_stream_free(a);
		xtrk_odb_stream_free(b);
		if (err < 0)
			return err;
		if (!err)
			return collision(&p->oid);
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
	err = pack_seal(t);
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
	packs_scan(t->odb, 1);
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
	pthread_mutex_destroy(&t->lock);
	free(t);
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

static int foreach_loose(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload)
{
	xtrk_buf path = XTRK_BUF_INIT;
	int err = 0;

	for (int i = 0; i < 256 && !err; i++) {
		DIR *d;
		struct dirent *de;
		xtrk_buf_clear(&path);
		if (xtrk_buf_printf(&path, "%s/%02x", odb->dir, i) < 0)
			return XTRK_ERROR;
		if (!(d = opendir(path.ptr)))
			continue;
		while (!err && (de = readdir(d))) {
			char hex[XTRK_OID_HEXSZ + 1];
			xtrk_odb_entry e;
			struct loc l;
			xtrk_buf fp = XTRK_BUF_INIT;
			if (de->d_name[0] == '.')
				continue;
			xtrk_buf_printf(&fp, "%s/%s", path.ptr, de->d_name);
			if (strlen(de->d_name) == XTRK_OID_HEXSZ - 2) {
				snprintf(hex, 3, "%02x", i);
				memcpy(hex + 2, de->d_name, XTRK_OID_HEXSZ - 2);
				hex[XTRK_OID_HEXSZ] = '\0';
			} else {
				hex[0] = '\0';
			}
			if (!hex[0] || xtrk_oid_parse(&e.oid, hex) < 0) {
				if (bad)
					bad(fp.ptr, "a file that is not an object", payload);
				xtrk_buf_dispose(&fp);
				continue;
			}
			if (loc_from_file(&l, fp.ptr, &e.oid) < 0) {
				if (bad)
					bad(fp.ptr, xtrk_error_last(), payload);
				xtrk_buf_dispose(&fp);
				continue;
			}
			e.type = l.type;
			e.size = l.size;
			e.where = fp.ptr;
			loc_release(&l);
			err = cb(&e, payload);
			xtrk_buf_dispose(&fp);
		}
		closedir(d);
	}
	xtrk_buf_dispose(&path);
	return err;
}

int xtrk_odb_foreach(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload)
{
	xtrk_buf path = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err;

	if ((err = foreach_loose(odb, cb, bad, payload)) < 0)
		return err;
	if (xtrk_buf_printf(&path, "%s/pack", odb->dir) < 0)
		return XTRK_ERROR;
	if (!(d = opendir(path.ptr))) {
		xtrk_buf_dispose(&path);
		return 0;
	}
	while (!err && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		xtrk_buf ip = XTRK_BUF_INIT;
		struct pack p;
		int fd;
		if (n < 5 || strcmp(de->d_name + n - 4, ".idx"))
			continue;
		xtrk_buf_printf(&ip, "%s/%s", path.ptr, de->d_name);
		if (pack_load(&p, ip.ptr, 1) < 0) {
			if (bad)
				bad(ip.ptr, xtrk_error_last(), payload);
			xtrk_buf_dispose(&ip);
			continue;
		}
		if ((fd = open(p.path, O_RDONLY | O_CLOEXEC)) < 0) {
			if (bad)
				bad(p.path, "pack file is missing for its index", payload);
		} else {
			for (uint64_t i = 0; i < p.count && !err; i++) {
				const unsigned char *ent = p.idx + IDX_HDR + i * IDX_ENTRY;
				xtrk_odb_entry e;
				struct loc l;
				memcpy(e.oid.id, ent, 16);
				if (loc_from_pack(&l, fd, xtrk_get_le64(ent + 16), &e.oid, p.path) < 0) {
					if (bad)
						bad(p.path, xtrk_error_last(), payload);
					continue;
				}
				e.type = l.type;
				e.size = l.size;
				e.where = p.path;
				err = cb(&e, payload);
			}
			close(fd);
		}
		pack_close(&p);
		xtrk_buf_dispose(&ip);
	}
	closedir(d);
	xtrk_buf_dispose(&path);
	return err;
}
