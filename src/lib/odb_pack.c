/* Pack files: loading and searching their indexes, reading entries, writing a transaction's pack. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "odb_internal.h"
#include "odb_loose.h"
#include "odb_pack.h"
#include "odb_txn.h"
#include "xtrk/errors.h"
#include "xtrk/odb.h"

void odb_pack_close(struct pack *p)
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The name "pack-*" of a known pack, without its ".pack". */
static const char *pack_stem(const struct pack *p, size_t *len)
{
	const char *slash = strrchr(p->path, '/'), *name = slash ? slash + 1 : p->path;
	*len = strlen(name) - 5;
	return name;
}

/* Is `stem` ("pack-*", `len` bytes) among the sorted index names ("pack-*.idx")? */
static int stem_listed(char **names, size_t n, const char *stem, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(names[mid], stem, len);
		if (!c)
			c = strcmp(names[mid] + len, ".idx");
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Load any index not yet known.  Without `force`, an unchanged folder mtime
 * skips the readdir; a pack added within the same clock tick can then be
 * missed, which only a read that must not miss (force) cares about.
 * One readdir, sorted: a store of many packs costs O(n log n) per scan, not
 * a comparison of every name with every known pack, nor a stat of each.
 * Caller holds odb->lock.
 */
int odb_packs_scan(xtrk_odb *odb, int force)
{
	xtrk_buf path = XTRK_BUF_INIT;
	char **names = NULL, **known = NULL;
	size_t nnames = 0, anames = 0, nknown = 0;
	DIR *d;
	struct dirent *de;
	struct stat st;
	int err = 0;

	if ((err = xtrk_buf_printf(&path, "%s/pack", odb->dir)) < 0)
		return err;
	/* Packs are only ever added by renames into the folder, which change its mtime. */
	if (stat(path.ptr, &st) == 0 && !force &&
	    st.st_mtim.tv_sec == odb->pack_dir_mtime.tv_sec && st.st_mtim.tv_nsec == odb->pack_dir_mtime.tv_nsec) {
		xtrk_buf_dispose(&path);
		return 0;
	}
	if (!(d = opendir(path.ptr))) {
		err = errno == ENOENT ? 0 : xtrk_error_errno("cannot read '%s'", path.ptr);
		/* no folder: no packs (gc may have removed them all) */
		for (size_t i = 0; err == 0 && i < odb->npacks; i++)
			odb_pack_close(&odb->packs[i]);
		if (err == 0) {
			odb->npacks = 0;
			odb->fds_open = 0;
			odb_packmap_drop(odb);
		}
		xtrk_buf_dispose(&path);
		return err;
	}
	odb->pack_dir_mtime = st.st_mtim;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".idx") || strncmp(de->d_name, "pack-", 5))
			continue;
		if (nnames == anames) {
			size_t na = anames ? anames * 2 : 64;
			char **nn = realloc(names, na * sizeof(*nn));
			if (!nn) {
				err = xtrk_error_oom();
				break;
			}
			names = nn;
			anames = na;
		}
		if (!(names[nnames] = strdup(de->d_name))) {
			err = xtrk_error_oom();
			break;
		}
		nnames++;
	}
	closedir(d);
	if (err < 0)
		goto done;
	xtrk_sort(names, nnames, sizeof(*names), cmp_str);
	/* gc removes a pack's index before the pack: forget packs whose index is gone. */
	for (size_t i = 0; i < odb->npacks;) {
		size_t len;
		const char *stem = pack_stem(&odb->packs[i], &len);
		if (!stem_listed(names, nnames, stem, len)) {
			odb->fds_open -= odb->packs[i].fd >= 0;
			odb_pack_close(&odb->packs[i]);
			odb->packs[i] = odb->packs[--odb->npacks];
			odb_packmap_drop(odb);
			continue;
		}
		i++;
	}
	/* The known packs as "pack-*.idx" names, sorted, to tell the new ones. */
	if (odb->npacks && !(known = calloc(odb->npacks, sizeof(*known)))) {
		err = xtrk_error_oom();
		goto done;
	}
	for (; nknown < odb->npacks; nknown++) {
		size_t len;
		const char *stem = pack_stem(&odb->packs[nknown], &len);
		if (!(known[nknown] = malloc(len + 5))) {
			err = xtrk_error_oom();
			goto done;
		}
		memcpy(known[nknown], stem, len);
		memcpy(known[nknown] + len, ".idx", 5);
	}
	xtrk_sort(known, nknown, sizeof(*known), cmp_str);
	for (size_t k = 0; k < nnames; k++) {
		struct pack p, *np;
		if (nknown && bsearch(&names[k], known, nknown, sizeof(*known), cmp_str))
			continue;
		xtrk_buf_clear(&path);
		xtrk_buf_printf(&path, "%s/pack/%s", odb->dir, names[k]);
		if (xtrk_buf_oom(&path)) {
			err = XTRK_ERROR;
			break;
		}
		if (pack_load(&p, path.ptr, 0) < 0)
			continue; /* a damaged index is fsck's to report; reads fall back to a miss */
		if (!(np = realloc(odb->packs, (odb->npacks + 1) * sizeof(*np)))) {
			odb_pack_close(&p);
			err = xtrk_error_oom();
			break;
		}
		odb->packs = np;
		odb->packs[odb->npacks++] = p;
		odb_packmap_drop(odb);
	}
done:
	for (size_t i = 0; i < nknown; i++)
		free(known[i]);
	free(known);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	xtrk_buf_dispose(&path);
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

/*
 * With many packs, looking in each pack's index in turn costs a binary search
 * per pack for every lookup (and every miss looks in all of them).  Past
 * PACKMAP_MIN packs a hash table of every packed object's ID (its first 8
 * bytes) and pack is built once, on the first lookup after the pack list
 * changed; a lookup then searches only the packs its ID's hash names.
 */
#define PACKMAP_MIN 16

struct packmap_slot {
	uint64_t key;  /* the ID's first 8 bytes */
	uint32_t pack; /* its pack's index + 1; 0: empty */
	uint32_t pad;
};

/*
 * Open a pack's file, keeping at most PACK_FDS_OPEN packs open: a store of
 * thousands of packs would otherwise run out of descriptors (the usual limit
 * is 1,024; a store of 10,000 packs is no rarity).  Locations hold duplicates, so closing a pack's is always safe.
 * Caller holds odb->lock.
 */
#define PACK_FDS_OPEN 16

void odb_pack_open_fd(xtrk_odb *odb, struct pack *p)
{
	for (size_t k = 0; odb->fds_open >= PACK_FDS_OPEN && k < odb->npacks; k++) {
		struct pack *q = &odb->packs[(odb->fd_cursor + k) % odb->npacks];
		if (q->fd >= 0 && q != p) {
			close(q->fd);
			q->fd = -1;
			odb->fds_open--;
			odb->fd_cursor = (odb->fd_cursor + k + 1) % odb->npacks;
			break;
		}
	}
	if ((p->fd = open(p->path, O_RDONLY | O_CLOEXEC)) >= 0)
		odb->fds_open++;
}

void odb_packmap_drop(xtrk_odb *odb)
{
	free(odb->map);
	odb->map = NULL;
	odb->map_cap = 0;
}

static int packmap_build(xtrk_odb *odb)
{
	uint64_t total = 0;
	size_t cap = 64;
	struct packmap_slot *m;

	for (size_t i = 0; i < odb->npacks; i++)
		total += odb->packs[i].count;
	while (cap < total * 2)
		cap *= 2;
	if (odb->npacks >= UINT32_MAX || !(m = calloc(cap, sizeof(*m))))
		return -1;
	for (size_t i = 0; i < odb->npacks; i++) {
		const unsigned char *e = odb->packs[i].idx + IDX_HDR;
		for (uint64_t k = 0; k < odb->packs[i].count; k++, e += IDX_ENTRY) {
			uint64_t key;
			size_t s;
			memcpy(&key, e, sizeof(key));
			for (s = (size_t)(key & (cap - 1)); m[s].pack; s = (s + 1) & (cap - 1))
				;
			m[s].key = key;
			m[s].pack = (uint32_t)(i + 1);
		}
	}
	odb->map = m;
	odb->map_cap = cap;
	return 0;
}

/* Find an object in the packs; fills pack index and offset. Caller holds lock. */
int odb_packs_find(xtrk_odb *odb, const xtrk_oid *oid, size_t *pi, uint64_t *off)
{
	if (odb->npacks >= PACKMAP_MIN && (odb->map || packmap_build(odb) == 0)) {
		uint64_t key;
		memcpy(&key, oid->id, sizeof(key));
		for (size_t s = (size_t)(key & (odb->map_cap - 1)); odb->map[s].pack; s = (s + 1) & (odb->map_cap - 1)) {
			const struct pack *p;
			const unsigned char *e;
			if (odb->map[s].key != key)
				continue;
			p = &odb->packs[odb->map[s].pack - 1];
			if ((e = idx_find(p->idx + IDX_HDR, p->count, oid))) {
				*pi = odb->map[s].pack - 1;
				*off = xtrk_get_le64(e + 16);
				return 1;
			}
		}
		return 0;
	}
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

int odb_loc_from_pack(struct loc *l, int fd, uint64_t off, const xtrk_oid *oid, const char *where)
{
	unsigned char h[PACK_HDR_SIZE];
	struct stat st;
	int err;

	snprintf(l->where, sizeof(l->where), "%s at %llu", where, (unsigned long long)off);
	l->fd = fd;
	l->own_fd = 0;
	if ((err = xtrk_pread_exact(fd, h, sizeof(h), off, l->where)) < 0)
		return err == XTRK_ENOTFOUND ? XTRK_ECORRUPT : err;
	if ((err = odb_hdr_decode(l, h, oid)) < 0)
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
	return odb_loc_check_ratio(l, oid);
}

/* Finish the current pack file: write its index, flush both, queue them for naming. Caller holds lock. */
int odb_pack_seal(xtrk_txn *t)
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
	if ((err = odb_tmpfile_in(&idx_tmp, t->odb, "idx", &fd)) < 0 ||
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
void odb_set_pack_size(xtrk_odb *odb, uint64_t max)
{
	odb->pack_size = max;
}

int odb_pack_append(xtrk_txn *t, const xtrk_oid *oid, xtrk_otype type, int comp,
	uint64_t size, const void *stored, size_t stored_len)
{
	unsigned char h[PACK_HDR_SIZE];
	struct pentry *pe;
	int err;

	pthread_mutex_lock(&t->lock);
	if (odb_txn_set_find(t, oid)) {
		/* Written by another thread of this txn meanwhile; the caller compared already. */
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	if (t->pack_fd >= 0 && t->pack_off + sizeof(h) + stored_len > (t->odb->pack_size ? t->odb->pack_size : PACK_ROLL_SIZE) &&
	    (err = odb_pack_seal(t)) < 0)
		goto done;
	if (t->pack_fd < 0) {
		unsigned char fh[PACK_FILE_HDR] = { 'X', 'P', 'C', 'K', FORMAT_VERSION };
		if ((err = odb_tmpfile_in(&t->pack_tmp, t->odb, "pack", &t->pack_fd)) < 0)
			goto done;
		if ((err = xtrk_write_all(t->pack_fd, fh, sizeof(fh), "a pack file")) < 0)
			goto done;
		t->pack_off = PACK_FILE_HDR;
	}
	odb_hdr_encode(h, type, comp, size, oid);
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
	if ((err = odb_txn_set_add(t, t->nents)) < 0)
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

/* The packs' part of xtrk_odb_foreach. */
int odb_foreach_packs(xtrk_odb *odb, int (*cb)(const xtrk_odb_entry *, void *),
	void (*bad)(const char *, const char *, void *), void *payload)
{
	xtrk_buf path = XTRK_BUF_INIT;
	DIR *d;
	struct dirent *de;
	int err = 0;

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
				if (odb_loc_from_pack(&l, fd, xtrk_get_le64(ent + 16), &e.oid, p.path) < 0) {
					if (bad)
						bad(p.path, xtrk_error_last(), payload);
					continue;
				}
				e.type = l.type;
				e.size = l.size;
				e.where = p.path;
				e.stored = PACK_HDR_SIZE + l.stored;
				e.packed = 1;
				err = cb(&e, payload);
			}
			close(fd);
		}
		odb_pack_close(&p);
		xtrk_buf_dispose(&ip);
	}
	closedir(d);
	xtrk_buf_dispose(&path);
	return err;
}

int odb_pack_open_idx(struct pack *p, const char *idx_path)
{
	return pack_load(p, idx_path, 1);
}
